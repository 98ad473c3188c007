/*
 * transcript_test.c - per-vat transcripts (store/transcript.c): span records
 * and their hash chain (checked against a chain computed here with libsodium
 * directly), replay in order across commit and reopen, rollover to a new
 * incarnation and its closed-span export data, aborted cranks, budgeted
 * deletion down to zero raw keys, and vat ID validation.
 */
#include "tests/lib/testlib.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 64

/* ===== hand-computed span hash chain ===== */

static void chain_seed(char h[SWING_SHA256_HEX_LEN + 1])
{
    static const char seed[] = "start of transcript span";
    tl_sha256_hex(seed, sizeof seed - 1, h);
}

static void chain_step(char h[SWING_SHA256_HEX_LEN + 1], const char *item)
{
    char buf[2 * SWING_SHA256_HEX_LEN + 1];
    memcpy(buf, h, SWING_SHA256_HEX_LEN);
    tl_sha256_hex(item, strlen(item), buf + SWING_SHA256_HEX_LEN);
    tl_sha256_hex(buf, 2 * SWING_SHA256_HEX_LEN, h);
}

/* Chain over items[from, to). */
static void chain_of(char h[SWING_SHA256_HEX_LEN + 1], char items[][32], size_t from, size_t to)
{
    chain_seed(h);
    for (size_t i = from; i < to; i++) chain_step(h, items[i]);
}

/* ===== helpers ===== */

/* A model of one vat's items: items[pos] is what was appended at pos. */
typedef struct model {
    const char *vat;
    char items[MAX_ITEMS][32];
    size_t n;
    unsigned gen; /* bumped to make later items differ from discarded ones */
} model;

static void append_n(store *st, model *m, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint64_t pos = 12345;
        assert_true(m->n < MAX_ITEMS);
        snprintf(m->items[m->n], sizeof m->items[m->n], "%s item %zu g%u", m->vat, m->n,
                 m->gen);
        TL_OK(store_transcript_append(st, m->vat, swing_str(m->items[m->n]), &pos, NULL));
        assert_int_equal(pos, m->n);
        m->n++;
    }
}

static void append_crank(store *st, model *m, size_t count)
{
    TL_OK(store_crank_begin(st, NULL));
    append_n(st, m, count);
    TL_OK(store_crank_end(st, NULL));
}

static void expect_span(store *st, const char *vat, uint64_t inc, uint64_t start,
                        uint64_t end, const char *hash)
{
    store_span sp;
    bool found = false;
    memset(&sp, 0, sizeof sp);
    TL_OK(store_transcript_current(st, vat, &sp, &found, NULL));
    assert_true(found);
    assert_int_equal(sp.incarnation, inc);
    assert_int_equal(sp.start, start);
    assert_int_equal(sp.end, end);
    assert_string_equal(sp.hash, hash);
}

typedef struct collect {
    uint64_t next;  /* expected position of the next item */
    model *m;       /* expected contents */
    size_t calls;   /* items seen */
} collect;

static swing_status collect_fn(void *ctx, uint64_t pos, swing_bytes item, swing_err *err)
{
    collect *c = ctx;
    (void)err;
    assert_int_equal(pos, c->next);
    assert_true(pos < c->m->n);
    assert_int_equal(item.len, strlen(c->m->items[pos]));
    assert_memory_equal(item.ptr, c->m->items[pos], item.len);
    c->next++;
    c->calls++;
    return SWING_OK;
}

static void expect_replay(store *st, model *m, uint64_t from, uint64_t to)
{
    collect c = {from, m, 0};
    TL_OK(store_transcript_read(st, m->vat, from, to, collect_fn, &c, NULL));
    assert_int_equal(c.calls, to - from);
}

static swing_status stop_fn(void *ctx, uint64_t pos, swing_bytes item, swing_err *err)
{
    size_t *calls = ctx;
    (void)pos;
    (void)item;
    (*calls)++;
    return swing_err_set(err, SWING_ERR_USER, "stop");
}

