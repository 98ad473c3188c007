/*
 * readahead_test.c - store_prefetch (store/readahead.c) and the reads
 * around it: after a range is read ahead, every read inside and outside it,
 * of keys present, absent, chunked, written or deleted in the open block,
 * answers as the disk and the block say; a read-ahead cut short by its
 * limit claims nothing past where it stopped; a commit forgets it. Also
 * next-key across long runs of keys deleted in the open block (layers.c
 * steps over them without a seek per key).
 */
#include "tests/lib/testlib.h"

#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "tests/lib/scratch.h"

static store *open_store(char **dir)
{
    store_options o = store_options_default();
    store *st;
    swing_err e = {0};
    *dir = scratch_dir("readahead");
    o.sync = false;
    assert_int_equal(store_open(*dir, &o, &st, &e), SWING_OK);
    return st;
}

static void prefetch(store *st, const char *lo, const char *hi, size_t max)
{
    swing_err e = {0};
    assert_int_equal(store_prefetch(st, swing_str(lo), swing_str(hi), max, &e), SWING_OK);
}

static void expect_kv(store *st, const char *key, const char *want)
{
    swing_buf v = {0};
    bool found;
    swing_err e = {0};
    assert_int_equal(store_get(st, swing_str(key), &v, &found, &e), SWING_OK);
    if (!want) {
        if (found) fail_msg("%s: found, expected absent", key);
    } else {
        if (!found) fail_msg("%s: absent, expected %s", key, want);
        assert_int_equal(v.len, strlen(want));
        assert_memory_equal(v.ptr, want, v.len);
    }
    swing_buf_free(&v);
}

static void test_readahead_answers_as_the_disk_does(void **state)
{
    char *dir, big[STORE_CHUNK_SIZE * 2 + 10];
    store *st = open_store(&dir);
    swing_err e = {0};
    (void)state;
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tl_crank_ops(st, "ko1.owner", "v1", "ko1.refCount", "1,1", "ko2.owner", "v2", "ko3.refCount", "3,3",
                 "ko30.owner", "v3", "kp1.state", "unresolved", NULL);
    tl_crank_ops(st, "ko2.data", big, NULL); /* chunked: its kv key is not on disk as such */
    tl_commit(st, 1, NULL);
    prefetch(st, "ko1", "ko3/", 100);
    expect_kv(st, "ko1.owner", "v1");
    expect_kv(st, "ko1.refCount", "1,1");
    expect_kv(st, "ko2.owner", "v2");
    expect_kv(st, "ko2.data", big);
    expect_kv(st, "ko2.refCount", NULL); /* absent, inside the range */
    expect_kv(st, "ko1.zzz", NULL);
    expect_kv(st, "ko3.refCount", "3,3");
    expect_kv(st, "ko30.owner", "v3"); /* inside too: "ko30" sorts before "ko3/" */
    expect_kv(st, "ko4.owner", NULL);  /* outside */
    expect_kv(st, "kp1.state", "unresolved");
    /* The block's own writes come first. */
    tl_crank_ops(st, "ko1.owner", "v9", "ko2.refCount", "7,7", "ko3.refCount", NULL, NULL);
    expect_kv(st, "ko1.owner", "v9");
    expect_kv(st, "ko2.refCount", "7,7");
    expect_kv(st, "ko3.refCount", NULL);
    /* A crank that aborts leaves the read-ahead values as they were. */
    assert_int_equal(store_crank_begin(st, &e), SWING_OK);
    assert_int_equal(store_set(st, swing_str("ko1.refCount"), swing_str("5,5"), &e), SWING_OK);
    expect_kv(st, "ko1.refCount", "5,5");
    assert_int_equal(store_crank_abort(st, &e), SWING_OK);
    expect_kv(st, "ko1.refCount", "1,1");
    tl_commit(st, 2, NULL);
    /* After the commit: the disk's new values, not the ones read ahead. */
    expect_kv(st, "ko1.owner", "v9");
    expect_kv(st, "ko2.refCount", "7,7");
    expect_kv(st, "ko3.refCount", NULL);
    prefetch(st, "ko", "kp", 100);
    expect_kv(st, "ko2.refCount", "7,7");
    expect_kv(st, "ko3.refCount", NULL);
    tl_crank_ops(st, "ko3.refCount", "4,4", NULL);
    tl_commit(st, 3, NULL);
    expect_kv(st, "ko3.refCount", "4,4"); /* written after the read-ahead, then committed */
    store_close(st);
    scratch_remove(dir);
}

