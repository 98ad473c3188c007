/*
 * winddown_test.c - wind-down (issue 16): a price-feed-like vat with
 * virtual objects, durable entries, imports held only in virtualized data
 * and cycles with a zoe-like vat (each holds the other's objects) is wound
 * down: each block's clean-up stays within its budget, the vat's keys go a
 * budget at a time, the zoe-like vat's GC follows, and at the end no key of
 * the wound-down vat remains (only its termination record, kind exit: no
 * illegal syscall) and the imports it held are retired. Terminating the
 * same state instead ends with the zoe-like vat's keys identical. Two
 * processes agree at every block; a crash mid-wind-down replays.
 */
#include "tests/lib/rawvat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"

static const char *BOOT =
    "local vats\n"
    "function buildRootObject()\n"
    "  return Far('boot', {\n"
    "    bootstrap = function(vs) vats = vs end,\n"
    "    setup = function(n) return E(vats.zoe).makeSeats(n):next(function(seats)\n"
    "      return E(vats.feed).quote(seats) end):next(function(quotes)\n"
    "      return E(vats.zoe).keep(quotes) end) end,\n"
    "  })\n"
    "end\n";

/* zoe: seats (virtual, exported to feed) that keep feed's quotes. */
static const char *ZOE =
    "function buildRootObject(vatPowers, params, baggage)\n"
    "  local Seat = VatData.defineKind('seat', function(i) return { i = i, quote = nil } end, {\n"
    "    setQuote = function(state, self, q) state.quote = q end,\n"
    "    quote = function(state) return state.quote end })\n"
    "  local seats = VatData.makeScalarBigMapStore('seats')\n"
    "  return Far('zoe', {\n"
    "    makeSeats = function(n) local out = {}\n"
    "      for i = 1, n do local s = Seat(i) seats.init(i, s) out[i] = s end return out end,\n"
    "    keep = function(quotes) for i, q in ipairs(quotes) do seats.get(i).setQuote(q) end return #quotes end,\n"
    "    count = function() return seats.getSize() end,\n"
    "    askQuote = function(i) return E(seats.get(i).quote()).i() end,\n"
    "    forget = function(n) for i = 1, n do seats.get(i).setQuote(nil) end return n end,\n"
    "  })\n"
    "end\n";

/* feed: quotes (virtual objects holding a seat), a durable store of seats. */
static const char *FEED =
    "function buildRootObject(vatPowers, params, baggage)\n"
    "  local Quote = VatData.defineKind('quote', function(i, seat) return { i = i, seat = seat } end, {\n"
    "    i = function(state) return state.i end })\n"
    "  local kh = VatData.provide(baggage, 'kh', function() return VatData.makeKindHandle('dquote') end)\n"
    "  local DQ = VatData.defineDurableKind(kh, function(i) return { i = i } end, { i = function(s) return s.i end })\n"
    "  local held = VatData.provide(baggage, 'held', function()\n"
    "    return VatData.makeScalarBigMapStore('held', { durable = true }) end)\n"
    "  local quotes = VatData.makeScalarBigMapStore('quotes')\n"
    "  return Far('feed', {\n"
    "    quote = function(seats) local out = {}\n"
    "      for i, s in ipairs(seats) do local q = Quote(i, s) quotes.init(i, q) out[i] = q\n"
    "        if i % 2 == 0 then held.init(i, s) end held.init(-i, DQ(i)) end\n"
    "      return out end,\n"
    "  })\n"
    "end\n";

/* Quotes (and seats): WINDDOWN_TEST_N, default 150 (make test); BUDGET items
 * per wind-down BOYD. */
static size_t N = 150;
#define BUDGET 40

static tk T;
static uint64_t block_writes;

static void count_write(void *ctx, swing_bytes key, size_t vlen, bool deleted)
{
    (void)ctx;
    (void)key;
    (void)vlen;
    (void)deleted;
    block_writes++;
}

