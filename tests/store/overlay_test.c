/*
 * overlay_test.c - the store's layer semantics (store/overlay.c, layers.c,
 * kv.c, crank.c, commit.c): reads see crank over block over disk, deletes
 * shadow lower layers, next_key and prefix iteration merge the layers,
 * crank abort discards writes, export data and hash contributions, key
 * classes (consensus, local., host., activityhash), the export delta's
 * shape, and commit's preconditions.
 */
#include "tests/lib/testlib.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static void crank_begin(store *st) { TL_OK(store_crank_begin(st, NULL)); }
static void crank_end(store *st) { TL_OK(store_crank_end(st, NULL)); }

static void set(store *st, const char *k, const char *v)
{
    TL_OK(store_set(st, swing_str(k), swing_str(v), NULL));
}

/* Asserts key, value pairs (value NULL: absent), NULL ended. */
static void expect_all(store *st, ...)
{
    va_list ap;
    const char *k;
    va_start(ap, st);
    while ((k = va_arg(ap, const char *)) != NULL) tl_expect(st, k, va_arg(ap, const char *));
    va_end(ap);
}

static void del(store *st, const char *k) { TL_OK(store_delete(st, swing_str(k), NULL)); }

static void commit(store *st, uint64_t h) { TL_OK(store_commit(st, h, NULL, NULL)); }

/* Runs one crank of writes: key, value pairs (value NULL: delete), NULL
 * ended. */
static void crank_ops(store *st, ...)
{
    va_list ap;
    const char *k;
    crank_begin(st);
    va_start(ap, st);
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        if (v) set(st, k, v);
        else del(st, k);
    }
    va_end(ap);
    crank_end(st);
}

/* Asserts the delta holds k = v, or a deletion of k when v is NULL. */
static void expect_delta(const store_delta *d, const char *k, const char *v)
{
    const store_delta_entry *e = tl_delta_find(d, k);
    if (!e) fail_msg("delta has no entry %s", k);
    if (e->deleted != (v == NULL)) fail_msg("delta entry %s: deleted is %d", k, e->deleted);
    if (swing_bytes_cmp(e->value, swing_str(v ? v : "")) != 0)
        fail_msg("delta %s = \"%.*s\", expected \"%s\"", k, (int)e->value.len,
                 (const char *)e->value.ptr, v ? v : "");
}

/* Asserts entries are strictly increasing (sorted, no duplicates). */
static void expect_delta_sorted(const store_delta *d)
{
    for (size_t i = 1; i < d->count; i++)
        if (swing_bytes_cmp(d->entries[i - 1].key, d->entries[i].key) >= 0)
            fail_msg("delta entries %zu and %zu out of order or duplicated", i - 1, i);
}

/* ---- layered reads ---- */

static void test_overlay_reads_see_topmost_layer(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    crank_ops(st, "a", "disk", "only-disk", "d", NULL);
    commit(st, 1);
    tl_expect(st, "a", "disk");

    crank_ops(st, "a", "block", "only-block", "b", NULL);
    tl_expect(st, "a", "block");

    crank_begin(st);
    set(st, "a", "crank");
    expect_all(st, "a", "crank", "only-disk", "d", "only-block", "b", NULL);
    TL_OK(store_crank_abort(st, NULL));
    tl_expect(st, "a", "block");

    crank_ops(st, "a", "crank2", NULL);
    tl_expect(st, "a", "crank2");
    commit(st, 2);
    store_close(st);
    st = tl_open(dir);
    expect_all(st, "a", "crank2", "only-disk", "d", "only-block", "b", NULL);
    store_close(st);
    tl_rmtree(dir);
}

