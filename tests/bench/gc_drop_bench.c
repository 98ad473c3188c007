/*
 * gc_drop_bench.c - kernel scale benchmark (issue: kernel core).
 *
 * gc_drop: raw vat A exports N objects to raw vat B in one message; B drops
 * them all in one dropImports and retires them in one retireImports. Blocks
 * of 100 cranks; a store write observer sees every kv write of each crank. Per N
 * it reports seconds, the largest GC delivery, the largest logical value the
 * kernel's own bookkeeping wrote (message payloads excluded) and the most
 * bytes any GC crank wrote, and checks that every key is gone afterwards.
 * deliveries: a raw-vat ping-pong of R round trips, cranks per second.
 * Usage: gc_drop_bench [N...]   (default 50000 100000 200000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "store/store.h"
#include "tests/bench/bench.h"
#include "tests/lib/scratch.h"
#include "tests/kernel/gc_vats.h"

#define GC_BATCH 500u

static void die(const char *what, const swing_err *e)
{
    bench_die("gc_drop_bench", what, e);
}

typedef struct bench {
    char *dir;            /* scratch directory of the store */
    store *st;
    kern *k;
    uint64_t height;
    size_t max_value;     /* bookkeeping values */
    size_t max_gc_bytes;  /* per GC crank */
    double kind_secs[8];  /* time in cranks by kern_crank_kind */
    size_t crank_bytes;   /* kv bytes written by the crank in progress */
    double commit_secs;   /* time in store_commit */
} bench;

/* Message payloads and vatstore values are not kernel bookkeeping. */
static bool payload_key(const char *k, size_t n)
{
    const char *dot;
    if (strncmp(k, "runQueue.", 9) == 0 || strncmp(k, "acceptanceQueue.", 16) == 0) return true;
    if (strncmp(k, "kp", 2) == 0 && (dot = memchr(k, '.', n))) {
        size_t rest = n - (size_t)(dot - k);
        return (rest >= 7 && strncmp(dot, ".queue.", 7) == 0 && strncmp(dot, ".queue.nextID", 13) != 0) ||
               (rest == 5 && strncmp(dot, ".data", 5) == 0);
    }
    if (k[0] == 'v' && (dot = memchr(k, '.', n)) && strncmp(dot, ".vs.", 4) == 0) return true;
    return false;
}

/* Store write observer: bytes of the crank in progress and the largest
 * bookkeeping value. */
static void observe(void *ctx, swing_bytes key, size_t vlen, bool deleted)
{
    bench *b = ctx;
    b->crank_bytes += key.len + vlen;
    if (!deleted && vlen > b->max_value && !payload_key((const char *)key.ptr, key.len))
        b->max_value = vlen;
}

static void commit(bench *b)
{
    swing_err e;
    if (store_commit(b->st, ++b->height, NULL, &e)) die("commit", &e);
}

#define BLOCK_CRANKS 100

/* Runs to quiescence in blocks of BLOCK_CRANKS cranks. Returns cranks. */
static uint64_t run_blocks(bench *b)
{
    uint64_t n = 0;
    for (;;) {
        kern_crank_info info;
        bool did;
        swing_err e;
        double t0 = bench_now(), t1;
        b->crank_bytes = 0;
        if (kern_step(b->k, &info, &did, &e)) die("step", &e);
        t1 = bench_now();
        if (!did) break;
        if ((unsigned)info.kind < 8) b->kind_secs[info.kind] += t1 - t0;
        if ((info.kind == KERN_CRANK_GC || info.kind == KERN_CRANK_GC_DELIVERY) &&
            b->crank_bytes > b->max_gc_bytes)
            b->max_gc_bytes = b->crank_bytes;
        if (++n % BLOCK_CRANKS == 0) {
            commit(b);
            b->commit_secs += bench_now() - t1;
        }
    }
    commit(b);
    return n;
}

static void open_bench(bench *b, const kern_raw_vat *vats, size_t nv, const char *config)
{
    store_options o = store_options_default();
    kern_options ko = {vats, nv, 0, NULL, 0}; /* raw vats only */
    swing_err e;
    memset(b, 0, sizeof *b);
    b->dir = scratch_dir("swingbench");
    if (!b->dir) die("cannot create a scratch directory", NULL);
    o.sync = false; /* durability is not what is measured */
    o.observer = observe;
    o.observer_ctx = b;
    if (store_open(b->dir, &o, &b->st, &e)) die("store_open", &e);
    if (kern_open(b->st, &ko, &b->k, &e)) die("kern_open", &e);
    if (kern_init(b->k, config, strlen(config), &e)) die("kern_init", &e);
    run_blocks(b);
}

static void close_bench(bench *b)
{
    kern_close(b->k);
    store_close(b->st);
    scratch_remove(b->dir);
    b->dir = NULL;
}

static size_t count_keys(bench *b)
{
    store_iter *it;
    size_t n = 0;
    bool valid;
    swing_bytes k, v;
    if (store_iter_create(b->st, swing_str(""), &it, NULL)) die("iter", NULL);
    while (store_iter_next(it, &k, &v, &valid, NULL) == SWING_OK && valid) n++;
    store_iter_destroy(it);
    return n;
}

static void go(bench *b, size_t n)
{
    char kpid[24], args[32];
    swing_err e;
    snprintf(args, sizeof args, "[%zu]", n);
    if (kern_queue_to_vat(b->k, "A", "go", args, kpid, &e)) die("go", &e);
    run_blocks(b);
    if (kern_release(b->k, kpid, &e)) die("release", &e);
    run_blocks(b);
}

