/*
 * digest_test.c - the state digest (store/digest.c) and the committed
 * activity hash: known answers computed independently (Python's
 * `cryptography` AES-CTR and hashlib, 2025-06, hardening issue "state sync
 * imports must be verified"), set semantics, and the digest a store keeps
 * across commits (updated from each block's changes, old values read from
 * disk) always equal to one summed afresh over a full export's data, for a
 * workload of every kind of export-data change; also after reopening, and
 * rebuilt when a store predates the digest.
 */
#include "tests/lib/testlib.h"

#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/digest.h"
#include "store/export.h"

#define ZERO_ID "b1-0000000000000000000000000000000000000000000000000000000000000000"

static void add_kat_set(store_digest *d, bool reversed)
{
    const char *k[] = {"kv.alpha", "kv.beta", "bundle." ZERO_ID, "transcript.v1.current"};
    const char *v[] = {"1", "", ZERO_ID, "{\"endPos\":1}"};
    for (int j = 0; j < 4; j++) {
        int i = reversed ? 3 - j : j;
        store_digest_add(d, swing_str(k[i]), swing_str(v[i]));
    }
}

static void test_digest_known_answers(void **state)
{
    store_digest d;
    char hex[65];
    (void)state;
    store_digest_init(&d);
    store_digest_hex(&d, hex);
    assert_string_equal(hex, "e5a00aa9991ac8a5ee3109844d84a55583bd20572ad3ffcd42792f3c36b183ad");
    store_digest_activity_hash(1, "", &d, hex);
    assert_string_equal(hex, "f344746aa91c8f88b356ee6a0d38c4397ce877d82434a06c4cc4c1c37ffd785c");
    store_digest_add(&d, swing_str("kv.alpha"), swing_str("1"));
    assert_int_equal(d.lane[0], 52936);
    assert_int_equal(d.lane[1], 57130);
    assert_int_equal(d.lane[2], 29680);
    assert_int_equal(d.lane[3], 44750);
    store_digest_init(&d);
    add_kat_set(&d, false);
    store_digest_hex(&d, hex);
    assert_string_equal(hex, "19e061e632a5c59baf89394babff5ead0e81429a01ea27ec580f7b65c9b6d99e");
    store_digest_activity_hash(7, "abababababababababababababababababababababababababababababababab", &d, hex);
    assert_string_equal(hex, "f8950c27a21530c6ec75999de1e90238de8deef40719ab5c5e9d3e60cf496c61");
}

static void test_digest_is_a_set_hash(void **state)
{
    store_digest a, b, empty;
    uint8_t enc[STORE_DIGEST_BYTES];
    (void)state;
    store_digest_init(&a);
    store_digest_init(&b);
    store_digest_init(&empty);
    add_kat_set(&a, false);
    add_kat_set(&b, true);
    assert_true(store_digest_equal(&a, &b)); /* order of changes does not matter */
    store_digest_remove(&b, swing_str("kv.beta"), swing_str(""));
    assert_false(store_digest_equal(&a, &b));
    store_digest_add(&b, swing_str("kv.beta"), swing_str("x")); /* another value */
    assert_false(store_digest_equal(&a, &b));
    store_digest_remove(&b, swing_str("kv.beta"), swing_str("x"));
    store_digest_add(&b, swing_str("kv.bet"), swing_str("a")); /* the same bytes split elsewhere */
    assert_false(store_digest_equal(&a, &b));
    store_digest_remove(&b, swing_str("kv.bet"), swing_str("a"));
    store_digest_add(&b, swing_str("kv.beta"), swing_str(""));
    assert_true(store_digest_equal(&a, &b));
    add_kat_set(&b, false);
    assert_false(store_digest_equal(&a, &b)); /* a multiset: twice is not once */
    store_digest_encode(&a, enc);
    assert_true(store_digest_decode(swing_bytes_of(enc, sizeof enc), &b));
    assert_true(store_digest_equal(&a, &b));
    assert_false(store_digest_decode(swing_bytes_of(enc, sizeof enc - 1), &b));
    store_digest_remove(&a, swing_str("kv.alpha"), swing_str("1"));
    store_digest_remove(&a, swing_str("kv.beta"), swing_str(""));
    store_digest_remove(&a, swing_str("bundle." ZERO_ID), swing_str(ZERO_ID));
    store_digest_remove(&a, swing_str("transcript.v1.current"), swing_str("{\"endPos\":1}"));
    assert_true(store_digest_equal(&a, &empty));
}

