/*
 * chunk_test.c - chunked kv values (store/chunk.c, commit.c, kv.c; scheme in
 * keys.h): values of 0 B, 16 KiB, 16 KiB + 1 and 5 MiB round-trip through
 * every layer and a reopen; rewrites and deletes leave exactly the physical
 * chunk keys the current value needs; the export delta carries headers,
 * chunks and deletions of old chunks, never a value over 16 KiB; next_key
 * and prefix iteration see a chunked key as one logical key; keys that end
 * in a chunk-like suffix coexist with chunked keys.
 */
#include "tests/lib/testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB5 (5u * 1024u * 1024u)

/* ---- helpers ---- */

static void crank_begin(store *st) { TL_OK(store_crank_begin(st, NULL)); }
static void crank_end(store *st) { TL_OK(store_crank_end(st, NULL)); }

/* A deterministic value whose every 16 KiB chunk differs from the others. */
static uint8_t *make_value(size_t len, unsigned seed)
{
    uint8_t *v = malloc(len ? len : 1);
    assert_non_null(v);
    for (size_t i = 0; i < len; i++)
        v[i] = (uint8_t)(i * 31u + seed * 7u + (i >> 14) * 13u + (i >> 8));
    return v;
}

static void set_bytes(store *st, const char *k, const uint8_t *v, size_t len)
{
    TL_OK(store_set(st, swing_str(k), swing_bytes_of(v, len), NULL));
}

static void put_bytes(store *st, const char *k, const uint8_t *v, size_t len)
{
    crank_begin(st);
    set_bytes(st, k, v, len);
    crank_end(st);
}

static void expect_bytes(store *st, const char *k, const uint8_t *v, size_t len)
{
    swing_buf got = {0};
    bool found = false;
    TL_OK(store_get(st, swing_str(k), &got, &found, NULL));
    if (!found) fail_msg("%s absent, expected %zu bytes", k, len);
    if (got.len != len) fail_msg("%s has %zu bytes, expected %zu", k, got.len, len);
    if (len && memcmp(got.ptr, v, len) != 0) fail_msg("%s differs from the value set", k);
    if (len && got.ptr[len] != 0) fail_msg("%s is not followed by a NUL byte", k);
    swing_buf_free(&got);
}

/* No exported value is larger than one chunk; entries strictly sorted. */
static void expect_delta_bounded(const store_delta *d)
{
    for (size_t i = 0; i < d->count; i++) {
        if (d->entries[i].value.len > STORE_CHUNK_SIZE)
            fail_msg("delta entry %.*s holds %zu bytes", (int)d->entries[i].key.len,
                     (const char *)d->entries[i].key.ptr, d->entries[i].value.len);
        if (i && swing_bytes_cmp(d->entries[i - 1].key, d->entries[i].key) >= 0)
            fail_msg("delta not strictly sorted at %zu", i);
    }
}

/* Counts delta entries with prefix p, split into puts and deletions. */
static void delta_count(const store_delta *d, const char *p, size_t *puts, size_t *dels)
{
    *puts = *dels = 0;
    for (size_t i = 0; i < d->count; i++) {
        if (!swing_bytes_has_prefix(d->entries[i].key, swing_str(p))) continue;
        if (d->entries[i].deleted) ++*dels;
        else ++*puts;
    }
}

/* The chunked export of key k: header {"chunks":N,"size":L} and chunk i of
 * bytes v[i*16K..] for every i < N; nothing for kv.<k>. */
