/*
 * vom_gc_bench.c - mass death of virtual objects that hold imports
 * (issue 14). An exporter vat gives N Far objects to a holder vat, CHUNK a
 * delivery; the holder wraps each presence in a virtual object kept in a
 * virtual map store, so the import is held only in virtualized data (a
 * BOYD after each chunk checks that nothing is dropped). Then one delivery
 * makes all N objects dead at once:
 *   drop   the holder forgets the store itself (its only reference), so
 *          BOYDs delete the store's entries, then the objects, then drop
 *          and retire the imports
 *   clear  the holder calls clear() on the store; one delivery, so it
 *          needs a raised compute limit and a transcript item under the
 *          store's 64 MiB value limit (N up to about 40k)
 * Then blocks of the kernel's default budget (kern_budget_default, 2 BOYDs
 * of reapBudget REAP_BUDGET each) run until no work, GC or dirty vat is
 * left. Reports the Lua heaps while the imports are held, blocks, BOYDs,
 * the most syscalls and computrons of one holder BOYD (counted by the
 * wrapped worker, vom_world.h), the most kv writes of one block, and whether
 * every import is retired: the holder's imports, the exporter's exports and
 * the kernel objects are back to their counts before the exchange, and no
 * vdata count, object state or store entry is left in the holder.
 * Usage: vom_gc_bench [N [drop|clear]]   (default: drop 200000, clear 40000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/bench/vom_world.h"
#include "tests/liveslots/gc_bundles.h"

#define PROG "vom_gc_bench"
#define CHUNK 2000
#define REAP_BUDGET 5000
#define CLEAR_COMPUTE_LIMIT 2000000000

static const char *BOOT =
    "function buildRootObject()\n"
    "  return Far('boot', {\n"
    "    bootstrap = function(vats) return E(vats.holder).setExporter(vats.exporter) end,\n"
    "  })\n"
    "end\n";

static const char *HOLDER =
    "function buildRootObject()\n"
    "  local Wrap = VatData.defineKind('wrap', function(p, i) return { p = p, i = i } end, {\n"
    "    thing = function(state) return state.p end,\n"
    "  })\n"
    "  local wraps = VatData.makeScalarBigMapStore('wraps')\n"
    "  local exporter, n = nil, 0\n"
    "  return Far('holder', {\n"
    "    setExporter = function(e) exporter = e return 'ok' end,\n"
    "    fetch = async(function(k)\n"
    "      local list = await(E(exporter).many(k))\n"
    "      for i = 1, #list do n = n + 1 wraps.init(n, Wrap(list[i], n)) end\n"
    "      return wraps.getSize()\n"
    "    end),\n"
    "    call = function(i) return E(wraps.get(i).thing()).id() end,\n"
    "    drop = function() wraps = nil return 'dropped' end,\n"
    "    clear = function() wraps.clear() return wraps.getSize() end,\n"
    "  })\n"
    "end\n";

typedef struct gc_stats {
    char holder[24];             /* vat IDs */
    char exporter[24];
    uint64_t boyds;              /* the holder's BOYDs since the death */
    uint64_t exporter_boyds;     /* the exporter's */
    uint64_t max_boyd_syscalls;  /* of one of them */
    uint64_t max_boyd_computrons;
    uint64_t max_fetch_computrons; /* of one delivery while fetching */
    bool counting;               /* the death has happened */
} gc_stats;

static void on_delivery(void *ctx, const char *vat_id, const vp_delivery *d, const vp_delivery_result *r,
                        uint64_t syscalls)
{
    gc_stats *s = ctx;
    if (s->counting && strcmp(vat_id, s->exporter) == 0 && d->type == VP_D_BRING_OUT_YOUR_DEAD)
        s->exporter_boyds++;
    if (strcmp(vat_id, s->holder) != 0) return;
    if (!s->counting) {
        if (d->type != VP_D_BRING_OUT_YOUR_DEAD && r->computrons > s->max_fetch_computrons)
            s->max_fetch_computrons = r->computrons;
        return;
    }
    if (d->type != VP_D_BRING_OUT_YOUR_DEAD) return;
    s->boyds++;
    if (syscalls > s->max_boyd_syscalls) s->max_boyd_syscalls = syscalls;
    if (r->computrons > s->max_boyd_computrons) s->max_boyd_computrons = r->computrons;
}

/* What has to come back to its count before the exchange. */
typedef struct counts {
    size_t imports; /* holder's c-list imports vNN.c.o- */
    size_t exports; /* exporter's c-list exports vNN.c.o+ */
    size_t objects; /* kernel objects (koNN.owner) */
    size_t rcs;     /* holder's vdata counts vom.rc. (the baggage's is permanent) */
    size_t states;  /* holder's virtual object states vom.o+v */
    size_t entries; /* holder's store entries (vc. keys without '|') */
    size_t meta;    /* holder's store metadata (vc.<C>.|...) */
} counts;

