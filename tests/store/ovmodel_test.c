/*
 * ovmodel_test.c - the overlay (store/overlay.c) against a model: under a
 * long random mix of puts (new keys, same-size and resized rewrites,
 * tombstones), removes, detach/attach (the journal's moves) and merges,
 * every key present is found, every key removed is not, iteration stays in
 * key order, and counts and bytes add up, from a few entries to thousands.
 */
#include "tests/lib/testlib.h"

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

/* Keys share long prefixes, as the store's do. */
static swing_bytes key_of(char buf[64], size_t i)
{
    int n = snprintf(buf, 64, "kv%cv%zu.c.kp%zu", 0, i % 7, i);
    return swing_bytes_of(buf, (size_t)n);
}

static void check_all(const store_overlay *ov, const model *m)
{
    char buf[64];
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
}

static void put(store_overlay *ov, model *m, size_t i, size_t vlen, bool tomb)
{
    char buf[64], val[40];
    memset(val, 'v', sizeof val);
    TL_OK(store_overlay_put(ov, key_of(buf, i), swing_bytes_of(val, tomb ? 0 : vlen), tomb, NULL));
    m->present[i] = true;
    m->vlen[i] = tomb ? 0 : vlen;
}

/* One random operation on key i. */
static void step(store_overlay *ov, model *m, uint64_t *rng)
{
    char buf[64];
    size_t i = (size_t)(next_rand(rng) % NKEYS);
    uint64_t op = next_rand(rng) % 10;
    if (op < 5) {
        put(ov, m, i, (size_t)(next_rand(rng) % 3) * 8, op == 4);
    } else if (op < 8) {
        assert_int_equal(store_overlay_remove(ov, key_of(buf, i)), m->present[i]);
        m->present[i] = false;
    } else if (m->present[i]) { /* the journal's move: detach, then attach again */
        store_ov_entry *e = store_overlay_find(ov, key_of(buf, i));
        assert_non_null(e);
        store_overlay_detach(ov, e);
        assert_null(store_overlay_find(ov, key_of(buf, i)));
        assert_null(store_overlay_attach(ov, e));
        assert_ptr_equal(store_overlay_attach(ov, e), e); /* a second attach finds it */
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
    }
    /* shrink to a few entries by removals, then grow again */
    for (size_t i = 0; i < NKEYS; i++) {
        char buf[64];
        if (i % 500 == 0) continue;
        store_overlay_remove(&ov, key_of(buf, i));
        m.present[i] = false;
    }
    check_all(&ov, &m);
    for (size_t i = 0; i < NKEYS; i += 3) put(&ov, &m, i, 16, false);
    check_all(&ov, &m);
    store_overlay_clear(&ov);
    memset(&m, 0, sizeof m);
    check_all(&ov, &m);
    store_overlay_clear(&ov);
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
    store_overlay_merge(&empty, &a); /* empty takes a's tree and table */
    check_all(&empty, &ma);
    memset(&ma, 0, sizeof ma);
    check_all(&a, &ma);
    store_overlay_merge(&empty, &b); /* folded in, b's entries win */
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
        cmocka_unit_test(test_ovmodel_merge_takes_or_folds_the_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