static void expect_delta_chunked(const store_delta *d, const char *k, const uint8_t *v,
                                 size_t len)
{
    char name[256], hdr[96];
    size_t n = (len + STORE_CHUNK_SIZE - 1) / STORE_CHUNK_SIZE;
    const store_delta_entry *e;
    snprintf(name, sizeof name, "kvh.%s", k);
    snprintf(hdr, sizeof hdr, "{\"chunks\":%zu,\"size\":%zu}", n, len);
    e = tl_delta_find(d, name);
    if (!e || e->deleted) fail_msg("delta lacks header %s", name);
    if (swing_bytes_cmp(e->value, swing_str(hdr)) != 0)
        fail_msg("%s = %.*s, expected %s", name, (int)e->value.len, (const char *)e->value.ptr,
                 hdr);
    for (size_t i = 0; i < n; i++) {
        size_t off = i * STORE_CHUNK_SIZE;
        size_t cl = len - off < STORE_CHUNK_SIZE ? len - off : STORE_CHUNK_SIZE;
        snprintf(name, sizeof name, "kvc.%s.%08zx", k, i);
        e = tl_delta_find(d, name);
        if (!e || e->deleted) fail_msg("delta lacks chunk %s", name);
        if (e->value.len != cl || memcmp(e->value.ptr, v + off, cl) != 0)
            fail_msg("chunk %s has the wrong bytes", name);
    }
    snprintf(name, sizeof name, "kv.%s", k);
    e = tl_delta_find(d, name);
    if (e && !e->deleted) fail_msg("delta exports %s beside its chunks", name);
}

/* Physical key counts of a closed store directory for key k. */
static void expect_raw(const char *dir, const char *k, size_t plain, size_t hdr, size_t chunks)
{
    char p[256];
    snprintf(p, sizeof p, "kv.%s", k);
    assert_int_equal(tl_raw_count(dir, p), plain);
    snprintf(p, sizeof p, "kvh.%s", k);
    assert_int_equal(tl_raw_count(dir, p), hdr);
    snprintf(p, sizeof p, "kvc.%s.", k);
    assert_int_equal(tl_raw_count(dir, p), chunks);
    /* No stray chunk data anywhere else either. */
    assert_int_equal(tl_raw_count(dir, "kvc."), chunks);
    assert_int_equal(tl_raw_count(dir, "kvh."), hdr);
}

/* ---- round trips ---- */

static void test_chunk_values_round_trip_every_layer(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, STORE_CHUNK_SIZE, STORE_CHUNK_SIZE + 1, MIB5};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    uint8_t *vals[NS];
    char keys[NS][32];
    for (size_t i = 0; i < NS; i++) {
        vals[i] = make_value(sizes[i], (unsigned)i + 1);
        snprintf(keys[i], sizeof keys[i], "v%zu", sizes[i]);
    }
    crank_begin(st);
    for (size_t i = 0; i < NS; i++) set_bytes(st, keys[i], vals[i], sizes[i]);
    for (size_t i = 0; i < NS; i++) expect_bytes(st, keys[i], vals[i], sizes[i]);
    crank_end(st);
    for (size_t i = 0; i < NS; i++) expect_bytes(st, keys[i], vals[i], sizes[i]);
    TL_OK(store_commit(st, 1, NULL, NULL));
    for (size_t i = 0; i < NS; i++) expect_bytes(st, keys[i], vals[i], sizes[i]);
    store_close(st);
    st = tl_open(dir);
    for (size_t i = 0; i < NS; i++) expect_bytes(st, keys[i], vals[i], sizes[i]);
    store_close(st);

    /* Physical shape: 16 KiB stays plain, 16 KiB + 1 is 2 chunks. */
    assert_int_equal(tl_raw_count(dir, "kv.v16384"), 1);
    assert_int_equal(tl_raw_count(dir, "kvh.v16384"), 0);
    assert_int_equal(tl_raw_count(dir, "kvc.v16384."), 0);
    assert_int_equal(tl_raw_count(dir, "kvh.v16385"), 1);
    assert_int_equal(tl_raw_count(dir, "kvc.v16385."), 2);
    assert_int_equal(tl_raw_count(dir, "kv.v16385"), 0);
    assert_int_equal(tl_raw_count(dir, "kvc.v5242880."), 320);
    assert_int_equal(tl_raw_count(dir, "kv.v0"), 1);
    for (size_t i = 0; i < NS; i++) free(vals[i]);
    tl_rmtree(dir);
}

/* ---- rewrites and their physical keys and export data ---- */

