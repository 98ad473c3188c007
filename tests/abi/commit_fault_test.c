/*
 * commit_fault_test.c - what an I/O error during commit means for the host
 * (docs/abi.md, "Crash safety and replay"; issue: hardening, ABI edges, 2025:
 * the guide said the state stays unchanged, yet the block was committed
 * after a restart). LevelDB writes the block's batch as one checksummed log
 * record, then fsyncs the log:
 *   - the fsync fails: the record is in the file; the commit answers IO,
 *     the handle answers IO to everything until reopened, and after the
 *     reopen the block IS committed (committed_height = H): the host replays
 *     H (begin_block(H) says replay) and gets the recorded outputs;
 *   - the write fails: the record never reached the file; after the reopen
 *     the block is NOT committed (committed_height = H - 1) and runs again.
 * Either way the node ends up with the hashes of a node that saw no fault.
 *
 * Faults are injected by defining fdatasync and write in this executable:
 * LevelDB (a shared library) binds to them before libc, and they fail only
 * for LevelDB's write-ahead log ("*.log") while armed. The flags are
 * file-scope because an interposed libc function has no context pointer;
 * this is a test program, not the library.
 */
#include "tests/lib/testlib.h"
#include "tests/lib/abicall.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int fail_log_sync;  /* fdatasync of *.log fails with EIO */
static atomic_int fail_log_write; /* write to *.log fails with ENOSPC */

static bool is_wal(int fd)
{
    char link[64], path[4096];
    ssize_t n;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof path - 1);
    if (n < 4) return false;
    path[n] = '\0';
    return strcmp(path + n - 4, ".log") == 0;
}

int fdatasync(int fd)
{
    int (*real)(int);
    if (atomic_load(&fail_log_sync) && is_wal(fd)) {
        errno = EIO;
        return -1;
    }
    real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real(fd);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    ssize_t (*real)(int, const void *, size_t);
    if (atomic_load(&fail_log_write) && is_wal(fd)) {
        errno = ENOSPC;
        return -1;
    }
    real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    return real(fd, buf, n);
}

/* ---- blocks ---- */

static Swing__V1__Response *send(swing_handle *h, Swing__V1__Request__OpCase which, void *msg)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    req.op_case = which;
    req.init = msg; /* one pointer of the oneof's union */
    return tl_call(h, &req);
}

static swing_status send_status(swing_handle *h, Swing__V1__Request__OpCase which, void *msg)
{
    Swing__V1__Response *r = send(h, which, msg);
    swing_status s = (swing_status)r->status;
    swing__v1__response__free_unpacked(r, NULL);
    return s;
}

static void genesis(swing_handle *h)
{
    static const char boot[] = "function buildRootObject()\n"
                               "  return Far('boot', { bootstrap = function() return 'booted' end })\n"
                               "end\n";
    static const char counter[] = "function buildRootObject()\n"
                                  "  local n = 0\n"
                                  "  return Far('counter', { increment = function(k) n = n + k return n end })\n"
                                  "end\n";
    static const char config[] = "{\"bootstrap\":\"boot\",\"vats\":{\"boot\":{\"bundleName\":\"boot\"},"
                                 "\"counter\":{\"bundleName\":\"counter\"}}}";
    Swing__V1__InitRequest init = SWING__V1__INIT_REQUEST__INIT;
    Swing__V1__Bundle b[2] = {SWING__V1__BUNDLE__INIT, SWING__V1__BUNDLE__INIT};
    Swing__V1__Bundle *bp[2] = {&b[0], &b[1]};
    b[0].name = "boot";
    b[0].source.data = (uint8_t *)boot;
    b[0].source.len = sizeof boot - 1;
    b[1].name = "counter";
    b[1].source.data = (uint8_t *)counter;
    b[1].source.len = sizeof counter - 1;
    init.config_json.data = (uint8_t *)config;
    init.config_json.len = sizeof config - 1;
    init.bundles = bp;
    init.n_bundles = 2;
    TL_OK(send_status(h, SWING__V1__REQUEST__OP_INIT, &init));
}

/* begin_block(height) (reporting replay), one inbound message, end_block;
 * the end_block response is returned. */
static Swing__V1__Response *run_block(swing_handle *h, uint64_t height, bool *replay)
{
    Swing__V1__BeginBlockRequest bb = SWING__V1__BEGIN_BLOCK_REQUEST__INIT;
    Swing__V1__QueueInboundRequest q = SWING__V1__QUEUE_INBOUND_REQUEST__INIT;
    Swing__V1__EndBlockRequest e = SWING__V1__END_BLOCK_REQUEST__INIT;
    Swing__V1__Response *r;
    char id[24];
    bb.height = height;
    r = send(h, SWING__V1__REQUEST__OP_BEGIN_BLOCK, &bb);
    TL_OK((swing_status)r->status);
    if (replay) *replay = r->begin_block->replay;
    swing__v1__response__free_unpacked(r, NULL);
    if (height > 1) {
        snprintf(id, sizeof id, "i%llu", (unsigned long long)height);
        q.id = id;
        q.vat = "counter";
        q.method = "increment";
        q.args_json = "[2]";
        TL_OK(send_status(h, SWING__V1__REQUEST__OP_QUEUE_INBOUND, &q));
    }
    r = send(h, SWING__V1__REQUEST__OP_END_BLOCK, &e);
    TL_OK((swing_status)r->status);
    return r;
}