static void test_readahead_cut_short_claims_nothing_past_it(void **state)
{
    char *dir;
    store *st = open_store(&dir);
    (void)state;
    tl_crank_ops(st, "q.1", "a", "q.2", "b", "q.3", "c", "q.5", "e", "q.7", "g", "q.9", "i", NULL);
    tl_commit(st, 1, NULL);
    prefetch(st, "q.", "q/", 3); /* stops before q.5 */
    expect_kv(st, "q.4", NULL);
    expect_kv(st, "q.5", "e");
    expect_kv(st, "q.7", "g");
    expect_kv(st, "q.8", NULL);
    expect_kv(st, "q.9", "i");
    prefetch(st, "q.9", "q.1", 10); /* an empty range: nothing */
    prefetch(st, "q.", "q/", 0);
    expect_kv(st, "q.1", "a");
    store_close(st);
    scratch_remove(dir);
}

static void expect_next(store *st, const char *key, const char *want)
{
    swing_buf next = {0};
    bool found;
    swing_err e = {0};
    assert_int_equal(store_next_key_in(st, swing_str(key), swing_str("r."), &next, &found, &e), SWING_OK);
    if (!want) {
        if (found) fail_msg("after %s: found %.*s, expected none", key, (int)next.len, (const char *)next.ptr);
    } else {
        if (!found) fail_msg("after %s: none, expected %s", key, want);
        assert_int_equal(next.len, strlen(want));
        assert_memory_equal(next.ptr, want, next.len);
    }
    swing_buf_free(&next);
}

/* Runs of block tombstones over keys on disk and keys of the block, with
 * live keys of both layers between them. */
static void test_next_key_steps_over_runs_of_deletions(void **state)
{
    char *dir, k[32];
    store *st = open_store(&dir);
    swing_err e = {0};
    (void)state;
    assert_int_equal(store_crank_begin(st, &e), SWING_OK);
    for (int i = 100; i < 400; i += 2) {
        snprintf(k, sizeof k, "r.%d", i);
        assert_int_equal(store_set(st, swing_str(k), swing_str("d"), &e), SWING_OK);
    }
    assert_int_equal(store_crank_end(st, &e), SWING_OK);
    tl_commit(st, 1, NULL);
    assert_int_equal(store_crank_begin(st, &e), SWING_OK);
    for (int i = 101; i < 400; i += 2) { /* block keys between the disk's */
        snprintf(k, sizeof k, "r.%d", i);
        assert_int_equal(store_set(st, swing_str(k), swing_str("b"), &e), SWING_OK);
    }
    for (int i = 150; i < 300; i++) { /* delete both layers' keys 150..299 */
        snprintf(k, sizeof k, "r.%d", i);
        assert_int_equal(store_delete(st, swing_str(k), &e), SWING_OK);
    }
    for (int i = 350; i < 400; i++) { /* and every key at the end */
        snprintf(k, sizeof k, "r.%d", i);
        assert_int_equal(store_delete(st, swing_str(k), &e), SWING_OK);
    }
    assert_int_equal(store_crank_end(st, &e), SWING_OK);
    expect_next(st, "r.148", "r.149");
    expect_next(st, "r.149", "r.300");
    expect_next(st, "r.150", "r.300");
    expect_next(st, "r.300", "r.301");
    expect_next(st, "r.349", NULL); /* the run reaches the end of the prefix */
    expect_next(st, "r.", "r.100");
    store_close(st);
    scratch_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readahead_answers_as_the_disk_does),
        cmocka_unit_test(test_readahead_cut_short_claims_nothing_past_it),
        cmocka_unit_test(test_next_key_steps_over_runs_of_deletions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
