/*
 * cleanup_bench.c - block-end clean-up at scale (issue: block-end clean-up).
 *
 * cleanup_terminate: the raw vat D of tests/kernel/doomed_vats.h with K
 * vatstore keys, 10k exports and 10k imports is terminated; each block then
 * runs the normal work and kern_cleanup with a fixed budget until nothing is
 * left. Reports blocks, the most kv writes one block's clean-up made, and
 * the seconds from termination to the end (commits included, synced).
 *
 * gc_drop_blocks: a Lua vat holding 200k imports from a Lua exporter drops
 * them all at once; blocks of normal work plus clean-up follow until the GC
 * work is done. Reports blocks, the most GC krefs in one block, seconds.
 *
 * Usage: cleanup_bench [K...]   cleanup_terminate for each K
 *        cleanup_bench gc N     gc_drop_blocks for N imports
 *        (default: 100000 and 1000000 keys, then 200000 imports)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "liveslots/lua/runtime.h"
#include "store/store.h"
#include "tests/bench/bench.h"
#include "tests/kernel/doomed_vats.h"
#include "tests/lib/scratch.h"

#define GC_BATCH 500u

static void die(const char *what, const swing_err *e)
{
    bench_die("cleanup_bench", what, e);
}

typedef struct world {
    char *dir; /* scratch directory of the store */
    store *st;
    kern *k;
    uint64_t height;
    uint64_t writes; /* kv writes seen by the observer */
    vp_runtime lua;  /* the runtime the Lua vat of gc_drop_blocks runs in */
} world;

static void count_write(void *ctx, swing_bytes key, size_t vlen, bool deleted)
{
    (void)key;
    (void)vlen;
    (void)deleted;
    ((world *)ctx)->writes++;
}

static void open_world(world *w, const kern_raw_vat *vats, size_t n)
{
    store_options so = store_options_default();
    kern_options ko = {vats, n, 0, NULL, 1};
    swing_err e;
    memset(w, 0, sizeof *w);
    ls_lua_runtime(&w->lua);
    ko.runtimes = &w->lua;
    w->dir = scratch_dir("cleanupbench");
    if (!w->dir) die("cannot create a scratch directory", NULL);
    so.sync = getenv("SWING_BENCH_NOSYNC") == NULL;
    so.observer = count_write;
    so.observer_ctx = w;
    if (store_open(w->dir, &so, &w->st, &e)) die("store_open", &e);
    if (kern_open(w->st, &ko, &w->k, &e)) die("kern_open", &e);
}

static void close_world(world *w)
{
    kern_close(w->k);
    store_close(w->st);
    scratch_remove(w->dir);
}

static void commit(world *w)
{
    swing_err e;
    if (store_commit(w->st, ++w->height, NULL, &e)) die("commit", &e);
}

static size_t count_keys(world *w, const char *prefix)
{
    store_iter *it;
    size_t n = 0;
    bool valid;
    swing_bytes k, v;
    swing_err e;
    if (store_iter_create(w->st, swing_str(prefix), &it, &e)) die("iter", &e);
    while (store_iter_next(it, &k, &v, &valid, NULL) == SWING_OK && valid) n++;
    store_iter_destroy(it);
    return n;
}

/* Runs to quiescence (GC included), committing. */
static void run_all(world *w)
{
    swing_err e;
    if (kern_run(w->k, NULL, NULL, NULL, &e)) die("run", &e);
    commit(w);
}

static void to_vat(world *w, const char *vat, const char *method, const char *args, bool run)
{
    char kpid[24];
    swing_err e;
    if (kern_queue_to_vat(w->k, vat, method, args, kpid, &e)) die(method, &e);
    if (run) run_all(w);
    if (kern_release(w->k, kpid, &e)) die("release", &e);
}

typedef struct block_stats {
    size_t blocks, max_writes, max_gc_krefs;
} block_stats;