static Swing__V1__Response *commit(swing_handle *h)
{
    Swing__V1__CommitRequest cr = SWING__V1__COMMIT_REQUEST__INIT;
    return send(h, SWING__V1__REQUEST__OP_COMMIT, &cr);
}

/* A block that commits; its activity hash into hash. */
static void good_block(swing_handle *h, uint64_t height, char hash[65])
{
    Swing__V1__Response *r = run_block(h, height, NULL);
    swing__v1__response__free_unpacked(r, NULL);
    r = commit(h);
    TL_OK((swing_status)r->status);
    snprintf(hash, 65, "%s", r->commit->activity_hash);
    swing__v1__response__free_unpacked(r, NULL);
}


/* After a failed commit every call answers IO, queries included. */
static void expect_unusable(swing_handle *h)
{
    Swing__V1__QueryRequest q = SWING__V1__QUERY_REQUEST__INIT;
    Swing__V1__BeginBlockRequest bb = SWING__V1__BEGIN_BLOCK_REQUEST__INIT;
    Swing__V1__Response *r = commit(h);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_IO);
    swing__v1__response__free_unpacked(r, NULL);
    q.query_case = SWING__V1__QUERY_REQUEST__QUERY_STATS;
    q.stats = true;
    assert_int_equal(send_status(h, SWING__V1__REQUEST__OP_QUERY, &q), SWING_ERR_IO);
    bb.height = 3;
    assert_int_equal(send_status(h, SWING__V1__REQUEST__OP_BEGIN_BLOCK, &bb), SWING_ERR_IO);
}

/* The twin: the same three blocks with no fault; hashes at 1, 2, 3. */
static void twin_hashes(char hash[3][65])
{
    tl_node t;
    tl_node_new(&t, true);
    genesis(t.h);
    for (uint64_t h = 1; h <= 3; h++) good_block(t.h, h, hash[h - 1]);
    tl_node_free(&t);
}

static void test_commit_fault_fsync_fails_block_is_durable(void **state)
{
    tl_node nd;
    char want[3][65], got[65];
    Swing__V1__Response *end1, *end2, *r;
    Swing__V1__OpenResponse *o;
    bool replay;
    (void)state;
    twin_hashes(want);
    tl_node_new(&nd, true);
    genesis(nd.h);
    good_block(nd.h, 1, got);
    assert_string_equal(got, want[0]);
    end1 = run_block(nd.h, 2, NULL);
    atomic_store(&fail_log_sync, 1);
    r = commit(nd.h);
    atomic_store(&fail_log_sync, 0);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_IO);
    assert_non_null(strstr(r->error, "commit failed"));
    swing__v1__response__free_unpacked(r, NULL);
    expect_unusable(nd.h);

    swing_close(nd.h);
    tl_node_open(&nd, &o);
    assert_int_equal(o->committed_height, 2); /* the block made it */
    assert_string_equal(o->activity_hash, want[1]);
    swing__v1__open_response__free_unpacked(o, NULL);
    end2 = run_block(nd.h, 2, &replay); /* the host replays it: recorded outputs */
    assert_true(replay);
    tl_assert_same_encoding(&end1->end_block->base, &end2->end_block->base);
    r = commit(nd.h);
    TL_OK((swing_status)r->status);
    assert_int_equal(r->commit->height, 2);
    assert_string_equal(r->commit->activity_hash, want[1]);
    swing__v1__response__free_unpacked(r, NULL);
    good_block(nd.h, 3, got);
    assert_string_equal(got, want[2]);
    swing__v1__response__free_unpacked(end1, NULL);
    swing__v1__response__free_unpacked(end2, NULL);
    tl_node_free(&nd);
}

static void test_commit_fault_write_fails_block_is_lost(void **state)
{
    tl_node nd;
    char want[3][65], got[65];
    Swing__V1__Response *r;
    Swing__V1__OpenResponse *o;
    bool replay;
    (void)state;
    twin_hashes(want);
    tl_node_new(&nd, true);
    genesis(nd.h);
    good_block(nd.h, 1, got);
    r = run_block(nd.h, 2, NULL);
    swing__v1__response__free_unpacked(r, NULL);
    atomic_store(&fail_log_write, 1);
    r = commit(nd.h);
    atomic_store(&fail_log_write, 0);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_IO);
    swing__v1__response__free_unpacked(r, NULL);
    expect_unusable(nd.h);

    swing_close(nd.h);
    tl_node_open(&nd, &o);
    assert_int_equal(o->committed_height, 1); /* the block is gone */
    assert_string_equal(o->activity_hash, want[0]);
    swing__v1__open_response__free_unpacked(o, NULL);
    r = run_block(nd.h, 2, &replay); /* the host runs it again */
    assert_false(replay);
    swing__v1__response__free_unpacked(r, NULL);
    r = commit(nd.h);
    TL_OK((swing_status)r->status);
    assert_string_equal(r->commit->activity_hash, want[1]);
    swing__v1__response__free_unpacked(r, NULL);
    good_block(nd.h, 3, got);
    assert_string_equal(got, want[2]);
    tl_node_free(&nd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_fault_fsync_fails_block_is_durable),
        cmocka_unit_test(test_commit_fault_write_fails_block_is_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
