/*
 * determinism_test.c - consensus determinism of the store (store/kv.c,
 * crank.c, commit.c): two stores in different directories fed the same
 * operations reach the same activity hash after every commit and produce
 * byte-identical export deltas, one changed value gives a different hash,
 * and the activity hash matches a hand computation of the formula in
 * reference/store-host-abi.md §1.5.
 */
#include "tests/lib/testlib.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCKS 6
#define CRANKS 4
#define OPS 16
#define KEYS 60

/* ---- a deterministic operation stream ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static void big_value(uint8_t *v, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) v[i] = (uint8_t)(i * 7u + seed + (i >> 14));
}

/* Which crank (block*CRANKS + crank) is aborted, and the crank in which a
 * tweaked store writes a different value for one key. */
#define ABORTED_CRANK (3 * CRANKS + 2)
#define TWEAK_BLOCK 3
#define TWEAK_CRANK 1

/* Runs the cranks of one block on st; the stream depends only on *rng, so
 * two stores given equal seeds see equal operations. */
static void run_block(store *st, uint64_t *rng, int block, bool tweak)
{
    uint8_t big[40000];
    char key[32], val[64];
    for (int c = 0; c < CRANKS; c++) {
        TL_OK(store_crank_begin(st, NULL));
        for (int o = 0; o < OPS; o++) {
            uint64_t r = rng_next(rng);
            unsigned kind = (unsigned)(r % 100);
            snprintf(key, sizeof key, "k%03u", (unsigned)((r >> 8) % KEYS));
            if (kind < 65) {
                snprintf(val, sizeof val, "v%llx", (unsigned long long)(rng_next(rng) % 1000003));
                TL_OK(store_set(st, swing_str(key), swing_str(val), NULL));
            } else if (kind < 90) {
                TL_OK(store_delete(st, swing_str(key), NULL));
            } else {
                snprintf(key, sizeof key, "local.%03u", (unsigned)((r >> 8) % KEYS));
                TL_OK(store_set(st, swing_str(key), swing_str("node-local"), NULL));
            }
        }
        if (block == TWEAK_BLOCK && c == TWEAK_CRANK)
            TL_OK(store_set(st, swing_str("t"), swing_str(tweak ? "tweaked" : "plain"), NULL));
        if (block == 2 && c == 1) { /* a chunked value, later resized and deleted */
            big_value(big, sizeof big, 1);
            TL_OK(store_set(st, swing_str("big"), swing_bytes_of(big, sizeof big), NULL));
        } else if (block == 4 && c == 0) {
            big_value(big, 20000, 2);
            TL_OK(store_set(st, swing_str("big"), swing_bytes_of(big, 20000), NULL));
        } else if (block == 5 && c == 3) {
            TL_OK(store_delete(st, swing_str("big"), NULL));
        }
        if (block * CRANKS + c == ABORTED_CRANK) TL_OK(store_crank_abort(st, NULL));
        else TL_OK(store_crank_end(st, NULL));
    }
}

/* True when both deltas hold the same entries byte for byte. */
static bool delta_equal(const store_delta *a, const store_delta *b)
{
    if (a->count != b->count) return false;
    for (size_t i = 0; i < a->count; i++) {
        const store_delta_entry *x = &a->entries[i], *y = &b->entries[i];
        if (x->deleted != y->deleted || swing_bytes_cmp(x->key, y->key) != 0 ||
            x->value.len != y->value.len ||
            (x->value.len && memcmp(x->value.ptr, y->value.ptr, x->value.len) != 0))
            return false;
    }
    return true;
}

static size_t delta_deletions(const store_delta *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->count; i++) n += d->entries[i].deleted;
    return n;
}

/* ---- tests ---- */

static void test_determinism_same_ops_same_hash_and_delta(void **state)
{
    (void)state;
    char *da = tl_tmpdir(), *db = tl_tmpdir();
    store *a = tl_open(da), *b = tl_open(db);
    uint64_t ra = 0x9e3779b97f4a7c15ull, rb = ra;
    char prev[65] = "";
    size_t chunks_seen = 0, dels_seen = 0;
    for (int blk = 1; blk <= BLOCKS; blk++) {
        store_delta *xa = NULL, *xb = NULL;
        run_block(a, &ra, blk, false);
        run_block(b, &rb, blk, false);
        TL_OK(store_commit(a, (uint64_t)blk, &xa, NULL));
        TL_OK(store_commit(b, (uint64_t)blk, &xb, NULL));
        assert_string_equal(store_activity_hash(a), store_activity_hash(b));
        assert_string_not_equal(store_activity_hash(a), prev);
        snprintf(prev, sizeof prev, "%s", store_activity_hash(a));
        assert_true(xa->count > 0);
        if (!delta_equal(xa, xb)) fail_msg("block %d: export deltas differ", blk);
        for (size_t i = 0; i < xa->count; i++)
            chunks_seen += swing_bytes_has_prefix(xa->entries[i].key, swing_str("kvc."));
        dels_seen += delta_deletions(xa);
        store_delta_destroy(xa);
        store_delta_destroy(xb);
        if (blk == 3) { /* persistence must not perturb anything */
            store_close(a);
            a = tl_open(da);
            assert_string_equal(store_activity_hash(a), prev);
        }
    }
    /* The stream did exercise chunking and deletions. */
    assert_true(chunks_seen >= 3 + 2);
    assert_true(dels_seen > 0);

    /* Both stores hold the same logical contents. */
    {
        swing_buf ka = {0}, kb = {0};
        bool fa = true, fb = true;
        char cur[64] = "";
        for (;;) {
            TL_OK(store_next_key(a, swing_str(cur), &ka, &fa, NULL));
            TL_OK(store_next_key(b, swing_str(cur), &kb, &fb, NULL));
            assert_int_equal(fa, fb);
            if (!fa) break;
            assert_true(swing_bytes_cmp(swing_buf_view(&ka), swing_buf_view(&kb)) == 0);
            assert_true(ka.len < sizeof cur);
            memcpy(cur, ka.ptr, ka.len);
            cur[ka.len] = '\0';
            {
                swing_buf va = {0}, vb = {0};
                TL_OK(store_get(a, swing_buf_view(&ka), &va, &fa, NULL));
                TL_OK(store_get(b, swing_buf_view(&kb), &vb, &fb, NULL));
                assert_true(fa && fb);
                assert_true(swing_bytes_cmp(swing_buf_view(&va), swing_buf_view(&vb)) == 0);
                swing_buf_free(&va);
                swing_buf_free(&vb);
            }
            swing_buf_free(&ka);
            swing_buf_free(&kb);
        }
    }
    store_close(a);
    store_close(b);
    tl_rmtree(da);
    tl_rmtree(db);
}

