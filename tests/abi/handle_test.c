/*
 * handle_test.c - the ABI handle and envelope (abi/handle.c, abi/wire.c)
 * through the public entry points only: open errors and buffer sizes,
 * garbage, truncated and NULL inputs, NULL response out-parameters, and a
 * long run whose heap stays flat (the valgrind run's soak, ABI_TEST_SHORT).
 * Split from abi_test.c; helpers in tests/lib/abicall.h.
 */
#include "tests/lib/abicall.h"
#include "tests/lib/testlib.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swing/v1/swing.pb-c.h"

/* Garbage, truncated and NULL inputs are INVALID, never a crash. */
static void test_abi_garbage_bytes(void **state)
{
    tl_node nd;
    uint8_t junk[256], *out = NULL;
    size_t out_len = 0;
    uint64_t x = 0x243f6a8885a308d3ull;
    swing_handle *h2 = NULL;
    (void)state;
    tl_node_new(&nd, false);
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(x % sizeof junk);
        swing_status s;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            junk[i] = (uint8_t)x;
        }
        /* Keep the version field right half the time so decoding goes deeper. */
        if (round % 2 && n > 2) junk[0] = 0x08, junk[1] = SWING_ABI_VERSION;
        s = swing_call(nd.h, junk, n, &out, &out_len);
        assert_non_null(out);
        swing_free(out);
        out = NULL;
        assert_true(s != SWING_ERR_INTERNAL && s != SWING_ERR_PANIC && s != SWING_ERR_NOMEM);
    }
    TL_EXPECT_STATUS(SWING_ERR_INVALID, swing_call(nd.h, NULL, 5, &out, &out_len));
    swing_free(out);
    TL_EXPECT_STATUS(SWING_ERR_INVALID, swing_call(NULL, junk, 0, &out, &out_len));
    swing_free(out);
    TL_EXPECT_STATUS(SWING_ERR_INVALID, swing_open(junk, 7, &h2, &out, &out_len));
    assert_null(h2);
    swing_free(out);
    swing_free(NULL);
    swing_close(NULL);
    tl_node_free(&nd);
}

/* NULL response out-parameters: the call still runs and the response it
 * built is freed by the library (issue: hardening, ABI edges, 2025: it
 * leaked; the ASan run's leak checker and the valgrind run catch that). */
static void test_abi_null_out_parameters(void **state)
{
    tl_node nd;
    char hash[65];
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__BeginBlockRequest bb = SWING__V1__BEGIN_BLOCK_REQUEST__INIT;
    Swing__V1__OpenRequest oreq = SWING__V1__OPEN_REQUEST__INIT;
    uint8_t buf[1024], *out = (uint8_t *)&nd;
    size_t n, out_len = 7;
    swing_handle *h2 = NULL;
    (void)state;
    tl_node_new(&nd, false);
    tl_abi_genesis(nd.h, hash);
    bb.height = 2;
    req.abi_version = SWING_ABI_VERSION;
    req.op_case = SWING__V1__REQUEST__OP_BEGIN_BLOCK;
    req.begin_block = &bb;
    n = swing__v1__request__pack(&req, buf);
    TL_EXPECT_STATUS(SWING_OK, swing_call(nd.h, buf, n, NULL, NULL));
    /* The block is open: a second begin_block is out of order (an error response, also freed). */
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, swing_call(nd.h, buf, n, NULL, &out_len));
    assert_int_equal(out_len, 0);
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, swing_call(nd.h, buf, n, &out, NULL));
    assert_null(out);
    TL_EXPECT_STATUS(SWING_ERR_INVALID, swing_call(nd.h, buf, 3, NULL, NULL)); /* garbage */
    TL_OK(tl_abi_end_block(nd.h, 0, NULL));
    TL_OK(tl_abi_commit(nd.h, NULL));
    swing_close(nd.h);
    nd.h = NULL;
    oreq.abi_version = SWING_ABI_VERSION;
    oreq.data_dir = nd.dir;
    oreq.no_sync = true;
    n = swing__v1__open_request__pack(&oreq, buf);
    TL_OK(swing_open(buf, n, &nd.h, NULL, NULL));
    assert_non_null(nd.h);
    TL_EXPECT_STATUS(SWING_ERR_BUSY, swing_open(buf, n, &h2, NULL, NULL));
    assert_null(h2);
    {
        Swing__V1__Response *r = tl_abi_query_stats(nd.h); /* block 2 was committed */
        assert_int_equal(r->query->stats->committed_height, 2);
        swing__v1__response__free_unpacked(r, NULL);
    }
    tl_node_free(&nd);
}

static void test_abi_open_errors(void **state)
{
    tl_node nd;
    swing_handle *h2 = NULL;
    Swing__V1__OpenResponse *r;
    (void)state;
    tl_node_new(&nd, false);
    TL_EXPECT_STATUS(SWING_ERR_BUSY, tl_abi_open_dir(nd.dir, SWING_ABI_VERSION, &h2, &r)); /* locked */
    assert_null(h2);
    swing__v1__open_response__free_unpacked(r, NULL);
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_open_dir(nd.dir, SWING_ABI_VERSION + 1, &h2, &r));
    assert_non_null(strstr(r->error, "ABI version"));
    assert_int_equal(r->abi_version, SWING_ABI_VERSION);
    swing__v1__open_response__free_unpacked(r, NULL);
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_open_dir("", SWING_ABI_VERSION, &h2, &r));
    swing__v1__open_response__free_unpacked(r, NULL);
    tl_node_free(&nd);
}