/* The committed hash a full export's data gives at the store's height. */
static void recomputed_hash(store *st, char out[65])
{
    store_exporter *ex = NULL;
    store_digest d;
    swing_bytes k, v;
    bool valid;
    store_digest_init(&d);
    TL_OK(store_export_begin(st, STORE_EXPORT_OPERATIONAL, &ex, NULL));
    for (;;) {
        TL_OK(store_exporter_data_next(ex, &k, &v, &valid, NULL));
        if (!valid) break;
        store_digest_add(&d, k, v);
    }
    assert_string_equal(store_exporter_activity_hash(ex), store_committed_hash(st));
    store_exporter_destroy(ex);
    store_digest_activity_hash(store_height(st), store_activity_hash(st), &d, out);
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static char big[3 * 16384 + 77];

/* One crank of mixed changes: small, chunked, grown, shrunk, deleted,
 * rewritten-unchanged kv values, node-local and host keys, bundles,
 * transcript items, rollovers, a stopped transcript. */
static void random_crank(store *st, uint64_t *seed, int block)
{
    char key[32], val[64], id[STORE_BUNDLE_ID_LEN + 1];
    TL_OK(store_crank_begin(st, NULL));
    for (int i = 0; i < 40; i++) {
        uint64_t r = next_rand(seed);
        snprintf(key, sizeof key, "k%02u", (unsigned)(r % 37));
        switch ((r >> 8) % 11) {
        case 0: case 1: case 2:
            snprintf(val, sizeof val, "v%llu", (unsigned long long)(r >> 20) % 5);
            TL_OK(store_set(st, swing_str(key), swing_str(val), NULL));
            break;
        case 3:
            big[0] = (char)('a' + block % 26);
            TL_OK(store_set(st, swing_str(key), swing_bytes_of(big, 16385 + (r >> 16) % (sizeof big - 16385)),
                            NULL));
            break;
        case 4: case 5:
            TL_OK(store_delete(st, swing_str(key), NULL));
            break;
        case 6:
            TL_OK(store_set(st, swing_str("local.k"), swing_str(key), NULL));
            TL_OK(store_set(st, swing_str("host.k"), swing_str(key), NULL));
            break;
        case 7:
            snprintf(val, sizeof val, "bundle %u", (unsigned)(r >> 24) % 4);
            TL_OK(store_bundle_put(st, swing_str(val), id, NULL));
            if ((r >> 30) % 3 == 0) TL_OK(store_bundle_delete(st, id, NULL));
            break;
        case 8:
            TL_OK(store_transcript_append(st, (r >> 20) % 2 ? "v1" : "v2", swing_str(key), NULL, NULL));
            break;
        case 9:
            TL_OK(store_transcript_rollover(st, "v1", NULL));
            break;
        default: {
            uint64_t from, to;
            TL_OK(store_transcript_append(st, "v3", swing_str(key), NULL, NULL));
            if ((r >> 20) % 4 == 0) {
                TL_OK(store_transcript_stop(st, "v3", &from, &to, NULL));
                TL_OK(store_transcript_delete_items(st, "v3", from, to, NULL));
            }
        }
        }
    }
    if (next_rand(seed) % 5 == 0) TL_OK(store_crank_abort(st, NULL));
    else TL_OK(store_crank_end(st, NULL));
}

static void test_digest_kept_equals_recomputed(void **state)
{
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    char want[65], hash[65];
    uint64_t seed = 0x2545f4914f6cdd1dull;
    (void)state;
    memset(big, 'q', sizeof big);
    assert_string_equal(store_committed_hash(st), "");
    for (int b = 1; b <= 30; b++) {
        for (int c = 0; c < 3; c++) random_crank(st, &seed, b);
        tl_commit(st, (uint64_t)b, NULL);
        recomputed_hash(st, want);
        assert_string_equal(store_committed_hash(st), want);
    }
    snprintf(hash, sizeof hash, "%s", store_committed_hash(st));
    store_close(st);
    st = tl_open(dir);
    assert_string_equal(store_committed_hash(st), hash);
    store_close(st);
    {
        /* A store that predates the digest: it is summed again at open. */
        leveldb_options_t *o = leveldb_options_create();
        leveldb_writeoptions_t *w = leveldb_writeoptions_create();
        char *msg = NULL;
        leveldb_t *db = leveldb_open(o, dir, &msg);
        assert_null(msg);
        leveldb_delete(db, w, "meta.digest", 11, &msg);
        assert_null(msg);
        leveldb_close(db);
        leveldb_writeoptions_destroy(w);
        leveldb_options_destroy(o);
    }
    assert_int_equal(tl_raw_count(dir, "meta.digest"), 0);
    st = tl_open(dir);
    assert_string_equal(store_committed_hash(st), hash);
    random_crank(st, &seed, 31);
    tl_commit(st, 31, NULL);
    recomputed_hash(st, want);
    assert_string_equal(store_committed_hash(st), want);
    store_close(st);
    tl_rmtree(dir);
}

/* Runs of neighbouring keys (read by stepping one iterator) mixed with
 * scattered ones (read by Gets), chunked values (their chunk keys sort
 * elsewhere), unchanged rewrites and keys created between existing ones:
 * the kept digest stays equal to a recomputed one. */
static void test_digest_dense_and_sparse_changes(void **state)
{
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    char key[32], val[32], want[65];
    (void)state;
    memset(big, 'r', sizeof big);
    TL_OK(store_crank_begin(st, NULL));
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "d%05d", i * 2);
        snprintf(val, sizeof val, "v%d", i);
        TL_OK(store_set(st, swing_str(key), swing_str(val), NULL));
    }
    TL_OK(store_set(st, swing_str("d01001.big"), swing_bytes_of(big, sizeof big), NULL));
    TL_OK(store_crank_end(st, NULL));
    tl_commit(st, 1, NULL);
    for (int b = 2; b <= 6; b++) {
        TL_OK(store_crank_begin(st, NULL));
        for (int i = 300 * b; i < 300 * b + 400; i++) { /* a dense run deleted */
            snprintf(key, sizeof key, "d%05d", i * 2);
            TL_OK(store_delete(st, swing_str(key), NULL));
        }
        for (int i = 0; i < 3000; i += 7 * b) { /* scattered rewrites, some unchanged */
            snprintf(key, sizeof key, "d%05d", i * 2);
            snprintf(val, sizeof val, "v%d", i % 2 ? i : i * b);
            TL_OK(store_set(st, swing_str(key), swing_str(val), NULL));
        }
        for (int i = 0; i < 3000; i += 3) { /* new keys between existing ones */
            snprintf(key, sizeof key, "d%05d", i * 2 + 1);
            TL_OK(store_set(st, swing_str(key), swing_str("new"), NULL));
        }
        big[b] = (char)('a' + b);
        TL_OK(store_set(st, swing_str("d01001.big"), swing_bytes_of(big, sizeof big - (size_t)b * 5000), NULL));
        TL_OK(store_crank_end(st, NULL));
        tl_commit(st, (uint64_t)b, NULL);
        recomputed_hash(st, want);
        assert_string_equal(store_committed_hash(st), want);
    }
    store_close(st);
    tl_rmtree(dir);
}