/* "#N": how many seats and quotes there are, as an answer. */
static const char *count_body(void)
{
    static char body[24];
    snprintf(body, sizeof body, "#%zu", N);
    return body;
}

/* vats: boot v1, feed v2, zoe v3 */
static void start(void)
{
    char boot[80], zoe[80], feed[80], config[512], args[16];
    swing_err e;
    T.observer = count_write;
    tk_open(&T, NULL, 0, NULL);
    tk_install(&T, BOOT, boot);
    tk_install(&T, ZOE, zoe);
    tk_install(&T, FEED, feed);
    snprintf(config, sizeof config,
             "{\"bootstrap\":\"boot\",\"reapBudget\":%d,\"vats\":{\"boot\":{\"bundleID\":\"%s\"},\"feed\":{\"bundleID\":"
             "\"%s\",\"computeLimit\":4000000000},\"zoe\":{\"bundleID\":\"%s\",\"computeLimit\":4000000000}}}",
             BUDGET, boot, feed, zoe);
    if (kern_init(T.k, config, strlen(config), &e)) fail_msg("init: %s", e.msg);
    tk_run(&T);
    snprintf(args, sizeof args, "[%zu]", N);
    assert_string_equal(tk_ask(&T, "boot", "setup", args), count_body());
    tk_settle(&T, 50);
}

/* One block: normal work, then a clean-up of one BOYD and bounded GC. */
static void block(kern_work_report *r)
{
    const kern_budget b = {.compute = 0, .gc_krefs = 400, .boyds = 1, .units = 200};
    swing_err e;
    block_writes = 0;
    if (kern_work_block(T.k, &b, r, &e)) fail_msg("block: %s", e.msg);
    if (store_commit(T.st, ++T.height, NULL, &e)) fail_msg("commit: %s", e.msg);
}

static bool done(const kern_work_report *r)
{
    return !r->work_left && !r->gc_krefs_left && !r->dirty_vats && !r->terminated_vats && !r->winding_down;
}

/* Runs blocks until nothing is left; returns how many; checks each block's
 * bounds. *hash (may be NULL) folds every block's activity hash. */
static int run_out(uint64_t *hash)
{
    kern_work_report r;
    uint64_t max_items = 0;
    int most = 400 + 2 * (int)N;
    for (int i = 1; i <= most; i++) {
        block(&r);
        if (r.cleanup.wind_down_items > max_items) max_items = r.cleanup.wind_down_items;
        if (r.winding_down && r.cleanup.boyds && !r.wind_down_counting && r.wind_down_left) /* exact */
            assert_int_equal(r.wind_down_left, tk_count(&T, "v2.vs.") - tk_count(&T, "v2.vs.wd."));
        assert_true(r.cleanup.wind_down_items <= BUDGET + 8); /* one import's recognizers past the budget */
        assert_true(r.cleanup.syscalls <= 2 * (BUDGET + 8) + 4 + 6 * 400); /* the worker's, and GC deliveries' */
        /* GC krefs and deletion units (terminated vats) cost a few writes each */
        assert_true(block_writes <= 6 * (400 + 200) + 4 * BUDGET + 64);
        if (hash)
            for (const char *c = store_activity_hash(T.st); *c; c++) *hash = (*hash ^ (unsigned char)*c) * 1099511628211ull;
        if (done(&r)) return i;
    }
    fail_msg("still busy after %d blocks", most);
    return 0;
}

/* A vat's keys but its dirty-list position (which depends on the order of
 * the clean-up's BOYDs, not on the state). */
static char *dump(const char *prefix)
{
    static const char *const skip[] = {"*.reapDirt", NULL};
    return tk_dump(&T, prefix, skip);
}

static char *wound_down_zoe;

