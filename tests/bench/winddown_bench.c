/*
 * winddown_bench.c - wind-down against plain termination (issue 16).
 *
 * A price-feed-like Lua vat is grown to K vatstore keys: virtual quote
 * objects kept in a virtual store (one in 64 holds an import from a
 * zoe-like vat, which holds the feed's exported quotes back: a cross-vat
 * cycle), and durable store entries. Then, from the same state, either
 *   wind_down   kern_wind_down_vat; blocks of one clean-up BOYD carrying
 *               the BOYD budget (kernel.reapBudget) until the vat is gone;
 *   terminate   kern_terminate_vat; blocks of clean-up deleting the same
 *               number of units per block, until the vat is gone.
 * Each reports blocks, the most kv writes and vat syscalls in one block,
 * and the seconds it took (commits without sync).
 *
 * Usage: winddown_bench [K...] (default 1000000 5000000); the BOYD budget is
 * WINDDOWN_BUDGET (default 5000). One JSON line per K and way.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "liveslots/lua/runtime.h"
#include "store/store.h"
#include "tests/bench/bench.h"
#include "tests/lib/scratch.h"

static const char *BOOT =
    "local vats\n"
    "function buildRootObject()\n"
    "  return Far('boot', {\n"
    "    bootstrap = function(vs) vats = vs end,\n"
    "    link = function(n) return E(vats.zoe).makeSeats(n):next(function(seats)\n"
    "      return E(vats.feed).take(seats) end):next(function(q) return E(vats.zoe).keep(q) end) end,\n"
    "  })\n"
    "end\n";

static const char *ZOE =
    "function buildRootObject()\n"
    "  local kept, n = {}, 0\n"
    "  return Far('zoe', {\n"
    "    makeSeats = function(k) local out = {} for i = 1, k do out[i] = Far('seat', {}) end return out end,\n"
    "    keep = function(qs) for _, q in ipairs(qs) do n = n + 1 kept[n] = q end return n end,\n"
    "  })\n"
    "end\n";

static const char *FEED =
    "function buildRootObject(vatPowers, params, baggage)\n"
    "  local Quote = VatData.defineKind('quote', function(i, seat) return { i = i, seat = seat } end, {\n"
    "    i = function(s) return s.i end })\n"
    "  local quotes = VatData.makeScalarBigMapStore('quotes')\n"
    "  local book = VatData.provide(baggage, 'book', function()\n"
    "    return VatData.makeScalarBigMapStore('book', { durable = true }) end)\n"
    "  local n, seats = 0, {}\n"
    "  return Far('feed', {\n"
    "    take = function(ss) local out = {}\n"
    "      for i, s in ipairs(ss) do seats[#seats + 1] = s n = n + 1 local q = Quote(n, s) quotes.init(n, q) out[i] = q end\n"
    "      seats = {} return out end,\n"
    "    grow = function(k) for i = 1, k do n = n + 1 quotes.init(n, Quote(n, nil)) book.init(n, n) end return n end,\n"
    "  })\n"
    "end\n";

static void die(const char *what, const swing_err *e) { bench_die("winddown_bench", what, e); }

typedef struct world {
    char *dir;
    store *st;
    kern *k;
    uint64_t height, writes;
    vp_runtime lua;
} world;

static void count_write(void *ctx, swing_bytes key, size_t vlen, bool deleted)
{
    (void)key;
    (void)vlen;
    (void)deleted;
    ((world *)ctx)->writes++;
}

static void commit(world *w)
{
    swing_err e;
    if (store_commit(w->st, ++w->height, NULL, &e)) die("commit", &e);
}

static void ask(world *w, const char *vat, const char *method, const char *args)
{
    char kpid[24];
    swing_err e;
    if (kern_queue_to_vat(w->k, vat, method, args, kpid, &e)) die(method, &e);
    if (kern_run(w->k, NULL, NULL, NULL, &e)) die("run", &e);
    if (kern_release(w->k, kpid, &e)) die("release", &e);
    commit(w);
}

static uint64_t count_keys(world *w, const char *prefix)
{
    store_iter *it;
    uint64_t n = 0;
    bool valid;
    swing_bytes k, v;
    swing_err e;
    if (store_iter_create(w->st, swing_str(prefix), &it, &e)) die("iter", &e);
    while (store_iter_next(it, &k, &v, &valid, NULL) == SWING_OK && valid) n++;
    store_iter_destroy(it);
    return n;
}

/* Opens store and kernel over dir (whose directory w->dir owns). */
static void attach(world *w, char *dir)
{
    store_options so = store_options_default();
    kern_options ko = {NULL, 0, 0, NULL, 1};
    swing_err e;
    memset(w, 0, sizeof *w);
    ls_lua_runtime(&w->lua);
    ko.runtimes = &w->lua;
    w->dir = dir;
    so.sync = false;
    so.observer = count_write;
    so.observer_ctx = w;
    if (store_open(w->dir, &so, &w->st, &e)) die("store_open", &e);
    if (kern_open(w->st, &ko, &w->k, &e)) die("kern_open", &e);
    w->height = store_height(w->st);
}