static void expect_delta(const store_delta *d, const char *key, const char *val)
{
    const store_delta_entry *e = tl_delta_find(d, key);
    if (!e) fail_msg("export delta lacks %s", key);
    assert_false(e->deleted);
    if (swing_bytes_cmp(e->value, swing_str(val)) != 0)
        fail_msg("%s = \"%.*s\", expected \"%s\"", key, (int)e->value.len,
                 (const char *)e->value.ptr, val);
}

static void span_json(char *out, size_t cap, const char *vat, uint64_t inc, uint64_t start,
                      uint64_t end, const char *hash)
{
    snprintf(out, cap,
             "{\"endPos\":%llu,\"hash\":\"%s\",\"incarnation\":%llu,\"startPos\":%llu,"
             "\"vatID\":\"%s\"}",
             (unsigned long long)end, hash, (unsigned long long)inc, (unsigned long long)start,
             vat);
}

/* ===== tests ===== */

static void test_transcript_append_tracks_span_and_hash(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    model v1 = {.vat = "v1"}, v2 = {.vat = "v2"};
    char h[SWING_SHA256_HEX_LEN + 1];
    store_span sp;
    bool found = true;

    TL_OK(store_transcript_current(st, "v1", &sp, &found, NULL));
    assert_false(found);
    append_crank(st, &v1, 3);
    append_crank(st, &v2, 2);
    append_crank(st, &v1, 2);
    chain_of(h, v1.items, 0, 5);
    expect_span(st, "v1", 0, 0, 5, h);
    chain_of(h, v2.items, 0, 2);
    expect_span(st, "v2", 0, 0, 2, h);
    tl_commit(st, 1, NULL);

    append_crank(st, &v1, 4);
    chain_of(h, v1.items, 0, 9);
    expect_span(st, "v1", 0, 0, 9, h);
    tl_commit(st, 2, NULL);
    store_close(st);

    st = tl_open(dir);
    expect_span(st, "v1", 0, 0, 9, h);
    chain_of(h, v2.items, 0, 2);
    expect_span(st, "v2", 0, 0, 2, h);
    /* The store's own chain helpers agree with the hand-computed chain. */
    store_transcript_seed(h);
    for (size_t i = 0; i < v1.n; i++) store_transcript_step(h, swing_str(v1.items[i]));
    chain_of(sp.hash, v1.items, 0, 9);
    assert_string_equal(h, sp.hash);
    TL_OK(store_transcript_current(st, "v3", &sp, &found, NULL));
    assert_false(found);
    store_close(st);
    tl_rmtree(dir);
}

static void test_transcript_read_replays_items_in_order(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    model v1 = {.vat = "v1"}, v2 = {.vat = "v2"};
    swing_err e;
    size_t calls = 0;

    append_crank(st, &v1, 4);
    append_crank(st, &v2, 3);
    /* Inside an open crank the crank layer is read too. */
    TL_OK(store_crank_begin(st, NULL));
    append_n(st, &v1, 2);
    expect_replay(st, &v1, 0, 6);
    TL_OK(store_crank_end(st, NULL));
    expect_replay(st, &v1, 0, 6); /* block layer */
    tl_commit(st, 1, NULL);
    expect_replay(st, &v1, 0, 6); /* disk */
    append_crank(st, &v1, 3);     /* disk + block */
    expect_replay(st, &v1, 0, 9);
    tl_commit(st, 2, NULL);
    store_close(st);

    st = tl_open(dir);
    expect_replay(st, &v1, 0, 9);
    expect_replay(st, &v1, 3, 7);
    expect_replay(st, &v1, 5, 5);
    expect_replay(st, &v2, 0, 3);
    /* A callback error stops the replay and is returned. */
    assert_int_equal(store_transcript_read(st, "v1", 0, 9, stop_fn, &calls, NULL), SWING_ERR_USER);
    assert_int_equal(calls, 1);
    /* Past the end an item is missing: corruption, not a silent stop. */
    swing_err_clear(&e);
    assert_int_equal(store_transcript_read(st, "v2", 0, 4, collect_fn,
                                           &(collect){0, &v2, 0}, &e),
                     SWING_ERR_CORRUPT);
    store_close(st);
    tl_rmtree(dir);
}