static void test_chunk_rewrite_leaves_no_stray_chunks(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    store_delta *d = NULL;
    uint8_t *big = make_value(MIB5, 1), *mid = make_value(STORE_CHUNK_SIZE + 1, 2);
    static const uint8_t small[10] = "0123456789";
    size_t puts, dels;
    char name[64];

    put_bytes(st, "big", big, MIB5);
    TL_OK(store_commit(st, 1, &d, NULL));
    expect_delta_bounded(d);
    expect_delta_chunked(d, "big", big, MIB5);
    delta_count(d, "kvc.big.", &puts, &dels);
    assert_int_equal(puts, 320);
    assert_int_equal(dels, 0);
    store_delta_destroy(d);
    store_close(st);
    expect_raw(dir, "big", 0, 1, 320);

    st = tl_open(dir);
    expect_bytes(st, "big", big, MIB5);
    put_bytes(st, "big", mid, STORE_CHUNK_SIZE + 1);
    TL_OK(store_commit(st, 2, &d, NULL));
    expect_delta_bounded(d);
    expect_delta_chunked(d, "big", mid, STORE_CHUNK_SIZE + 1);
    delta_count(d, "kvc.big.", &puts, &dels);
    assert_int_equal(puts, 2);
    assert_int_equal(dels, 318); /* chunks 2..319 of the old value */
    for (size_t i = 2; i < 320; i++) {
        snprintf(name, sizeof name, "kvc.big.%08zx", i);
        assert_non_null(tl_delta_find(d, name));
        assert_true(tl_delta_find(d, name)->deleted);
    }
    store_delta_destroy(d);
    store_close(st);
    expect_raw(dir, "big", 0, 1, 2);

    st = tl_open(dir);
    expect_bytes(st, "big", mid, STORE_CHUNK_SIZE + 1);
    put_bytes(st, "big", small, sizeof small);
    TL_OK(store_commit(st, 3, &d, NULL));
    expect_delta_bounded(d);
    assert_non_null(tl_delta_find(d, "kv.big"));
    assert_false(tl_delta_find(d, "kv.big")->deleted);
    assert_true(swing_bytes_cmp(tl_delta_find(d, "kv.big")->value,
                                swing_bytes_of(small, sizeof small)) == 0);
    assert_non_null(tl_delta_find(d, "kvh.big"));
    assert_true(tl_delta_find(d, "kvh.big")->deleted);
    delta_count(d, "kvc.big.", &puts, &dels);
    assert_int_equal(puts, 0);
    assert_int_equal(dels, 2);
    assert_non_null(tl_delta_find(d, "kvc.big.00000000"));
    assert_true(tl_delta_find(d, "kvc.big.00000000")->deleted);
    assert_non_null(tl_delta_find(d, "kvc.big.00000001"));
    assert_true(tl_delta_find(d, "kvc.big.00000001")->deleted);
    store_delta_destroy(d);
    store_close(st);
    expect_raw(dir, "big", 1, 0, 0);

    st = tl_open(dir);
    expect_bytes(st, "big", small, sizeof small);
    crank_begin(st);
    TL_OK(store_delete(st, swing_str("big"), NULL));
    crank_end(st);
    TL_OK(store_commit(st, 4, &d, NULL));
    expect_delta_bounded(d);
    assert_non_null(tl_delta_find(d, "kv.big"));
    assert_true(tl_delta_find(d, "kv.big")->deleted);
    delta_count(d, "kvc.", &puts, &dels);
    assert_int_equal(puts + dels, 0);
    delta_count(d, "kvh.", &puts, &dels);
    assert_int_equal(puts + dels, 0);
    store_delta_destroy(d);
    store_close(st);
    expect_raw(dir, "big", 0, 0, 0);

    st = tl_open(dir);
    tl_expect(st, "big", NULL);
    store_close(st);
    free(big);
    free(mid);
    tl_rmtree(dir);
}

