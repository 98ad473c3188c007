/*
 * ovmodel_test.c - the overlay (store/overlay.c, over ovtree.c's B+tree)
 * against a model: under a long random mix of puts (new keys, same-size and
 * resized rewrites, tombstones), removes, detach/attach and swaps (the
 * journal's moves) and merges, every key present is found, every key
 * removed is not, seeks land on the model's next key, iteration stays in
 * key order, counts and bytes add up and the tree's invariants hold, from
 * a few entries to thousands, for keys with long shared prefixes, keys
 * that are prefixes of others, and ascending or descending inserts.
 */
#include "tests/lib/testlib.h"

#include "base/alloc.h"
#include "store/overlay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS 3000

typedef struct model {
    bool present[NKEYS];
    size_t vlen[NKEYS];
} model;

static uint64_t next_rand(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x >> 33;
}

/* Keys share long prefixes, as the store's do; every third one is longer
 * than a node's inline prefix before it differs, and short keys are
 * prefixes of others ("k1" of "k10"). Distinct for distinct i. */
static swing_bytes key_of(char buf[96], size_t i)
{
    int n;
    switch (i % 3) {
    case 0: n = snprintf(buf, 96, "kv%cv%zu.c.kp%zu", 0, i % 7, i); break;
    case 1: n = snprintf(buf, 96, "kv.vat.vs.vom.o+d12/%040d.%zu", 7, i); break;
    default: n = snprintf(buf, 96, "k%zu", i / 3); break;
    }
    return swing_bytes_of(buf, (size_t)n);
}

/* The model's smallest present key above k (at or above when inclusive). */
static const char *model_seek(const model *m, swing_bytes k, bool inclusive, char best[96], size_t *blen)
{
    bool have = false;
    for (size_t i = 0; i < NKEYS; i++) {
        char buf[96];
        swing_bytes c;
        int d;
        if (!m->present[i]) continue;
        c = key_of(buf, i);
        d = swing_bytes_cmp(c, k);
        if (d < 0 || (d == 0 && !inclusive)) continue;
        if (have && swing_bytes_cmp(c, swing_bytes_of(best, *blen)) >= 0) continue;
        memcpy(best, c.ptr, c.len);
        *blen = c.len;
        have = true;
    }
    return have ? best : NULL;
}


static void check_all(const store_overlay *ov, const model *m)
{
    char buf[96];
    size_t count = 0, bytes = 0;
    store_ov_entry *prev = NULL;
    for (size_t i = 0; i < NKEYS; i++) {
        swing_bytes k = key_of(buf, i);
        store_ov_entry *e = store_overlay_find(ov, k);
        if (!m->present[i]) {
            assert_null(e);
            continue;
        }
        assert_non_null(e);
        assert_int_equal(e->vlen, m->vlen[i]);
        count++;
        bytes += k.len + m->vlen[i];
    }
    assert_int_equal(ov->count, count);
    assert_int_equal(ov->bytes, bytes);
    count = 0;
    for (store_ov_entry *e = store_overlay_first(ov); e; e = store_overlay_next(e), count++) {
        if (prev) assert_true(swing_bytes_cmp(store_ov_key(prev), store_ov_key(e)) < 0);
        prev = e;
    }
    assert_int_equal(count, ov->count);
    assert_true(store_ovtree_valid(&ov->tree));
}

static void check_seeks(const store_overlay *ov, const model *m, uint64_t *rng)
{
    for (int q = 0; q < 40; q++) {
        char kb[96], best[96];
        size_t blen = 0;
        swing_bytes k = key_of(kb, (size_t)(next_rand(rng) % NKEYS));
        bool incl = next_rand(rng) % 2;
        const char *want;
        store_ov_entry *e;
        if (q % 4 == 3) k.len--; /* between keys, too */
        want = model_seek(m, k, incl, best, &blen);
        e = store_overlay_seek(ov, k, incl);
        if (!want) {
            assert_null(e);
            continue;
        }
        assert_non_null(e);
        assert_int_equal(swing_bytes_cmp(store_ov_key(e), swing_bytes_of(want, blen)), 0);
    }
}

static void put(store_overlay *ov, model *m, size_t i, size_t vlen, bool tomb)
{
    char buf[96], val[40];
    memset(val, 'v', sizeof val);
    TL_OK(store_overlay_put(ov, key_of(buf, i), swing_bytes_of(val, tomb ? 0 : vlen), tomb, NULL));
    m->present[i] = true;
    m->vlen[i] = tomb ? 0 : vlen;
}

/* One random operation on key i. */
static void step(store_overlay *ov, model *m, uint64_t *rng)
{
    char buf[96];
    size_t i = (size_t)(next_rand(rng) % NKEYS);
    uint64_t op = next_rand(rng) % 11;
    if (op < 5) {
        put(ov, m, i, (size_t)(next_rand(rng) % 3) * 8, op == 4);
    } else if (op < 8) {
        assert_int_equal(store_overlay_remove(ov, key_of(buf, i)), m->present[i]);
        m->present[i] = false;
    } else if (op < 10 && m->present[i]) { /* the journal's move: detach, then attach again */
        store_ov_entry *e = store_overlay_find(ov, key_of(buf, i)), *clash;
        assert_non_null(e);
        store_overlay_detach(ov, e);
        assert_null(store_overlay_find(ov, key_of(buf, i)));
        TL_OK(store_overlay_attach(ov, e, &clash, NULL));
        assert_null(clash);
        TL_OK(store_overlay_attach(ov, e, &clash, NULL));
        assert_ptr_equal(clash, e); /* a second attach finds it */
    } else if (m->present[i]) { /* the journal's resized rewrite: a new entry takes the old one's place */
        store_ov_entry *e = store_overlay_find(ov, key_of(buf, i)), *n;
        char val[40] = {0};
        size_t vlen = (size_t)(next_rand(rng) % 40);
        assert_non_null(e);
        TL_OK(store_overlay_entry_new(store_ov_key(e), swing_bytes_of(val, vlen), false, &n, NULL));
        store_overlay_swap(ov, e, n);
        swing_mfree(e);
        assert_ptr_equal(store_overlay_find(ov, key_of(buf, i)), n);
        m->vlen[i] = vlen;
    }
}

