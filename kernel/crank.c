/*
 * crank.c - kernel crank framing over store cranks: a crank's maybe-free
 * candidates are flushed and crankNumber advances at its end; an abort
 * discards both with the crank's writes (and the crank's entries in the
 * termination log). The end of a delivery crank: a vat that failed is
 * handled here (the crank rolls back, a new crank terminates the vat and
 * disposes of the event: a send splats, a notify drops its hold), an exit
 * terminates it. Also the sticky kernel panic.
 */
#include "kernel/kernel_int.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/alloc.h"

swing_status kern_crank_begin(kern *k, swing_err *err)
{
    swing_status s = kern_panicked(k, err);
    if (s || (s = store_crank_begin(k->st, err))) return s;
    store_overlay_clear(&k->maybe_free);
    k->gc_delta_free = k->gc_delta_actions = 0;
    k->in_crank = true;
    return SWING_OK;
}

swing_status kern_crank_end(kern *k, swing_err *err)
{
    uint64_t n = k->crank_number;
    bool found;
    swing_status s = kern_gc_flush(k, err);
    /* Only this function writes crankNumber: its RAM copy is read once. */
    if (s == SWING_OK && !k->crank_number_known) s = kern_kv_getu(k, &n, &found, err, "crankNumber");
    if (s == SWING_OK) s = kern_kv_setu(k, n + 1, err, "crankNumber");
    if (s) {
        kern_crank_abort(k, NULL);
        return s;
    }
    k->in_crank = false;
    if ((s = store_crank_end(k->st, err))) {
        kern_term_crank_abort(k);
        return s;
    }
    k->crank_number = n + 1;
    k->crank_number_known = true;
    kern_term_crank_end(k);
    return SWING_OK;
}

swing_status kern_crank_abort(kern *k, swing_err *err)
{
    store_overlay_clear(&k->maybe_free);
    k->gc_delta_free = k->gc_delta_actions = 0;
    k->gc_hint[0] = '\0'; /* rolled-back deletions are live again */
    k->gc_hint_incl = false;
    k->gc_groups_known = false; /* the same for the groups' marks */
    k->nalive = 0;
    k->nopts = 0;
    k->in_crank = false;
    kern_term_crank_abort(k);
    return store_in_crank(k->st) ? store_crank_abort(k->st, err) : SWING_OK;
}

swing_status kern_crank_panic(kern *k, swing_err *err, const char *fmt, ...)
{
    va_list ap;
    if (k->panic.code == SWING_OK) {
        char msg[SWING_ERR_MSG_MAX];
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        swing_err_set(&k->panic, SWING_ERR_PANIC, "kernel panic: %s", msg);
    }
    if (err) *err = k->panic;
    return SWING_ERR_PANIC;
}

swing_status kern_panicked(const kern *k, swing_err *err)
{
    if (k->panic.code == SWING_OK) return SWING_OK;
    if (err) *err = k->panic;
    return k->panic.code;
}

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

swing_status kern_crank_finish(kern *k, kern_vat_io *io, const char *queue, kern_crank_info *info,
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

swing_status kern_crank_failed(kern *k, swing_status s, swing_err *err)
{
    kern_crank_abort(k, NULL);
    if (s == SWING_ERR_PANIC) return s;
    return kern_crank_panic(k, err, "%s", err ? err->msg : swing_status_name(s));
}