/* Keys under prefix; *with_bar gets those holding a '|'. */
static size_t count_keys(vw_world *w, const char *prefix, const char *suffix, size_t *with_bar)
{
    store_iter *it;
    size_t n = 0, sl = suffix ? strlen(suffix) : 0;
    bool valid;
    swing_bytes k, v;
    swing_err e;
    if (with_bar) *with_bar = 0;
    if (store_iter_create(w->st, swing_str(prefix), &it, &e)) vw_die(w, "iter", &e);
    for (;;) {
        if (store_iter_next(it, &k, &v, &valid, &e)) vw_die(w, "iter next", &e);
        if (!valid) break;
        if (sl && (k.len < sl || memcmp(k.ptr + k.len - sl, suffix, sl) != 0)) continue;
        if (with_bar && memchr(k.ptr, '|', k.len)) (*with_bar)++;
        else n++;
    }
    store_iter_destroy(it);
    return n;
}

static size_t count_under(vw_world *w, const char *vat, const char *rest, size_t *with_bar)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s.%s", vat, rest);
    return count_keys(w, prefix, NULL, with_bar);
}

static counts now(vw_world *w, const gc_stats *s)
{
    counts c;
    c.imports = count_under(w, s->holder, "c.o-", NULL);
    c.exports = count_under(w, s->exporter, "c.o+", NULL);
    c.objects = count_keys(w, "ko", ".owner", NULL);
    c.rcs = count_under(w, s->holder, "vs.vom.rc.", NULL);
    c.states = count_under(w, s->holder, "vs.vom.o+v", NULL);
    c.entries = count_under(w, s->holder, "vs.vc.", &c.meta);
    return c;
}

typedef struct block_stats {
    size_t blocks, max_writes;
} block_stats;

/* Blocks of the default budget until nothing is left to do. */
static void run_blocks(vw_world *w, block_stats *bs)
{
    kern_budget b;
    kern_budget_default(&b);
    memset(bs, 0, sizeof *bs);
    for (;;) {
        kern_work_report r;
        uint64_t before = w->writes;
        swing_err e;
        if (kern_work_block(w->k, &b, &r, &e)) vw_die(w, "work block", &e);
        vw_commit(w);
        if (w->failed[0]) vw_die(w, w->failed, NULL);
        bs->blocks++;
        if (w->writes - before > bs->max_writes) bs->max_writes = (size_t)(w->writes - before);
        if (!r.total.cranks && !r.work_left && !r.gc_krefs_left && !r.dirty_vats) break;
        if (bs->blocks > 1000000) vw_die(w, "the blocks do not end", NULL);
    }
}

/* What one run measured. */
typedef struct result {
    size_t n;
    bool clear;
    gc_stats s;
    block_stats bs;                 /* of the blocks after the death */
    counts base, held, after;       /* before the exchange, while held, at the end */
    size_t heap_held[2], heap_after[2]; /* holder, exporter */
    char call[32];                  /* what the last import answered */
    double secs;                    /* from the death to the last block */
} result;

static bool all_retired(const result *r)
{
    const counts *b = &r->base, *a = &r->after;
    /* drop: the dead store's three metadata keys go too; clear: it stays */
    return a->imports == b->imports && a->exports == b->exports && a->objects == b->objects &&
           r->held.imports - b->imports == r->n && a->rcs == b->rcs && a->states == b->states &&
           a->entries == b->entries && a->meta == b->meta - (r->clear ? 0 : 3);
}

