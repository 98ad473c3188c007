/*
 * seen_test.c - the block's cache of values read from disk (store/seen.c)
 * against a model, and through the store: under random puts, gets and
 * clears (the table growing from empty past a hundred thousand entries, the
 * generation wrapping) every kept key answers its value and nothing else
 * answers; puts stop at the byte cap; and a store never answers a value the
 * disk no longer holds, across commits that rewrite and delete what a block
 * read.
 */
#include "tests/lib/testlib.h"

#include "store/seen.h"
#include "store/store.h"
#include "tests/lib/scratch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS 150000

static uint64_t next_rand(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x >> 33;
}

static swing_bytes key_of(char buf[48], size_t i)
{
    return swing_bytes_of(buf, (size_t)snprintf(buf, 48, "kv.v%zu.c.ko%zu", i % 5, i));
}

static swing_bytes val_of(char buf[48], size_t i, unsigned round)
{
    return swing_bytes_of(buf, (size_t)snprintf(buf, 48, "%zu,%u", i * 7, round));
}

static void check(const store_seen *c, const unsigned *kept, unsigned round, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char kb[48], vb[48];
        swing_bytes v, want;
        store_seen_state got = store_seen_get(c, key_of(kb, i), &v);
        if (kept[i] != round) {
            if (got != STORE_SEEN_UNKNOWN) fail_msg("key %zu answered after it was cleared or never kept", i);
            continue;
        }
        if (i % 4 == 3) { /* kept as absent */
            assert_int_equal(got, STORE_SEEN_ABSENT);
            continue;
        }
        if (got != STORE_SEEN_PRESENT) fail_msg("key %zu lost", i);
        want = val_of(vb, i, round);
        assert_int_equal(v.len, want.len);
        assert_memory_equal(v.ptr, want.ptr, v.len);
    }
}

static void test_seen_agrees_with_a_model(void **state)
{
    static unsigned kept[NKEYS]; /* the round a key was kept in; 0 none */
    store_seen c;
    uint64_t rng = 3;
    (void)state;
    memset(kept, 0, sizeof kept);
    store_seen_init(&c);
    for (unsigned round = 1; round <= 4; round++) {
        size_t n = round == 2 ? NKEYS : 5000 * round;
        for (size_t j = 0; j < 2 * n; j++) {
            size_t i = next_rand(&rng) % n;
            char kb[48], vb[48];
            if (kept[i] == round) continue; /* the store never puts a key twice between clears */
            if (i % 4 == 3) assert_true(store_seen_put_absent(&c, key_of(kb, i)));
            else assert_true(store_seen_put(&c, key_of(kb, i), val_of(vb, i, round)));
            kept[i] = round;
        }
        check(&c, kept, round, NKEYS);
        store_seen_clear(&c);
        check(&c, kept, round + 1, NKEYS); /* no key is of that round: none answers */
    }
    c.gen = UINT32_MAX; /* the next clear wraps the generation */
    {
        char kb[48], vb[48];
        store_seen_put(&c, key_of(kb, 1), val_of(vb, 1, 9));
        store_seen_clear(&c);
        assert_int_equal(store_seen_get(&c, key_of(kb, 1), &(swing_bytes){0}), STORE_SEEN_UNKNOWN);
        store_seen_put(&c, key_of(kb, 1), val_of(vb, 1, 9));
        assert_int_equal(store_seen_get(&c, key_of(kb, 1), &(swing_bytes){0}), STORE_SEEN_PRESENT);
    }
    store_seen_free(&c);
}

static void test_seen_stops_at_its_byte_cap(void **state)
{
    store_seen c;
    static char big[200000];
    char kb[48];
    size_t kept = 0;
    (void)state;
    memset(big, 'x', sizeof big);
    store_seen_init(&c);
    for (size_t i = 0; i < 400; i++) {
        bool put = store_seen_put(&c, key_of(kb, i), swing_bytes_of(big, sizeof big));
        bool got = store_seen_get(&c, key_of(kb, i), &(swing_bytes){0}) == STORE_SEEN_PRESENT;
        assert_int_equal(put, got); /* false exactly when not kept */
        kept += got;
    }
    assert_true(kept > 0 && kept < 400);
    assert_true(c.bytes <= STORE_SEEN_MAX_BYTES);
    store_seen_free(&c);
}

static void test_store_never_answers_a_value_the_disk_lost(void **state)
{
    char *dir = scratch_dir("seen");
    store_options o = store_options_default();
    store *st;
    swing_err e = {0};
    (void)state;
    o.sync = false;
    assert_int_equal(store_open(dir, &o, &st, &e), SWING_OK);
    tl_crank_ops(st, "ko1.refCount", "1,1", "ko2.refCount", "1,1", NULL);
    tl_commit(st, 1, NULL);
    tl_expect_all(st, "ko1.refCount", "1,1", "ko2.refCount", "1,1", NULL); /* from disk, then kept */
    tl_expect_all(st, "ko1.refCount", "1,1", NULL);                          /* kept */
    tl_crank_ops(st, "ko1.refCount", "0,1", "ko2.refCount", NULL, NULL);
    tl_expect_all(st, "ko1.refCount", "0,1", "ko2.refCount", NULL, NULL);    /* the block's own writes */
    tl_commit(st, 2, NULL);
    tl_expect_all(st, "ko1.refCount", "0,1", "ko2.refCount", NULL, NULL);    /* the disk's, not the kept ones */
    tl_crank_ops(st, "ko2.refCount", "2,2", NULL);
    tl_commit(st, 3, NULL);
    tl_expect_all(st, "ko2.refCount", "2,2", "ko1.refCount", "0,1", NULL);
    store_close(st);
    scratch_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seen_agrees_with_a_model),
        cmocka_unit_test(test_seen_stops_at_its_byte_cap),
        cmocka_unit_test(test_store_never_answers_a_value_the_disk_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
