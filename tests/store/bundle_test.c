/*
 * bundle_test.c - content-addressed bundles (store/bundle.c): the ID is
 * "b1-" + SHA-256 hex of the bytes; put/get/has/delete round trip through
 * the crank layer, the block layer and disk; puts are idempotent; export
 * data carries bundle.<id> = id; size limit; empty bundles; invalid IDs.
 */
#include "tests/lib/testlib.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char text_a[] = "export const a = 1; /* bundle A */";
static const char text_b[] = "export const b = 2; /* bundle B */";

static void expected_id(const void *p, size_t n, char id[STORE_BUNDLE_ID_LEN + 1])
{
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(d, p, n);
    memcpy(id, "b1-", 3);
    sodium_bin2hex(id + 3, SWING_SHA256_HEX_LEN + 1, d, sizeof d);
}

static void put(store *st, const void *p, size_t n, char id[STORE_BUNDLE_ID_LEN + 1])
{
    swing_err e;
    swing_err_clear(&e);
    if (store_bundle_put(st, swing_bytes_of(p, n), id, &e) != SWING_OK)
        fail_msg("store_bundle_put: %s", e.msg);
}

/* Asserts that the bundle id holds p[0..n) (p NULL: absent), via get and has. */
static void expect_bundle(store *st, const char *id, const void *p, size_t n)
{
    swing_buf b = {0};
    bool found = !p, has = !p;
    TL_OK(store_bundle_get(st, id, &b, &found, NULL));
    TL_OK(store_bundle_has(st, id, &has, NULL));
    assert_int_equal(found, p != NULL);
    assert_int_equal(has, p != NULL);
    if (p) {
        assert_int_equal(b.len, n);
        if (n) assert_memory_equal(b.ptr, p, n);
    } else {
        assert_null(b.ptr);
        assert_int_equal(b.len, 0);
    }
    swing_buf_free(&b);
}

static void bundle_pkey(char *out, size_t cap, const char *id)
{
    snprintf(out, cap, "bundle.%s", id);
}

static void test_bundle_put_returns_content_id(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    char id[STORE_BUNDLE_ID_LEN + 1], want[STORE_BUNDLE_ID_LEN + 1], id_b[STORE_BUNDLE_ID_LEN + 1];
    put(st, text_a, strlen(text_a), id);
    expected_id(text_a, strlen(text_a), want);
    assert_string_equal(id, want);
    assert_int_equal(strlen(id), STORE_BUNDLE_ID_LEN);
    assert_true(store_bundle_id_valid(id));
    put(st, text_b, strlen(text_b), id_b);
    assert_string_not_equal(id, id_b);
    store_close(st);
    tl_rmtree(dir);
}

static void test_bundle_roundtrip_through_layers(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    char a[STORE_BUNDLE_ID_LEN + 1], b[STORE_BUNDLE_ID_LEN + 1];

    /* Crank layer: put, read back, delete, put again, then abort. */
    TL_OK(store_crank_begin(st, NULL));
    put(st, text_a, strlen(text_a), a);
    expect_bundle(st, a, text_a, strlen(text_a));
    TL_OK(store_bundle_delete(st, a, NULL));
    expect_bundle(st, a, NULL, 0);
    put(st, text_a, strlen(text_a), a);
    TL_OK(store_crank_abort(st, NULL));
    expect_bundle(st, a, NULL, 0);

    /* Block layer: kept by crank_end, visible before commit. */
    TL_OK(store_crank_begin(st, NULL));
    put(st, text_a, strlen(text_a), a);
    put(st, text_b, strlen(text_b), b);
    TL_OK(store_crank_end(st, NULL));
    expect_bundle(st, a, text_a, strlen(text_a));
    expect_bundle(st, b, text_b, strlen(text_b));
    tl_commit(st, 1, NULL);
    expect_bundle(st, a, text_a, strlen(text_a));
    store_close(st);

    /* Disk: after reopen; a delete in a crank hides it, abort restores. */
    st = tl_open(dir);
    expect_bundle(st, a, text_a, strlen(text_a));
    expect_bundle(st, b, text_b, strlen(text_b));
    TL_OK(store_crank_begin(st, NULL));
    TL_OK(store_bundle_delete(st, a, NULL));
    expect_bundle(st, a, NULL, 0);
    TL_OK(store_crank_abort(st, NULL));
    expect_bundle(st, a, text_a, strlen(text_a));
    TL_OK(store_crank_begin(st, NULL));
    TL_OK(store_bundle_delete(st, a, NULL));
    TL_OK(store_crank_end(st, NULL));
    expect_bundle(st, a, NULL, 0);
    tl_commit(st, 2, NULL);
    store_close(st);

    st = tl_open(dir);
    expect_bundle(st, a, NULL, 0);
    expect_bundle(st, b, text_b, strlen(text_b));
    store_close(st);
    assert_int_equal(tl_raw_count(dir, "bundle."), 1);
    tl_rmtree(dir);
}

