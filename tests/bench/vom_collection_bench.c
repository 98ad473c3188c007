/*
 * vom_collection_bench.c - a big scalar map store inside one Lua vat
 * (issue 14), at two sizes (N/10 and N) to show how each phase scales:
 *   insert   N integer keys with short string values, BATCH per delivery
 *   get      GETS random gets (keys from an LCG inside Lua), GET_BATCH per
 *            delivery
 *   iterate  one full ordered iteration with entries(lo): each delivery
 *            takes up to BATCH entries and returns the key to resume at
 *   clear    the whole store emptied
 * Every delivery stays within the vat's default compute limit except
 * clear(), which is one unbounded delivery: it runs only while the store is
 * small enough (CLEAR_MAX entries: its transcript item is then about 50 MB
 * of the store's 64 MiB limit) and bigger stores are emptied by deletes of
 * BATCH keys per delivery instead, each resuming where the last stopped
 * (reported as "clear_by").
 * One block per delivery, store not synced. Reports seconds per phase,
 * seconds per entry of the iteration at both sizes and their ratio
 * (1.0 = linear), and computrons and syscalls per entry.
 * Usage: vom_collection_bench [N [BATCH]]   (default 1000000, 10000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/bench/vom_world.h"

#define PROG "vom_collection_bench"
#define GETS 100000
#define GET_BATCH 20000
#define CLEAR_MAX 100000       /* largest store emptied by one clear() */
#define CLEAR_LIMIT 2000000000 /* the vat's compute limit, for that clear() */

static const char *COLL =
    "function buildRootObject()\n"
    "  local big = VatData.makeScalarBigMapStore('big')\n"
    "  return Far('coll', {\n"
    "    insert = function(from, to)\n"
    "      for i = from, to - 1 do big.init(i, 'value-' .. i) end\n"
    "      return big.getSize()\n"
    "    end,\n"
    "    get = function(seed, count, n)\n"
    "      local x, sum = seed, 0\n"
    "      for i = 1, count do\n"
    "        x = (x * 1103515245 + 12345) % 2147483648\n"
    "        local v = big.get(x % n)\n"
    "        sum = sum + #v\n"
    "      end\n"
    "      return { x, sum }\n"
    "    end,\n"
    "    iterate = function(limit, lo)\n"
    "      local count, sum = 0, 0\n"
    "      for k, v in big.entries(lo) do\n"
    "        if count == limit then return { k, count, sum } end\n"
    "        count = count + 1\n"
    "        sum = sum + k\n"
    "      end\n"
    "      return { null, count, sum }\n"
    "    end,\n"
    "    clear = function() big.clear() return big.getSize() end,\n"
    "    deleteSome = function(limit, lo)\n"
    "      local keys, resume = {}, null\n"
    "      for k in big.keys(lo) do\n"
    "        if #keys == limit then resume = k break end\n"
    "        keys[#keys + 1] = k\n"
    "      end\n"
    "      for _, k in ipairs(keys) do big.delete(k) end\n"
    "      return { resume, #keys, big.getSize() }\n"
    "    end,\n"
    "  })\n"
    "end\n";

enum { P_INSERT, P_GET, P_ITERATE, P_CLEAR, PHASES };

typedef struct phase {
    double secs;
    uint64_t computrons, syscalls, deliveries;
    uint64_t max_computrons; /* of one delivery */
} phase;

typedef struct run {
    char coll[24]; /* the vat's ID */
    int phase;     /* the phase whose deliveries are counted */
    phase p[PHASES];
    size_t entries;
    bool cleared_by_clear; /* the store was emptied by one clear() */
    size_t max_item;       /* largest transcript item */
    long long iter_sum;    /* sum of the keys the iteration saw */
    size_t iter_count;
} run;

static void on_delivery(void *ctx, const char *vat_id, const vp_delivery *d, const vp_delivery_result *r,
                        uint64_t syscalls)
{
    run *x = ctx;
    phase *p = &x->p[x->phase];
    if (strcmp(vat_id, x->coll) != 0 || d->type != VP_D_MESSAGE) return;
    p->computrons += r->computrons;
    p->syscalls += syscalls;
    p->deliveries++;
    if (r->computrons > p->max_computrons) p->max_computrons = r->computrons;
}

/* Sends method(args) to the vat, timing it into phase ph. */
static void ask(vw_world *w, run *x, int ph, const char *method, const char *args, char *out, size_t cap)
{
    double t0 = bench_now();
    x->phase = ph;
    vw_ask(w, "coll", method, args, out, cap);
    x->p[ph].secs += bench_now() - t0;
}

/* The key to resume at from an iterate or deleteSome result
 * "#[<key>|null,<count>,<number>]"; false at the end. */
static bool resume_key(const char *out, char *key, size_t cap, size_t *count, long long *sum)
{
    const char *p = out + 2, *comma = strchr(p, ',');
    if (strncmp(out, "#[", 2) != 0 || !comma) return false;
    snprintf(key, cap, "%.*s", (int)(comma - p), p);
    if (sscanf(comma + 1, "%zu,%lld", count, sum) != 2) return false;
    return strcmp(key, "null") != 0;
}