/* A block large enough to be summed by several threads commits to the same
 * hash as one summed by one thread, and to a recomputed one. */
static void test_digest_threads_agree(void **state)
{
    char *d1 = tl_tmpdir(), *d4 = tl_tmpdir(), key[32], val[32], want[65];
    store_options o = store_options_default();
    store *one, *four;
    (void)state;
    o.digest_threads = 1;
    TL_OK(store_open(d1, &o, &one, NULL));
    o.digest_threads = 4;
    TL_OK(store_open(d4, &o, &four, NULL));
    for (int b = 1; b <= 3; b++) {
        store *both[2] = {one, four};
        for (int j = 0; j < 2; j++) {
            TL_OK(store_crank_begin(both[j], NULL));
            for (int i = 0; i < 12000; i++) {
                snprintf(key, sizeof key, "t%06d", (i * 7 + b) % 15000);
                snprintf(val, sizeof val, "%d.%d", b, i % 3);
                if (i % 5 == b) TL_OK(store_delete(both[j], swing_str(key), NULL));
                else TL_OK(store_set(both[j], swing_str(key), swing_str(val), NULL));
            }
            TL_OK(store_crank_end(both[j], NULL));
            tl_commit(both[j], (uint64_t)b, NULL);
        }
        assert_string_equal(store_committed_hash(one), store_committed_hash(four));
        recomputed_hash(four, want);
        assert_string_equal(store_committed_hash(four), want);
    }
    store_close(one);
    store_close(four);
    tl_rmtree(d1);
    tl_rmtree(d4);
}

/* The same state at another height, or another state at the same height
 * (even with the same crank chain), commits to another hash; node-local
 * keys are not state; the delta carries the committed hash. */