/* Items are opaque bytes: empty and larger than a kv chunk both round trip. */
static swing_status bytes_fn(void *ctx, uint64_t pos, swing_bytes item, swing_err *err)
{
    swing_bytes *want = ctx;
    (void)err;
    assert_int_equal(item.len, want[pos].len);
    if (item.len) assert_memory_equal(item.ptr, want[pos].ptr, item.len);
    return SWING_OK;
}

static void test_transcript_items_are_opaque_bytes(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    size_t big_len = 40u * 1024u;
    uint8_t *big = malloc(big_len);
    char h[SWING_SHA256_HEX_LEN + 1], ih[SWING_SHA256_HEX_LEN + 1], buf[2 * SWING_SHA256_HEX_LEN];
    swing_bytes want[3];
    assert_non_null(big);
    for (size_t i = 0; i < big_len; i++) big[i] = (uint8_t)(i * 13u + (i >> 8));
    want[0] = swing_bytes_of(NULL, 0);
    want[1] = swing_bytes_of(big, big_len);
    want[2] = swing_bytes_of("\0\n\xff", 3);
    TL_OK(store_crank_begin(st, NULL));
    for (size_t i = 0; i < 3; i++) TL_OK(store_transcript_append(st, "v3", want[i], NULL, NULL));
    TL_OK(store_crank_end(st, NULL));
    tl_commit(st, 1, NULL);
    store_close(st);
    st = tl_open(dir);
    TL_OK(store_transcript_read(st, "v3", 0, 3, bytes_fn, want, NULL));
    chain_seed(h);
    for (size_t i = 0; i < 3; i++) {
        memcpy(buf, h, SWING_SHA256_HEX_LEN);
        tl_sha256_hex(want[i].ptr, want[i].len, ih);
        memcpy(buf + SWING_SHA256_HEX_LEN, ih, SWING_SHA256_HEX_LEN);
        tl_sha256_hex(buf, sizeof buf, h);
    }
    expect_span(st, "v3", 0, 0, 3, h);
    store_close(st);
    free(big);
    tl_rmtree(dir);
}

static void test_transcript_rollover_starts_next_incarnation(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    model v1 = {.vat = "v1"};
    char h[SWING_SHA256_HEX_LEN + 1], seed[SWING_SHA256_HEX_LEN + 1], json[400];
    store_delta *d = NULL;

    chain_seed(seed);
    append_crank(st, &v1, 4);
    tl_commit(st, 1, NULL);
    TL_OK(store_crank_begin(st, NULL));
    TL_OK(store_transcript_rollover(st, "v1", NULL));
    TL_OK(store_crank_end(st, NULL));
    expect_span(st, "v1", 1, 4, 4, seed);
    tl_commit(st, 2, &d);
    chain_of(h, v1.items, 0, 4);
    span_json(json, sizeof json, "v1", 0, 0, 4, h);
    expect_delta(d, "transcript.v1.00000000000000000000", json);
    span_json(json, sizeof json, "v1", 1, 4, 4, seed);
    expect_delta(d, "transcript.v1.current", json);
    store_delta_destroy(d);

    /* The new span chains from the seed; old items stay readable. */
    append_crank(st, &v1, 2);
    chain_of(h, v1.items, 4, 6);
    expect_span(st, "v1", 1, 4, 6, h);
    expect_replay(st, &v1, 0, 6);

    /* Closing a span, then rolling over the empty one it leaves. */
    TL_OK(store_crank_begin(st, NULL));
    TL_OK(store_transcript_rollover(st, "v1", NULL));
    TL_OK(store_transcript_rollover(st, "v1", NULL));
    TL_OK(store_crank_end(st, NULL));
    expect_span(st, "v1", 3, 6, 6, seed);
    tl_commit(st, 3, &d);
    span_json(json, sizeof json, "v1", 1, 4, 6, h);
    expect_delta(d, "transcript.v1.00000000000000000004", json);
    assert_null(tl_delta_find(d, "transcript.v1.00000000000000000006"));
    span_json(json, sizeof json, "v1", 3, 6, 6, seed);
    expect_delta(d, "transcript.v1.current", json);
    store_delta_destroy(d);

    /* A vat that never had items: a new incarnation, no closed record. */
    TL_OK(store_crank_begin(st, NULL));
    TL_OK(store_transcript_rollover(st, "v2", NULL));
    TL_OK(store_crank_end(st, NULL));
    expect_span(st, "v2", 1, 0, 0, seed);
    tl_commit(st, 4, &d);
    assert_null(tl_delta_find(d, "transcript.v2.00000000000000000000"));
    span_json(json, sizeof json, "v2", 1, 0, 0, seed);
    expect_delta(d, "transcript.v2.current", json);
    store_delta_destroy(d);
    store_close(st);

    st = tl_open(dir);
    expect_span(st, "v1", 3, 6, 6, seed);
    expect_replay(st, &v1, 0, 6);
    store_close(st);
    assert_int_equal(tl_raw_count(dir, "transcript.v1."), 3); /* @0, @4, current */
    assert_int_equal(tl_raw_count(dir, "transcript.v2."), 1);
    assert_int_equal(tl_raw_count(dir, "titem.v1."), 6);
    tl_rmtree(dir);
}

