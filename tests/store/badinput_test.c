/*
 * badinput_test.c - the store rejects bad input with a status, never a crash
 * (store/store.c, kv.c, bundle.c, transcript.c): a directory open twice is
 * BUSY, a regular file is INVALID, a foreign LevelDB or another store format
 * is CORRUPT, and bad kv keys, bundle IDs and vat IDs are INVALID. Every
 * failed open leaves *out NULL (leaks are checked by the asan build).
 */
#include "tests/lib/testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include "store/keys.h"

/* ---- helpers ---- */

/* Writes raw key=val pairs (NULL ended list) into the LevelDB at dir,
 * creating it if missing. The store must be closed. */
static void raw_put(const char *dir, const char *const *kv)
{
    leveldb_options_t *o = leveldb_options_create();
    leveldb_writeoptions_t *w = leveldb_writeoptions_create();
    char *msg = NULL;
    leveldb_t *db;
    leveldb_options_set_create_if_missing(o, 1);
    db = leveldb_open(o, dir, &msg);
    if (msg) fail_msg("raw open %s: %s", dir, msg);
    for (size_t i = 0; kv[i]; i += 2) {
        leveldb_put(db, w, kv[i], strlen(kv[i]), kv[i + 1], strlen(kv[i + 1]), &msg);
        if (msg) fail_msg("raw put %s: %s", kv[i], msg);
    }
    leveldb_close(db);
    leveldb_writeoptions_destroy(w);
    leveldb_options_destroy(o);
}

/* store_open must fail with want, a message, and *out NULL. */
static void expect_open_fails(const char *dir, const store_options *opt, swing_status want)
{
    store *st = (store *)&st; /* garbage the call must overwrite */
    swing_err e;
    swing_err_clear(&e);
    swing_status s = store_open(dir, opt, &st, &e);
    if (s != want)
        fail_msg("store_open(%s) -> %s, expected %s (%s)", dir ? dir : "(null)",
                 swing_status_name(s), swing_status_name(want), e.msg);
    assert_null(st);
    assert_int_equal(e.code, want);
    assert_true(e.msg[0] != '\0');
}

/* ---- opening ---- */

static void test_badinput_second_open_is_busy(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    tl_put(st, "a", "1");
    TL_OK(store_commit(st, 1, NULL, NULL));
    expect_open_fails(dir, NULL, SWING_ERR_BUSY);
    expect_open_fails(dir, NULL, SWING_ERR_BUSY);
    /* The first handle is unharmed by the failed attempts. */
    tl_expect(st, "a", "1");
    tl_put(st, "b", "2");
    TL_OK(store_commit(st, 2, NULL, NULL));
    store_close(st);
    st = tl_open(dir);
    tl_expect(st, "a", "1");
    tl_expect(st, "b", "2");
    assert_int_equal(store_height(st), 2);
    store_close(st);
    tl_rmtree(dir);
}

static void test_badinput_bad_paths_are_invalid(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    char file[512], missing[512];
    FILE *f;
    store_options o = store_options_default();
    snprintf(file, sizeof file, "%s/plain-file", dir);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("not a store\n", f);
    fclose(f);
    expect_open_fails(file, NULL, SWING_ERR_INVALID);
    expect_open_fails("", NULL, SWING_ERR_INVALID);
    expect_open_fails(NULL, NULL, SWING_ERR_INVALID);
    snprintf(missing, sizeof missing, "%s/missing", dir);
    o.create_if_missing = false;
    expect_open_fails(missing, &o, SWING_ERR_INVALID);
    /* A path under a regular file cannot be created. */
    snprintf(missing, sizeof missing, "%s/plain-file/sub", dir);
    {
        store *st = (store *)&st;
        swing_err e;
        swing_err_clear(&e);
        assert_int_not_equal(store_open(missing, NULL, &st, &e), SWING_OK);
        assert_null(st);
    }
    tl_rmtree(dir);
}

static void test_badinput_foreign_leveldb_is_corrupt(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    static const char *const kv[] = {"foo", "1", "bar", "2", "kv.x", "3", NULL};
    raw_put(dir, kv);
    expect_open_fails(dir, NULL, SWING_ERR_CORRUPT);
    expect_open_fails(dir, NULL, SWING_ERR_CORRUPT);
    /* The failed opens did not stamp the foreign database. */
    assert_int_equal(tl_raw_count(dir, "meta."), 0);
    assert_int_equal(tl_raw_count(dir, "foo"), 1);
    tl_rmtree(dir);
}

