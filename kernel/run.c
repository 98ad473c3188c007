/*
 * run.c - the scheduler (DESIGN.md §6.4): each crank takes, in order, the
 * acceptance queue (routing), a maybe-free chunk (GC), a GC delivery, a
 * scheduled bringOutYourDead, then the run queue (KERN_RUN_NO_GC leaves the
 * two GC steps to kern_cleanup). A vat that fails is handled here: the crank rolls back, a
 * new crank terminates the vat and re-routes the event (a send then splats,
 * a notify drops its hold), and other vats go on.
 */
#include "kernel/kernel_int.h"

#include <stdio.h>

#include "base/alloc.h"

/* After a rolled-back delivery: terminate the vat, dispose of the event. */
static swing_status fail_event(kern *k, const char *queue, const char *vat, kern_term_kind kind,
                               const char *why, swing_err *err)
{
    char *json = NULL;
    swing_status s = kern_crank_begin(k, err);
    if (s) return s;
    if (queue) s = kern_queue_pop(k, queue, &json, err);
    if (!s) s = kern_vats_terminate(k, vat, kind, why, err);
    if (!s && json) {
        json_t *ev = json_loads(json, 0, NULL);
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (type && strcmp(type, "send") == 0) s = kern_route_event(k, json, err);
        else if (type && strcmp(type, "notify") == 0)
            s = kern_kp_decref(k, json_string_value(json_object_get(ev, "kpid")), err);
        json_decref(ev);
    }
    swing_mfree(json);
    if (s) {
        kern_crank_abort(k, NULL);
        return s;
    }
    return kern_crank_end(k, err);
}

/* Ends a delivery crank: rollback + termination on failure, exit handling. */
swing_status kern_run_finish(kern *k, kern_vat_io *io, const char *queue, kern_crank_info *info,
                             swing_err *err)
{
    swing_status s;
    if (io->failed) {
        char vat[KERN_ID_MAX], why[256];
        kern_term_kind kind = io->kind ? io->kind : KERN_TERM_DELIVERY_FAILED;
        snprintf(vat, sizeof vat, "%s", io->vat);
        snprintf(why, sizeof why, "%s", io->why);
        if ((s = kern_crank_abort(k, err))) return s;
        info->vat_failed = true;
        return fail_event(k, queue, vat, kind, why, err);
    }
    if (io->exited) {
        char why[sizeof io->exit_info + 16];
        snprintf(why, sizeof why, "exited: %s", io->exit_info);
        if ((s = kern_vats_terminate(k, io->vat, KERN_TERM_EXIT, why, err))) {
            kern_crank_abort(k, NULL);
            return s;
        }
    }
    return kern_crank_end(k, err);
}

/* A kernel error inside a crank: roll back and panic (the host must halt). */
swing_status kern_run_failed(kern *k, swing_status s, swing_err *err)
{
    kern_crank_abort(k, NULL);
    if (s == SWING_ERR_PANIC) return s;
    return kern_crank_panic(k, err, "%s", err ? err->msg : swing_status_name(s));
}

static swing_status step(kern *k, unsigned flags, kern_crank_info *info, bool *did, swing_err *err)
{
    char *json = NULL;
    bool pending, any;
    kern_gc_batch b;
    kern_vat_io io;
    swing_status s;
    memset(info, 0, sizeof *info);
    memset(&io, 0, sizeof io);
    *did = false;
    if ((s = kern_crank_begin(k, err))) return s;
    /* 1. acceptance queue: a routing crank */
    if ((s = kern_queue_pop(k, KERN_ACCEPTANCE, &json, err))) return kern_run_failed(k, s, err);
    if (json) {
        s = kern_route_event(k, json, err);
        swing_mfree(json);
        if (s) return kern_run_failed(k, s, err);
        *did = true;
        info->kind = KERN_CRANK_ROUTING;
        return kern_crank_end(k, err);
    }
    /* 2. a maybe-free chunk */
    pending = false;
    if (!(flags & KERN_RUN_NO_GC) && (s = kern_gc_pending(k, &pending, err))) return kern_run_failed(k, s, err);
    if (pending) {
        if ((s = kern_gc_process_chunk(k, 0, &info->gc_krefs, err))) return kern_run_failed(k, s, err);
        *did = true;
        info->kind = KERN_CRANK_GC;
        return kern_crank_end(k, err);
    }
    /* 3. a GC delivery */
    any = false;
    if (!(flags & KERN_RUN_NO_GC) && (s = kern_gc_next_batch(k, 0, &b, &any, err))) return kern_run_failed(k, s, err);
    if (any) {
        size_t n = b.n;
        *did = true;
        info->kind = KERN_CRANK_EMPTY; /* every action was negated */
        if (n > 0) s = kern_deliver_gc(k, &b, &io, info, err);
        kern_gc_batch_free(&b);
        if (s) return kern_run_failed(k, s, err);
        return n > 0 ? kern_run_finish(k, &io, NULL, info, err) : kern_crank_end(k, err);
    }
    /* 4. a scheduled bringOutYourDead */
    if ((s = kern_queue_pop(k, KERN_REAP, &json, err))) return kern_run_failed(k, s, err);
    if (json) {
        *did = true;
        s = kern_deliver_event(k, json, &io, info, err);
        swing_mfree(json);
        if (s) return kern_run_failed(k, s, err);
        return kern_run_finish(k, &io, KERN_REAP, info, err);
    }
    /* 5. the run queue */
    if ((s = kern_queue_pop(k, KERN_RUN, &json, err))) return kern_run_failed(k, s, err);
    if (!json) return kern_crank_abort(k, err); /* no work */
    *did = true;
    s = kern_deliver_event(k, json, &io, info, err);
    swing_mfree(json);
    if (s) return kern_run_failed(k, s, err);
    return kern_run_finish(k, &io, KERN_RUN, info, err);
}

swing_status kern_step(kern *k, kern_crank_info *info, bool *did, swing_err *err)
{
    return step(k, 0, info, did, err);
}

swing_status kern_run(kern *k, kern_policy_fn policy, void *ctx, uint64_t *cranks, swing_err *err)
{
    return kern_run_flags(k, 0, policy, ctx, cranks, err);
}

swing_status kern_run_flags(kern *k, unsigned flags, kern_policy_fn policy, void *ctx,
                            uint64_t *cranks, swing_err *err)
{
    uint64_t n = 0;
    swing_status s = SWING_OK;
    for (;;) {
        kern_crank_info info;
        bool did;
        if ((s = step(k, flags, &info, &did, err)) || !did) break;
        n++;
        if (policy && !policy(ctx, &info)) break;
    }
    if (cranks) *cranks = n;
    return s;
}