static void print_result(const result *r)
{
    const counts *b = &r->base, *a = &r->after;
    printf("{\"name\":\"vom_gc\",\"mode\":\"%s\",\"imports\":%zu,\"chunk\":%d,\"reap_budget\":%d,"
           "\"budget\":{\"gc_krefs\":5000,\"boyds\":2},\"imports_held\":%zu,\"call_after_hold\":\"%s\","
           "\"lua_heap_bytes_held\":{\"holder\":%zu,\"exporter\":%zu},"
           "\"lua_heap_bytes_after\":{\"holder\":%zu,\"exporter\":%zu},",
           r->clear ? "clear" : "drop", r->n, CHUNK, REAP_BUDGET, r->held.imports - b->imports, r->call,
           r->heap_held[0], r->heap_held[1], r->heap_after[0], r->heap_after[1]);
    printf("\"blocks\":%zu,\"holder_boyds\":%llu,\"exporter_boyds\":%llu,\"max_holder_boyd_syscalls\":%llu,"
           "\"max_holder_boyd_computrons\":%llu,\"max_fetch_delivery_computrons\":%llu,"
           "\"max_kv_writes_per_block\":%zu,\"seconds\":%.3f,",
           r->bs.blocks, (unsigned long long)r->s.boyds, (unsigned long long)r->s.exporter_boyds,
           (unsigned long long)r->s.max_boyd_syscalls, (unsigned long long)r->s.max_boyd_computrons,
           (unsigned long long)r->s.max_fetch_computrons, r->bs.max_writes, r->secs);
    printf("\"left\":{\"imports\":%zu,\"exports\":%zu,\"objects\":%zu,\"vdata_counts\":%zu,\"states\":%zu,"
           "\"store_entries\":%zu},\"all_retired\":%s,"
           "\"note\":\"left = counts above those before the exchange; seconds from the death to the last "
           "block; heaps after a BOYD's full collection; store not synced; no SwingSet figure measured for "
           "this workload\"}\n",
           a->imports - b->imports, a->exports - b->exports, a->objects - b->objects, a->rcs - b->rcs,
           a->states - b->states, a->entries - b->entries, all_retired(r) ? "true" : "false");
    fflush(stdout);
}

static void open_run(vw_world *w, result *r)
{
    char ids[3][STORE_BUNDLE_ID_LEN + 1], config[1024], limit[64] = "";
    vw_open(w, PROG);
    vw_install(w, BOOT, ids[0]);
    vw_install(w, VOM_EXPORTER, ids[1]);
    vw_install(w, HOLDER, ids[2]);
    if (r->clear) snprintf(limit, sizeof limit, ",\"computeLimit\":%d", CLEAR_COMPUTE_LIMIT);
    snprintf(config, sizeof config,
             "{\"bootstrap\":\"boot\",\"reapBudget\":%d,\"vats\":{\"boot\":{\"bundleID\":\"%s\"},"
             "\"exporter\":{\"bundleID\":\"%s\"},\"holder\":{\"bundleID\":\"%s\"%s}}}",
             REAP_BUDGET, ids[0], ids[1], ids[2], limit);
    vw_init(w, config);
    vw_vat_id(w, "holder", r->s.holder);
    vw_vat_id(w, "exporter", r->s.exporter);
    w->hook = on_delivery;
    w->hook_ctx = &r->s;
    run_blocks(w, &r->bs); /* settle genesis */
}

static void gc_run(size_t n, bool clear)
{
    char args[32], out[32];
    result r;
    vw_world w;
    double t0;
    memset(&r, 0, sizeof r);
    r.n = n;
    r.clear = clear;
    open_run(&w, &r);
    r.base = now(&w, &r.s);
    for (size_t got = 0; got < n; got += CHUNK) {
        snprintf(args, sizeof args, "[%zu]", n - got < CHUNK ? n - got : (size_t)CHUNK);
        vw_ask(&w, "holder", "fetch", args, out, sizeof out);
        vw_boyd(&w, "holder", REAP_BUDGET);
    }
    run_blocks(&w, &r.bs);
    r.held = now(&w, &r.s);
    r.heap_held[0] = vw_heap(&w, "holder"); /* the last delivery of each was a BOYD */
    r.heap_held[1] = vw_heap(&w, "exporter");
    snprintf(args, sizeof args, "[%zu]", n);
    vw_ask(&w, "holder", "call", args, r.call, sizeof r.call); /* the last import still answers */
    r.s.counting = true;
    t0 = bench_now();
    vw_ask(&w, "holder", clear ? "clear" : "drop", "[]", out, sizeof out);
    if (strcmp(out, clear ? "#0" : "#\"dropped\"") != 0) vw_die(&w, out, NULL);
    run_blocks(&w, &r.bs);
    r.secs = bench_now() - t0;
    r.after = now(&w, &r.s);
    r.heap_after[0] = vw_heap(&w, "holder");
    r.heap_after[1] = vw_heap(&w, "exporter");
    print_result(&r);
    vw_close(&w);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        size_t n = (size_t)strtoull(argv[1], NULL, 10);
        bool clear = argc > 2 && strcmp(argv[2], "clear") == 0;
        if (n == 0 || (argc > 2 && !clear && strcmp(argv[2], "drop") != 0)) {
            fprintf(stderr, "usage: %s [N [drop|clear]]\n", PROG);
            return 2;
        }
        gc_run(n, clear);
        return 0;
    }
    gc_run(200000, false);
    gc_run(40000, true);
    return 0;
}