/* vats: boot v1, feed v2, zoe v3; the feed grown to about `keys` keys. */
static void grow_world(world *w, uint64_t keys, uint64_t budget)
{
    char boot[80], zoe[80], feed[80], config[640], *dir = scratch_dir("winddownbench");
    swing_err e;
    if (!dir) die("scratch directory", NULL);
    attach(w, dir);
    if (kern_install_bundle(w->k, BOOT, strlen(BOOT), boot, &e) || kern_install_bundle(w->k, ZOE, strlen(ZOE), zoe, &e) ||
        kern_install_bundle(w->k, FEED, strlen(FEED), feed, &e))
        die("install", &e);
    snprintf(config, sizeof config,
             "{\"bootstrap\":\"boot\",\"reapBudget\":%" PRIu64 ",\"vats\":{\"boot\":{\"bundleID\":\"%s\"},"
             "\"feed\":{\"bundleID\":\"%s\",\"computeLimit\":4000000000},\"zoe\":{\"bundleID\":\"%s\"}}}",
             budget, boot, feed, zoe);
    if (kern_init(w->k, config, strlen(config), &e)) die("init", &e);
    if (kern_run(w->k, NULL, NULL, NULL, &e)) die("run", &e);
    commit(w);
    for (int i = 0; i < 20; i++) ask(w, "boot", "link", "[500]"); /* 10k imports held in vdata, cycles */
    while (count_keys(w, "v2.vs.") < keys) ask(w, "feed", "grow", "[20000]");
}

static void detach(world *w)
{
    kern_close(w->k);
    store_close(w->st);
}

static void close_world(world *w)
{
    detach(w);
    scratch_remove(w->dir);
}

/* A copy of a LevelDB directory (plain files) in a new scratch directory. */
static char *copy_dir(const char *from)
{
    char *to = scratch_dir("winddownbench");
    DIR *d = opendir(from);
    struct dirent *de;
    if (!to || !d) die("copy", NULL);
    while ((de = readdir(d)) != NULL) {
        char src[4096], dst[4096], buf[1 << 16];
        FILE *in, *out;
        size_t n;
        if (de->d_name[0] == '.') continue;
        snprintf(src, sizeof src, "%s/%s", from, de->d_name);
        snprintf(dst, sizeof dst, "%s/%s", to, de->d_name);
        if (!(in = fopen(src, "rb")) || !(out = fopen(dst, "wb"))) die("copy a file", NULL);
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
            if (fwrite(buf, 1, n, out) != n) die("copy a file", NULL);
        fclose(in);
        if (fclose(out)) die("copy a file", NULL);
    }
    closedir(d);
    return to;
}

typedef struct result {
    uint64_t blocks, max_writes, max_syscalls;
    double seconds;
} result;

/* Blocks until the feed's state is gone and no clean-up work is left. */
static void run_out(world *w, const kern_budget *b, result *r)
{
    double t0 = bench_now();
    swing_err e;
    memset(r, 0, sizeof *r);
    for (;;) {
        kern_work_report rep;
        w->writes = 0;
        if (kern_work_block(w->k, b, &rep, &e)) die("block", &e);
        commit(w);
        r->blocks++;
        if (w->writes > r->max_writes) r->max_writes = w->writes;
        if (rep.total.syscalls > r->max_syscalls) r->max_syscalls = rep.total.syscalls;
        if (r->blocks % 2000 == 0 && getenv("WINDDOWN_DEBUG"))
            fprintf(stderr, "block %" PRIu64 ": work_left %d gc_left %" PRIu64 " dirty %" PRIu64 " term %" PRIu64
                    " winding %" PRIu64 " items %" PRIu64 " keys %" PRIu64 "\n",
                    r->blocks, rep.work_left, rep.gc_krefs_left, rep.dirty_vats, rep.terminated_vats, rep.winding_down,
                    rep.total.wind_down_items, count_keys(w, "v2.vs."));
        if (!rep.work_left && !rep.gc_krefs_left && !rep.dirty_vats && !rep.terminated_vats && !rep.winding_down) break;
    }
    r->seconds = bench_now() - t0;
}

static void one(const char *grown, uint64_t budget, bool wind)
{
    world w;
    result r;
    uint64_t have;
    swing_err e;
    /* the same per-block allowance both ways: one BOYD of `budget` items, or
     * `budget` deletion units (a wound-down vat still needs its small rest
     * deleted); GC work a fifth of it */
    kern_budget b = {.compute = 0, .gc_krefs = budget / 5, .boyds = 1, .units = budget};
    attach(&w, copy_dir(grown));
    have = count_keys(&w, "v2.vs.");
    if (wind && kern_wind_down_vat(w.k, "feed", &e)) die("wind down", &e);
    if (!wind && kern_terminate_vat(w.k, "feed", "bench", &e)) die("terminate", &e);
    run_out(&w, &b, &r);
    if (count_keys(&w, "v2.") != 0) die("keys of the vat are left", NULL);
    printf("{\"bench\":\"%s\",\"vatstore_keys\":%" PRIu64 ",\"budget_per_block\":%" PRIu64 ",\"blocks\":%" PRIu64
           ",\"max_kv_writes_per_block\":%" PRIu64 ",\"max_syscalls_per_block\":%" PRIu64
           ",\"seconds\":%.2f,\"hours_at_6s_blocks\":%.2f}\n",
           wind ? "wind_down" : "wind_down_terminate", have, budget, r.blocks, r.max_writes, r.max_syscalls,
           r.seconds, (double)r.blocks * 6.0 / 3600.0);
    fflush(stdout);
    close_world(&w);
}

int main(int argc, char **argv)
{
    uint64_t budget = getenv("WINDDOWN_BUDGET") ? strtoull(getenv("WINDDOWN_BUDGET"), NULL, 10) : 5000;
    uint64_t sizes[8] = {1000000, 5000000};
    int n = 2;
    if (argc > 1) {
        n = 0;
        for (int i = 1; i < argc && n < 8; i++) sizes[n++] = strtoull(argv[i], NULL, 10);
    }
    for (int i = 0; i < n; i++) {
        world g;
        grow_world(&g, sizes[i], budget);
        detach(&g);
        one(g.dir, budget, true);
        one(g.dir, budget, false);
        scratch_remove(g.dir);
    }
    return 0;
}
