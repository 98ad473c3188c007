/*
 * export_test.c - state sync: export at a committed height (from a snapshot,
 * while commits continue) and import into a fresh store give identical kv
 * contents, transcripts, bundles and activity hash; a corrupted, missing or
 * unexpected artifact and malformed export data are rejected with nothing
 * written. (The systematic corruption corpus is import_verify_test.c.)
 */
#include "tests/lib/testlib.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <unistd.h>

#include "store/export.h"
#include "store/keys.h"

static char big[40000];

static void fill(store *st)
{
    char id[STORE_BUNDLE_ID_LEN + 1];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + i % 23);
    TL_OK(store_crank_begin(st, NULL));
    TL_OK(store_set(st, swing_str("alpha"), swing_str("1"), NULL));
    TL_OK(store_set(st, swing_str("beta"), swing_str(""), NULL));
    TL_OK(store_set(st, swing_str("big"), swing_bytes_of(big, sizeof big), NULL));
    TL_OK(store_set(st, swing_str("local.cache"), swing_str("node-only"), NULL));
    TL_OK(store_bundle_put(st, swing_str("return { hello = 1 }"), id, NULL));
    TL_OK(store_transcript_append(st, "v1", swing_str("d1"), NULL, NULL));
    TL_OK(store_transcript_append(st, "v1", swing_str("d2"), NULL, NULL));
    TL_OK(store_transcript_rollover(st, "v1", NULL));
    TL_OK(store_transcript_append(st, "v1", swing_str("d3"), NULL, NULL));
    TL_OK(store_transcript_append(st, "v2", swing_str("x"), NULL, NULL));
    TL_OK(store_crank_end(st, NULL));
    TL_OK(store_commit(st, 1, NULL, NULL));
    TL_OK(store_crank_begin(st, NULL));
    TL_OK(store_set(st, swing_str("gamma"), swing_str("3"), NULL));
    TL_OK(store_delete(st, swing_str("alpha"), NULL));
    TL_OK(store_transcript_append(st, "v1", swing_str("d4"), NULL, NULL));
    TL_OK(store_crank_end(st, NULL));
    TL_OK(store_commit(st, 2, NULL, NULL));
}

/* The trusted expectation of an export of st's committed height. */
typedef struct trusted {
    store_import_expect x;
    char hash[65];
} trusted;

static void export_to(store *st, store_export_mode mode, const char *out, trusted *t)
{
    store_exporter *ex = NULL;
    swing_err e;
    TL_OK(store_export_begin(st, mode, &ex, &e));
    if (store_exporter_write_dir(ex, out, &e)) fail_msg("write_dir: %s", e.msg);
    t->x.height = store_exporter_height(ex);
    snprintf(t->hash, sizeof t->hash, "%s", store_exporter_activity_hash(ex));
    t->x.activity_hash = t->hash;
    assert_int_equal(t->x.height, store_height(st));
    assert_string_equal(t->hash, store_committed_hash(st));
    store_exporter_destroy(ex);
}

/* Every consensus kv pair of a, in order, equals b's. */
static void same_consensus_kv(store *a, store *b)
{
    store_iter *ia, *ib;
    TL_OK(store_iter_create(a, swing_str(""), &ia, NULL));
    TL_OK(store_iter_create(b, swing_str(""), &ib, NULL));
    for (;;) {
        swing_bytes ka, va, kb, vb;
        bool oka, okb;
        do {
            TL_OK(store_iter_next(ia, &ka, &va, &oka, NULL));
        } while (oka && store_keys_class(ka) != STORE_CLASS_CONSENSUS);
        do {
            TL_OK(store_iter_next(ib, &kb, &vb, &okb, NULL));
        } while (okb && store_keys_class(kb) != STORE_CLASS_CONSENSUS);
        assert_int_equal(oka, okb);
        if (!oka) break;
        assert_int_equal(swing_bytes_cmp(ka, kb), 0);
        assert_int_equal(swing_bytes_cmp(va, vb), 0);
    }
    store_iter_destroy(ia);
    store_iter_destroy(ib);
}

typedef struct items { char text[16][16]; size_t n; } items;

static swing_status collect(void *ctx, uint64_t pos, swing_bytes item, swing_err *err)
{
    items *it = ctx;
    (void)pos;
    (void)err;
    snprintf(it->text[it->n++], 16, "%.*s", (int)item.len, (const char *)item.ptr);
    return SWING_OK;
}

