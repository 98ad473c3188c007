/*
 * luavat_bench.c - Lua vat benchmarks, the workloads we measured SwingSet's
 * XS workers on (issue: Lua vats):
 *   pingpong       2000 awaited round trips between two Lua vats
 *   export_many    10k remotables sent in one message
 *   gc_after_drop  the receiver drops 5k presences, then BOYD until quiet
 * Each prints one JSON line with the median of 5 runs in fresh stores (the
 * synced commits make single runs noisy here); the ping-pong also gives the
 * export data its commits produced (keys + values) per round trip and the
 * largest value. SwingSet's figures for the same workloads are measured in
 * the same run by `make bench-anchor`, not written here.
 * Blocks of 1000 cranks, each committed (synced), as a chain would.
 * Usage: luavat_bench [ROUNDS [EXPORTS [DROPS]]]  (default 2000 10000 5000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>

#include "kernel/kernel.h"
#include "store/store.h"
#include "liveslots/lua/runtime.h"
#include "tests/bench/bench.h"
#include "tests/lib/scratch.h"
#include "tests/liveslots/gc_bundles.h"

static void die(const char *what, const swing_err *e)
{
    bench_die("luavat_bench", what, e);
}

static const char *BOOT =
    "function buildRootObject()\n"
    "  local vats\n"
    "  return Far('boot', {\n"
    "    bootstrap = function(v) vats = v end,\n"
    "    pingpong = function(n) return E(vats.ping).run(vats.pong, n) end,\n"
    "    export = function(n) return E(vats.importer).fetch(vats.exporter, n) end,\n"
    "    drop = function() return E(vats.importer).drop() end,\n"
    "  })\n"
    "end\n";

static const char *PING =
    "function buildRootObject()\n"
    "  return Far('ping', {\n"
    "    run = async(function(pong, n)\n"
    "      local total = 0\n"
    "      for i = 1, n do total = total + await(E(pong).ping(i)) end\n"
    "      return total\n"
    "    end),\n"
    "  })\n"
    "end\n";

static const char *PONG =
    "function buildRootObject()\n"
    "  return Far('pong', { ping = function(i) return i end })\n"
    "end\n";

typedef struct world {
    char *dir; /* scratch directory of the store */
    store *st;
    kern *k;
    vp_runtime lua; /* the runtime bundles run with */
    uint64_t height;
    uint64_t export_bytes;  /* export data (keys + values) of the commits so far */
    uint64_t export_max;    /* the largest export-data value so far */
} world;

static void install(world *w, const char *src, char id[80])
{
    swing_err e;
    if (kern_install_bundle(w->k, src, strlen(src), id, &e)) die("install", &e);
}

#define BLOCK_CRANKS 1000

static double kind_secs[8], last_t;
static int kind_n[8], commits;

static bool block_policy(void *ctx, const kern_crank_info *info)
{
    int *left = ctx;
    double t = bench_now();
    if ((unsigned)info->kind < 8 && last_t > 0) kind_secs[info->kind] += t - last_t, kind_n[info->kind]++;
    last_t = t;
    return --*left > 0;
}

/* Runs to quiescence in blocks of BLOCK_CRANKS cranks, committing each. */
static void run(world *w)
{
    swing_err e;
    for (;;) {
        int left = BLOCK_CRANKS;
        uint64_t n = 0;
        store_delta *d = NULL;
        if (kern_run(w->k, block_policy, &left, &n, &e)) die("run", &e);
        if (store_commit(w->st, ++w->height, &d, &e)) die("commit", &e);
        for (size_t i = 0; i < d->count; i++) {
            w->export_bytes += d->entries[i].key.len + d->entries[i].value.len;
            if (d->entries[i].value.len > w->export_max) w->export_max = d->entries[i].value.len;
        }
        store_delta_destroy(d);
        commits++;
        last_t = bench_now();
        if (n < BLOCK_CRANKS) break;
    }
}

static uint64_t cranks(world *w)
{
    swing_buf v = {0};
    bool found;
    char tmp[32];
    if (store_get(w->st, swing_str("crankNumber"), &v, &found, NULL) || !found) return 0;
    snprintf(tmp, sizeof tmp, "%.*s", (int)v.len, (const char *)v.ptr);
    swing_buf_free(&v);
    return strtoull(tmp, NULL, 10);
}

static void open_world(world *w)
{
    char boot[80], ping[80], pong[80], exporter[80], importer[80], config[1024];
    swing_err e;
    memset(w, 0, sizeof *w);
    w->dir = scratch_dir("luabench");
    if (!w->dir) die("cannot create a scratch directory", NULL);
    {
        store_options so = store_options_default();
        so.sync = getenv("SWING_BENCH_NOSYNC") == NULL;
        if (store_open(w->dir, &so, &w->st, &e)) die("store_open", &e);
    }
    {
        kern_options ko = {NULL, 0, 0, &w->lua, 1};
        ls_lua_runtime(&w->lua);
        if (kern_open(w->st, &ko, &w->k, &e)) die("kern_open", &e);
    }
    install(w, BOOT, boot);
    install(w, PING, ping);
    install(w, PONG, pong);
    install(w, GC_EXPORTER, exporter);
    install(w, GC_IMPORTER, importer);
    snprintf(config, sizeof config,
             "{\"bootstrap\":\"boot\",\"vats\":{\"boot\":{\"bundleID\":\"%s\"},\"ping\":{\"bundleID\":\"%s\"},"
             "\"pong\":{\"bundleID\":\"%s\"},\"exporter\":{\"bundleID\":\"%s\",\"computeLimit\":1000000000},"
             "\"importer\":{\"bundleID\":\"%s\",\"computeLimit\":1000000000}}}",
             boot, ping, pong, exporter, importer);
    if (kern_init(w->k, config, strlen(config), &e)) die("init", &e);
    run(w);
}