static void test_badinput_other_format_is_corrupt(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    static const char *const other[] = {STORE_KEY_FORMAT, "libswing-store-2", NULL};
    static const char *const empty[] = {STORE_KEY_FORMAT, "", NULL};
    static const char *const ours[] = {STORE_KEY_FORMAT, STORE_FORMAT, NULL};
    tl_put(st, "a", "1");
    TL_OK(store_commit(st, 1, NULL, NULL));
    store_close(st);
    raw_put(dir, other);
    expect_open_fails(dir, NULL, SWING_ERR_CORRUPT);
    raw_put(dir, empty);
    expect_open_fails(dir, NULL, SWING_ERR_CORRUPT);
    raw_put(dir, ours);
    st = tl_open(dir);
    tl_expect(st, "a", "1");
    store_close(st);
    tl_rmtree(dir);
}

/* ---- kv keys ---- */

static void test_badinput_bad_kv_keys_are_invalid(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    char *longk = malloc(STORE_KEY_MAX + 2);
    uint8_t *bigv = malloc(STORE_CHUNK_SIZE + 1);
    swing_bytes empty = swing_bytes_of("", 0), too_long, max_key;
    swing_buf v = {0}, nk = {0};
    store_iter *it = (store_iter *)&it;
    bool found = true;
    swing_err e;
    assert_non_null(longk);
    assert_non_null(bigv);
    memset(longk, 'k', STORE_KEY_MAX + 1);
    longk[STORE_KEY_MAX + 1] = '\0';
    memset(bigv, 'v', STORE_CHUNK_SIZE + 1);
    too_long = swing_bytes_of(longk, STORE_KEY_MAX + 1);
    max_key = swing_bytes_of(longk, STORE_KEY_MAX);

    TL_OK(store_crank_begin(st, NULL));
    swing_err_clear(&e);
    assert_int_equal(store_set(st, empty, swing_str("x"), &e), SWING_ERR_INVALID);
    assert_true(e.msg[0] != '\0');
    assert_int_equal(store_delete(st, empty, NULL), SWING_ERR_INVALID);
    assert_int_equal(store_get(st, empty, &v, &found, NULL), SWING_ERR_INVALID);
    assert_false(found);
    assert_null(v.ptr);
    assert_int_equal(store_set(st, too_long, swing_str("x"), NULL), SWING_ERR_INVALID);
    assert_int_equal(store_delete(st, too_long, NULL), SWING_ERR_INVALID);
    found = true;
    assert_int_equal(store_get(st, too_long, &v, &found, NULL), SWING_ERR_INVALID);
    assert_false(found);
    assert_int_equal(store_next_key(st, too_long, &nk, &found, NULL), SWING_ERR_INVALID);
    assert_null(nk.ptr);
    assert_int_equal(store_iter_create(st, too_long, &it, NULL), SWING_ERR_INVALID);
    assert_null(it);
    /* Local keys are checked the same way, outside a crank too. */
    TL_OK(store_crank_end(st, NULL));
    memcpy(longk, "local.", 6);
    assert_int_equal(store_set(st, too_long, swing_str("x"), NULL), SWING_ERR_INVALID);

    /* A key of exactly STORE_KEY_MAX bytes is fine, even chunked. */
    memcpy(longk, "kkkkkk", 6);
    TL_OK(store_crank_begin(st, NULL));
    TL_OK(store_set(st, max_key, swing_bytes_of(bigv, STORE_CHUNK_SIZE + 1), NULL));
    TL_OK(store_crank_end(st, NULL));
    TL_OK(store_commit(st, 1, NULL, NULL));
    store_close(st);
    st = tl_open(dir);
    TL_OK(store_get(st, max_key, &v, &found, NULL));
    assert_true(found);
    assert_int_equal(v.len, STORE_CHUNK_SIZE + 1);
    assert_memory_equal(v.ptr, bigv, v.len);
    swing_buf_free(&v);
    TL_OK(store_next_key(st, swing_str("k"), &nk, &found, NULL));
    assert_true(found);
    assert_true(swing_bytes_cmp(swing_buf_view(&nk), max_key) == 0);
    swing_buf_free(&nk);
    store_close(st);
    free(longk);
    free(bigv);
    tl_rmtree(dir);
}

/* ---- bundle and vat IDs ---- */