static void test_winddown_sheds_gradually(void **state)
{
    swing_err e;
    kern_termination t;
    bool found;
    size_t keys0, keys_mid;
    int blocks;
    (void)state;
    start();
    keys0 = tk_count(&T, "v2.vs.");
    assert_true(keys0 > 3 * N);
    assert_true(tk_count(&T, "v3.c.o-") >= N); /* zoe imports the quotes */
    if (kern_wind_down_vat(T.k, "feed", &e)) fail_msg("wind down: %s", e.msg);
    for (int i = 0; i < 8; i++) { /* counting (8 keys per budget item), then deleting */
        kern_work_report r;
        block(&r);
    }
    keys_mid = tk_count(&T, "v2.vs.");
    assert_true(keys_mid < keys0 && keys_mid > 0); /* gradual */
    blocks = run_out(NULL);
    assert_true(blocks > 3);
    assert_int_equal(kern_vat_termination(T.k, "feed", &t, &found, &e), SWING_OK);
    assert_true(found);
    if (t.kind != KERN_TERM_EXIT) fail_msg("feed ended %s: %s", kern_term_kind_name(t.kind), t.reason); /* not illegal-syscall */
    assert_int_equal(tk_count(&T, "v2."), 0);
    /* zoe still holds the quotes (its seats keep them), now abandoned: */
    assert_int_equal(tk_count(&T, "v3.c.o-"), N);
    {
        char *kref = tk_get(&T, "v3.c.o-1"), key[40], *owner;
        assert_non_null(kref);
        snprintf(key, sizeof key, "%s.owner", kref);
        owner = tk_get(&T, key);
        assert_null(owner);
        free(kref);
    }
    assert_int_equal(tk_count(&T, "v3.c.o+v"), 0); /* the seats feed held: dropped and retired */
    assert_string_equal(tk_ask(&T, "zoe", "count", "[]"), count_body());
    wound_down_zoe = dump("v3.");
    tk_close(&T);
}

static void test_winddown_same_end_as_termination(void **state)
{
    swing_err e;
    char *zoe;
    (void)state;
    start();
    if (kern_terminate_vat(T.k, "feed", "instead", &e)) fail_msg("terminate: %s", e.msg);
    run_out(NULL);
    assert_int_equal(tk_count(&T, "v2."), 0);
    assert_string_equal(tk_ask(&T, "zoe", "count", "[]"), count_body());
    zoe = dump("v3.");
    assert_non_null(wound_down_zoe);
    assert_string_equal(zoe, wound_down_zoe);
    free(zoe);
    free(wound_down_zoe);
    wound_down_zoe = NULL;
    tk_close(&T);
}

static int two_processes_child(int fd)
{
    uint64_t h = 1469598103934665603ull;
    swing_err e;
    start();
    if (kern_wind_down_vat(T.k, "feed", &e)) return 3;
    run_out(&h);
    if (write(fd, &h, sizeof h) != (ssize_t)sizeof h) return 2;
    tk_close(&T);
    return 0;
}

static void test_winddown_same_in_two_processes(void **state)
{
    uint64_t runs[2];
    (void)state;
    tl_run_self_layout("WINDDOWN_TEST_CHILD_FD", &runs[0], sizeof runs[0], false);
    tl_run_self_layout("WINDDOWN_TEST_CHILD_FD", &runs[1], sizeof runs[1], true);
    assert_int_equal(runs[0], runs[1]);
}

/* A node that stops in the middle of a block (nothing of it committed) and
 * restarts replays that block and ends where an uninterrupted one does. */
static void test_winddown_crash_replays(void **state)
{
    swing_err e;
    kern_work_report r;
    char *straight, *replayed;
    const kern_budget b = {.compute = 0, .gc_krefs = 400, .boyds = 1, .units = 200};
    (void)state;
    start();
    if (kern_wind_down_vat(T.k, "feed", &e)) fail_msg("wind down: %s", e.msg);
    block(&r);
    block(&r);
    if (kern_work_block(T.k, &b, &r, &e)) fail_msg("block: %s", e.msg); /* not committed: */
    kern_close(T.k);
    store_close(T.st);
    T.st = tl_open(T.dir);
    tk_kern_open(&T, NULL, 0);
    run_out(NULL);
    replayed = dump("v3.");
    tk_close(&T);
    start();
    if (kern_wind_down_vat(T.k, "feed", &e)) fail_msg("wind down: %s", e.msg);
    run_out(NULL);
    straight = dump("v3.");
    tk_close(&T);
    assert_string_equal(replayed, straight);
    free(replayed);
    free(straight);
}

