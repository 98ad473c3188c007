/*
 * vom_world.h - what the virtual-object benchmarks (issue 14) share: a
 * kernel over a scratch store whose Lua runtime is wrapped, so that the
 * benchmark sees each Lua worker (its heap, ls_lua_vat_memory) and counts
 * the syscalls and computrons of every delivery; a store write observer
 * (kv writes, the largest vatstore value written); runs that commit a
 * block each; and scans (kv key counts, the largest value under a prefix,
 * the largest item of a vat's transcript). Static inline functions: include once per program.
 * Benchmarks only: every failure exits through bench_die.
 */
#ifndef LIBSWING_TESTS_BENCH_VOM_WORLD_H
#define LIBSWING_TESTS_BENCH_VOM_WORLD_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "liveslots/lua/runtime.h"
#include "liveslots/lua/vat.h"
#include "store/store.h"
#include "tests/bench/bench.h"
#include "tests/lib/scratch.h"

#define VW_MAX_WORKERS 16

typedef struct vw_world vw_world;

/* A Lua worker as the kernel holds it: the real one inside. */
typedef struct vw_worker {
    vw_world *w;
    char vat_id[24];          /* vNN */
    void *inner;              /* the ls_lua_vat */
    const vp_worker_ops *ops; /* its ops (ls_lua_vat_ops) */
} vw_worker;

/* The channel a wrapped worker sees during one delivery. */
typedef struct vw_channel {
    vp_channel base;   /* first member: what the worker is given */
    vp_channel *inner; /* the kernel's channel, which every syscall goes to */
    uint64_t syscalls; /* made so far in this delivery */
} vw_channel;

/* Called after each delivery to a Lua worker. */
typedef void (*vw_delivery_hook)(void *ctx, const char *vat_id, const vp_delivery *d,
                                 const vp_delivery_result *r, uint64_t syscalls);

struct vw_world {
    const char *prog;       /* for messages */
    char *dir;              /* scratch directory of the store */
    store *st;
    kern *k;
    uint64_t height;        /* last committed block */
    vp_runtime lua;         /* the Lua runtime */
    vp_runtime rt;          /* lua, wrapped (what the kernel is given) */
    vw_worker *workers[VW_MAX_WORKERS]; /* live workers, NULL-padded */
    vw_delivery_hook hook;  /* may be NULL */
    void *hook_ctx;
    char failed[300];       /* the first failed delivery's message, "" if none */
    uint64_t writes;        /* kv writes seen by the observer */
    size_t max_vs_write;    /* largest value written under vNN.vs. */
};

static inline void vw_die(const vw_world *w, const char *what, const swing_err *e)
{
    bench_die(w->prog, what, e);
}

/* ===== the wrapped runtime ===== */

static inline swing_status vw_syscall(vp_channel *ch, const vp_syscall *sc, vp_syscall_result *res)
{
    vw_channel *c = (vw_channel *)ch;
    c->syscalls++;
    return vp_channel_syscall(c->inner, sc, res);
}

static inline swing_status vw_deliver(void *self, vp_channel *ch, const vp_delivery *d, vp_delivery_result *r)
{
    vw_worker *x = self;
    vw_channel c;
    swing_status s;
    c.base.syscall = vw_syscall;
    c.base.vat_id = ch->vat_id;
    c.inner = ch;
    c.syscalls = 0;
    s = x->ops->deliver(x->inner, &c.base, d, r);
    if ((s != SWING_OK || !r->ok) && !x->w->failed[0])
        snprintf(x->w->failed, sizeof x->w->failed, "%s: %s", x->vat_id, s != SWING_OK ? "worker failure" : r->message);
    if (x->w->hook) x->w->hook(x->w->hook_ctx, x->vat_id, d, r, c.syscalls);
    return s;
}

static inline void vw_destroy(void *self)
{
    vw_worker *x = self;
    for (size_t i = 0; i < VW_MAX_WORKERS; i++)
        if (x->w->workers[i] == x) x->w->workers[i] = NULL;
    x->ops->destroy(x->inner);
    free(x);
}