/* Blocks of normal work then clean-up, until no clean-up work is left. */
static void run_blocks(world *w, const kern_budget *b, block_stats *bs)
{
    memset(bs, 0, sizeof *bs);
    for (;;) {
        kern_work_report r;
        uint64_t before, cranks = 0;
        swing_err e;
        if (kern_run_flags(w->k, KERN_RUN_NO_GC, NULL, NULL, &cranks, &e)) die("run", &e);
        before = w->writes;
        if (kern_cleanup(w->k, b, &r, &e)) die("cleanup", &e);
        if (w->writes - before > bs->max_writes) bs->max_writes = (size_t)(w->writes - before);
        if (r.cleanup.gc_krefs > bs->max_gc_krefs) bs->max_gc_krefs = (size_t)r.cleanup.gc_krefs;
        commit(w);
        bs->blocks++;
        if (!cranks && !r.cleanup.cranks && !r.terminated_vats && !r.gc_krefs_left && !r.dirty_vats) break;
        if (bs->blocks > 1000000) die("clean-up does not end", NULL);
    }
}

/* ===== cleanup_terminate ===== */

static void cleanup_terminate(size_t keys)
{
    static dw_world dw;
    kern_raw_vat vats[] = {{"E", dw_e, &dw}, {"I", dw_i, &dw}, {"boot", dw_boot, &dw}, {"D", dw_d, &dw}};
    const kern_budget budget = {.gc_krefs = 10000, .boyds = 2, .units = 10000};
    char config[512], kpid[24], vat_d[24], args[64];
    const char *slots[2];
    swing_buf giver = {0}, inbox = {0};
    vp_capdata params;
    block_stats bs;
    world w;
    swing_err e;
    bool found;
    double t0;
    memset(&dw, 0, sizeof dw);
    dw.keep = 0;
    snprintf(config, sizeof config, DW_CONFIG, GC_BATCH);
    open_world(&w, vats, 4);
    if (kern_init(w.k, config, strlen(config), &e)) die("init", &e);
    run_all(&w);
    if (kern_queue_to_vat(w.k, "E", "makeGiver", "[]", kpid, &e)) die("makeGiver", &e);
    run_all(&w);
    if (store_get(w.st, swing_str("v1.c.o+1"), &giver, &found, &e) || !found) die("giver", &e);
    if (store_get(w.st, swing_str("v2.c.o+0"), &inbox, &found, &e) || !found) die("inbox", &e);
    {
        char g[32], in[32];
        snprintf(g, sizeof g, "%.*s", (int)giver.len, (const char *)giver.ptr);
        snprintf(in, sizeof in, "%.*s", (int)inbox.len, (const char *)inbox.ptr);
        slots[0] = g;
        slots[1] = in;
        params.body = DW_PARAMS_BODY;
        params.slots = slots;
        params.nslots = 2;
        if (kern_create_vat(w.k, "D", DW_D_CONFIG, &params, vat_d, &e)) die("create D", &e);
    }
    swing_buf_free(&giver);
    swing_buf_free(&inbox);
    if (kern_release(w.k, kpid, &e)) die("release", &e);
    run_all(&w);
    for (size_t i = 0; i < keys; i += 20000) {
        snprintf(args, sizeof args, "[%zu,%zu]", i, i + 20000 < keys ? i + 20000 : keys);
        to_vat(&w, "D", "fill", args, true);
    }
    to_vat(&w, "D", "export", "[10000]", true);
    to_vat(&w, "D", "ask", "[10000]", true);
    to_vat(&w, "I", "dropMost", "[]", true);
    run_all(&w);
    if (kern_terminate_vat(w.k, "D", "benchmark", &e)) die("terminate", &e);
    t0 = bench_now();
    run_blocks(&w, &budget, &bs);
    printf("{\"name\":\"cleanup_terminate\",\"keys\":%zu,\"exports\":10000,\"imports\":10000,"
           "\"budget\":{\"units\":%llu,\"gc_krefs\":%llu,\"boyds\":%llu},\"blocks\":%zu,"
           "\"max_kv_writes_per_block\":%zu,\"writes_per_budget_unit\":%.2f,\"retired_at_importer\":%zu,"
           "\"seconds\":%.3f}\n",
           keys, (unsigned long long)budget.units, (unsigned long long)budget.gc_krefs,
           (unsigned long long)budget.boyds, bs.blocks, bs.max_writes,
           (double)bs.max_writes / (double)(budget.units + budget.gc_krefs + budget.boyds), dw.i_retired,
           bench_now() - t0);
    fflush(stdout);
    close_world(&w);
    free(dw.i_imports);
}

/* ===== gc_drop_blocks ===== */

static const char *EXPORTER =
    "function buildRootObject()\n"
    "  return Far('exporter', {\n"
    "    make = function(n)\n"
    "      local list = {}\n"
    "      for i = 1, n do list[i] = Far('thing', { id = function() return i end }) end\n"
    "      return list\n"
    "    end,\n"
    "  })\n"
    "end\n";

