/*
 * crank.c - kernel crank framing over store cranks: a crank's maybe-free
 * candidates are flushed and crankNumber advances at its end; an abort
 * discards both with the crank's writes (and the crank's entries in the
 * termination log). Also the sticky kernel panic.
 */
#include "kernel/kernel_int.h"

#include <stdarg.h>
#include <stdio.h>

swing_status kern_crank_begin(kern *k, swing_err *err)
{
    swing_status s = kern_panicked(k, err);
    if (s || (s = store_crank_begin(k->st, err))) return s;
    store_overlay_clear(&k->maybe_free);
    k->gc_delta_free = k->gc_delta_actions = 0;
    k->nalive = 0;
    k->in_crank = true;
    return SWING_OK;
}

swing_status kern_crank_end(kern *k, swing_err *err)
{
    uint64_t n;
    bool found;
    swing_status s = kern_gc_flush(k, err);
    if (s == SWING_OK) s = kern_kv_getu(k, &n, &found, err, "crankNumber");
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
    kern_term_crank_end(k);
    return SWING_OK;
}

swing_status kern_crank_abort(kern *k, swing_err *err)
{
    store_overlay_clear(&k->maybe_free);
    k->gc_delta_free = k->gc_delta_actions = 0;
    k->gc_hint[0] = '\0'; /* rolled-back deletions are live again */
    k->gc_hint_incl = false;
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
