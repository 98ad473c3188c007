/*
 * scan_test.c - store/scan.c: a prefix scan visits the keys under its
 * prefix in order across disk, block and crank layers (not the key equal
 * to the prefix, not the neighbours of a prefix that is a prefix of other
 * keys), survives writes and deletes between steps, finds nothing in an
 * empty range and keeps finding nothing, resumes from a saved cursor, and
 * visits exactly the keys a hand-written store_next_key_in loop visits.
 */
#include "tests/lib/testlib.h"

#include <stdio.h>
#include <string.h>

#include "store/scan.h"

#define SCAN_MAX 64

typedef struct seen {
    char k[SCAN_MAX][32];
    size_t n;
} seen;

static void set(store *st, const char *k, const char *v) { TL_OK(store_set(st, swing_str(k), swing_str(v), NULL)); }
static void del(store *st, const char *k) { TL_OK(store_delete(st, swing_str(k), NULL)); }

static void note(seen *s, swing_bytes key)
{
    assert_true(s->n < SCAN_MAX && key.len < sizeof s->k[0]);
    memcpy(s->k[s->n], key.ptr, key.len);
    s->k[s->n++][key.len] = '\0';
}

/* Every key a scan of prefix yields, with no writes. */
static void scan_all(store *st, const char *prefix, seen *out)
{
    store_scan sc;
    swing_bytes key;
    bool found;
    out->n = 0;
    store_scan_init(&sc, st, swing_str(prefix));
    for (;;) {
        TL_OK(store_scan_next(&sc, &key, &found, NULL));
        if (!found) break;
        note(out, key);
    }
    store_scan_free(&sc);
}

/* The same by the loop the helper replaced. */
static void hand_all(store *st, const char *prefix, seen *out)
{
    swing_buf cur = {0};
    swing_bytes p = swing_str(prefix);
    out->n = 0;
    for (;;) {
        swing_buf next = {0};
        bool found;
        TL_OK(store_next_key_in(st, cur.ptr ? swing_buf_view(&cur) : p, p, &next, &found, NULL));
        swing_buf_free(&cur);
        if (!found) break;
        note(out, swing_buf_view(&next));
        cur = next;
    }
}

static void expect(const seen *s, const char *const *want, size_t n)
{
    if (s->n != n) fail_msg("visited %zu keys, expected %zu", s->n, n);
    for (size_t i = 0; i < n; i++) assert_string_equal(s->k[i], want[i]);
}

/* Keys on disk (committed), in the block and in an open crank. */
static store *layered(char **dir)
{
    store *st;
    *dir = tl_tmpdir();
    st = tl_open(*dir);
    TL_OK(store_crank_begin(st, NULL));
    set(st, "p.", "the prefix itself");
    set(st, "p.a", "1");
    set(st, "p.c", "3");
    set(st, "p.ab", "12");
    set(st, "p", "before");
    set(st, "p/", "after");
    set(st, "q.a", "other");
    TL_OK(store_crank_end(st, NULL));
    tl_commit(st, 1, NULL);
    TL_OK(store_crank_begin(st, NULL));
    set(st, "p.b", "2");
    TL_OK(store_crank_end(st, NULL));
    TL_OK(store_crank_begin(st, NULL)); /* left open: crank layer */
    set(st, "p.d", "4");
    return st;
}

static void test_scan_visits_prefix_in_order_across_layers(void **state)
{
    static const char *const want[] = {"p.a", "p.ab", "p.b", "p.c", "p.d"};
    static const char *const want_ab[] = {"p.ab"}; /* "p.a" is a prefix of "p.ab" */
    char *dir;
    store *st = layered(&dir);
    seen s, h;
    (void)state;
    scan_all(st, "p.", &s);
    expect(&s, want, 5); /* not "p." itself, not "p", "p/", "q.a" */
    scan_all(st, "p.a", &s);
    expect(&s, want_ab, 1); /* not "p.a" itself, equal to the prefix; not "p.b" */
    hand_all(st, "p.", &h);
    expect(&h, want, 5);
    scan_all(st, "p", &s);
    hand_all(st, "p", &h);
    assert_int_equal(s.n, 7); /* p. p.a p.ab p.b p.c p.d p/ */
    assert_int_equal(h.n, 7);
    for (size_t i = 0; i < s.n; i++) assert_string_equal(s.k[i], h.k[i]);
    TL_OK(store_crank_abort(st, NULL));
    store_close(st);
    tl_rmtree(dir);
}

static void test_scan_empty_range_finds_nothing_and_stays_done(void **state)
{
    char *dir;
    store *st = layered(&dir);
    store_scan sc;
    swing_bytes key = swing_str("untouched");
    bool found = true;
    (void)state;
    store_scan_init(&sc, st, swing_str("p.zz")); /* between p.d and p/ */
    TL_OK(store_scan_next(&sc, &key, &found, NULL));
    assert_false(found);
    assert_string_equal((const char *)key.ptr, "untouched"); /* written only when found */
    set(st, "p.zz1", "late"); /* a done scan stays done */
    TL_OK(store_scan_next(&sc, &key, &found, NULL));
    assert_false(found);
    store_scan_free(&sc);
    store_scan_free(&sc); /* twice is harmless */
    /* A prefix past every key. */
    store_scan_init(&sc, st, swing_str("zzz"));
    TL_OK(store_scan_next(&sc, &key, &found, NULL));
    assert_false(found);
    store_scan_free(&sc);
    /* A scan never stepped frees nothing. */
    store_scan_init(&sc, st, swing_str("p."));
    store_scan_free(&sc);
    TL_OK(store_crank_abort(st, NULL));
    store_close(st);
    tl_rmtree(dir);
}