static void test_badinput_bad_bundle_ids_are_invalid(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    char hex64[65], buf[80], b2[80], upper[80], h65[80], notx[80];
    const char *bad[8];
    memset(hex64, 'a', 64);
    hex64[64] = '\0';
    snprintf(b2, sizeof b2, "b2-%s", hex64);
    snprintf(upper, sizeof upper, "b1-%s", hex64);
    for (char *p = upper + 3; *p; p++) *p = 'A';
    snprintf(h65, sizeof h65, "b1-%sa", hex64);
    snprintf(notx, sizeof notx, "b1-%s", hex64);
    notx[66] = 'g';
    bad[0] = "";
    bad[1] = "b1-";
    bad[2] = "b1-abc";
    bad[3] = b2;
    bad[4] = upper;
    bad[5] = h65;
    bad[6] = notx;
    bad[7] = NULL;
    for (int i = 0; i < 8; i++) {
        swing_buf v = {0};
        bool found = true;
        swing_err e;
        swing_err_clear(&e);
        assert_false(store_bundle_id_valid(bad[i]));
        assert_int_equal(store_bundle_get(st, bad[i], &v, &found, &e), SWING_ERR_INVALID);
        assert_true(e.msg[0] != '\0');
        assert_false(found);
        assert_null(v.ptr);
        found = true;
        assert_int_equal(store_bundle_has(st, bad[i], &found, NULL), SWING_ERR_INVALID);
        assert_false(found);
        assert_int_equal(store_bundle_delete(st, bad[i], NULL), SWING_ERR_INVALID);
    }
    /* A well-formed but unknown ID is simply absent. */
    snprintf(buf, sizeof buf, "b1-%s", hex64);
    assert_true(store_bundle_id_valid(buf));
    {
        bool found = true;
        TL_OK(store_bundle_has(st, buf, &found, NULL));
        assert_false(found);
    }
    store_close(st);
    tl_rmtree(dir);
}

static swing_status count_item(void *ctx, uint64_t pos, swing_bytes item, swing_err *err)
{
    (void)pos;
    (void)item;
    (void)err;
    ++*(int *)ctx;
    return SWING_OK;
}

static void test_badinput_bad_vat_ids_are_invalid(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    char v64[STORE_VAT_ID_MAX + 1], v65[STORE_VAT_ID_MAX + 2];
    const char *bad[7];
    int calls = 0;
    memset(v64, 'v', sizeof v64 - 1);
    v64[sizeof v64 - 1] = '\0';
    memset(v65, 'v', sizeof v65 - 1);
    v65[sizeof v65 - 1] = '\0';
    bad[0] = "";
    bad[1] = "v 1";
    bad[2] = "v.1";
    bad[3] = "v/1";
    bad[4] = v65;
    bad[5] = "v\xc3\xa9";
    bad[6] = NULL;
    for (int i = 0; i < 7; i++) {
        store_span sp;
        bool found = true, done = true;
        uint64_t pos = 99, used = 99;
        assert_int_equal(store_transcript_append(st, bad[i], swing_str("x"), &pos, NULL),
                         SWING_ERR_INVALID);
        assert_int_equal(store_transcript_current(st, bad[i], &sp, &found, NULL),
                         SWING_ERR_INVALID);
        assert_false(found);
        assert_int_equal(store_transcript_rollover(st, bad[i], NULL), SWING_ERR_INVALID);
        assert_int_equal(store_transcript_read(st, bad[i], 0, 1, count_item, &calls, NULL),
                         SWING_ERR_INVALID);
        assert_int_equal(store_transcript_delete(st, bad[i], 10, &used, &done, NULL),
                         SWING_ERR_INVALID);
        assert_false(done);
        assert_int_equal(used, 0);
    }
    assert_int_equal(calls, 0);
    /* The longest valid vat ID works. */
    TL_OK(store_transcript_append(st, v64, swing_str("item"), NULL, NULL));
    TL_OK(store_transcript_read(st, v64, 0, 1, count_item, &calls, NULL));
    assert_int_equal(calls, 1);
    TL_OK(store_commit(st, 1, NULL, NULL));
    store_close(st);
    tl_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_badinput_second_open_is_busy),
        cmocka_unit_test(test_badinput_bad_paths_are_invalid),
        cmocka_unit_test(test_badinput_foreign_leveldb_is_corrupt),
        cmocka_unit_test(test_badinput_other_format_is_corrupt),
        cmocka_unit_test(test_badinput_bad_kv_keys_are_invalid),
        cmocka_unit_test(test_badinput_bad_bundle_ids_are_invalid),
        cmocka_unit_test(test_badinput_bad_vat_ids_are_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
