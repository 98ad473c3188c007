/*
 * cleanup.c - kern_cleanup, the block-end clean-up (DESIGN.md §6.4): only
 * clean-up work, each category within its own budget, each piece in its own
 * crank:
 *   1. deletion of terminated vats (teardown.c), in cranks of at most
 *      CLEANUP_CRANK_UNITS units;
 *   2. BOYDs of the vats at the head of the dirty list (reap.c moves a vat
 *      that yielded garbage to the tail and drops one that found nothing);
 *   3. GC work: a GC delivery when an action waits (its krefs, negated ones
 *      included, count), otherwise maybe-free decisions, so actions decided
 *      earlier go out before more are decided.
 * Then it reports what is left in each category.
 */
#include "kernel/kernel_int.h"

#include <stdio.h>

#include "base/alloc.h"

#define CLEANUP_CRANK_UNITS 1000u

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static swing_status teardown(kern *k, uint64_t units, kern_cleanup_report *r, swing_err *err)
{
    swing_status s = SWING_OK;
    while (units > 0) {
        uint64_t used[KERN_PHASES] = {0}, spent = 0, n;
        bool vat_done;
        int phase;
        if ((s = kern_teardown_count(k, &n, &phase, err)) || n == 0) break;
        if ((s = kern_crank_begin(k, err))) break;
        if ((s = kern_teardown_step(k, min_u64(units, CLEANUP_CRANK_UNITS), used, &vat_done, err)))
            return kern_run_failed(k, s, err);
        if ((s = kern_crank_end(k, err))) break;
        r->cranks++;
        for (int i = 0; i < KERN_PHASES; i++) {
            r->units[i] += used[i];
            spent += used[i];
        }
        units -= min_u64(units, spent);
        if (vat_done) r->vats_deleted++;
        else if (spent == 0) break; /* nothing could be done */
    }
    return s;
}

static swing_status boyds(kern *k, uint64_t count, kern_cleanup_report *r, swing_err *err)
{
    swing_status s = SWING_OK;
    for (uint64_t i = 0; i < count; i++) {
        char vat[KERN_ID_MAX], ev[KERN_REAP_EVENT_MAX];
        bool found;
        kern_vat_io io;
        kern_crank_info info;
        if ((s = kern_reap_dirty_head(k, vat, &found, err)) || !found) break;
        if ((s = kern_reap_event(k, vat, ev, err))) break;
        memset(&info, 0, sizeof info);
        if ((s = kern_crank_begin(k, err))) break;
        if ((s = kern_deliver_event(k, ev, &io, &info, err))) return kern_run_failed(k, s, err);
        if ((s = kern_run_finish(k, &io, NULL, &info, err))) break;
        r->cranks++;
        r->boyds++;
        r->computrons += info.computrons;
    }
    return s;
}

static swing_status gc_work(kern *k, uint64_t krefs, kern_cleanup_report *r, swing_err *err)
{
    swing_status s = SWING_OK;
    while (krefs > 0) {
        kern_gc_batch b;
        bool any, pending;
        size_t n = 0;
        if ((s = kern_crank_begin(k, err))) break;
        if ((s = kern_gc_next_batch(k, (size_t)min_u64(krefs, SIZE_MAX), &b, &any, err)))
            return kern_run_failed(k, s, err);
        if (any) {
            kern_vat_io io;
            kern_crank_info info;
            size_t used = b.examined > b.n ? b.examined : b.n;
            memset(&info, 0, sizeof info);
            memset(&io, 0, sizeof io);
            if (b.n > 0) s = kern_deliver_gc(k, &b, &io, &info, err);
            n = b.n;
            kern_gc_batch_free(&b);
            if (s) return kern_run_failed(k, s, err);
            s = n > 0 ? kern_run_finish(k, &io, NULL, &info, err) : kern_crank_end(k, err);
            if (s) break;
            r->cranks++;
            r->gc_krefs += used;
            r->computrons += info.computrons;
            if (n > 0) r->gc_deliveries++;
            krefs -= min_u64(krefs, used);
            continue;
        }
        if ((s = kern_gc_pending(k, &pending, err))) return kern_run_failed(k, s, err);
        if (!pending) {
            s = kern_crank_abort(k, err); /* nothing was written */
            break;
        }
        if ((s = kern_gc_process_chunk(k, (size_t)min_u64(krefs, KERN_MAYBE_FREE_CHUNK), &n, err)))
            return kern_run_failed(k, s, err);
        if ((s = kern_crank_end(k, err))) break;
        r->cranks++;
        r->gc_krefs += n;
        krefs -= min_u64(krefs, n ? n : 1);
    }
    return s;
}

static swing_status report_left(kern *k, kern_cleanup_report *r, swing_err *err)
{
    uint64_t f, a;
    char(*vats)[KERN_ID_MAX] = NULL;
    size_t n;
    swing_status s = kern_gc_left(k, &f, &a, err);
    if (s) return s;
    r->gc_krefs_left = f + a;
    if ((s = kern_reap_dirty_list(k, &vats, &n, err))) return s;
    swing_mfree(vats);
    r->dirty_vats = n;
    return kern_teardown_count(k, &r->terminated_vats, &r->phase, err);
}

swing_status kern_cleanup(kern *k, const kern_cleanup_budget *b, kern_cleanup_report *out, swing_err *err)
{
    kern_cleanup_report r;
    swing_status s = kern_panicked(k, err);
    memset(&r, 0, sizeof r);
    r.phase = -1;
    if (!s) s = teardown(k, b->units, &r, err);
    if (!s) s = boyds(k, b->boyds, &r, err);
    if (!s) s = gc_work(k, b->gc_krefs, &r, err);
    if (!s) s = report_left(k, &r, err);
    if (out) *out = r;
    return s;
}

swing_status kern_dirty_vats(kern *k, char (**vats)[24], size_t *n, swing_err *err)
{
    return kern_reap_dirty_list(k, (char(**)[KERN_ID_MAX])vats, n, err);
}