static void same_span(store *a, store *b, const char *vat, uint64_t start, uint64_t end)
{
    items x = {0}, y = {0};
    TL_OK(store_transcript_read(a, vat, start, end, collect, &x, NULL));
    TL_OK(store_transcript_read(b, vat, start, end, collect, &y, NULL));
    assert_int_equal(x.n, y.n);
    for (size_t i = 0; i < x.n; i++) assert_string_equal(x.text[i], y.text[i]);
}

static void test_export_import_round_trip_archival(void **state)
{
    (void)state;
    char *src = tl_tmpdir(), *out = tl_tmpdir(), *dst = tl_tmpdir();
    store *a = tl_open(src), *b;
    store_span sa, sb;
    bool fa, fb;
    swing_err e;
    swing_buf bun = {0};
    char id[STORE_BUNDLE_ID_LEN + 1];
    trusted t;
    fill(a);
    export_to(a, STORE_EXPORT_ARCHIVAL, out, &t);
    if (store_import_dir(out, dst, &t.x, &e)) fail_msg("import: %s", e.msg);
    b = tl_open(dst);
    assert_int_equal(store_height(b), 2);
    assert_string_equal(store_activity_hash(a), store_activity_hash(b));
    assert_string_equal(store_committed_hash(a), store_committed_hash(b));
    same_consensus_kv(a, b);
    tl_expect(b, "local.cache", NULL); /* node-local: not exported */
    tl_expect(b, "alpha", NULL);
    tl_expect(b, "gamma", "3");
    TL_OK(store_transcript_current(a, "v1", &sa, &fa, NULL));
    TL_OK(store_transcript_current(b, "v1", &sb, &fb, NULL));
    assert_true(fa && fb);
    assert_int_equal(sa.incarnation, sb.incarnation);
    assert_int_equal(sa.start, sb.start);
    assert_int_equal(sa.end, sb.end);
    assert_string_equal(sa.hash, sb.hash);
    same_span(a, b, "v1", 0, sa.end); /* archival: the closed span too */
    same_span(a, b, "v2", 0, 1);
    TL_OK(store_bundle_put(a, swing_str("return { hello = 1 }"), id, NULL));
    TL_OK(store_bundle_get(b, id, &bun, &fb, NULL));
    assert_true(fb);
    assert_memory_equal(bun.ptr, "return { hello = 1 }", bun.len);
    swing_buf_free(&bun);
    store_close(a);
    store_close(b);
    tl_rmtree(src);
    tl_rmtree(out);
    tl_rmtree(dst);
}

static void test_export_operational_has_current_spans_only(void **state)
{
    (void)state;
    char *src = tl_tmpdir(), *out = tl_tmpdir(), *dst = tl_tmpdir();
    store *a = tl_open(src), *b;
    store_span sp;
    bool found;
    items x = {0};
    swing_err e;
    trusted t;
    fill(a);
    export_to(a, STORE_EXPORT_OPERATIONAL, out, &t);
    if (store_import_dir(out, dst, &t.x, &e)) fail_msg("import: %s", e.msg);
    b = tl_open(dst);
    TL_OK(store_transcript_current(b, "v1", &sp, &found, NULL));
    assert_int_equal(sp.start, 2);
    same_span(a, b, "v1", sp.start, sp.end);
    /* The closed span's record travels, its items do not. */
    assert_int_equal(store_transcript_read(b, "v1", 0, 2, collect, &x, &e), SWING_ERR_CORRUPT);
    same_consensus_kv(a, b);
    store_close(a);
    store_close(b);
    tl_rmtree(src);
    tl_rmtree(out);
    tl_rmtree(dst);
}

static void test_export_pins_height_while_commits_continue(void **state)
{
    (void)state;
    char *src = tl_tmpdir(), *out = tl_tmpdir(), *dst = tl_tmpdir();
    store *a = tl_open(src), *b;
    store_exporter *ex;
    char hash2[SWING_SHA256_HEX_LEN + 1], committed2[SWING_SHA256_HEX_LEN + 1];
    store_import_expect x = {2, committed2};
    swing_err e;
    fill(a);
    strcpy(hash2, store_activity_hash(a));
    strcpy(committed2, store_committed_hash(a));
    TL_OK(store_export_begin(a, STORE_EXPORT_OPERATIONAL, &ex, NULL));
    assert_int_equal(store_exporter_height(ex), 2);
    tl_put(a, "gamma", "changed after the export began");
    TL_OK(store_commit(a, 3, NULL, NULL));
    if (store_exporter_write_dir(ex, out, &e)) fail_msg("write_dir: %s", e.msg);
    assert_string_equal(store_exporter_activity_hash(ex), committed2);
    store_exporter_destroy(ex);
    if (store_import_dir(out, dst, &x, &e)) fail_msg("import: %s", e.msg);
    b = tl_open(dst);
    assert_int_equal(store_height(b), 2);
    assert_string_equal(store_activity_hash(b), hash2);
    assert_string_equal(store_committed_hash(b), committed2);
    tl_expect(b, "gamma", "3");
    store_close(a);
    store_close(b);
    tl_rmtree(src);
    tl_rmtree(out);
    tl_rmtree(dst);
}