static void test_transcript_abort_discards_items(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    model v1 = {.vat = "v1"};
    char h[SWING_SHA256_HEX_LEN + 1];
    swing_err e;

    append_crank(st, &v1, 2);
    tl_commit(st, 1, NULL);
    append_crank(st, &v1, 1); /* in the block layer, kept */
    TL_OK(store_crank_begin(st, NULL));
    append_n(st, &v1, 3);
    TL_OK(store_transcript_rollover(st, "v1", NULL));
    TL_OK(store_crank_abort(st, NULL));
    v1.n = 3;
    chain_of(h, v1.items, 0, 3);
    expect_span(st, "v1", 0, 0, 3, h);
    swing_err_clear(&e);
    assert_int_equal(store_transcript_read(st, "v1", 0, 4, collect_fn,
                                           &(collect){0, &v1, 0}, &e),
                     SWING_ERR_CORRUPT);
    /* The next append reuses the position with its own content. */
    v1.gen++;
    append_crank(st, &v1, 1);
    chain_of(h, v1.items, 0, 4);
    expect_span(st, "v1", 0, 0, 4, h);
    tl_commit(st, 2, NULL);
    store_close(st);
    st = tl_open(dir);
    expect_span(st, "v1", 0, 0, 4, h);
    expect_replay(st, &v1, 0, 4);
    store_close(st);
    assert_int_equal(tl_raw_count(dir, "titem.v1."), 4);
    assert_int_equal(tl_raw_count(dir, "transcript.v1."), 1);
    tl_rmtree(dir);
}

/* Calls store_transcript_delete(budget) until done; returns spans deleted. */
static uint64_t delete_all(store *st, const char *vat, uint64_t budget)
{
    uint64_t total = 0;
    for (int calls = 0;; calls++) {
        uint64_t used = 999;
        bool done = false;
        if (calls > 100) fail_msg("transcript delete did not finish");
        TL_OK(store_crank_begin(st, NULL));
        TL_OK(store_transcript_delete(st, vat, budget, &used, &done, NULL));
        TL_OK(store_crank_end(st, NULL));
        assert_true(used <= budget);
        total += used;
        if (done) return total;
        assert_true(used > 0); /* not done: progress was made */
    }
}