static void test_chunk_small_to_chunked_and_delete(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    store_delta *d = NULL;
    uint8_t *v = make_value(3 * STORE_CHUNK_SIZE, 3);
    size_t puts, dels;
    tl_put(st, "s", "small");
    TL_OK(store_commit(st, 1, NULL, NULL));
    put_bytes(st, "s", v, 3 * STORE_CHUNK_SIZE);
    TL_OK(store_commit(st, 2, &d, NULL));
    expect_delta_bounded(d);
    expect_delta_chunked(d, "s", v, 3 * STORE_CHUNK_SIZE);
    /* The host's old plain copy must go. */
    assert_non_null(tl_delta_find(d, "kv.s"));
    assert_true(tl_delta_find(d, "kv.s")->deleted);
    store_delta_destroy(d);
    store_close(st);
    expect_raw(dir, "s", 0, 1, 3);

    /* Deleting a chunked value deletes header and every chunk. */
    st = tl_open(dir);
    crank_begin(st);
    TL_OK(store_delete(st, swing_str("s"), NULL));
    crank_end(st);
    TL_OK(store_commit(st, 3, &d, NULL));
    expect_delta_bounded(d);
    assert_non_null(tl_delta_find(d, "kvh.s"));
    assert_true(tl_delta_find(d, "kvh.s")->deleted);
    delta_count(d, "kvc.s.", &puts, &dels);
    assert_int_equal(puts, 0);
    assert_int_equal(dels, 3);
    {
        const store_delta_entry *e = tl_delta_find(d, "kv.s");
        if (e) assert_true(e->deleted);
    }
    store_delta_destroy(d);
    store_close(st);
    expect_raw(dir, "s", 0, 0, 0);
    st = tl_open(dir);
    tl_expect(st, "s", NULL);
    store_close(st);
    free(v);
    tl_rmtree(dir);
}

/* ---- chunked keys are single logical keys ---- */

/* Walks next_key from `from` and prefix iteration over `prefix`; both must
 * yield exactly want[] (NULL ended), values checked by length only. After
 * the last wanted key next_key must give `after` (NULL: nothing). */
static void expect_walk(store *st, const char *from, const char *prefix,
                        const char *const *want, const size_t *lens, const char *after)
{
    const char *cur = from;
    store_iter *it = NULL;
    size_t n = 0;
    for (size_t i = 0; want[i]; i++) {
        tl_expect_next(st, cur, want[i]);
        cur = want[i];
    }
    tl_expect_next(st, cur, after);
    TL_OK(store_iter_create(st, swing_str(prefix), &it, NULL));
    for (;;) {
        swing_bytes key, val;
        bool valid;
        TL_OK(store_iter_next(it, &key, &val, &valid, NULL));
        if (!valid) break;
        if (!want[n]) fail_msg("iteration yields extra key %.*s", (int)key.len, key.ptr);
        if (swing_bytes_cmp(key, swing_str(want[n])) != 0)
            fail_msg("iteration key %zu is %.*s, expected %s", n, (int)key.len, key.ptr,
                     want[n]);
        assert_int_equal(val.len, lens[n]);
        n++;
    }
    if (want[n]) fail_msg("iteration stopped before %s", want[n]);
    store_iter_destroy(it);
}

static void test_chunk_keys_are_single_logical_keys(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    const size_t big = 2 * STORE_CHUNK_SIZE + 5;
    uint8_t *v = make_value(big, 4);
    crank_begin(st);
    TL_OK(store_set(st, swing_str("c.a"), swing_str("small"), NULL));
    set_bytes(st, "c.b", v, big);
    TL_OK(store_set(st, swing_str("c.d"), swing_str("small"), NULL));
    set_bytes(st, "c.e", v, big);
    set_bytes(st, "c.f", v, big);
    set_bytes(st, "c.g", v, big);
    set_bytes(st, "c.h", v, big);
    crank_end(st);
    TL_OK(store_commit(st, 1, NULL, NULL));
    store_close(st);
    st = tl_open(dir);
    {
        static const char *const want[] = {"c.a", "c.b", "c.d", "c.e", "c.f", "c.g", "c.h",
                                           NULL};
        const size_t lens[] = {5, big, 5, big, big, big, big};
        expect_walk(st, "c.", "c.", want, lens, "host.height");
    }
    /* Block: a new chunked key, a chunked disk key deleted. */
    crank_begin(st);
    set_bytes(st, "c.c", v, big);
    TL_OK(store_delete(st, swing_str("c.e"), NULL));
    crank_end(st);
    /* Crank: delete a chunked disk key, shrink another, delete the last. */
    crank_begin(st);
    TL_OK(store_delete(st, swing_str("c.f"), NULL));
    TL_OK(store_set(st, swing_str("c.g"), swing_str("tiny"), NULL));
    TL_OK(store_delete(st, swing_str("c.h"), NULL));
    {
        static const char *const want[] = {"c.a", "c.b", "c.c", "c.d", "c.g", NULL};
        const size_t lens[] = {5, big, big, 5, 4};
        expect_walk(st, "c.", "c.", want, lens, "host.height");
        crank_end(st);
        expect_walk(st, "c.", "c.", want, lens, "host.height");
        TL_OK(store_commit(st, 2, NULL, NULL));
        expect_walk(st, "c.", "c.", want, lens, "host.height");
        store_close(st);
        st = tl_open(dir);
        expect_walk(st, "c.", "c.", want, lens, "host.height");
    }
    expect_bytes(st, "c.c", v, big);
    store_close(st);
    free(v);
    tl_rmtree(dir);
}