static const vp_worker_ops VW_OPS = {vw_deliver, vw_destroy};

static inline swing_status vw_check(void *user, swing_bytes code, swing_err *err)
{
    vw_world *w = user;
    return w->lua.check(w->lua.user, code, err);
}

static inline swing_status vw_create(void *user, const char *vat_id, swing_bytes code, const vp_worker_limits *lim,
                              void **self, const vp_worker_ops **ops, swing_err *err)
{
    vw_world *w = user;
    vw_worker *x;
    size_t slot = 0;
    swing_status s;
    while (slot < VW_MAX_WORKERS && w->workers[slot]) slot++;
    if (slot == VW_MAX_WORKERS) return swing_err_set(err, SWING_ERR_LIMIT, "vom_world: too many workers");
    if (!(x = calloc(1, sizeof *x))) return SWING_NOMEM(err);
    if ((s = w->lua.create(w->lua.user, vat_id, code, lim, &x->inner, &x->ops, err))) {
        free(x);
        return s;
    }
    x->w = w;
    snprintf(x->vat_id, sizeof x->vat_id, "%s", vat_id);
    w->workers[slot] = x;
    *self = x;
    *ops = &VW_OPS;
    return SWING_OK;
}

/* ===== the store observer ===== */

static inline void vw_observe(void *ctx, swing_bytes key, size_t vlen, bool deleted)
{
    vw_world *w = ctx;
    const char *k = (const char *)key.ptr, *dot;
    w->writes++;
    if (deleted) return;
    if (key.len > 4 && k[0] == 'v' && (dot = memchr(k, '.', key.len)) &&
               (size_t)(k + key.len - dot) > 4 && memcmp(dot, ".vs.", 4) == 0) {
        if (vlen > w->max_vs_write) w->max_vs_write = vlen;
    }
}

/* ===== open, run, close ===== */

/* A fresh store (not synced: the virtual object manager is what is
 * measured) and a kernel with the wrapped Lua runtime. */
static inline void vw_open(vw_world *w, const char *prog)
{
    store_options so = store_options_default();
    kern_options ko = {NULL, 0, 0, NULL, 1};
    swing_err e;
    memset(w, 0, sizeof *w);
    w->prog = prog;
    ls_lua_runtime(&w->lua);
    w->rt.name = w->lua.name;
    w->rt.check = vw_check;
    w->rt.create = vw_create;
    w->rt.user = w;
    ko.runtimes = &w->rt;
    if (!(w->dir = scratch_dir("vombench"))) vw_die(w, "cannot create a scratch directory", NULL);
    so.sync = false;
    so.observer = vw_observe;
    so.observer_ctx = w;
    if (store_open(w->dir, &so, &w->st, &e)) vw_die(w, "store_open", &e);
    if (kern_open(w->st, &ko, &w->k, &e)) vw_die(w, "kern_open", &e);
}

static inline void vw_close(vw_world *w)
{
    kern_close(w->k);
    store_close(w->st);
    scratch_remove(w->dir);
    w->dir = NULL;
}

static inline void vw_install(vw_world *w, const char *src, char id[STORE_BUNDLE_ID_LEN + 1])
{
    swing_err e;
    if (kern_install_bundle(w->k, src, strlen(src), id, &e)) vw_die(w, "install", &e);
}

static inline void vw_commit(vw_world *w)
{
    swing_err e;
    if (store_commit(w->st, ++w->height, NULL, &e)) vw_die(w, "commit", &e);
}

/* Runs to quiescence (GC included) and commits a block; a failed delivery
 * ends the program. */
static inline void vw_run(vw_world *w)
{
    swing_err e;
    if (kern_run(w->k, NULL, NULL, NULL, &e)) vw_die(w, "run", &e);
    vw_commit(w);
    if (w->failed[0]) {
        swing_err_set(&e, SWING_ERR_VAT, "%s", w->failed);
        vw_die(w, "a delivery failed", &e);
    }
}