static void test_transcript_delete_is_budgeted(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    model v1 = {.vat = "v1"}, v2 = {.vat = "v2"};
    char h[SWING_SHA256_HEX_LEN + 1];
    store_delta *d = NULL;
    uint64_t used = 0, total;
    bool done = false, found = true;
    store_span sp;

    /* v1: spans [0,4) and [4,7) closed, current [7,11); v2: 5 items. */
    append_crank(st, &v1, 4);
    TL_OK(store_transcript_rollover(st, "v1", NULL));
    append_crank(st, &v1, 3);
    tl_commit(st, 1, NULL);
    TL_OK(store_transcript_rollover(st, "v1", NULL));
    append_crank(st, &v1, 4);
    append_crank(st, &v2, 5);
    tl_commit(st, 2, NULL);
    store_close(st);
    assert_int_equal(tl_raw_count(dir, "titem.v1."), 11);
    assert_int_equal(tl_raw_count(dir, "transcript.v1."), 3);

    st = tl_open(dir);
    /* Part of the work in one block, the rest in the next; oldest span first. */
    TL_OK(store_transcript_delete(st, "v1", 1, &used, &done, NULL));
    assert_int_equal(used, 1);
    assert_false(done);
    TL_OK(store_transcript_current(st, "v1", &sp, &found, NULL));
    assert_true(found); /* the current span goes last */
    TL_OK(store_transcript_delete(st, "v1", 1, &used, &done, NULL));
    assert_int_equal(used, 1);
    assert_false(done);
    tl_commit(st, 3, &d);
    for (size_t i = 0; i < 2; i++) {
        static const char *gone[] = {"transcript.v1.00000000000000000000",
                                     "transcript.v1.00000000000000000004"};
        const store_delta_entry *de = tl_delta_find(d, gone[i]);
        if (!de || !de->deleted) fail_msg("delta does not delete %s", gone[i]);
    }
    assert_null(tl_delta_find(d, "transcript.v1.current"));
    assert_null(tl_delta_find(d, "titem.v1.00000000000000000000")); /* items are not export data */
    store_delta_destroy(d);
    total = 2 + delete_all(st, "v1", 1);
    assert_int_equal(total, 3);
    /* Deleting a deleted transcript is a no-op that reports done. */
    used = 999;
    TL_OK(store_transcript_delete(st, "v1", 3, &used, &done, NULL));
    assert_int_equal(used, 0);
    assert_true(done);
    tl_commit(st, 4, NULL);

    chain_of(h, v2.items, 0, 5);
    expect_span(st, "v2", 0, 0, 5, h);
    expect_replay(st, &v2, 0, 5);
    TL_OK(store_transcript_current(st, "v1", &sp, &found, NULL));
    assert_false(found);
    store_close(st);
    assert_int_equal(tl_raw_count(dir, "titem.v1."), 0);
    assert_int_equal(tl_raw_count(dir, "transcript.v1."), 0);
    assert_int_equal(tl_raw_count(dir, "titem.v2."), 5);
    assert_int_equal(tl_raw_count(dir, "transcript.v2."), 1);
    tl_rmtree(dir);
}

static void test_transcript_delete_zero_budget_makes_no_progress(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    model v1 = {.vat = "v1"};
    uint64_t used = 999;
    bool done = true;
    append_crank(st, &v1, 2);
    TL_OK(store_transcript_delete(st, "v1", 0, &used, &done, NULL));
    assert_int_equal(used, 0);
    assert_false(done);
    /* A budget beyond the remaining spans: done in the same call. */
    TL_OK(store_transcript_delete(st, "v1", 3, &used, &done, NULL));
    assert_int_equal(used, 1);
    assert_true(done);
    store_close(st);
    tl_rmtree(dir);
}

