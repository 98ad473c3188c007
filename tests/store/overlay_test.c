/*
 * overlay_test.c - the store's layer semantics (store/overlay.c, layers.c,
 * kv.c, commit.c): reads see crank over block over disk, deletes shadow
 * lower layers, next_key and prefix iteration merge the layers, key classes
 * (consensus, local., host., activityhash), the export delta's shape, and
 * commit's preconditions. Crank abort and the journal: crank_test.c.
 */
#include "tests/lib/testlib.h"

#include <stdio.h>
#include <string.h>

/* ---- layered reads ---- */

static void test_overlay_reads_see_topmost_layer(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    tl_crank_ops(st, "a", "disk", "only-disk", "d", NULL);
    tl_commit(st, 1, NULL);
    tl_expect(st, "a", "disk");

    tl_crank_ops(st, "a", "block", "only-block", "b", NULL);
    tl_expect(st, "a", "block");

    tl_crank_begin(st);
    tl_set(st, "a", "crank");
    tl_expect_all(st, "a", "crank", "only-disk", "d", "only-block", "b", NULL);
    TL_OK(store_crank_abort(st, NULL));
    tl_expect(st, "a", "block");

    tl_crank_ops(st, "a", "crank2", NULL);
    tl_expect(st, "a", "crank2");
    tl_commit(st, 2, NULL);
    store_close(st);
    st = tl_open(dir);
    tl_expect_all(st, "a", "crank2", "only-disk", "d", "only-block", "b", NULL);
    store_close(st);
    tl_rmtree(dir);
}

static void test_overlay_deletes_shadow_disk_keys(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    tl_crank_ops(st, "d1", "1", "d2", "2", "d3", "3", NULL);
    tl_commit(st, 1, NULL);

    tl_crank_ops(st, "d1", NULL, NULL);
    tl_expect(st, "d1", NULL); /* block tombstone over disk */

    tl_crank_begin(st);
    tl_del(st, "d2");
    tl_expect(st, "d2", NULL); /* crank tombstone over disk */
    tl_set(st, "d1", "again");    /* crank value over block tombstone */
    tl_expect(st, "d1", "again");
    tl_del(st, "d1");
    tl_expect(st, "d1", NULL);
    tl_crank_end(st);
    tl_expect_all(st, "d1", NULL, "d2", NULL, "d3", "3", NULL);
    tl_commit(st, 2, NULL);
    tl_expect_all(st, "d1", NULL, "d2", NULL, NULL);
    store_close(st);
    st = tl_open(dir);
    tl_expect_all(st, "d1", NULL, "d2", NULL, "d3", "3", NULL);
    store_close(st);
    tl_rmtree(dir);
}

/* ---- next_key across layers ---- */

#define NK 20

static void nk_name(char *out, int i) { snprintf(out, 16, "n.%02d", i); }

/* Walks next_key from every key and from between keys, against `live`. */
static void check_next_keys(store *st, const bool live[NK])
{
    char k[16], probe[24], want[16];
    for (int i = -1; i < NK; i++) {
        int j = i + 1;
        while (j < NK && !live[j]) j++;
        if (j < NK) nk_name(want, j);
        if (i < 0) {
            snprintf(probe, sizeof probe, "n.");
        } else {
            nk_name(k, i);
            snprintf(probe, sizeof probe, "%s", k);
        }
        tl_expect_next(st, probe, j < NK ? want : NULL);
        if (i >= 0) { /* a probe that exists in no layer, just after key i */
            snprintf(probe, sizeof probe, "%s\x01", k);
            tl_expect_next(st, probe, j < NK ? want : NULL);
        }
    }
}

/* Applies plan[i] to key n.<i>: 's' sets, 'd' deletes, '.' leaves it. */
static void apply_plan(store *st, const char *plan, bool live[NK])
{
    char k[16];
    for (int i = 0; i < NK; i++) {
        nk_name(k, i);
        if (plan[i] == 's') tl_set(st, k, "v");
        if (plan[i] == 'd') tl_del(st, k);
        if (plan[i] != '.') live[i] = plan[i] == 's';
    }
}