static inline void vw_init(vw_world *w, const char *config)
{
    swing_err e;
    if (kern_init(w->k, config, strlen(config), &e)) vw_die(w, "kern_init", &e);
    vw_run(w);
}

/* Sends method(args) to a vat's root and runs to quiescence; out gets the
 * result body (a rejection ends the program). */
static inline void vw_ask(vw_world *w, const char *vat, const char *method, const char *args, char *out, size_t cap)
{
    char kpid[24];
    kern_promise_state st;
    swing_buf body = {0};
    swing_err e;
    if (kern_queue_to_vat(w->k, vat, method, args, kpid, &e)) vw_die(w, method, &e);
    vw_run(w);
    if (kern_promise_status(w->k, kpid, &st, &body, &e)) vw_die(w, "promise status", &e);
    if (st != KERN_PROMISE_FULFILLED) {
        swing_err_set(&e, SWING_ERR_USER, "%s: %.*s", st == KERN_PROMISE_REJECTED ? "rejected" : "unresolved",
                      (int)body.len, body.ptr ? (const char *)body.ptr : "");
        vw_die(w, method, &e);
    }
    snprintf(out, cap, "%.*s", (int)body.len, body.ptr ? (const char *)body.ptr : "");
    swing_buf_free(&body);
    if (kern_release(w->k, kpid, &e)) vw_die(w, "release", &e);
}

/* Schedules bringOutYourDead (budget 0: no limit) and runs it. */
static inline void vw_boyd(vw_world *w, const char *vat, uint64_t budget)
{
    swing_err e;
    if (kern_bring_out_your_dead(w->k, vat, budget, &e)) vw_die(w, "boyd", &e);
    vw_run(w);
}

/* ===== looking at vats and the kv ===== */

static inline void vw_vat_id(vw_world *w, const char *name, char id[24])
{
    bool found;
    swing_err e;
    if (kern_vat_id(w->k, name, id, &found, &e)) vw_die(w, "vat id", &e);
    if (!found) vw_die(w, name, NULL);
}

/* The Lua heap of a named vat's worker now (0 if it has none). */
static inline size_t vw_heap(vw_world *w, const char *name)
{
    char id[24];
    vw_vat_id(w, name, id);
    for (size_t i = 0; i < VW_MAX_WORKERS; i++)
        if (w->workers[i] && strcmp(w->workers[i]->vat_id, id) == 0)
            return ls_lua_vat_memory(w->workers[i]->inner);
    return 0;
}

/* Keys under prefix; *max_value (may be NULL) gets the largest value. */
static inline size_t vw_scan(vw_world *w, const char *prefix, size_t *max_value)
{
    store_iter *it;
    size_t n = 0, max = 0;
    bool valid;
    swing_bytes k, v;
    swing_err e;
    if (store_iter_create(w->st, swing_str(prefix), &it, &e)) vw_die(w, "iter", &e);
    for (;;) {
        if (store_iter_next(it, &k, &v, &valid, &e)) vw_die(w, "iter next", &e);
        if (!valid) break;
        n++;
        if (v.len > max) max = v.len;
    }
    store_iter_destroy(it);
    if (max_value) *max_value = max;
    return n;
}

static inline swing_status vw_item_size(void *ctx, uint64_t pos, swing_bytes item, swing_err *err)
{
    size_t *max = ctx;
    (void)pos;
    (void)err;
    if (item.len > *max) *max = item.len;
    return SWING_OK;
}

/* The largest item of a named vat's current transcript span. */
static inline size_t vw_max_transcript_item(vw_world *w, const char *name)
{
    char id[24];
    store_span sp;
    bool found;
    size_t max = 0;
    swing_err e;
    vw_vat_id(w, name, id);
    if (store_transcript_current(w->st, id, &sp, &found, &e)) vw_die(w, "transcript span", &e);
    if (found && store_transcript_read(w->st, id, sp.start, sp.end, vw_item_size, &max, &e))
        vw_die(w, "transcript read", &e);
    return max;
}

#endif /* LIBSWING_TESTS_BENCH_VOM_WORLD_H */