static double gc_drop(size_t n)
{
    bench b;
    gc_world w;
    kern_raw_vat vats[] = {{"A", gcw_a, &w}, {"B", gcw_b, &w}, {"boot", gcw_boot, &w}};
    char config[512];
    size_t baseline, after;
    double t0, secs;
    memset(&w, 0, sizeof w);
    snprintf(config, sizeof config, GCW_CONFIG, GC_BATCH);
    open_bench(&b, vats, 3, config);
    go(&b, 1);
    baseline = count_keys(&b);
    b.max_value = b.max_gc_bytes = 0;
    memset(b.kind_secs, 0, sizeof b.kind_secs);
    b.commit_secs = 0;
    w.max_delivery = 0;
    t0 = bench_now();
    go(&b, n);
    secs = bench_now() - t0;
    after = count_keys(&b);
    printf("{\"name\":\"gc_drop\",\"krefs\":%zu,\"seconds\":%.3f,\"max_delivery_krefs\":%zu,"
           "\"max_value_bytes\":%zu,\"max_gc_crank_bytes\":%zu,\"gc_batch\":%u,"
           "\"all_retired\":%s,\"order_errors\":%zu,\"kv_keys_baseline\":%zu,\"kv_keys_after\":%zu,"
           "\"phase_seconds\":{\"routing\":%.3f,\"delivery\":%.3f,\"gc\":%.3f,\"gc_delivery\":%.3f,"
           "\"commit\":%.3f}}\n",
           n, secs, w.max_delivery, b.max_value, b.max_gc_bytes, GC_BATCH,
           w.drops == n + 1 && w.retires == n + 1 ? "true" : "false", w.order_errors, baseline, after,
           b.kind_secs[KERN_CRANK_ROUTING], b.kind_secs[KERN_CRANK_DELIVERY], b.kind_secs[KERN_CRANK_GC],
           b.kind_secs[KERN_CRANK_GC_DELIVERY], b.commit_secs);
    fflush(stdout);
    free(w.state);
    close_bench(&b);
    return secs;
}

/* ===== ping-pong ===== */

typedef struct pp {
    char peer[32];
    long left;
} pp;

static swing_status pp_boot(void *user, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    (void)user;
    (void)r;
    if (d->type != VP_D_MESSAGE || strncmp(d->methargs.body, "#[\"bootstrap\"", 13) != 0) return SWING_OK;
    if (tv_send(io, d->methargs.slots[0], "#[\"meet\",[\"$0.Alleged: root\"]]", &d->methargs.slots[1], 1, NULL))
        return SWING_ERR_VAT;
    return tv_send(io, d->methargs.slots[1], "#[\"meet\",[\"$0.Alleged: root\"]]", &d->methargs.slots[0], 1, NULL);
}

static swing_status pp_vat(void *user, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    pp *p = user;
    (void)r;
    if (d->type != VP_D_MESSAGE) return SWING_OK;
    if (strncmp(d->methargs.body, "#[\"meet\"", 8) == 0) {
        snprintf(p->peer, sizeof p->peer, "%s", d->methargs.slots[0]);
        return SWING_OK;
    }
    if (strncmp(d->methargs.body, "#[\"start\",[", 11) == 0) p->left = atol(d->methargs.body + 11);
    else if (strncmp(d->methargs.body, "#[\"pong\"", 8) == 0) p->left--;
    else if (strncmp(d->methargs.body, "#[\"ping\"", 8) == 0)
        return tv_send(io, p->peer, "#[\"pong\",[]]", NULL, 0, NULL);
    if (p->left > 0) return tv_send(io, p->peer, "#[\"ping\",[]]", NULL, 0, NULL);
    return SWING_OK;
}

static void deliveries(long rounds)
{
    bench b;
    pp p = {{0}, 0}, q = {{0}, 0};
    kern_raw_vat vats[] = {{"P", pp_vat, &p}, {"Q", pp_vat, &q}, {"boot", pp_boot, NULL}};
    const char *config = "{\"bootstrap\":\"boot\",\"vats\":{\"P\":{\"source\":\"raw:P\"},"
                         "\"Q\":{\"source\":\"raw:Q\"},\"boot\":{\"source\":\"raw:boot\"}}}";
    char kpid[24], args[32];
    uint64_t cranks = 0;
    swing_err e;
    double t0, secs;
    open_bench(&b, vats, 3, config);
    snprintf(args, sizeof args, "[%ld]", rounds);
    if (kern_queue_to_vat(b.k, "P", "start", args, kpid, &e)) die("start", &e);
    t0 = bench_now();
    if (kern_run(b.k, NULL, NULL, &cranks, &e)) die("run", &e);
    secs = bench_now() - t0;
    commit(&b);
    printf("{\"name\":\"deliveries\",\"round_trips\":%ld,\"completed\":%s,\"cranks\":%llu,\"seconds\":%.3f,"
           "\"cranks_per_sec\":%.0f,\"round_trips_per_sec\":%.0f}\n",
           rounds, p.left == 0 ? "true" : "false", (unsigned long long)cranks, secs, (double)cranks / secs,
           (double)rounds / secs);
    close_bench(&b);
}

int main(int argc, char **argv)
{
    size_t ns[8] = {50000, 100000, 200000};
    size_t count = 3;
    double t[8];
    if (argc > 1) {
        count = 0;
        for (int i = 1; i < argc && count < 8; i++) ns[count++] = (size_t)strtoull(argv[i], NULL, 10);
    }
    for (size_t i = 0; i < count; i++) t[i] = gc_drop(ns[i]);
    if (count >= 2)
        printf("{\"name\":\"gc_drop_scaling\",\"small\":%zu,\"large\":%zu,\"time_ratio\":%.2f,\"size_ratio\":%.2f}\n",
               ns[0], ns[count - 1], t[count - 1] / t[0], (double)ns[count - 1] / (double)ns[0]);
    deliveries(argc > 1 ? 1000 : 100000);
    return 0;
}