static void test_overlay_next_key_merges_layers(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    bool live[NK] = {false};
    /* Disk holds the first and last keys; the block deletes the first and
     * the run 2-4 and adds 5, 7, 9; the crank deletes the last, the run
     * 10-13 (11 and 13 never existed) and block key 5, resurrects 4, adds 15. */
    tl_crank_begin(st);
    apply_plan(st, "sssss.s.s.s.s.s.s.ss", live);
    tl_crank_end(st);
    tl_commit(st, 1, NULL);
    check_next_keys(st, live);
    tl_crank_begin(st);
    apply_plan(st, "d.ddds.s.s..........", live);
    tl_crank_end(st);
    check_next_keys(st, live);
    tl_crank_begin(st);
    apply_plan(st, "....sd....dddd.s...d", live);
    check_next_keys(st, live);
    tl_expect_next(st, "n.18", NULL);
    tl_expect_next(st, "", "activityhash");
    tl_crank_end(st);
    check_next_keys(st, live);
    tl_commit(st, 2, NULL);
    check_next_keys(st, live);
    store_close(st);
    st = tl_open(dir);
    check_next_keys(st, live);

    /* Every key deleted: nothing left under n. */
    tl_crank_begin(st);
    apply_plan(st, "dddddddddddddddddddd", live);
    check_next_keys(st, live);
    TL_OK(store_crank_abort(st, NULL));
    store_close(st);
    tl_rmtree(dir);
}

/* ---- prefix iteration ---- */

/* Iterates prefix and checks keys and values against want (NULL ended). */
static void expect_iter(store *st, const char *prefix, const char *const *want)
{
    store_iter *it = NULL;
    size_t n = 0;
    TL_OK(store_iter_create(st, swing_str(prefix), &it, NULL));
    for (;;) {
        swing_bytes key, val;
        bool valid = false;
        TL_OK(store_iter_next(it, &key, &val, &valid, NULL));
        if (!valid) break;
        if (!want[2 * n]) fail_msg("iteration of %s yields extra key %.*s", prefix,
                                   (int)key.len, (const char *)key.ptr);
        if (swing_bytes_cmp(key, swing_str(want[2 * n])) != 0)
            fail_msg("iteration of %s: key %zu is %.*s, expected %s", prefix, n, (int)key.len,
                     (const char *)key.ptr, want[2 * n]);
        if (swing_bytes_cmp(val, swing_str(want[2 * n + 1])) != 0)
            fail_msg("iteration of %s: %s = %.*s, expected %s", prefix, want[2 * n],
                     (int)val.len, (const char *)val.ptr, want[2 * n + 1]);
        n++;
    }
    if (want[2 * n]) fail_msg("iteration of %s stopped before %s", prefix, want[2 * n]);
    store_iter_destroy(it);
}

static void test_overlay_iter_yields_live_prefix_keys(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    tl_crank_ops(st, "o.x", "out", "p", "out", "p.a", "disk", "p.b", "disk", "p.c", "disk",
              "p.f", "disk", "q.x", "out", NULL);
    tl_commit(st, 1, NULL);
    tl_crank_ops(st, "p.b", NULL, "p.d", "block", NULL);
    tl_crank_begin(st);
    tl_set(st, "p.a", "crank");
    tl_set(st, "p.e", "crank");
    tl_del(st, "p.f");
    tl_set(st, "p.", "crank");
    {
        static const char *const want[] = {"p.", "crank", "p.a", "crank", "p.c", "disk",
                                           "p.d", "block", "p.e", "crank", NULL};
        static const char *const none[] = {NULL};
        static const char *const pb[] = {NULL};
        expect_iter(st, "p.", want);
        expect_iter(st, "zzz", none);
        expect_iter(st, "p.b", pb);
    }
    tl_crank_end(st);
    tl_commit(st, 2, NULL);
    {
        static const char *const want[] = {"p.", "crank", "p.a", "crank", "p.c", "disk",
                                           "p.d", "block", "p.e", "crank", NULL};
        expect_iter(st, "p.", want);
    }
    store_close(st);
    tl_rmtree(dir);
}

static void test_overlay_iter_fails_after_a_write(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    store_iter *it = NULL;
    swing_bytes key, val;
    bool valid = false;
    swing_err e;
    tl_crank_ops(st, "i.a", "1", "i.b", "2", "i.c", "3", NULL);
    tl_commit(st, 1, NULL);

    TL_OK(store_iter_create(st, swing_str("i."), &it, NULL));
    TL_OK(store_iter_next(it, &key, &val, &valid, NULL));
    assert_true(valid);
    TL_OK(store_set(st, swing_str("local.x"), swing_str("w"), NULL));
    swing_err_clear(&e);
    assert_int_equal(store_iter_next(it, &key, &val, &valid, &e), SWING_ERR_OUT_OF_ORDER);
    assert_false(valid);
    assert_true(e.msg[0] != '\0');
    store_iter_destroy(it);

    /* A delete, and a crank end, also invalidate an open iterator. */
    tl_crank_begin(st);
    TL_OK(store_iter_create(st, swing_str("i."), &it, NULL));
    tl_del(st, "i.b");
    assert_int_equal(store_iter_next(it, &key, &val, &valid, NULL), SWING_ERR_OUT_OF_ORDER);
    store_iter_destroy(it);
    TL_OK(store_iter_create(st, swing_str("i."), &it, NULL));
    tl_crank_end(st);
    assert_int_equal(store_iter_next(it, &key, &val, &valid, NULL), SWING_ERR_OUT_OF_ORDER);
    store_iter_destroy(it);
    store_close(st);
    tl_rmtree(dir);
}