static void test_ovmodel_random_operations_agree_with_a_model(void **state)
{
    store_overlay ov;
    static model m;
    uint64_t rng = 42;
    (void)state;
    memset(&m, 0, sizeof m);
    store_overlay_init(&ov);
    for (int round = 0; round < 40; round++) {
        for (int k = 0; k < 2000; k++) step(&ov, &m, &rng);
        check_all(&ov, &m);
        check_seeks(&ov, &m, &rng);
    }
    /* shrink to a few entries by removals, then grow again */
    for (size_t i = 0; i < NKEYS; i++) {
        char buf[96];
        if (i % 500 == 0) continue;
        store_overlay_remove(&ov, key_of(buf, i));
        m.present[i] = false;
    }
    check_all(&ov, &m);
    for (size_t i = 0; i < NKEYS; i += 3) put(&ov, &m, i, 16, false);
    check_all(&ov, &m);
    check_seeks(&ov, &m, &rng);
    store_overlay_clear(&ov);
    memset(&m, 0, sizeof m);
    check_all(&ov, &m);
    store_overlay_clear(&ov);
}

/* Ascending inserts (new krefs, queue entries) fill nodes left to right,
 * descending ones right to left; removing from either end empties leaves
 * and renames separators. */
static void test_ovmodel_ordered_inserts_and_removals(void **state)
{
    store_overlay ov;
    static model m;
    uint64_t rng = 7;
    (void)state;
    for (int dir = 0; dir < 2; dir++) {
        memset(&m, 0, sizeof m);
        store_overlay_init(&ov);
        for (size_t k = 0; k < NKEYS; k++) {
            char buf[96];
            size_t i = dir ? NKEYS - 1 - k : k;
            int n = snprintf(buf, sizeof buf, "kv.runQueue.%06zu", i);
            TL_OK(store_overlay_put(&ov, swing_bytes_of(buf, (size_t)n), swing_str("x"), false, NULL));
            if (k % 500 == 0) assert_true(store_ovtree_valid(&ov.tree));
        }
        assert_int_equal(ov.count, NKEYS);
        assert_true(store_ovtree_valid(&ov.tree));
        for (size_t k = 0; k < NKEYS; k++) { /* from the front, as a queue is consumed */
            char buf[96];
            size_t i = dir ? NKEYS - 1 - k : k;
            int n = snprintf(buf, sizeof buf, "kv.runQueue.%06zu", i);
            store_ov_entry *first = store_overlay_first(&ov);
            if (!dir) assert_int_equal(swing_bytes_cmp(store_ov_key(first), swing_bytes_of(buf, (size_t)n)), 0);
            assert_true(store_overlay_remove(&ov, swing_bytes_of(buf, (size_t)n)));
            if (k % 97 == 0) assert_true(store_ovtree_valid(&ov.tree));
        }
        assert_int_equal(ov.count, 0);
        assert_null(store_overlay_first(&ov));
        assert_true(store_ovtree_valid(&ov.tree));
        check_seeks(&ov, &m, &rng);
        store_overlay_clear(&ov);
    }
}

static void test_ovmodel_merge_takes_or_folds_the_index(void **state)
{
    store_overlay a, b, empty;
    static model ma, mb;
    (void)state;
    memset(&ma, 0, sizeof ma);
    memset(&mb, 0, sizeof mb);
    store_overlay_init(&a);
    store_overlay_init(&b);
    store_overlay_init(&empty);
    for (size_t i = 0; i < 1000; i++) put(&a, &ma, i, 8, false);
    for (size_t i = 500; i < 2500; i++) put(&b, &mb, i, 16, i % 5 == 0);
    TL_OK(store_overlay_merge(&empty, &a, NULL)); /* empty takes a's tree */
    check_all(&empty, &ma);
    memset(&ma, 0, sizeof ma);
    check_all(&a, &ma);
    TL_OK(store_overlay_merge(&empty, &b, NULL)); /* folded in, b's entries win */
    for (size_t i = 500; i < 2500; i++) {
        mb.present[i] = true;
    }
    for (size_t i = 0; i < 500; i++) {
        mb.present[i] = true;
        mb.vlen[i] = 8;
    }
    check_all(&empty, &mb);
    store_overlay_clear(&empty);
    store_overlay_clear(&b);
    store_overlay_clear(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ovmodel_random_operations_agree_with_a_model),
        cmocka_unit_test(test_ovmodel_ordered_inserts_and_removals),
        cmocka_unit_test(test_ovmodel_merge_takes_or_folds_the_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