static void test_determinism_one_value_changes_hash(void **state)
{
    (void)state;
    char *da = tl_tmpdir(), *db = tl_tmpdir();
    store *a = tl_open(da), *b = tl_open(db);
    uint64_t ra = 0x0123456789abcdefull, rb = ra;
    for (int blk = 1; blk <= BLOCKS; blk++) {
        store_delta *xa = NULL, *xb = NULL;
        run_block(a, &ra, blk, false);
        run_block(b, &rb, blk, true);
        TL_OK(store_commit(a, (uint64_t)blk, &xa, NULL));
        TL_OK(store_commit(b, (uint64_t)blk, &xb, NULL));
        if (blk < TWEAK_BLOCK) {
            assert_string_equal(store_activity_hash(a), store_activity_hash(b));
            assert_true(delta_equal(xa, xb));
        } else {
            /* The chain never reconverges. */
            assert_string_not_equal(store_activity_hash(a), store_activity_hash(b));
            if (blk == TWEAK_BLOCK) assert_false(delta_equal(xa, xb));
        }
        store_delta_destroy(xa);
        store_delta_destroy(xb);
    }
    store_close(a);
    store_close(b);
    tl_rmtree(da);
    tl_rmtree(db);
}

static void activity_step(const char *prev, const char *crank_input, size_t n, char out[65])
{
    char crankhash[65], buf[256];
    int len;
    tl_sha256_hex(crank_input, n, crankhash);
    len = snprintf(buf, sizeof buf, "activityhash\n%s\n%s\n", prev, crankhash);
    assert_true(len > 0 && (size_t)len < sizeof buf);
    tl_sha256_hex(buf, (size_t)len, out);
}

static void test_determinism_activity_hash_formula(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    char h1[65], h2[65], h3[65];
    static const char in1[] = "add\na\n1\nadd\nb\nhello\ndelete\nc\n";
    static const char in2[] = "add\nd\n\n";
    store_delta *d = NULL;
    assert_true(sodium_init() >= 0);
    assert_string_equal(store_activity_hash(st), "");

    TL_OK(store_crank_begin(st, NULL));
    TL_OK(store_set(st, swing_str("a"), swing_str("1"), NULL));
    TL_OK(store_set(st, swing_str("local.x"), swing_str("not hashed"), NULL));
    TL_OK(store_set(st, swing_str("b"), swing_str("hello"), NULL));
    TL_OK(store_set(st, swing_str("host.y"), swing_str("not hashed"), NULL));
    TL_OK(store_delete(st, swing_str("c"), NULL));
    TL_OK(store_crank_end(st, NULL));
    activity_step("", in1, sizeof in1 - 1, h1);
    assert_string_equal(store_activity_hash(st), h1);
    tl_expect(st, "activityhash", h1);

    /* The chain continues from the previous hash; an empty value hashes. */
    TL_OK(store_crank_begin(st, NULL));
    TL_OK(store_set(st, swing_str("d"), swing_str(""), NULL));
    TL_OK(store_crank_end(st, NULL));
    activity_step(h1, in2, sizeof in2 - 1, h2);
    assert_string_equal(store_activity_hash(st), h2);

    /* A crank with no consensus writes still advances the chain. */
    TL_OK(store_crank_begin(st, NULL));
    TL_OK(store_crank_end(st, NULL));
    activity_step(h2, "", 0, h3);
    assert_string_equal(store_activity_hash(st), h3);

    TL_OK(store_commit(st, 1, &d, NULL));
    {
        const store_delta_entry *e = NULL;
        for (size_t i = 0; i < d->count; i++)
            if (swing_bytes_cmp(d->entries[i].key, swing_str("kv.activityhash")) == 0)
                e = &d->entries[i];
        assert_non_null(e);
        assert_false(e->deleted);
        assert_true(swing_bytes_cmp(e->value, swing_str(h3)) == 0);
    }
    store_delta_destroy(d);
    store_close(st);
    st = tl_open(dir);
    assert_string_equal(store_activity_hash(st), h3);
    store_close(st);
    tl_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism_same_ops_same_hash_and_delta),
        cmocka_unit_test(test_determinism_one_value_changes_hash),
        cmocka_unit_test(test_determinism_activity_hash_formula),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
