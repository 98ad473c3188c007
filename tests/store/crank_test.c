/*
 * crank_test.c - the store's crank layer (store/crank.c, journal.c): crank
 * abort discards writes and hash contributions, and the crank journal
 * against a model (random cranks, aborts and commits; one big crank).
 * Split from overlay_test.c; helpers in tests/lib/testlib.h.
 */
#include "tests/lib/testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- crank abort ---- */

static void test_overlay_abort_discards_crank_writes(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    store_delta *d = NULL;
    tl_crank_ops(st, "a", "1", "c", "3", NULL);
    tl_commit(st, 1, NULL);
    tl_crank_ops(st, "x", "kept", NULL);

    tl_crank_begin(st);
    tl_set(st, "a", "2");
    tl_set(st, "b", "new");
    tl_set(st, "x", "changed");
    tl_del(st, "c");
    tl_set(st, "local.l", "gone");
    TL_OK(store_crank_abort(st, NULL));
    assert_false(store_in_crank(st));
    tl_expect_all(st, "a", "1", "b", NULL, "c", "3", "x", "kept", "local.l", NULL, NULL);

    TL_OK(store_commit(st, 2, &d, NULL));
    tl_expect_delta_sorted(d);
    assert_int_equal(d->count, 2);
    tl_expect_delta(d, "kv.x", "kept");
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
    tl_crank_begin(s1);
    tl_set(s1, "b", "2");
    tl_del(s1, "a");
    TL_OK(store_crank_abort(s1, NULL));
    tl_commit(s1, 1, NULL);

    tl_put(s2, "a", "1");
    tl_commit(s2, 1, NULL);

    /* Control: the same write not aborted does change the hash. */
    tl_put(s3, "a", "1");
    tl_put(s3, "b", "2");
    tl_commit(s3, 1, NULL);

    assert_int_equal(strlen(store_activity_hash(s1)), 64);
    assert_string_equal(store_activity_hash(s1), store_activity_hash(s2));
    assert_string_not_equal(store_activity_hash(s1), store_activity_hash(s3));

    /* An aborted crank leaves the next crank's hash unaffected too. */
    tl_crank_begin(s1);
    tl_set(s1, "z", "9");
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
            tl_crank_begin(a);
            memcpy(before, model, sizeof model);
            in_crank = true;
            nops = 0;
        } else if (r < 12 || nops == 64) {
            if (jm_next(&x) % 3 == 0) {
                TL_OK(store_crank_abort(a, NULL));
                memcpy(model, before, sizeof model);
            } else {
                tl_crank_end(a);
                tl_crank_begin(b);
                for (int i = 0; i < nops; i++) jm_apply(b, &ops[i]);
                tl_crank_end(b);
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
    tl_crank_ops(st, "j.00001", "disk", NULL);
    tl_commit(st, 1, NULL);
    for (int round = 0; round < 2; round++) {
        tl_crank_begin(st);
        for (int i = 0; i < n; i++) {
            snprintf(k, sizeof k, "j.%05d", i);
            tl_set(st, k, round ? "kept" : "gone");
        }
        if (round == 0) TL_OK(store_crank_abort(st, NULL));
        else tl_crank_end(st);
        tl_expect_all(st, "j.00000", round ? "kept" : NULL, "j.00001", round ? "kept" : "disk",
                   "j.69999", round ? "kept" : NULL, NULL);
    }
    tl_commit(st, 2, NULL);
    tl_expect(st, "j.12345", "kept");
    store_close(st);
    tl_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlay_abort_discards_crank_writes),
        cmocka_unit_test(test_overlay_abort_discards_hash_contributions),
        cmocka_unit_test(test_overlay_journal_matches_model),
        cmocka_unit_test(test_overlay_journal_big_crank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