static void test_transcript_rejects_invalid_vat_ids(void **state)
{
    (void)state;
    static const char *bad[] = {"", "v.1", "v 1", "v/1", "v1\n", "vé",
                                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    static const char long_ok[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    store_span sp;
    bool found, done;
    uint64_t used;
    size_t calls = 0;

    assert_int_equal(strlen(long_ok), STORE_VAT_ID_MAX);
    assert_int_equal(strlen(bad[6]), STORE_VAT_ID_MAX + 1);
    TL_OK(store_crank_begin(st, NULL));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *v = bad[i];
        assert_int_equal(store_transcript_append(st, v, swing_str("x"), NULL, NULL),
                         SWING_ERR_INVALID);
        assert_int_equal(store_transcript_current(st, v, &sp, &found, NULL), SWING_ERR_INVALID);
        assert_int_equal(store_transcript_rollover(st, v, NULL), SWING_ERR_INVALID);
        assert_int_equal(store_transcript_read(st, v, 0, 1, stop_fn, &calls, NULL),
                         SWING_ERR_INVALID);
        assert_int_equal(store_transcript_delete(st, v, 3, &used, &done, NULL),
                         SWING_ERR_INVALID);
    }
    assert_int_equal(store_transcript_append(st, NULL, swing_str("x"), NULL, NULL),
                     SWING_ERR_INVALID);
    assert_int_equal(calls, 0);
    TL_OK(store_transcript_append(st, long_ok, swing_str("x"), NULL, NULL));
    TL_OK(store_transcript_append(st, "Az09_-", swing_str("y"), NULL, NULL));
    TL_OK(store_crank_end(st, NULL));
    tl_commit(st, 1, NULL);
    store_close(st);
    /* Nothing but the two valid vats' keys reached the disk. */
    assert_int_equal(tl_raw_count(dir, "titem."), 2);
    assert_int_equal(tl_raw_count(dir, "transcript."), 2);
    tl_rmtree(dir);
}

/* Stopping a transcript removes every span record at once (the vat leaves
 * exports) and hands back the item range, deleted later piece by piece. */
static void test_transcript_stop_then_delete_items(void **state)
{
    (void)state;
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    model v1 = {.vat = "v1"};
    store_delta *d = NULL;
    uint64_t start = 9, end = 9;

    /* closed span [0,6), current [6,10) */
    append_crank(st, &v1, 6);
    TL_OK(store_transcript_rollover(st, "v1", NULL));
    append_crank(st, &v1, 4);
    tl_commit(st, 1, NULL);

    TL_OK(store_crank_begin(st, NULL));
    TL_OK(store_transcript_stop(st, "v1", &start, &end, NULL));
    TL_OK(store_transcript_delete_items(st, "v1", start, start + 4, NULL));
    TL_OK(store_crank_end(st, NULL));
    assert_int_equal(start, 0);
    assert_int_equal(end, 10);
    tl_commit(st, 2, &d);
    {
        const store_delta_entry *closed = tl_delta_find(d, "transcript.v1.00000000000000000000");
        const store_delta_entry *cur = tl_delta_find(d, "transcript.v1.current");
        assert_true(closed && closed->deleted);
        assert_true(cur && cur->deleted);
    }
    store_delta_destroy(d);
    TL_OK(store_crank_begin(st, NULL));
    TL_OK(store_transcript_delete_items(st, "v1", 4, 10, NULL));
    TL_OK(store_transcript_stop(st, "v1", &start, &end, NULL)); /* nothing left: 0,0 */
    TL_OK(store_crank_end(st, NULL));
    assert_int_equal(start, 0);
    assert_int_equal(end, 0);
    tl_commit(st, 3, NULL);
    store_close(st);
    assert_int_equal(tl_raw_count(dir, "titem.v1."), 0);
    assert_int_equal(tl_raw_count(dir, "transcript.v1."), 0);
    tl_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transcript_append_tracks_span_and_hash),
        cmocka_unit_test(test_transcript_read_replays_items_in_order),
        cmocka_unit_test(test_transcript_items_are_opaque_bytes),
        cmocka_unit_test(test_transcript_rollover_starts_next_incarnation),
        cmocka_unit_test(test_transcript_abort_discards_items),
        cmocka_unit_test(test_transcript_delete_is_budgeted),
        cmocka_unit_test(test_transcript_stop_then_delete_items),
        cmocka_unit_test(test_transcript_delete_zero_budget_makes_no_progress),
        cmocka_unit_test(test_transcript_rejects_invalid_vat_ids),
    };
    return cmocka_run_group_tests(tests, tl_setup_sodium, NULL);
}
