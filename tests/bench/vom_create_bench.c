/*
 * vom_create_bench.c - making durable virtual objects at scale (issue 14).
 *
 * One Lua vat (maker) makes N durable objects of one durable kind and
 * stores each in a durable map store kept in its baggage, BATCH objects per
 * delivery (each delivery within the vat's default compute limit), one
 * block per delivery, each followed by a bringOutYourDead with budget 5000
 * as a chain's block-end clean-up gives a dirty vat (each object whose
 * representative Lua collected is one unit of the next BOYD's budget). Reports seconds per 100k objects (overall, first and
 * last 100k), the vat's Lua heap after the BOYD's full collection at 100k
 * objects and at N, the largest value among the vat's vatstore keys (must
 * be at most 16 KiB), the largest transcript item, and computrons and
 * syscalls per object.
 * Usage: vom_create_bench [N [BATCH]]   (default 1000000, 5000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/bench/vom_world.h"

#define PROG "vom_create_bench"
#define BOYD_BUDGET 5000
#define KV_VALUE_MAX 16384

static const char *MAKER =
    "function buildRootObject(vatPowers, params, baggage)\n"
    "  local handle = VatData.provide(baggage, 'thingKind', function() return VatData.makeKindHandle('thing') end)\n"
    "  local Thing = VatData.defineDurableKind(handle, function(id) return { id = id, uses = 0 } end, {\n"
    "    id = function(state) return state.id end,\n"
    "    use = function(state) state.uses = state.uses + 1 return state.uses end,\n"
    "  })\n"
    "  local things = VatData.provide(baggage, 'things', function()\n"
    "    return VatData.makeScalarBigMapStore('things', { durable = true }) end)\n"
    "  return Far('maker', {\n"
    "    make = function(from, to)\n"
    "      for i = from, to - 1 do things.init(i, Thing(i)) end\n"
    "      return things.getSize()\n"
    "    end,\n"
    "    check = function(i) local t = things.get(i) return { t.id(), t.use() } end,\n"
    "  })\n"
    "end\n";

typedef struct stats {
    char maker[24];           /* the maker's vat ID */
    uint64_t computrons;      /* of make deliveries */
    uint64_t syscalls;        /* of make deliveries */
    uint64_t max_delivery;    /* computrons of the largest make delivery */
    uint64_t boyd_computrons; /* of the largest BOYD */
    uint64_t boyd_syscalls;   /* of the largest BOYD */
    bool in_make;             /* a make delivery is being run */
} stats;

static void on_delivery(void *ctx, const char *vat_id, const vp_delivery *d, const vp_delivery_result *r,
                        uint64_t syscalls)
{
    stats *s = ctx;
    if (strcmp(vat_id, s->maker) != 0) return;
    if (d->type == VP_D_BRING_OUT_YOUR_DEAD) {
        if (r->computrons > s->boyd_computrons) s->boyd_computrons = r->computrons;
        if (syscalls > s->boyd_syscalls) s->boyd_syscalls = syscalls;
    } else if (d->type == VP_D_MESSAGE && s->in_make) {
        s->computrons += r->computrons;
        s->syscalls += syscalls;
        if (r->computrons > s->max_delivery) s->max_delivery = r->computrons;
    }
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
    size_t batch = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 5000;
    char id[STORE_BUNDLE_ID_LEN + 1], config[512], args[64], out[128], prefix[32];
    size_t heap_100k = 0, heap_n = 0, max_value = 0, vs_keys;
    double t0, secs = 0, boyd_secs = 0, first_100k = 0, last_100k = 0, chunk = 0;
    stats s;
    vw_world w;
    memset(&s, 0, sizeof s);
    if (n == 0 || batch == 0) {
        fprintf(stderr, "usage: %s [N [BATCH]]\n", PROG);
        return 2;
    }
    vw_open(&w, PROG);
    vw_install(&w, MAKER, id);
    snprintf(config, sizeof config, "{\"vats\":{\"maker\":{\"bundleID\":\"%s\"}}}", id);
    vw_init(&w, config);
    vw_vat_id(&w, "maker", s.maker);
    w.hook = on_delivery;
    w.hook_ctx = &s;
    for (size_t from = 0; from < n; from += batch) {
        size_t to = from + batch < n ? from + batch : n;
        double t1, t2;
        snprintf(args, sizeof args, "[%zu,%zu]", from, to);
        s.in_make = true;
        t0 = bench_now();
        vw_ask(&w, "maker", "make", args, out, sizeof out);
        s.in_make = false;
        t1 = bench_now();
        vw_boyd(&w, "maker", BOYD_BUDGET);
        t2 = bench_now();
        secs += t2 - t0;
        boyd_secs += t2 - t1;
        chunk += t2 - t0;
        /* 100k boundaries (a BATCH that does not divide 100k: the first batch past it) */
        if (from / 100000 != to / 100000 || to == n) {
            if (from < 100000) {
                first_100k = chunk;
                heap_100k = vw_heap(&w, "maker");
            }
            last_100k = chunk;
            chunk = 0;
        }
    }
    heap_n = vw_heap(&w, "maker");
    snprintf(args, sizeof args, "[%zu]", n / 2);
    vw_ask(&w, "maker", "check", args, out, sizeof out);
    snprintf(prefix, sizeof prefix, "%s.vs.", s.maker);
    vs_keys = vw_scan(&w, prefix, &max_value);
    printf("{\"name\":\"vom_create\",\"objects\":%zu,\"batch\":%zu,\"check\":\"%s\",\"seconds\":%.3f,"
           "\"boyd_seconds\":%.3f,\"seconds_per_100k\":%.3f,\"seconds_first_100k\":%.3f,"
           "\"seconds_last_100k\":%.3f,\"lua_heap_bytes_100k\":%zu,\"lua_heap_bytes_n\":%zu,"
           "\"vatstore_keys\":%zu,\"max_vatstore_value_bytes\":%zu,\"max_vatstore_value_ok\":%s,"
           "\"max_transcript_item_bytes\":%zu,\"computrons_per_object\":%.1f,\"syscalls_per_object\":%.2f,"
           "\"max_delivery_computrons\":%llu,\"boyd_budget\":%d,\"max_boyd_computrons\":%llu,"
           "\"max_boyd_syscalls\":%llu,"
           "\"note\":\"seconds include a BOYD after every batch (each object whose representative Lua "
           "collected is a unit of the next BOYD's budget); heap is "
           "ls_lua_vat_memory after that BOYD's full collection (Lua state only); store not synced; no "
           "SwingSet figure measured for this workload\"}\n",
           n, batch, out, secs, boyd_secs, secs / ((double)n / 100000.0), first_100k, last_100k, heap_100k, heap_n,
           vs_keys, max_value, max_value <= KV_VALUE_MAX ? "true" : "false", vw_max_transcript_item(&w, "maker"),
           (double)s.computrons / (double)n, (double)s.syscalls / (double)n, (unsigned long long)s.max_delivery,
           BOYD_BUDGET, (unsigned long long)s.boyd_computrons, (unsigned long long)s.boyd_syscalls);
    vw_close(&w);
    return max_value <= KV_VALUE_MAX ? 0 : 1;
}