static void close_world(world *w)
{
    kern_close(w->k);
    store_close(w->st);
    scratch_remove(w->dir);
    w->dir = NULL;
}

/* Sends method(args) to boot, runs to quiescence; returns the result body. */
static void ask(world *w, const char *method, const char *args, char *out, size_t cap)
{
    char kpid[24];
    kern_promise_state st;
    swing_buf body = {0};
    swing_err e;
    if (kern_queue_to_vat(w->k, "boot", method, args, kpid, &e)) die(method, &e);
    run(w);
    if (kern_promise_status(w->k, kpid, &st, &body, &e)) die("status", &e);
    snprintf(out, cap, "%s%.*s", st == KERN_PROMISE_FULFILLED ? "" : "FAILED ", (int)body.len,
             body.ptr ? (const char *)body.ptr : "");
    swing_buf_free(&body);
    if (kern_release(w->k, kpid, &e)) die("release", &e);
}

typedef struct result {
    double pp_secs;   /* pingpong */
    uint64_t pp_cranks;
    uint64_t pp_export_bytes, pp_export_max; /* export data of the ping-pong's commits */
    double ex_secs;   /* export_many */
    double gc_secs;   /* gc_after_drop */
    char pp_out[64], ex_out[64];
} result;

/* BOYD in the importer, then run until quiet (a function of its own so
 * that profilers can isolate it: valgrind --toggle-collect=gc_phase). */
static __attribute__((noinline)) void gc_phase(world *w)
{
    swing_err e;
    if (kern_bring_out_your_dead(w->k, "importer", 0, &e)) die("boyd", &e);
    run(w);
}

static void measure(long rounds, long exports, long drops, result *r)
{
    world w;
    char out[256], args[32];
    uint64_t c0;
    double t0, t1;
    open_world(&w);
    snprintf(args, sizeof args, "[%ld]", rounds);
    c0 = cranks(&w);
    w.export_bytes = w.export_max = 0;
    t0 = bench_now();
    ask(&w, "pingpong", args, r->pp_out, sizeof r->pp_out);
    r->pp_secs = bench_now() - t0;
    r->pp_cranks = cranks(&w) - c0;
    r->pp_export_bytes = w.export_bytes;
    r->pp_export_max = w.export_max;
    snprintf(args, sizeof args, "[%ld]", exports);
    t0 = bench_now();
    ask(&w, "export", args, r->ex_out, sizeof r->ex_out);
    r->ex_secs = bench_now() - t0;
    close_world(&w);

    open_world(&w);
    snprintf(args, sizeof args, "[%ld]", drops);
    ask(&w, "export", args, out, sizeof out);
    t0 = bench_now();
    ask(&w, "drop", "[]", out, sizeof out);
    t1 = bench_now();
    memset(kind_secs, 0, sizeof kind_secs);
    memset(kind_n, 0, sizeof kind_n);
    commits = 0;
    last_t = bench_now();
    gc_phase(&w);
    r->gc_secs = bench_now() - t0;
    if (getenv("SWING_BENCH_DETAIL"))
        fprintf(stderr, "drop %.3f boyd+gc %.3f (routing %.3f delivery %.3f gc %.3f/%d gcdel %.3f/%d boyd %.3f/%d, %d commits)\n",
                t1 - t0, bench_now() - t1, kind_secs[1], kind_secs[2], kind_secs[3], kind_n[3], kind_secs[4], kind_n[4],
                kind_secs[6], kind_n[6], commits);
    close_world(&w);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define RUNS 5

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 2000, exports = argc > 2 ? atol(argv[2]) : 10000;
    long drops = argc > 3 ? atol(argv[3]) : 5000;
    result r[RUNS];
    double pp[RUNS], ex[RUNS], gc[RUNS], pps, exs, gcs;
    uint64_t cr;
    for (int i = 0; i < RUNS; i++) {
        measure(rounds, exports, drops, &r[i]);
        pp[i] = r[i].pp_secs;
        ex[i] = r[i].ex_secs;
        gc[i] = r[i].gc_secs;
    }
    qsort(pp, RUNS, sizeof *pp, cmp_double);
    qsort(ex, RUNS, sizeof *ex, cmp_double);
    qsort(gc, RUNS, sizeof *gc, cmp_double);
    pps = pp[RUNS / 2];
    exs = ex[RUNS / 2];
    gcs = gc[RUNS / 2];
    cr = r[0].pp_cranks;
    printf("{\"name\":\"pingpong\",\"round_trips\":%ld,\"result\":\"%s\",\"cranks\":%llu,\"seconds\":%.3f,"
           "\"cranks_per_sec\":%.0f,\"round_trips_per_sec\":%.0f,\"export_bytes_per_round_trip\":%.0f,"
           "\"max_export_value_bytes\":%llu,\"block_cranks\":%d,\"runs\":%d}\n",
           rounds, r[0].pp_out[0] == '#' ? "ok" : r[0].pp_out, (unsigned long long)cr, pps, (double)cr / pps,
           (double)rounds / pps, (double)r[0].pp_export_bytes / (double)rounds,
           (unsigned long long)r[0].pp_export_max, BLOCK_CRANKS, RUNS);
    printf("{\"name\":\"export_many\",\"remotables\":%ld,\"result\":\"%s\",\"seconds\":%.3f,\"runs\":%d}\n",
           exports, r[0].ex_out, exs, RUNS);
    printf("{\"name\":\"gc_after_drop\",\"presences\":%ld,\"seconds\":%.3f,\"runs\":%d}\n", drops, gcs,
           RUNS);
    return 0;
}