static void measure(size_t n, size_t batch, run *x)
{
    char id[STORE_BUNDLE_ID_LEN + 1], config[512], args[96], out[128], key[48];
    vw_world w;
    memset(x, 0, sizeof *x);
    x->entries = n;
    vw_open(&w, PROG);
    vw_install(&w, COLL, id);
    if (n <= CLEAR_MAX)
        snprintf(config, sizeof config, "{\"vats\":{\"coll\":{\"bundleID\":\"%s\",\"computeLimit\":%d}}}", id,
                 CLEAR_LIMIT);
    else
        snprintf(config, sizeof config, "{\"vats\":{\"coll\":{\"bundleID\":\"%s\"}}}", id);
    vw_init(&w, config);
    vw_vat_id(&w, "coll", x->coll);
    w.hook = on_delivery;
    w.hook_ctx = x;
    for (size_t from = 0; from < n; from += batch) {
        snprintf(args, sizeof args, "[%zu,%zu]", from, from + batch < n ? from + batch : n);
        ask(&w, x, P_INSERT, "insert", args, out, sizeof out);
    }
    {
        unsigned long long seed = 1;
        for (size_t done = 0; done < GETS; done += GET_BATCH) {
            snprintf(args, sizeof args, "[%llu,%d,%zu]", seed, GET_BATCH, n);
            ask(&w, x, P_GET, "get", args, out, sizeof out);
            if (sscanf(out, "#[%llu,", &seed) != 1) vw_die(&w, "get result", NULL);
        }
    }
    snprintf(args, sizeof args, "[%zu]", batch);
    for (;;) {
        size_t count;
        long long sum;
        bool more;
        ask(&w, x, P_ITERATE, "iterate", args, out, sizeof out);
        more = resume_key(out, key, sizeof key, &count, &sum);
        if (!more && strncmp(out, "#[null,", 7) != 0) vw_die(&w, "iterate result", NULL);
        x->iter_count += count;
        x->iter_sum += sum;
        if (!more) break;
        snprintf(args, sizeof args, "[%zu,%s]", batch, key);
    }
    if (n <= CLEAR_MAX) {
        x->cleared_by_clear = true;
        ask(&w, x, P_CLEAR, "clear", "[]", out, sizeof out);
    } else {
        size_t count;
        long long left;
        snprintf(args, sizeof args, "[%zu]", batch);
        for (;;) {
            bool more;
            ask(&w, x, P_CLEAR, "deleteSome", args, out, sizeof out);
            more = resume_key(out, key, sizeof key, &count, &left);
            if (!more && strncmp(out, "#[null,", 7) != 0) vw_die(&w, "deleteSome result", NULL);
            if (!more) break;
            snprintf(args, sizeof args, "[%zu,%s]", batch, key);
        }
        snprintf(out, sizeof out, "#%lld", left);
    }
    if (strcmp(out, "#0") != 0) vw_die(&w, "the store is not empty", NULL);
    x->max_item = vw_max_transcript_item(&w, "coll");
    vw_close(&w);
}

static void print_phase(const char *name, const phase *p, size_t per, bool last)
{
    printf("\"%s\":{\"seconds\":%.3f,\"deliveries\":%llu,\"computrons_per_op\":%.1f,\"syscalls_per_op\":%.2f,"
           "\"max_delivery_computrons\":%llu}%s",
           name, p->secs, (unsigned long long)p->deliveries, (double)p->computrons / (double)per,
           (double)p->syscalls / (double)per, (unsigned long long)p->max_computrons, last ? "" : ",");
}

static void print_run(const run *x, size_t batch)
{
    long long want = (long long)x->entries * ((long long)x->entries - 1) / 2;
    printf("{\"name\":\"vom_collection\",\"entries\":%zu,\"batch\":%zu,\"gets\":%d,\"iteration_ok\":%s,"
           "\"clear_by\":\"%s\",\"max_transcript_item_bytes\":%zu,",
           x->entries, batch, GETS, x->iter_count == x->entries && x->iter_sum == want ? "true" : "false",
           x->cleared_by_clear ? "clear" : "deleteSome", x->max_item);
    print_phase("insert", &x->p[P_INSERT], x->entries, false);
    print_phase("get", &x->p[P_GET], GETS, false);
    print_phase("iterate", &x->p[P_ITERATE], x->entries, false);
    print_phase("clear", &x->p[P_CLEAR], x->entries, true);
    printf(",\"iterate_seconds_per_entry\":%.3e}\n", x->p[P_ITERATE].secs / (double)x->entries);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
    size_t batch = argc > 2 ? (size_t)strtoull(argv[2], NULL, 10) : 10000;
    run small, large;
    double per_small, per_large;
    if (n < 10 || batch == 0) {
        fprintf(stderr, "usage: %s [N [BATCH]]   (N >= 10)\n", PROG);
        return 2;
    }
    measure(n / 10, batch, &small);
    print_run(&small, batch);
    measure(n, batch, &large);
    print_run(&large, batch);
    per_small = small.p[P_ITERATE].secs / (double)small.entries;
    per_large = large.p[P_ITERATE].secs / (double)large.entries;
    printf("{\"name\":\"vom_collection_scaling\",\"small\":%zu,\"large\":%zu,"
           "\"iterate_seconds_per_entry_ratio\":%.2f,\"insert_seconds_per_entry_ratio\":%.2f,"
           "\"note\":\"ratio = seconds per entry at large / at small; 1.0 is linear; no SwingSet figure "
           "measured for this workload\"}\n",
           small.entries, large.entries, per_large / per_small,
           (large.p[P_INSERT].secs / (double)large.entries) / (small.p[P_INSERT].secs / (double)small.entries));
    return 0;
}