/* Bundles are not chunked like kv values: one key, any size up to the limit. */
static void test_bundle_large_roundtrips(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    size_t n = 3u * 1024u * 1024u + 5u;
    uint8_t *p = malloc(n);
    char id[STORE_BUNDLE_ID_LEN + 1], want[STORE_BUNDLE_ID_LEN + 1];
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 131u + (i >> 10));
    TL_OK(store_crank_begin(st, NULL));
    put(st, p, n, id);
    TL_OK(store_crank_end(st, NULL));
    expected_id(p, n, want);
    assert_string_equal(id, want);
    tl_commit(st, 1, NULL);
    store_close(st);
    st = tl_open(dir);
    expect_bundle(st, id, p, n);
    store_close(st);
    assert_int_equal(tl_raw_count(dir, "bundle."), 1);
    free(p);
    tl_rmtree(dir);
}

static void test_bundle_put_is_idempotent(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    char a1[STORE_BUNDLE_ID_LEN + 1], a2[STORE_BUNDLE_ID_LEN + 1], a3[STORE_BUNDLE_ID_LEN + 1];
    char key[STORE_BUNDLE_ID_LEN + 16];
    store_delta *d = NULL;

    TL_OK(store_crank_begin(st, NULL));
    put(st, text_a, strlen(text_a), a1);
    put(st, text_a, strlen(text_a), a2);
    TL_OK(store_crank_end(st, NULL));
    assert_string_equal(a1, a2);
    expect_bundle(st, a1, text_a, strlen(text_a));
    tl_commit(st, 1, &d);
    bundle_pkey(key, sizeof key, a1);
    {
        size_t n = 0;
        for (size_t i = 0; i < d->count; i++)
            n += swing_bytes_cmp(d->entries[i].key, swing_str(key)) == 0;
        assert_int_equal(n, 1);
    }
    store_delta_destroy(d);

    /* Again in a later block, over the committed copy. */
    TL_OK(store_crank_begin(st, NULL));
    put(st, text_a, strlen(text_a), a3);
    TL_OK(store_crank_end(st, NULL));
    assert_string_equal(a1, a3);
    tl_commit(st, 2, NULL);
    expect_bundle(st, a1, text_a, strlen(text_a));
    store_close(st);
    assert_int_equal(tl_raw_count(dir, "bundle."), 1);
    tl_rmtree(dir);
}

static void test_bundle_export_data_carries_id(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    char a[STORE_BUNDLE_ID_LEN + 1], key[STORE_BUNDLE_ID_LEN + 16];
    const store_delta_entry *e;
    store_delta *d = NULL;

    TL_OK(store_crank_begin(st, NULL));
    put(st, text_a, strlen(text_a), a);
    TL_OK(store_crank_end(st, NULL));
    tl_commit(st, 1, &d);
    bundle_pkey(key, sizeof key, a);
    e = tl_delta_find(d, key);
    assert_non_null(e);
    assert_false(e->deleted);
    /* The value is the ID, never the bundle bytes (those are an artifact). */
    assert_true(swing_bytes_cmp(e->value, swing_str(a)) == 0);
    for (size_t i = 0; i < d->count; i++)
        assert_true(swing_bytes_cmp(d->entries[i].value, swing_str(text_a)) != 0);
    store_delta_destroy(d);

    TL_OK(store_crank_begin(st, NULL));
    TL_OK(store_bundle_delete(st, a, NULL));
    TL_OK(store_crank_end(st, NULL));
    tl_commit(st, 2, &d);
    e = tl_delta_find(d, key);
    assert_non_null(e);
    assert_true(e->deleted);
    store_delta_destroy(d);
    store_close(st);
    tl_rmtree(dir);
}