/* Path of the file holding artifact `prefix*` in an export dir (malloc'd). */
static char *artifact_path(const char *dir, const char *prefix)
{
    char mpath[4096], *res = NULL;
    json_t *m, *arts;
    size_t i;
    snprintf(mpath, sizeof mpath, "%s/manifest.json", dir);
    m = json_load_file(mpath, 0, NULL);
    assert_non_null(m);
    arts = json_object_get(m, "artifacts");
    for (i = 0; i < json_array_size(arts); i++) {
        const char *name = json_string_value(json_array_get(json_array_get(arts, i), 0));
        if (strncmp(name, prefix, strlen(prefix)) == 0) {
            const char *f = json_string_value(json_array_get(json_array_get(arts, i), 1));
            if (asprintf(&res, "%s/%s", dir, f) < 0) res = NULL;
            break;
        }
    }
    json_decref(m);
    assert_non_null(res);
    return res;
}

static void flip_last_byte(const char *path)
{
    FILE *f = fopen(path, "r+b");
    int c;
    assert_non_null(f);
    fseek(f, -1, SEEK_END);
    c = fgetc(f);
    fseek(f, -1, SEEK_END);
    fputc(c ^ 1, f);
    fclose(f);
}

static void expect_rejected(const char *out, const trusted *t, swing_status want)
{
    char *dst = tl_tmpdir();
    char target[4096];
    struct stat sb;
    swing_err e;
    snprintf(target, sizeof target, "%s/db", dst);
    assert_int_equal(store_import_dir(out, target, &t->x, &e), want);
    assert_true(strlen(e.msg) > 0);
    assert_int_not_equal(stat(target, &sb), 0); /* nothing written */
    tl_rmtree(dst);
}

static void test_import_rejects_bad_artifacts(void **state)
{
    (void)state;
    const char *prefixes[] = {"bundle.", "transcript.v1."};
    for (size_t i = 0; i < 2; i++) {
        char *src = tl_tmpdir(), *out = tl_tmpdir(), *p;
        store *a = tl_open(src);
        trusted t;
        fill(a);
        export_to(a, STORE_EXPORT_OPERATIONAL, out, &t);
        p = artifact_path(out, prefixes[i]);
        flip_last_byte(p);
        expect_rejected(out, &t, SWING_ERR_CORRUPT);
        remove(p); /* a missing artifact */
        expect_rejected(out, &t, SWING_ERR_INVALID);
        free(p);
        store_close(a);
        tl_rmtree(src);
        tl_rmtree(out);
    }
}

static void test_import_rejects_bad_export_data(void **state)
{
    (void)state;
    char *src = tl_tmpdir(), *out = tl_tmpdir(), path[4096];
    store *a = tl_open(src);
    FILE *f;
    long n;
    trusted t;
    fill(a);
    export_to(a, STORE_EXPORT_OPERATIONAL, out, &t);
    snprintf(path, sizeof path, "%s/export-data.bin", out);
    f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fclose(f);
    assert_int_equal(truncate(path, n - 3), 0);
    expect_rejected(out, &t, SWING_ERR_INVALID);
    snprintf(path, sizeof path, "%s/manifest.json", out);
    f = fopen(path, "wb");
    fputs("{\"format\":\"something-else\"}", f);
    fclose(f);
    expect_rejected(out, &t, SWING_ERR_INVALID);
    store_close(a);
    tl_rmtree(src);
    tl_rmtree(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_import_round_trip_archival),
        cmocka_unit_test(test_export_operational_has_current_spans_only),
        cmocka_unit_test(test_export_pins_height_while_commits_continue),
        cmocka_unit_test(test_import_rejects_bad_artifacts),
        cmocka_unit_test(test_import_rejects_bad_export_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
