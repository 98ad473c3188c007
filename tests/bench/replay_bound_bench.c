/*
 * replay_bound_bench.c - bounded replay (issue 15): a Lua vat with a
 * durable counter gets N deliveries, once with restartAfter R and once
 * without. At 5 %, 15 %, ... 95 % of N (so the bounded vat's span is half
 * way between restarts when R = N / 10) it reports the time to rebuild the vat's
 * worker (evict, then one delivery, which replays the current span) and the
 * size of an operational state-sync export (export data plus artifacts).
 * With the bound both stay flat (the export data still gains one closed
 * span record, about 165 bytes, per restart); without it they grow with
 * history.
 *
 * Usage: replay_bound_bench [N [R]]   (default 10000 deliveries, R 1000)
 * Prints one JSON line: {"bench":"replay_bound", ...}.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "liveslots/lua/runtime.h"
#include "store/export.h"
#include "store/store.h"
#include "tests/bench/bench.h"
#include "tests/lib/scratch.h"

#define POINTS 10

static const char *COUNTER =
    "function buildRootObject(vatPowers, params, baggage)\n"
    "  local kh = VatData.provide(baggage, 'kh', function() return VatData.makeKindHandle('counter') end)\n"
    "  local Counter = VatData.defineDurableKind(kh, function() return { n = 0 } end, {\n"
    "    incr = function(state) state.n = state.n + 1 return state.n end })\n"
    "  local c = VatData.provide(baggage, 'c', function() return Counter() end)\n"
    "  return Far('counter', { incr = function() return c.incr() end })\n"
    "end\n";

static void die(const char *what, const swing_err *e) { bench_die("replay_bound_bench", what, e); }

typedef struct world {
    char *dir;
    store *st;
    kern *k;
    uint64_t height;
    vp_runtime lua;
} world;

static void open_world(world *w, uint64_t restart_after)
{
    store_options so = store_options_default();
    kern_options ko = {NULL, 0, 0, NULL, 1};
    char id[STORE_BUNDLE_ID_LEN + 1], config[512], opt[48] = "";
    swing_err e;
    memset(w, 0, sizeof *w);
    ls_lua_runtime(&w->lua);
    ko.runtimes = &w->lua;
    if (!(w->dir = scratch_dir("replaybench"))) die("scratch directory", NULL);
    so.sync = false;
    if (store_open(w->dir, &so, &w->st, &e)) die("store_open", &e);
    if (kern_open(w->st, &ko, &w->k, &e)) die("kern_open", &e);
    if (kern_install_bundle(w->k, COUNTER, strlen(COUNTER), id, &e)) die("install", &e);
    if (restart_after) snprintf(opt, sizeof opt, ",\"restartAfter\":%" PRIu64, restart_after);
    snprintf(config, sizeof config, "{\"vats\":{\"counter\":{\"bundleID\":\"%s\"%s}}}", id, opt);
    if (kern_init(w->k, config, strlen(config), &e)) die("init", &e);
    if (kern_run(w->k, NULL, NULL, NULL, &e)) die("run", &e);
    if (store_commit(w->st, ++w->height, NULL, &e)) die("commit", &e);
}

static void close_world(world *w)
{
    kern_close(w->k);
    store_close(w->st);
    scratch_remove(w->dir);
}

/* n deliveries of incr(), then a block. */
static void deliver(world *w, uint64_t n)
{
    swing_err e;
    for (uint64_t i = 0; i < n; i++) {
        char kpid[24];
        if (kern_queue_to_vat(w->k, "counter", "incr", "[]", kpid, &e)) die("queue", &e);
        if (kern_run(w->k, NULL, NULL, NULL, &e)) die("run", &e);
        if (kern_release(w->k, kpid, &e)) die("release", &e);
    }
    if (kern_run(w->k, NULL, NULL, NULL, &e)) die("run", &e);
    if (store_commit(w->st, ++w->height, NULL, &e)) die("commit", &e);
}