/* While the worker runs, zoe drops half of the quotes it holds: the kernel
 * drops and retires those exports under the worker, which must follow (no
 * abandon or retire of what the kernel already took back). */
static void test_winddown_with_the_kernel_dropping_too(void **state)
{
    swing_err e;
    kern_termination t;
    bool found;
    kern_work_report r;
    size_t es;
    (void)state;
    start();
    if (kern_wind_down_vat(T.k, "feed", &e)) fail_msg("wind down: %s", e.msg);
    block(&r);
    es = tk_count(&T, "v2.vs.vom.es.");
    assert_int_equal(es, N); /* the worker is still in phase 1 */
    assert_string_equal(tk_ask(&T, "zoe", "forget", "[75]"), "#75");
    if (kern_bring_out_your_dead(T.k, "zoe", 0, &e)) fail_msg("boyd: %s", e.msg);
    tk_run(&T);
    assert_int_equal(tk_count(&T, "v2.vs.vom.es."), N - 75); /* retired by the kernel, forgotten by the worker */
    run_out(NULL);
    assert_int_equal(kern_vat_termination(T.k, "feed", &t, &found, &e), SWING_OK);
    assert_true(found);
    if (t.kind != KERN_TERM_EXIT) fail_msg("feed ended %s: %s", kern_term_kind_name(t.kind), t.reason);
    assert_int_equal(tk_count(&T, "v2."), 0);
    assert_int_equal(tk_count(&T, "v3.c.o-"), N - 75); /* the quotes zoe still holds */
    tk_close(&T);
}

static void test_winddown_refusals(void **state)
{
    swing_err e;
    (void)state;
    start();
    assert_int_equal(kern_wind_down_vat(T.k, "nobody", &e), SWING_ERR_INVALID);
    assert_int_equal(kern_wind_down_vat(T.k, "feed", &e), SWING_OK);
    assert_int_equal(kern_wind_down_vat(T.k, "feed", &e), SWING_ERR_INVALID); /* already */
    {
        kern_upgrade_request rq = {NULL, NULL, NULL};
        assert_int_equal(kern_upgrade_vat(T.k, "feed", &rq, NULL, &e), SWING_ERR_INVALID);
        assert_non_null(strstr(e.msg, "winding down"));
    }
    tk_run(&T); /* switched; no clean-up BOYD yet */
    {
        char kpid[24];
        const char *a = tk_ask(&T, "zoe", "askQuote", "[1]"); /* reaches the wind-down worker */
        if (!strstr(a, "rejected") || !strstr(a, "vat v2 is winding down")) fail_msg("askQuote answered %s", a);
        assert_int_equal(kern_queue_to_vat(T.k, "feed", "quote", "[[]]", kpid, &e), SWING_ERR_USER); /* no root */
        assert_non_null(strstr(e.msg, "winding down"));
    }
    tk_close(&T);
}

int main(void)
{
    const char *child_fd = getenv("WINDDOWN_TEST_CHILD_FD");
    if (getenv("WINDDOWN_TEST_N") && atoi(getenv("WINDDOWN_TEST_N")) > 75) N = (size_t)atoi(getenv("WINDDOWN_TEST_N"));
    if (child_fd) return two_processes_child(atoi(child_fd));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_winddown_sheds_gradually),
        cmocka_unit_test(test_winddown_same_end_as_termination),
        cmocka_unit_test(test_winddown_same_in_two_processes),
        cmocka_unit_test(test_winddown_crash_replays),
        cmocka_unit_test(test_winddown_with_the_kernel_dropping_too),
        cmocka_unit_test(test_winddown_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