static void test_digest_committed_hash_binds_height_and_state(void **state)
{
    char *d1 = tl_tmpdir(), *d2 = tl_tmpdir();
    store *a = tl_open(d1), *b = tl_open(d2);
    store_delta *delta = NULL;
    (void)state;
    tl_put(a, "x", "1");
    tl_put(b, "x", "1");
    tl_commit(a, 1, &delta);
    tl_commit(b, 2, NULL);
    assert_string_equal(delta->activity_hash, store_committed_hash(a));
    assert_string_equal(store_activity_hash(a), store_activity_hash(b)); /* same crank chain */
    assert_string_not_equal(store_committed_hash(a), store_committed_hash(b));
    store_delta_destroy(delta);
    /* A node-local write is not state: the same hash. */
    TL_OK(store_crank_begin(a, NULL));
    TL_OK(store_set(a, swing_str("local.only"), swing_str("here"), NULL));
    TL_OK(store_crank_end(a, NULL));
    TL_OK(store_crank_begin(b, NULL));
    TL_OK(store_crank_end(b, NULL));
    tl_commit(a, 3, NULL);
    tl_commit(b, 3, NULL);
    assert_string_equal(store_committed_hash(a), store_committed_hash(b));
    /* Bundles and transcripts never feed the crank chain, but they are
     * state: the chains agree, the committed hashes do not. */
    TL_OK(store_crank_begin(a, NULL));
    TL_OK(store_transcript_append(a, "v1", swing_str("item"), NULL, NULL));
    TL_OK(store_crank_end(a, NULL));
    TL_OK(store_crank_begin(b, NULL));
    TL_OK(store_crank_end(b, NULL));
    tl_commit(a, 4, NULL);
    tl_commit(b, 4, NULL);
    assert_string_equal(store_activity_hash(a), store_activity_hash(b));
    assert_string_not_equal(store_committed_hash(a), store_committed_hash(b));
    store_close(a);
    store_close(b);
    tl_rmtree(d1);
    tl_rmtree(d2);
}

/* store_pending_hash (2026-12, issue 17: an ABCI FinalizeBlock needs the app
 * hash before Commit) gives what the next commit gives; the digest it keeps
 * is reused only while nothing exported changed: a node that asks for the
 * pending hash at odd moments (before and after host. writes, consensus
 * writes, aborted cranks) commits exactly the hashes of a node that never
 * asks. */
static void test_digest_pending_hash_is_the_commit_hash(void **state)
{
    char *da = tl_tmpdir(), *db = tl_tmpdir();
    store *a = tl_open(da), *b = tl_open(db);
    char pend[65], again[65];
    uint64_t sa = 0x9e3779b97f4a7c15ull, sb = sa;
    (void)state;
    memset(big, 'q', sizeof big);
    for (int h = 1; h <= 25; h++) {
        for (int c = 0; c < 3; c++) {
            random_crank(a, &sa, h);
            random_crank(b, &sb, h);
            if ((h + c) % 2 == 0) TL_OK(store_pending_hash(a, (uint64_t)h, pend, NULL)); /* then more writes */
        }
        TL_OK(store_pending_hash(a, (uint64_t)h, pend, NULL));
        assert_int_equal(strlen(pend), 64);
        if (h % 3 == 0) { /* host. and local. writes keep it; a second ask agrees */
            TL_OK(store_set(a, swing_str("host.x"), swing_str("y"), NULL));
            TL_OK(store_set(a, swing_str("local.x"), swing_str("y"), NULL));
            TL_OK(store_set(b, swing_str("host.x"), swing_str("y"), NULL));
            TL_OK(store_set(b, swing_str("local.x"), swing_str("y"), NULL));
            TL_OK(store_pending_hash(a, (uint64_t)h, again, NULL));
            assert_string_equal(again, pend);
        }
        if (h % 4 == 0) { /* a late consensus write: the kept digest is stale */
            tl_crank_begin(a);
            tl_set(a, "late", "x");
            tl_crank_end(a);
            tl_crank_begin(b);
            tl_set(b, "late", "x");
            tl_crank_end(b);
            TL_OK(store_pending_hash(b, (uint64_t)h, again, NULL));
            assert_string_not_equal(again, pend);
            snprintf(pend, sizeof pend, "%s", again);
        }
        tl_commit(a, (uint64_t)h, NULL);
        tl_commit(b, (uint64_t)h, NULL);
        assert_string_equal(store_committed_hash(a), pend);
        assert_string_equal(store_committed_hash(b), pend);
        recomputed_hash(a, again);
        assert_string_equal(again, pend);
    }
    /* Inside a crank it is refused. */
    tl_crank_begin(a);
    assert_int_equal(store_pending_hash(a, 26, pend, NULL), SWING_ERR_OUT_OF_ORDER);
    tl_crank_end(a);
    store_close(a);
    store_close(b);
    tl_rmtree(da);
    tl_rmtree(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_known_answers),
        cmocka_unit_test(test_digest_is_a_set_hash),
        cmocka_unit_test(test_digest_kept_equals_recomputed),
        cmocka_unit_test(test_digest_dense_and_sparse_changes),
        cmocka_unit_test(test_digest_threads_agree),
        cmocka_unit_test(test_digest_committed_hash_binds_height_and_state),
        cmocka_unit_test(test_digest_pending_hash_is_the_commit_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