static const char *IMPORTER =
    "local held = {}\n"
    "function buildRootObject()\n"
    "  return Far('importer', {\n"
    "    fetch = async(function(exporter, n, chunk)\n"
    "      local got = 0\n"
    "      while got < n do\n"
    "        local list = await(E(exporter).make(chunk))\n"
    "        for i = 1, #list do held[#held + 1] = list[i] end\n"
    "        got = got + #list\n"
    "      end\n"
    "      return got\n"
    "    end),\n"
    "    drop = function() held = {} return 'dropped' end,\n"
    "  })\n"
    "end\n";

static const char *BOOT =
    "function buildRootObject()\n"
    "  local vats\n"
    "  return Far('boot', {\n"
    "    bootstrap = function(v) vats = v end,\n"
    "    fetch = function(n) return E(vats.importer).fetch(vats.exporter, n, 2000) end,\n"
    "    drop = function() return E(vats.importer).drop() end,\n"
    "  })\n"
    "end\n";

static void gc_drop_blocks(size_t imports)
{
    const kern_budget budget = {.gc_krefs = 20000, .boyds = 2, .units = 10000};
    char ids[3][80], config[1024], args[32];
    block_stats bs;
    world w;
    swing_err e;
    size_t held;
    double t0, secs;
    open_world(&w, NULL, 0);
    if (kern_install_bundle(w.k, BOOT, strlen(BOOT), ids[0], &e)) die("install", &e);
    if (kern_install_bundle(w.k, EXPORTER, strlen(EXPORTER), ids[1], &e)) die("install", &e);
    if (kern_install_bundle(w.k, IMPORTER, strlen(IMPORTER), ids[2], &e)) die("install", &e);
    snprintf(config, sizeof config,
             "{\"bootstrap\":\"boot\",\"gcBatch\":%u,\"reapBudget\":5000,\"vats\":{"
             "\"boot\":{\"bundleID\":\"%s\"},"
             "\"exporter\":{\"bundleID\":\"%s\",\"computeLimit\":2000000000,\"memoryLimit\":2000000000},"
             "\"importer\":{\"bundleID\":\"%s\",\"computeLimit\":2000000000,\"memoryLimit\":2000000000}}}",
             GC_BATCH, ids[0], ids[1], ids[2]);
    if (kern_init(w.k, config, strlen(config), &e)) die("init", &e);
    run_all(&w);
    snprintf(args, sizeof args, "[%zu]", imports);
    to_vat(&w, "boot", "fetch", args, true);
    {
        /* Settle what the fetch left, so the blocks below measure the drop. */
        const kern_budget all = {.gc_krefs = UINT64_MAX, .boyds = UINT64_MAX, .units = UINT64_MAX};
        run_blocks(&w, &all, &bs);
    }
    held = count_keys(&w, "v3.c.o-"); /* the importer is v3 (boot, exporter, importer) */
    to_vat(&w, "boot", "drop", "[]", false);
    t0 = bench_now();
    run_blocks(&w, &budget, &bs);
    secs = bench_now() - t0;
    printf("{\"name\":\"gc_drop_blocks\",\"imports\":%zu,\"budget\":{\"gc_krefs\":%llu,\"boyds\":%llu},"
           "\"reap_budget\":5000,\"gc_batch\":%u,\"blocks\":%zu,\"max_gc_krefs_per_block\":%zu,"
           "\"max_kv_writes_per_block\":%zu,\"imports_held\":%zu,\"imports_left\":%zu,\"seconds\":%.3f}\n",
           imports, (unsigned long long)budget.gc_krefs, (unsigned long long)budget.boyds, GC_BATCH, bs.blocks,
           bs.max_gc_krefs, bs.max_writes, held, count_keys(&w, "v3.c.o-"), secs);
    fflush(stdout);
    close_world(&w);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "gc") == 0) {
        gc_drop_blocks((size_t)strtoull(argv[2], NULL, 10));
        return 0;
    }
    if (argc > 1) {
        for (int i = 1; i < argc; i++) cleanup_terminate((size_t)strtoull(argv[i], NULL, 10));
        return 0;
    }
    cleanup_terminate(100000);
    cleanup_terminate(1000000);
    gc_drop_blocks(200000);
    return 0;
}