static void test_chunk_suffix_like_key_coexists(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    store_delta *d = NULL;
    const size_t la = 2 * STORE_CHUNK_SIZE + 1, l1 = 3 * STORE_CHUNK_SIZE - 7;
    uint8_t *va = make_value(la, 5), *v1 = make_value(l1, 6);
    crank_begin(st);
    set_bytes(st, "a", va, la);
    TL_OK(store_set(st, swing_str("a.00000000"), swing_str("plain"), NULL));
    set_bytes(st, "a.00000001", v1, l1);
    crank_end(st);
    TL_OK(store_commit(st, 1, &d, NULL));
    expect_delta_bounded(d);
    expect_delta_chunked(d, "a", va, la);
    expect_delta_chunked(d, "a.00000001", v1, l1);
    store_delta_destroy(d);
    store_close(st);
    assert_int_equal(tl_raw_count(dir, "kvc."), 3 + 3);
    assert_int_equal(tl_raw_count(dir, "kvh."), 2);

    st = tl_open(dir);
    expect_bytes(st, "a", va, la);
    tl_expect(st, "a.00000000", "plain");
    expect_bytes(st, "a.00000001", v1, l1);
    {
        static const char *const want[] = {"a", "a.00000000", "a.00000001", "activityhash",
                                           NULL};
        const size_t lens[] = {la, 5, l1, 64};
        expect_walk(st, "", "a", want, lens, "host.height");
    }

    /* Deleting "a" removes only its own chunks. */
    crank_begin(st);
    TL_OK(store_delete(st, swing_str("a"), NULL));
    crank_end(st);
    TL_OK(store_commit(st, 2, &d, NULL));
    for (size_t i = 0; i < d->count; i++) {
        swing_bytes k = d->entries[i].key;
        if (swing_bytes_has_prefix(k, swing_str("kvc.a.00000001.")) ||
            swing_bytes_has_prefix(k, swing_str("kvh.a.0")) ||
            swing_bytes_has_prefix(k, swing_str("kv.a.0")))
            fail_msg("deleting a touched %.*s", (int)k.len, (const char *)k.ptr);
    }
    expect_delta_bounded(d);
    for (int i = 0; i < 4; i++) {
        static const char *const gone[] = {"kvh.a", "kvc.a.00000000", "kvc.a.00000001",
                                           "kvc.a.00000002"};
        assert_non_null(tl_delta_find(d, gone[i]));
        assert_true(tl_delta_find(d, gone[i])->deleted);
    }
    store_delta_destroy(d);
    store_close(st);
    assert_int_equal(tl_raw_count(dir, "kvc."), 3);
    assert_int_equal(tl_raw_count(dir, "kvh."), 1);
    st = tl_open(dir);
    tl_expect(st, "a", NULL);
    tl_expect(st, "a.00000000", "plain");
    expect_bytes(st, "a.00000001", v1, l1);
    store_close(st);
    free(va);
    free(v1);
    tl_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_values_round_trip_every_layer),
        cmocka_unit_test(test_chunk_rewrite_leaves_no_stray_chunks),
        cmocka_unit_test(test_chunk_small_to_chunked_and_delete),
        cmocka_unit_test(test_chunk_keys_are_single_logical_keys),
        cmocka_unit_test(test_chunk_suffix_like_key_coexists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