/* ---- key classes ---- */

static void test_overlay_consensus_write_needs_a_crank(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    swing_err e;
    swing_err_clear(&e);
    assert_int_equal(store_set(st, swing_str("x"), swing_str("1"), &e), SWING_ERR_OUT_OF_ORDER);
    assert_true(e.msg[0] != '\0');
    assert_int_equal(store_delete(st, swing_str("x"), NULL), SWING_ERR_OUT_OF_ORDER);
    tl_expect(st, "x", NULL);
    TL_OK(store_set(st, swing_str("local.x"), swing_str("l"), NULL));
    TL_OK(store_set(st, swing_str("host.x"), swing_str("h"), NULL));
    tl_expect(st, "local.x", "l");
    tl_expect(st, "host.x", "h");
    tl_commit(st, 1, NULL);
    store_close(st);
    st = tl_open(dir);
    tl_expect_all(st, "local.x", "l", "host.x", "h", "x", NULL, NULL);
    TL_OK(store_delete(st, swing_str("local.x"), NULL));
    TL_OK(store_delete(st, swing_str("host.x"), NULL));
    tl_expect(st, "local.x", NULL);
    tl_expect(st, "host.x", NULL);
    /* A crank that was ended no longer admits consensus writes. */
    tl_put(st, "y", "1");
    assert_int_equal(store_set(st, swing_str("y"), swing_str("2"), NULL),
                     SWING_ERR_OUT_OF_ORDER);
    tl_expect(st, "y", "1");
    store_close(st);
    tl_rmtree(dir);
}

static void test_overlay_local_and_host_keys_not_exported(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    store_delta *d = NULL;
    TL_OK(store_set(st, swing_str("local.out"), swing_str("1"), NULL));
    TL_OK(store_set(st, swing_str("host.out"), swing_str("1"), NULL));
    tl_put(st, "c", "1");
    tl_crank_ops(st, "local.in", "2", "host.in", "2", NULL);
    TL_OK(store_commit(st, 1, &d, NULL));
    tl_expect_delta_sorted(d);
    assert_int_equal(d->count, 2);
    tl_expect_delta(d, "kv.c", "1");
    tl_expect_delta(d, "kv.activityhash", store_activity_hash(st));
    store_delta_destroy(d);

    TL_OK(store_delete(st, swing_str("local.out"), NULL));
    TL_OK(store_delete(st, swing_str("host.out"), NULL));
    TL_OK(store_commit(st, 2, &d, NULL));
    for (size_t i = 0; i < d->count; i++) {
        swing_bytes k = d->entries[i].key;
        if (swing_bytes_has_prefix(k, swing_str("kv.local.")) ||
            swing_bytes_has_prefix(k, swing_str("kv.host.")))
            fail_msg("delta exports %.*s", (int)k.len, (const char *)k.ptr);
    }
    assert_int_equal(d->count, 0);
    store_delta_destroy(d);
    store_close(st);
    tl_rmtree(dir);
}

static void test_overlay_activityhash_is_store_only(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    char h[65];
    swing_err e;
    tl_put(st, "a", "1");
    snprintf(h, sizeof h, "%s", store_activity_hash(st));
    tl_expect(st, "activityhash", h);
    tl_crank_begin(st);
    swing_err_clear(&e);
    assert_int_equal(store_set(st, swing_str("activityhash"), swing_str("x"), &e),
                     SWING_ERR_INVALID);
    assert_true(e.msg[0] != '\0');
    assert_int_equal(store_delete(st, swing_str("activityhash"), NULL), SWING_ERR_INVALID);
    tl_expect(st, "activityhash", h);
    TL_OK(store_crank_abort(st, NULL));
    assert_int_equal(store_set(st, swing_str("activityhash"), swing_str("x"), NULL),
                     SWING_ERR_INVALID);
    tl_expect(st, "activityhash", h);
    tl_commit(st, 1, NULL);
    store_close(st);
    st = tl_open(dir);
    tl_expect(st, "activityhash", h);
    assert_string_equal(store_activity_hash(st), h);
    store_close(st);
    tl_rmtree(dir);
}

/* ---- export delta and commit ---- */