/* Heap bytes in use (glibc), the whole process: LevelDB, Lua, libswing. */
static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 0; /* ASan owns the heap; its leak check covers this build */
#else
    return mallinfo2().uordblks;
#endif
}

/* One block of a long run: inbound messages (results reported and released),
 * a refused request, a garbage envelope, queries, end_block and commit. */
static void soak_block(swing_handle *h, uint64_t height)
{
    char id[32];
    uint8_t junk[64], *out = NULL;
    size_t out_len = 0;
    Swing__V1__Response *r;
    TL_OK(tl_abi_begin(h, height, NULL));
    for (int i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "s%llu-%d", (unsigned long long)height, i);
        TL_OK(tl_abi_inbound(h, id, "counter", "increment", "[1]"));
    }
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_inbound(h, "bad", "nobody", "increment", "[1]"));
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(height * 31 + i * 7);
    (void)swing_call(h, junk, sizeof junk, &out, &out_len);
    swing_free(out);
    swing__v1__response__free_unpacked(tl_abi_query_stats(h), NULL);
    TL_OK(tl_abi_end_block(h, 0, &r));
    assert_int_equal(r->end_block->n_results, 4);
    swing__v1__response__free_unpacked(r, NULL);
    TL_OK(tl_abi_commit(h, NULL));
}

/* Thousands of calls on one handle leave the heap flat. The node runs with
 * a 1 MiB block cache and a 256 KiB memtable (OpenRequest), so LevelDB's own
 * buffers cannot hide a leak; after a warm-up (the cache fills) the heap in
 * use may not grow.
 * Also: out-of-range buffer sizes are refused at open. The ASan build and the
 * valgrind run (ABI_TEST_SHORT) run a short loop and rely on their leak
 * checks at close. */
static void test_abi_long_run_memory_is_flat(void **state)
{
    tl_node nd;
    char hash[65];
    Swing__V1__OpenResponse *o;
    swing_handle *h2 = NULL;
#if defined(__SANITIZE_ADDRESS__)
    const bool short_run = true;
#else
    const bool short_run = getenv("ABI_TEST_SHORT") != NULL; /* the valgrind run */
#endif
    const uint64_t warm = short_run ? 50 : 2000, blocks = short_run ? 150 : 6000;
    size_t after_warmup = 0, high = 0;
    double sum[2] = {0, 0};
    unsigned n[2] = {0, 0};
    (void)state;
    nd.tmp = tl_tmpdir();
    snprintf(nd.dir, sizeof nd.dir, "%s/db", nd.tmp);
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_open_sized(nd.dir, SWING_ABI_VERSION, 1000, 0, &h2, &o));
    swing__v1__open_response__free_unpacked(o, NULL);
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_open_sized(nd.dir, SWING_ABI_VERSION, 0, 2ull << 30, &h2, &o));
    swing__v1__open_response__free_unpacked(o, NULL);
    assert_null(h2);
    TL_OK(tl_abi_open_sized(nd.dir, SWING_ABI_VERSION, 1u << 20, 256u << 10, &nd.h, &o));
    swing__v1__open_response__free_unpacked(o, NULL);
    tl_abi_genesis(nd.h, hash);
    for (uint64_t h = 2; h <= blocks; h++) {
        soak_block(nd.h, h);
        if (h == warm && !short_run) after_warmup = heap_in_use();
        if (h > warm && h % 25 == 0) { /* samples of the two halves after the warm-up */
            size_t now = heap_in_use();
            int half = h > warm + (blocks - warm) / 2;
            sum[half] += (double)now;
            n[half]++;
            if (now > high) high = now;
        }
    }
    if (after_warmup) {
        double first = sum[0] / n[0], second = sum[1] / n[1];
        print_message("# heap in use: %zu KiB after %llu blocks; mean %.0f KiB, then %.0f KiB; peak %zu KiB\n",
                      after_warmup / 1024, (unsigned long long)warm, first / 1024, second / 1024,
                      high / 1024);
        /* The heap levels off by block 2000, then wanders within about 500
         * KiB as the block cache and memtable turn over; the two halves'
         * means differ by 60-90 KiB (LevelDB's file metadata grows with the
         * database). A planted leak of 48 bytes in one call per block moved
         * them apart by about 230 KiB. */
        assert_true(second < first + 192 * 1024);
        assert_true(high < after_warmup + (2u << 20));
    }
    tl_node_free(&nd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abi_garbage_bytes),
        cmocka_unit_test(test_abi_null_out_parameters),
        cmocka_unit_test(test_abi_open_errors),
        cmocka_unit_test(test_abi_long_run_memory_is_flat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