/* Seconds to rebuild the worker: evict, then one delivery (which replays). */
static double rebuild(world *w)
{
    swing_err e;
    double t0;
    char kpid[24];
    if (kern_evict_worker(w->k, "counter", &e)) die("evict", &e);
    t0 = bench_now();
    if (kern_queue_to_vat(w->k, "counter", "incr", "[]", kpid, &e)) die("queue", &e);
    if (kern_run(w->k, NULL, NULL, NULL, &e)) die("run", &e);
    t0 = bench_now() - t0;
    if (kern_release(w->k, kpid, &e)) die("release", &e);
    if (kern_run(w->k, NULL, NULL, NULL, &e)) die("run", &e);
    if (store_commit(w->st, ++w->height, NULL, &e)) die("commit", &e);
    return t0;
}

/* Bytes of an operational export: export data (keys and values) and artifacts. */
static uint64_t export_bytes(world *w)
{
    store_exporter *ex;
    const char *const *names;
    size_t n;
    uint64_t total = 0;
    bool valid;
    swing_bytes k, v;
    swing_err e;
    if (store_export_begin(w->st, STORE_EXPORT_OPERATIONAL, &ex, &e)) die("export", &e);
    while (store_exporter_data_next(ex, &k, &v, &valid, &e) == SWING_OK && valid) {
        total += k.len + v.len;
        if (getenv("REPLAY_BENCH_DUMP")) fprintf(stderr, "%.*s %zu\n", (int)k.len, (const char *)k.ptr, v.len);
    }
    if (store_exporter_artifacts(ex, &names, &n, &e)) die("artifacts", &e);
    for (size_t i = 0; i < n; i++) {
        swing_buf b = {0};
        if (store_exporter_artifact(ex, names[i], &b, &e)) die("artifact", &e);
        total += b.len;
        if (getenv("REPLAY_BENCH_DUMP")) fprintf(stderr, "artifact %s %zu\n", names[i], b.len);
        swing_buf_free(&b);
    }
    store_exporter_destroy(ex);
    return total;
}

static void run(uint64_t n, uint64_t restart_after, double rb[POINTS], uint64_t xb[POINTS], uint64_t *inc)
{
    world w;
    bool found;
    swing_err e;
    open_world(&w, restart_after);
    for (int p = 0; p < POINTS; p++) {
        deliver(&w, p == 0 ? n / POINTS / 2 : n / POINTS); /* at 5 %, 15 %, ... 95 % of n */
        rb[p] = rebuild(&w);
        xb[p] = export_bytes(&w);
    }
    if (kern_vat_incarnation(w.k, "counter", inc, &found, &e)) die("incarnation", &e);
    close_world(&w);
}

static void print_series(const char *name, const double *rb, const uint64_t *xb)
{
    printf(",\"%s\":{\"rebuild_s\":[", name);
    for (int p = 0; p < POINTS; p++) printf("%s%.5f", p ? "," : "", rb[p]);
    printf("],\"export_bytes\":[");
    for (int p = 0; p < POINTS; p++) printf("%s%" PRIu64, p ? "," : "", xb[p]);
    printf("],\"rebuild_last_over_first\":%.2f,\"export_last_over_first\":%.2f}", rb[POINTS - 1] / rb[0],
           (double)xb[POINTS - 1] / (double)xb[0]);
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000;
    uint64_t r = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000;
    double rb_bound[POINTS], rb_free[POINTS];
    uint64_t xb_bound[POINTS], xb_free[POINTS], inc_bound, inc_free;
    if (n < POINTS || r == 0) {
        fprintf(stderr, "usage: replay_bound_bench [N >= %d [R >= 1]]\n", POINTS);
        return 2;
    }
    run(n, r, rb_bound, xb_bound, &inc_bound);
    run(n, 0, rb_free, xb_free, &inc_free);
    printf("{\"bench\":\"replay_bound\",\"deliveries\":%" PRIu64 ",\"restart_after\":%" PRIu64
           ",\"incarnations\":%" PRIu64,
           n, r, inc_bound);
    print_series("bounded", rb_bound, xb_bound);
    print_series("unbounded", rb_free, xb_free);
    printf(",\"rebuild_ratio_at_end\":%.1f,\"export_ratio_at_end\":%.1f}\n", rb_free[POINTS - 1] / rb_bound[POINTS - 1],
           (double)xb_free[POINTS - 1] / (double)xb_bound[POINTS - 1]);
    return 0;
}