static void test_overlay_delta_sorted_deduplicated_with_deletions(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    store_delta *d = NULL;
    tl_crank_ops(st, "m", "1", "b", "1", "y", "1", NULL);
    tl_commit(st, 1, NULL);

    tl_crank_ops(st, "z", "1", "a", "1", "m", NULL, "k", "1", NULL);
    tl_crank_ops(st, "a", "2", "k", "2", "y", NULL, NULL);
    tl_crank_ops(st, "a", "3", "k", NULL, "b", "2", NULL);

    TL_OK(store_commit(st, 2, &d, NULL));
    tl_expect_delta_sorted(d);
    tl_expect_delta(d, "kv.a", "3");
    tl_expect_delta(d, "kv.b", "2");
    tl_expect_delta(d, "kv.z", "1");
    tl_expect_delta(d, "kv.m", NULL);
    tl_expect_delta(d, "kv.y", NULL);
    tl_expect_delta(d, "kv.activityhash", store_activity_hash(st));
    /* k was created and deleted in this block: its deletion may appear. */
    {
        const store_delta_entry *k = tl_delta_find(d, "kv.k");
        assert_int_equal(d->count, k ? 7 : 6);
        if (k) assert_true(k->deleted);
    }
    for (size_t i = 0; i < d->count; i++)
        if (d->entries[i].deleted) assert_int_equal(d->entries[i].value.len, 0);
    store_delta_destroy(d);

    /* A block with no writes at all exports nothing. */
    TL_OK(store_commit(st, 3, &d, NULL));
    assert_int_equal(d->count, 0);
    store_delta_destroy(d);
    store_close(st);
    tl_rmtree(dir);
}

static void test_overlay_commit_out_of_order_changes_nothing(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    store_delta *d = (store_delta *)&d; /* must be reset to NULL on failure */
    char h[65];
    swing_err e;
    tl_put(st, "a", "1");
    tl_commit(st, 5, NULL);
    tl_put(st, "x", "1");
    tl_crank_begin(st);
    tl_set(st, "y", "1");

    swing_err_clear(&e);
    assert_int_equal(store_commit(st, 6, &d, &e), SWING_ERR_OUT_OF_ORDER);
    assert_null(d);
    assert_true(e.msg[0] != '\0');
    assert_true(store_in_crank(st));
    tl_expect(st, "y", "1");
    tl_crank_end(st);
    snprintf(h, sizeof h, "%s", store_activity_hash(st));

    d = (store_delta *)&d;
    assert_int_equal(store_commit(st, 5, &d, NULL), SWING_ERR_OUT_OF_ORDER);
    assert_null(d);
    assert_int_equal(store_commit(st, 4, NULL, NULL), SWING_ERR_OUT_OF_ORDER);
    assert_int_equal(store_commit(st, 0, NULL, NULL), SWING_ERR_OUT_OF_ORDER);
    assert_int_equal(store_height(st), 5);
    assert_string_equal(store_activity_hash(st), h);
    tl_expect_all(st, "x", "1", "y", "1", "host.height", "5", NULL);

    /* Nothing reached disk: abandon the block and reopen. */
    store_close(st);
    st = tl_open(dir);
    assert_int_equal(store_height(st), 5);
    tl_expect_all(st, "a", "1", "x", NULL, "y", NULL, "host.height", "5", NULL);

    /* The pending block survives failed commits and then commits whole. */
    tl_put(st, "x", "2");
    assert_int_equal(store_commit(st, 5, NULL, NULL), SWING_ERR_OUT_OF_ORDER);
    TL_OK(store_commit(st, 6, &d, NULL));
    tl_expect_delta(d, "kv.x", "2");
    assert_null(tl_delta_find(d, "kv.host.height"));
    store_delta_destroy(d);
    assert_int_equal(store_height(st), 6);
    store_close(st);
    st = tl_open(dir);
    assert_int_equal(store_height(st), 6);
    tl_expect(st, "x", "2");
    store_close(st);
    tl_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlay_reads_see_topmost_layer),
        cmocka_unit_test(test_overlay_deletes_shadow_disk_keys),
        cmocka_unit_test(test_overlay_next_key_merges_layers),
        cmocka_unit_test(test_overlay_iter_yields_live_prefix_keys),
        cmocka_unit_test(test_overlay_iter_fails_after_a_write),
        cmocka_unit_test(test_overlay_consensus_write_needs_a_crank),
        cmocka_unit_test(test_overlay_local_and_host_keys_not_exported),
        cmocka_unit_test(test_overlay_activityhash_is_store_only),
        cmocka_unit_test(test_overlay_delta_sorted_deduplicated_with_deletions),
        cmocka_unit_test(test_overlay_commit_out_of_order_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