static void test_overlay_deletes_shadow_disk_keys(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    crank_ops(st, "d1", "1", "d2", "2", "d3", "3", NULL);
    commit(st, 1);

    crank_ops(st, "d1", NULL, NULL);
    tl_expect(st, "d1", NULL); /* block tombstone over disk */

    crank_begin(st);
    del(st, "d2");
    tl_expect(st, "d2", NULL); /* crank tombstone over disk */
    set(st, "d1", "again");    /* crank value over block tombstone */
    tl_expect(st, "d1", "again");
    del(st, "d1");
    tl_expect(st, "d1", NULL);
    crank_end(st);
    expect_all(st, "d1", NULL, "d2", NULL, "d3", "3", NULL);
    commit(st, 2);
    expect_all(st, "d1", NULL, "d2", NULL, NULL);
    store_close(st);
    st = tl_open(dir);
    expect_all(st, "d1", NULL, "d2", NULL, "d3", "3", NULL);
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
        if (plan[i] == 's') set(st, k, "v");
        if (plan[i] == 'd') del(st, k);
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
    crank_begin(st);
    apply_plan(st, "sssss.s.s.s.s.s.s.ss", live);
    crank_end(st);
    commit(st, 1);
    check_next_keys(st, live);
    crank_begin(st);
    apply_plan(st, "d.ddds.s.s..........", live);
    crank_end(st);
    check_next_keys(st, live);
    crank_begin(st);
    apply_plan(st, "....sd....dddd.s...d", live);
    check_next_keys(st, live);
    tl_expect_next(st, "n.18", NULL);
    tl_expect_next(st, "", "activityhash");
    crank_end(st);
    check_next_keys(st, live);
    commit(st, 2);
    check_next_keys(st, live);
    store_close(st);
    st = tl_open(dir);
    check_next_keys(st, live);

    /* Every key deleted: nothing left under n. */
    crank_begin(st);
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
    crank_ops(st, "o.x", "out", "p", "out", "p.a", "disk", "p.b", "disk", "p.c", "disk",
              "p.f", "disk", "q.x", "out", NULL);
    commit(st, 1);
    crank_ops(st, "p.b", NULL, "p.d", "block", NULL);
    crank_begin(st);
    set(st, "p.a", "crank");
    set(st, "p.e", "crank");
    del(st, "p.f");
    set(st, "p.", "crank");
    {
        static const char *const want[] = {"p.", "crank", "p.a", "crank", "p.c", "disk",
                                           "p.d", "block", "p.e", "crank", NULL};
        static const char *const none[] = {NULL};
        static const char *const pb[] = {NULL};
        expect_iter(st, "p.", want);
        expect_iter(st, "zzz", none);
        expect_iter(st, "p.b", pb);
    }
    crank_end(st);
    commit(st, 2);
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
    crank_ops(st, "i.a", "1", "i.b", "2", "i.c", "3", NULL);
    commit(st, 1);

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
    crank_begin(st);
    TL_OK(store_iter_create(st, swing_str("i."), &it, NULL));
    del(st, "i.b");
    assert_int_equal(store_iter_next(it, &key, &val, &valid, NULL), SWING_ERR_OUT_OF_ORDER);
    store_iter_destroy(it);
    TL_OK(store_iter_create(st, swing_str("i."), &it, NULL));
    crank_end(st);
    assert_int_equal(store_iter_next(it, &key, &val, &valid, NULL), SWING_ERR_OUT_OF_ORDER);
    store_iter_destroy(it);
    store_close(st);
    tl_rmtree(dir);
}

/* ---- crank abort ---- */

static void test_overlay_abort_discards_crank_writes(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    store_delta *d = NULL;
    crank_ops(st, "a", "1", "c", "3", NULL);
    commit(st, 1);
    crank_ops(st, "x", "kept", NULL);

    crank_begin(st);
    set(st, "a", "2");
    set(st, "b", "new");
    set(st, "x", "changed");
    del(st, "c");
    set(st, "local.l", "gone");
    TL_OK(store_crank_abort(st, NULL));
    assert_false(store_in_crank(st));
    expect_all(st, "a", "1", "b", NULL, "c", "3", "x", "kept", "local.l", NULL, NULL);

    TL_OK(store_commit(st, 2, &d, NULL));
    expect_delta_sorted(d);
    assert_int_equal(d->count, 2);
    expect_delta(d, "kv.x", "kept");
    assert_non_null(tl_delta_find(d, "kv.activityhash"));
    assert_null(tl_delta_find(d, "kv.a"));
    assert_null(tl_delta_find(d, "kv.b"));
    assert_null(tl_delta_find(d, "kv.c"));
    store_delta_destroy(d);
    store_close(st);
    tl_rmtree(dir);
}