/* Deleting each key as it comes (kern_kv_del_prefix), and writes ahead of
 * and behind the cursor. */
static void test_scan_survives_writes_and_deletes_between_steps(void **state)
{
    static const char *const want[] = {"p.a", "p.ab", "p.b", "p.bb", "p.d"};
    char *dir;
    store *st = layered(&dir);
    store_scan sc;
    swing_bytes key;
    bool found;
    seen s = {.n = 0};
    (void)state;
    store_scan_init(&sc, st, swing_str("p."));
    for (;;) {
        TL_OK(store_scan_next(&sc, &key, &found, NULL));
        if (!found) break;
        note(&s, key);
        if (strcmp(s.k[s.n - 1], "p.ab") == 0) {
            set(st, "p.aa", "behind"); /* behind the cursor: not visited */
            set(st, "p.bb", "ahead");  /* ahead: visited */
            del(st, "p.c");            /* ahead, on disk: not visited */
        }
        del(st, s.k[s.n - 1]); /* the current key, deleted under the cursor */
        if (strcmp(s.k[s.n - 1], "p.b") == 0) set(st, "p.b", "rewritten"); /* not revisited */
    }
    store_scan_free(&sc);
    expect(&s, want, 5);
    scan_all(st, "p.", &s);
    {
        static const char *const left[] = {"p.aa", "p.b"};
        expect(&s, left, 2);
    }
    TL_OK(store_crank_abort(st, NULL));
    scan_all(st, "p.", &s); /* the abort brings the block's keys back */
    {
        static const char *const back[] = {"p.a", "p.ab", "p.b", "p.c"};
        expect(&s, back, 4);
    }
    store_close(st);
    tl_rmtree(dir);
}

static void test_scan_value_and_resume(void **state)
{
    char *dir;
    store *st = layered(&dir);
    store_scan sc;
    swing_bytes key;
    swing_buf val = {0};
    bool found;
    swing_err e;
    (void)state;
    store_scan_init(&sc, st, swing_str("p."));
    TL_OK(store_scan_next(&sc, &key, &found, NULL));
    assert_true(found);
    TL_OK(store_scan_value(&sc, &val, &found, NULL));
    assert_true(found);
    assert_memory_equal(val.ptr, "1", 1);
    swing_buf_free(&val);
    del(st, "p.a");
    TL_OK(store_scan_value(&sc, &val, &found, NULL));
    assert_false(found);
    swing_err_clear(&e);
    assert_int_equal(store_scan_resume(&sc, swing_str("p.b"), false, &e), SWING_ERR_OUT_OF_ORDER);
    store_scan_free(&sc);

    /* Exclusive: the key after the saved one. */
    store_scan_init(&sc, st, swing_str("p."));
    TL_OK(store_scan_resume(&sc, swing_str("p.b"), false, NULL));
    TL_OK(store_scan_next(&sc, &key, &found, NULL));
    assert_true(found);
    assert_true(swing_bytes_cmp(key, swing_str("p.c")) == 0);
    store_scan_free(&sc);
    /* Inclusive, present: the key itself, then on. */
    store_scan_init(&sc, st, swing_str("p."));
    TL_OK(store_scan_resume(&sc, swing_str("p.b"), true, NULL));
    TL_OK(store_scan_next(&sc, &key, &found, NULL));
    assert_true(found && swing_bytes_cmp(key, swing_str("p.b")) == 0);
    TL_OK(store_scan_next(&sc, &key, &found, NULL));
    assert_true(found && swing_bytes_cmp(key, swing_str("p.c")) == 0);
    store_scan_free(&sc);
    /* Inclusive, absent (deleted): the next key. */
    store_scan_init(&sc, st, swing_str("p."));
    TL_OK(store_scan_resume(&sc, swing_str("p.a"), true, NULL));
    TL_OK(store_scan_next(&sc, &key, &found, NULL));
    assert_true(found && swing_bytes_cmp(key, swing_str("p.ab")) == 0);
    store_scan_free(&sc); /* frees a cursor mid-scan */
    /* Resumed before the prefix: the scan starts at the prefix. */
    store_scan_init(&sc, st, swing_str("p."));
    TL_OK(store_scan_resume(&sc, swing_str("a"), false, NULL));
    TL_OK(store_scan_next(&sc, &key, &found, NULL));
    assert_true(found && swing_bytes_cmp(key, swing_str("p.")) == 0); /* as store_next_key_in("a", "p.") */
    store_scan_free(&sc);
    TL_OK(store_crank_abort(st, NULL));
    store_close(st);
    tl_rmtree(dir);
}

/* The empty prefix: every kv key, as store_next_key sees them. */
static void test_scan_empty_prefix_is_every_key(void **state)
{
    char *dir;
    store *st = layered(&dir);
    seen s, h;
    (void)state;
    scan_all(st, "", &s);
    hand_all(st, "", &h);
    assert_true(s.n >= 8);
    assert_int_equal(s.n, h.n);
    for (size_t i = 0; i < s.n; i++) {
        assert_string_equal(s.k[i], h.k[i]);
        if (i) assert_true(strcmp(s.k[i - 1], s.k[i]) < 0);
    }
    TL_OK(store_crank_abort(st, NULL));
    store_close(st);
    tl_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_visits_prefix_in_order_across_layers),
        cmocka_unit_test(test_scan_empty_range_finds_nothing_and_stays_done),
        cmocka_unit_test(test_scan_survives_writes_and_deletes_between_steps),
        cmocka_unit_test(test_scan_value_and_resume),
        cmocka_unit_test(test_scan_empty_prefix_is_every_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