static void test_bundle_rejects_oversized(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    char id[STORE_BUNDLE_ID_LEN + 1];
    swing_err e;
    /* calloc'd pages stay untouched: the limit is checked before hashing. */
    uint8_t *big = calloc(1, (size_t)STORE_BUNDLE_MAX + 1);
    assert_non_null(big);
    memset(id, 'x', sizeof id);
    swing_err_clear(&e);
    TL_OK(store_crank_begin(st, NULL));
    assert_int_equal(store_bundle_put(st, swing_bytes_of(big, (size_t)STORE_BUNDLE_MAX + 1), id, &e),
                     SWING_ERR_LIMIT);
    assert_int_equal(e.code, SWING_ERR_LIMIT);
    assert_string_equal(id, "");
    TL_OK(store_crank_end(st, NULL));
    free(big);
    assert_true(store_pending_bytes(st) < 1024); /* nothing of it was kept */
    store_close(st);
    tl_rmtree(dir);
}

static void test_bundle_empty_roundtrips(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    char id[STORE_BUNDLE_ID_LEN + 1], want[STORE_BUNDLE_ID_LEN + 1];
    expected_id("", 0, want);
    assert_string_equal(want, "b1-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    TL_OK(store_crank_begin(st, NULL));
    put(st, NULL, 0, id);
    assert_string_equal(id, want);
    expect_bundle(st, id, "", 0);
    TL_OK(store_crank_end(st, NULL));
    expect_bundle(st, id, "", 0);
    tl_commit(st, 1, NULL);
    expect_bundle(st, id, "", 0);
    store_close(st);
    st = tl_open(dir);
    expect_bundle(st, id, "", 0);
    store_close(st);
    tl_rmtree(dir);
}

static void test_bundle_rejects_invalid_ids(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "b1-",
        "b2-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "b1-E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "b1-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
        "b1-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550",
        "b1-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
    };
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    swing_buf b = {0};
    bool found;
    TL_OK(store_crank_begin(st, NULL));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(store_bundle_id_valid(bad[i]));
        assert_int_equal(store_bundle_get(st, bad[i], &b, &found, NULL), SWING_ERR_INVALID);
        assert_int_equal(store_bundle_has(st, bad[i], &found, NULL), SWING_ERR_INVALID);
        assert_int_equal(store_bundle_delete(st, bad[i], NULL), SWING_ERR_INVALID);
    }
    assert_false(store_bundle_id_valid(NULL));
    assert_int_equal(store_bundle_has(st, NULL, &found, NULL), SWING_ERR_INVALID);
    TL_OK(store_crank_end(st, NULL));
    tl_commit(st, 1, NULL);
    store_close(st);
    assert_int_equal(tl_raw_count(dir, "bundle."), 0);
    tl_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundle_put_returns_content_id),
        cmocka_unit_test(test_bundle_roundtrip_through_layers),
        cmocka_unit_test(test_bundle_large_roundtrips),
        cmocka_unit_test(test_bundle_put_is_idempotent),
        cmocka_unit_test(test_bundle_export_data_carries_id),
        cmocka_unit_test(test_bundle_rejects_oversized),
        cmocka_unit_test(test_bundle_empty_roundtrips),
        cmocka_unit_test(test_bundle_rejects_invalid_ids),
    };
    return cmocka_run_group_tests(tests, tl_setup_sodium, NULL);
}