static void test_overlay_abort_discards_hash_contributions(void **state)
{
    (void)state;
    char *d1 = tl_tmpdir(), *d2 = tl_tmpdir(), *d3 = tl_tmpdir();
    store *s1 = tl_open(d1), *s2 = tl_open(d2), *s3 = tl_open(d3);
    tl_put(s1, "a", "1");
    crank_begin(s1);
    set(s1, "b", "2");
    del(s1, "a");
    TL_OK(store_crank_abort(s1, NULL));
    commit(s1, 1);

    tl_put(s2, "a", "1");
    commit(s2, 1);

    /* Control: the same write not aborted does change the hash. */
    tl_put(s3, "a", "1");
    tl_put(s3, "b", "2");
    commit(s3, 1);

    assert_int_equal(strlen(store_activity_hash(s1)), 64);
    assert_string_equal(store_activity_hash(s1), store_activity_hash(s2));
    assert_string_not_equal(store_activity_hash(s1), store_activity_hash(s3));

    /* An aborted crank leaves the next crank's hash unaffected too. */
    crank_begin(s1);
    set(s1, "z", "9");
    TL_OK(store_crank_abort(s1, NULL));
    tl_put(s1, "c", "3");
    tl_put(s2, "c", "3");
    assert_string_equal(store_activity_hash(s1), store_activity_hash(s2));
    store_close(s1);
    store_close(s2);
    store_close(s3);
    tl_rmtree(d1);
    tl_rmtree(d2);
    tl_rmtree(d3);
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
    commit(st, 1);
    store_close(st);
    st = tl_open(dir);
    expect_all(st, "local.x", "l", "host.x", "h", "x", NULL, NULL);
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
    crank_ops(st, "local.in", "2", "host.in", "2", NULL);
    TL_OK(store_commit(st, 1, &d, NULL));
    expect_delta_sorted(d);
    assert_int_equal(d->count, 2);
    expect_delta(d, "kv.c", "1");
    expect_delta(d, "kv.activityhash", store_activity_hash(st));
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
    crank_begin(st);
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
    commit(st, 1);
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
    crank_ops(st, "m", "1", "b", "1", "y", "1", NULL);
    commit(st, 1);

    crank_ops(st, "z", "1", "a", "1", "m", NULL, "k", "1", NULL);
    crank_ops(st, "a", "2", "k", "2", "y", NULL, NULL);
    crank_ops(st, "a", "3", "k", NULL, "b", "2", NULL);

    TL_OK(store_commit(st, 2, &d, NULL));
    expect_delta_sorted(d);
    expect_delta(d, "kv.a", "3");
    expect_delta(d, "kv.b", "2");
    expect_delta(d, "kv.z", "1");
    expect_delta(d, "kv.m", NULL);
    expect_delta(d, "kv.y", NULL);
    expect_delta(d, "kv.activityhash", store_activity_hash(st));
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
    commit(st, 5);
    tl_put(st, "x", "1");
    crank_begin(st);
    set(st, "y", "1");

    swing_err_clear(&e);
    assert_int_equal(store_commit(st, 6, &d, &e), SWING_ERR_OUT_OF_ORDER);
    assert_null(d);
    assert_true(e.msg[0] != '\0');
    assert_true(store_in_crank(st));
    tl_expect(st, "y", "1");
    crank_end(st);
    snprintf(h, sizeof h, "%s", store_activity_hash(st));

    d = (store_delta *)&d;
    assert_int_equal(store_commit(st, 5, &d, NULL), SWING_ERR_OUT_OF_ORDER);
    assert_null(d);
    assert_int_equal(store_commit(st, 4, NULL, NULL), SWING_ERR_OUT_OF_ORDER);
    assert_int_equal(store_commit(st, 0, NULL, NULL), SWING_ERR_OUT_OF_ORDER);
    assert_int_equal(store_height(st), 5);
    assert_string_equal(store_activity_hash(st), h);
    expect_all(st, "x", "1", "y", "1", "host.height", "5", NULL);

    /* Nothing reached disk: abandon the block and reopen. */
    store_close(st);
    st = tl_open(dir);
    assert_int_equal(store_height(st), 5);
    expect_all(st, "a", "1", "x", NULL, "y", NULL, "host.height", "5", NULL);

    /* The pending block survives failed commits and then commits whole. */
    tl_put(st, "x", "2");
    assert_int_equal(store_commit(st, 5, NULL, NULL), SWING_ERR_OUT_OF_ORDER);
    TL_OK(store_commit(st, 6, &d, NULL));
    expect_delta(d, "kv.x", "2");
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

/* ---- the crank journal against a model ---- */

#define JM_KEYS 10
#define JM_VMAX 24

typedef struct jm_val {
    bool present;
    size_t len;
    char v[JM_VMAX];
} jm_val;

typedef struct jm_op {
    int key;
    jm_val val; /* present false: delete */
} jm_op;

static uint64_t jm_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void jm_key(int i, char out[16])
{
    /* Two key classes: consensus keys and local. keys (hashed differently). */
    snprintf(out, 16, i < 7 ? "k%d" : "local.k%d", i);
}

static void jm_apply(store *st, const jm_op *op)
{
    char k[16];
    jm_key(op->key, k);
    if (op->val.present)
        TL_OK(store_set(st, swing_str(k), swing_bytes_of(op->val.v, op->val.len), NULL));
    else
        TL_OK(store_delete(st, swing_str(k), NULL));
}

static void jm_check(store *st, const jm_val *model)
{
    char k[16];
    int live = 0, seen = 0;
    swing_buf cur = {0};
    bool found;
    for (int i = 0; i < JM_KEYS; i++) {
        swing_buf v = {0};
        jm_key(i, k);
        TL_OK(store_get(st, swing_str(k), &v, &found, NULL));
        assert_int_equal(found, model[i].present);
        if (found) {
            live++;
            assert_int_equal(v.len, model[i].len);
            if (v.len) assert_memory_equal(v.ptr, model[i].v, v.len);
        }
        swing_buf_free(&v);
    }
    /* next_key walks exactly the live keys (activityhash aside). */
    for (;;) {
        swing_buf nk = {0};
        TL_OK(store_next_key(st, swing_buf_view(&cur), &nk, &found, NULL));
        swing_buf_free(&cur);
        if (!found) break;
        cur = nk;
        if (swing_bytes_cmp(swing_buf_view(&cur), swing_str("activityhash")) != 0 &&
            swing_bytes_cmp(swing_buf_view(&cur), swing_str("host.height")) != 0)
            seen++;
    }
    assert_int_equal(seen, live);
    /* next_key from each key, in a scrambled order (forward and backward
     * jumps over the disk iterator), is the next live key of the model. */
    for (int n = 0; n < JM_KEYS; n++) {
        int p = (n * 7 + 3) % JM_KEYS, want = -1;
        char pk[16], wk[16];
        swing_buf nk = {0};
        jm_key(p, pk);
        for (int i = 0; i < JM_KEYS; i++) {
            jm_key(i, k);
            if (!model[i].present || strcmp(k, pk) <= 0) continue;
            if (want < 0 || (jm_key(want, wk), strcmp(k, wk) < 0)) want = i;
        }
        TL_OK(store_next_key(st, swing_str(pk), &nk, &found, NULL));
        assert_int_equal(found, want >= 0);
        if (found) {
            jm_key(want, wk);
            assert_int_equal(swing_bytes_cmp(swing_buf_view(&nk), swing_str(wk)), 0);
        }
        swing_buf_free(&nk);
    }
}

static bool jm_same(const jm_val *x, const jm_val *y)
{
    return x->present == y->present && x->len == y->len && memcmp(x->v, y->v, x->len) == 0;
}

/* The export delta of one commit against the model before (disk) and after
 * it: every changed consensus key appears with its new value; a key
 * rewritten to its old value may appear too. `exact` forbids deletions of
 * keys that were never on disk; local keys never appear. */
static void jm_check_delta(const store_delta *d, const jm_val *disk, const jm_val *model,
                           bool exact)
{
    size_t seen = 0;
    for (int i = 0; i < JM_KEYS; i++) {
        char k[16], pk[24];
        const store_delta_entry *e;
        jm_key(i, k);
        snprintf(pk, sizeof pk, "kv.%s", k);
        e = tl_delta_find(d, pk);
        if (!e) {
            if (i < 7 && !jm_same(&disk[i], &model[i])) fail_msg("delta lacks changed key %s", k);
            continue;
        }
        if (i >= 7) fail_msg("delta has local key %s", k);
        if (exact && !disk[i].present && !model[i].present)
            fail_msg("delta deletes %s, which was never on disk", k);
        assert_int_equal(e->deleted, !model[i].present);
        if (model[i].present)
            assert_int_equal(swing_bytes_cmp(e->value, swing_bytes_of(model[i].v, model[i].len)), 0);
        seen++;
    }
    assert_int_equal(d->count, seen + (tl_delta_find(d, "kv.activityhash") ? 1 : 0));
}

/* Random cranks of sets and deletes (same-size rewrites, resizes,
 * tombstones over disk keys, repeated writes of one key), some aborted,
 * against a model; a second store gets only the kept cranks and must reach
 * the same contents, export deltas and activity hash at every commit. */
static void test_overlay_journal_matches_model(void **state)
{
    (void)state;
    char *da = tl_tmpdir(), *db = tl_tmpdir();
    store *a = tl_open(da), *b = tl_open(db);
    jm_val model[JM_KEYS], before[JM_KEYS], disk[JM_KEYS];
    jm_op ops[64];
    int nops = 0;
    uint64_t x = 0x9e3779b97f4a7c15ull, height = 0;
    bool in_crank = false;
    memset(model, 0, sizeof model);
    memset(disk, 0, sizeof disk);
    for (int step = 0; step < 6000; step++) {
        uint64_t r = jm_next(&x) % 100;
        if (!in_crank && r < 8) {
            store_delta *d1 = NULL, *d2 = NULL;
            height++;
            TL_OK(store_commit(a, height, &d1, NULL));
            TL_OK(store_commit(b, height, &d2, NULL));
            /* a scanned every key it wrote (jm_check), so it knows which were
             * absent on disk and exports exactly the changes; b never scans
             * and may add deletions of keys that were never on disk. */
            jm_check_delta(d1, disk, model, true);
            jm_check_delta(d2, disk, model, false);
            memcpy(disk, model, sizeof model);
            {
                const store_delta_entry *h1 = tl_delta_find(d1, "kv.activityhash");
                const store_delta_entry *h2 = tl_delta_find(d2, "kv.activityhash");
                assert_int_equal(h1 != NULL, h2 != NULL);
                if (h1) assert_int_equal(swing_bytes_cmp(h1->value, h2->value), 0);
            }
            store_delta_destroy(d1);
            store_delta_destroy(d2);
            assert_string_equal(store_activity_hash(a), store_activity_hash(b));
        } else if (!in_crank) {
            crank_begin(a);
            memcpy(before, model, sizeof model);
            in_crank = true;
            nops = 0;
        } else if (r < 12 || nops == 64) {
            if (jm_next(&x) % 3 == 0) {
                TL_OK(store_crank_abort(a, NULL));
                memcpy(model, before, sizeof model);
            } else {
                crank_end(a);
                crank_begin(b);
                for (int i = 0; i < nops; i++) jm_apply(b, &ops[i]);
                crank_end(b);
            }
            in_crank = false;
            assert_string_equal(store_activity_hash(a), store_activity_hash(b));
        } else {
            jm_op *op = &ops[nops++];
            static const size_t lens[] = {0, 1, 3, 3, 3, 8, 20};
            op->key = (int)(jm_next(&x) % JM_KEYS);
            op->val.present = jm_next(&x) % 4 != 0;
            op->val.len = op->val.present ? lens[jm_next(&x) % 7] : 0;
            for (size_t i = 0; i < op->val.len; i++) op->val.v[i] = (char)('a' + jm_next(&x) % 26);
            jm_apply(a, op);
            model[op->key] = op->val;
        }
        jm_check(a, model);
    }
    if (in_crank) TL_OK(store_crank_abort(a, NULL));
    store_close(a);
    store_close(b);
    a = tl_open(da);
    b = tl_open(db);
    assert_int_equal(store_height(a), height);
    assert_string_equal(store_activity_hash(a), store_activity_hash(b));
    store_close(a);
    store_close(b);
    tl_rmtree(da);
    tl_rmtree(db);
}

/* A crank bigger than the journal keeps between cranks: aborted whole, then
 * kept whole, with the journal's buffers released and regrown. */
static void test_overlay_journal_big_crank(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    char k[32];
    const int n = 70000;
    crank_ops(st, "j.00001", "disk", NULL);
    commit(st, 1);
    for (int round = 0; round < 2; round++) {
        crank_begin(st);
        for (int i = 0; i < n; i++) {
            snprintf(k, sizeof k, "j.%05d", i);
            set(st, k, round ? "kept" : "gone");
        }
        if (round == 0) TL_OK(store_crank_abort(st, NULL));
        else crank_end(st);
        expect_all(st, "j.00000", round ? "kept" : NULL, "j.00001", round ? "kept" : "disk",
                   "j.69999", round ? "kept" : NULL, NULL);
    }
    commit(st, 2);
    tl_expect(st, "j.12345", "kept");
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
        cmocka_unit_test(test_overlay_abort_discards_crank_writes),
        cmocka_unit_test(test_overlay_abort_discards_hash_contributions),
        cmocka_unit_test(test_overlay_consensus_write_needs_a_crank),
        cmocka_unit_test(test_overlay_local_and_host_keys_not_exported),
        cmocka_unit_test(test_overlay_activityhash_is_store_only),
        cmocka_unit_test(test_overlay_delta_sorted_deduplicated_with_deletions),
        cmocka_unit_test(test_overlay_commit_out_of_order_changes_nothing),
        cmocka_unit_test(test_overlay_journal_matches_model),
        cmocka_unit_test(test_overlay_journal_big_crank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
