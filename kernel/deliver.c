/*
 * deliver.c - delivery cranks (reference/kernel-gc.md §2.5, §2.7, §2.9):
 * message, notify, startVat and GC deliveries; translation into the vat's
 * vrefs ("break before make" for queued refs), the call into the worker, and
 * what the crank reports. Failure handling (rollback, termination) is in
 * run.c; this file only reports that the vat failed.
 */
#include "kernel/kernel_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/vec.h"
#include "kernel/transcript.h"


/* Marks the delivery failed with kind and a formatted reason. */
static void fail(kern_vat_io *io, kern_term_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(kern_vat_io *io, kern_term_kind kind, const char *fmt, ...)
{
    va_list ap;
    io->failed = true;
    io->kind = kind;
    va_start(ap, fmt);
    vsnprintf(io->why, sizeof io->why, fmt, ap);
    va_end(ap);
}

/* A worker that could not be built, for a reason of the vat's own: its code
 * ran out of compute or memory, or failed to load, or its transcript no
 * longer replays. */
static void worker_failed(kern_vat_io *io, swing_status s, const swing_err *e)
{
    const char *m = e->msg[0] ? e->msg : swing_status_name(s);
    if (s == KERN_ERR_REPLAY) fail(io, KERN_TERM_TRANSCRIPT_MISMATCH, "%.250s", m);
    else if (SWING_STATUS_PRIMARY(s) == SWING_ERR_LIMIT && VP_FAIL_OF(s) == VP_FAIL_COMPUTE)
        fail(io, KERN_TERM_COMPUTE_LIMIT, "%.250s", m);
    else if (SWING_STATUS_PRIMARY(s) == SWING_ERR_LIMIT && VP_FAIL_OF(s) == VP_FAIL_MEMORY)
        fail(io, KERN_TERM_MEMORY_LIMIT, "%.250s", m);
    else fail(io, KERN_TERM_LOAD_FAILED, "its code failed to load: %.220s", m);
}

/* A failed delivery result: its kind from the worker, startVat's errors
 * being buildRootObject's. */
static void result_failed(kern_vat_io *io, const vp_delivery *d, const vp_delivery_result *r)
{
    const char *m = r->message[0] ? r->message : "delivery failed";
    switch (r->fail) {
    case VP_FAIL_COMPUTE: fail(io, KERN_TERM_COMPUTE_LIMIT, "%.250s", m); return;
    case VP_FAIL_MEMORY: fail(io, KERN_TERM_MEMORY_LIMIT, "%.250s", m); return;
    case VP_FAIL_FORBIDDEN: fail(io, KERN_TERM_FORBIDDEN, "%.250s", m); return;
    case VP_FAIL_ERROR: break;
    }
    if (d->type == VP_D_START_VAT) fail(io, KERN_TERM_START_FAILED, "buildRootObject failed: %.220s", m);
    else fail(io, KERN_TERM_DELIVERY_FAILED, "%.250s", m);
}

/* Bounded replay: a vat whose current span reached its restartAfter gets a
 * restart queued (upgrade.c). Bundle vats only: they are the ones that
 * replay. */
static swing_status restart_if_due(kern *k, const char *vat, swing_err *err)
{
    const kern_vat_flags *f;
    swing_status s = kern_vats_flags(k, vat, &f, err);
    if (s || f->restart_after == 0 || !f->transcript) return s;
    return kern_upgrade_restart_due(k, vat, f->restart_after, err);
}

/* Calls the worker; a failed syscall, a failed result or an exit mark the
 * crank info; kernel errors inside syscalls come back as the status. */
static swing_status call_worker(kern *k, kern_vat_io *io, const vp_delivery *d,
                                kern_crank_info *info, swing_err *err)
{
    kern_worker *w;
    vp_delivery_result r;
    bool transcript = false;
    swing_err we;
    swing_status s = kern_vats_pipelining(k, io->vat, &io->pipelining, err);
    snprintf(info->vat_id, sizeof info->vat_id, "%s", io->vat);
    if (s) return s;
    swing_err_clear(&we);
    s = kern_vats_worker(k, io->vat, &w, &we);
    if (s) {
        swing_status p = SWING_STATUS_PRIMARY(s);
        if (p == SWING_ERR_NOMEM || p == SWING_ERR_IO || p == SWING_ERR_CORRUPT || p == SWING_ERR_INTERNAL ||
            p == SWING_ERR_PANIC) {
            if (err) *err = we;
            return s;
        }
        worker_failed(io, s, &we); /* the vat fails */
        info->vat_failed = true;
        return SWING_OK;
    }
    if ((s = kern_vats_uses_transcript(k, io->vat, &transcript, err))) return s;
    if (transcript && (s = kern_transcript_begin(io, d, err))) return s;
    memset(&r, 0, sizeof r);
    r.ok = true;
    s = w->ops->deliver(w->self, &io->ch, d, &r);
    info->computrons = r.computrons;
    info->syscalls += io->syscalls;
    if (io->fatal.code != SWING_OK) {
        kern_transcript_discard(io);
        if (err) *err = io->fatal;
        return io->fatal.code;
    }
    if (s != SWING_OK && !io->failed) fail(io, KERN_TERM_DELIVERY_FAILED, "worker failed: %s", swing_status_name(s));
    else if (!r.ok && !io->failed) result_failed(io, d, &r);
    if (io->exited && io->exit_failure && !io->failed)
        fail(io, KERN_TERM_EXIT_FAILURE, "exited with failure: %s", io->exit_info);
    info->vat_failed = io->failed;
    if (io->failed) {
        kern_transcript_discard(io);
        return SWING_OK;
    }
    if ((s = kern_transcript_commit(k, io, err))) {
        if (SWING_STATUS_PRIMARY(s) != SWING_ERR_LIMIT) return s;
        /* The delivery did more than one transcript item can hold: the
         * vat's doing, so the vat fails (the crank rolls back), not the kernel. */
        fail(io, KERN_TERM_DELIVERY_FAILED, "transcript item too large: the delivery did too much");
        info->vat_failed = true;
        return SWING_OK;
    }
    /* Dirt (reap.c): a BOYD settles it; changeVatOptions adds none. */
    if (d->type == VP_D_BRING_OUT_YOUR_DEAD) {
        const kern_vat_flags *f;
        if ((s = kern_vats_flags(k, io->vat, &f, err))) return s;
        if (f->wind_down) {
            info->wind_down = true;
            info->wind_down_items = r.units;
            info->wind_down_left = r.left;
            info->wind_down_counting = r.counting;
            if ((s = kern_winddown_progress(k, io->vat, r.units, r.left, err))) return s;
        }
        return kern_reap_done(k, io->vat, io->gc_vrefs > 0 || r.more, err);
    }
    if (d->type == VP_D_CHANGE_VAT_OPTIONS) return SWING_OK;
    s = kern_reap_add_dirt(k, io->vat, d->type == VP_D_DROP_EXPORTS || d->type == VP_D_RETIRE_EXPORTS ||
                                           d->type == VP_D_RETIRE_IMPORTS ? d->nvrefs : 0,
                           r.computrons, err);
    return s ? s : restart_if_due(k, io->vat, err);
}

static swing_status deliver_message(kern *k, const char *vat, const char *target, const json_t *msg,
                                    kern_vat_io *io, kern_crank_info *info, swing_err *err)
{
    const char *result = json_string_value(json_object_get(msg, "result"));
    char tv[KERN_VREF_MAX], rv[KERN_VREF_MAX];
    kern_cd ma, vma;
    vp_delivery d;
    swing_status s = kern_cd_from_json(json_object_get(msg, "methargs"), &ma, err);
    if (s) return s;
    memset(&vma, 0, sizeof vma);
    /* Break before make: the queue's holds go, the c-list brings its own. */
    s = kern_refs_decref(k, target, err);
    if (!s) s = kern_refs_decref_cd(k, kern_cd_view(&ma), err);
    if (!s && result) s = kern_kp_decref(k, result, err);
    if (!s) s = kern_tr_k2v(k, vat, target, tv, err);
    if (!s) s = kern_tr_cd_k2v(k, vat, kern_cd_view(&ma), &vma, err);
    if (!s && result) {
        kern_promise_state st;
        char decider[KERN_ID_MAX];
        s = kern_kp_state(k, result, &st, decider, err);
        if (!s && (st != KERN_PROMISE_UNRESOLVED || decider[0]))
            s = swing_err_set(err, SWING_ERR_INTERNAL, "result %s is not kernel-decided", result);
        if (!s) s = kern_kp_set_decider(k, result, vat, err);
        if (!s) s = kern_tr_k2v(k, vat, result, rv, err);
        if (!s && io->pipelining) s = kern_kp_requeue(k, result, err);
    }
    if (!s) {
        memset(&d, 0, sizeof d);
        d.type = VP_D_MESSAGE;
        d.target = tv;
        d.methargs = kern_cd_view(&vma);
        d.result = result ? rv : NULL;
        s = call_worker(k, io, &d, info, err);
    }
    kern_cd_free(&ma);
    kern_cd_free(&vma);
    return s;
}

static swing_status deliver_send(kern *k, json_t *ev, kern_vat_io *io, kern_crank_info *info,
                                 swing_err *err)
{
    const char *target = json_string_value(json_object_get(ev, "target"));
    json_t *msg = json_object_get(ev, "msg");
    kern_route r;
    swing_status s;
    if (!target || !msg) return SWING_CORRUPT(err, "bad send event");
    s = kern_route_target(k, target,
                          json_string_value(json_object_get(json_object_get(msg, "methargs"), "body")),
                          &r, err);
    if (s == SWING_OK && r.kind == KERN_ROUTE_DELIVER && strcmp(r.target, target) != 0) {
        /* Fulfilled since it was routed: follow to the object. */
        s = kern_refs_incref(k, r.target, err);
        if (s == SWING_OK) s = kern_refs_decref(k, target, err);
        target = r.target;
    }
    if (s == SWING_OK) {
        if (r.kind == KERN_ROUTE_DELIVER) {
            kern_syscall_io_init(io, k, r.vat);
            s = kern_vats_pipelining(k, r.vat, &io->pipelining, err);
            if (!s) s = deliver_message(k, r.vat, target, msg, io, info, err);
        } else if (r.kind == KERN_ROUTE_QUEUE) {
            char *m = kern_json_dump(msg);
            s = m ? kern_kp_enqueue(k, r.target, m, err) : SWING_NOMEM(err);
            free(m);
        } else {
            s = kern_route_splat(k, target, msg, kern_cd_view(&r.reject), err);
        }
    }
    kern_cd_free(&r.reject);
    return s;
}

/* kpid plus every settled promise reachable through resolution data. */
typedef struct kp_set {
    char (*v)[KERN_ID_MAX];
    kern_cd *data;
    bool *rejected;
    size_t n, capv, capdata, caprejected; /* one count, a capacity per array */
} kp_set;

static void kp_set_free(kp_set *ks)
{
    for (size_t i = 0; i < ks->n; i++) kern_cd_free(&ks->data[i]);
    swing_mfree(ks->v);
    swing_mfree(ks->data);
    swing_mfree(ks->rejected);
    memset(ks, 0, sizeof *ks);
}

static swing_status kp_collect(kern *k, const char *kpid, kp_set *ks, swing_err *err)
{
    kern_promise_state st;
    swing_status s;
    for (size_t i = 0; i < ks->n; i++)
        if (strcmp(ks->v[i], kpid) == 0) return SWING_OK;
    if ((s = kern_kp_state(k, kpid, &st, NULL, err))) return s;
    if (st != KERN_PROMISE_FULFILLED && st != KERN_PROMISE_REJECTED) return SWING_OK;
    if ((s = SWING_VEC_RESERVE(ks->v, ks->capv, ks->n + 1, 4, err)) ||
        (s = SWING_VEC_RESERVE(ks->data, ks->capdata, ks->n + 1, 4, err)) ||
        (s = SWING_VEC_RESERVE(ks->rejected, ks->caprejected, ks->n + 1, 4, err)))
        return s;
    snprintf(ks->v[ks->n], KERN_ID_MAX, "%s", kpid);
    ks->rejected[ks->n] = st == KERN_PROMISE_REJECTED;
    if ((s = kern_kp_data(k, kpid, &ks->data[ks->n], err))) return s;
    {
        size_t me = ks->n++;
        for (size_t i = 0; i < ks->data[me].nslots; i++) {
            if (!kern_ids_is_kpromise(ks->data[me].slots[i])) continue;
            if ((s = kp_collect(k, ks->data[me].slots[i], ks, err))) return s;
        }
    }
    return SWING_OK;
}

static swing_status deliver_notify(kern *k, json_t *ev, kern_vat_io *io, kern_crank_info *info,
                                   swing_err *err)
{
    const char *vat = json_string_value(json_object_get(ev, "vatID"));
    const char *kpid = json_string_value(json_object_get(ev, "kpid"));
    char vref[KERN_VREF_MAX];
    bool alive, reachable, found;
    kp_set ks = {0};
    kern_cd *vdata = NULL;
    vp_resolution *res = NULL;
    char (*vpids)[KERN_VREF_MAX] = NULL;
    swing_status s;
    if (!vat || !kpid) return SWING_CORRUPT(err, "bad notify event");
    s = kern_vats_alive(k, vat, &alive, err);
    if (!s && alive) s = kern_clist_vref(k, vat, kpid, vref, &reachable, &found, err);
    if (!s && alive && found) s = kp_collect(k, kpid, &ks, err);
    if (s || !alive || !found || ks.n == 0) {
        if (s == SWING_OK) s = kern_kp_decref(k, kpid, err); /* the event's hold */
        kp_set_free(&ks);
        return s;
    }
    vdata = swing_calloc(ks.n, sizeof *vdata);
    res = swing_calloc(ks.n, sizeof *res);
    vpids = swing_calloc(ks.n, sizeof *vpids);
    if (!vdata || !res || !vpids) s = SWING_NOMEM(err);
    for (size_t i = 0; !s && i < ks.n; i++) {
        s = kern_tr_k2v(k, vat, ks.v[i], vpids[i], err);
        if (!s) s = kern_tr_cd_k2v(k, vat, kern_cd_view(&ks.data[i]), &vdata[i], err);
        res[i].vpid = vpids[i];
        res[i].rejected = ks.rejected[i];
        res[i].data = kern_cd_view(&vdata[i]);
    }
    /* Vats forget promise IDs once notified. */
    for (size_t i = 0; !s && i < ks.n; i++) s = kern_clist_delete(k, vat, ks.v[i], err);
    if (!s) s = kern_kp_decref(k, kpid, err);
    if (!s) {
        vp_delivery d;
        memset(&d, 0, sizeof d);
        d.type = VP_D_NOTIFY;
        d.resolutions = res;
        d.nresolutions = ks.n;
        kern_syscall_io_init(io, k, vat);
        s = call_worker(k, io, &d, info, err);
    }
    for (size_t i = 0; vdata && i < ks.n; i++) kern_cd_free(&vdata[i]);
    swing_mfree(vdata);
    swing_mfree(res);
    swing_mfree(vpids);
    kp_set_free(&ks);
    return s;
}

static swing_status deliver_start_vat(kern *k, json_t *ev, kern_vat_io *io, kern_crank_info *info,
                                      swing_err *err)
{
    const char *vat = json_string_value(json_object_get(ev, "vatID"));
    if (!vat) return SWING_CORRUPT(err, "bad startVat event");
    return kern_deliver_start(k, vat, io, info, err);
}

swing_status kern_deliver_start(kern *k, const char *vat, kern_vat_io *io, kern_crank_info *info, swing_err *err)
{
    char *text = NULL;
    bool found, alive;
    json_t *j;
    kern_cd vp, vvp;
    swing_status s;
    if ((s = kern_vats_alive(k, vat, &alive, err)) || !alive) return s;
    if ((s = kern_kv_get(k, &text, &found, err, "%s.vatParameters", vat))) return s;
    j = found ? json_loads(text, 0, NULL) : NULL;
    swing_mfree(text);
    if (!j) return SWING_CORRUPT(err, "vat %s has no valid vatParameters", vat);
    s = kern_cd_from_json(j, &vp, err);
    json_decref(j);
    if (s) return s;
    s = kern_tr_cd_k2v(k, vat, kern_cd_view(&vp), &vvp, err);
    kern_cd_free(&vp);
    if (s) return s;
    {
        vp_delivery d;
        memset(&d, 0, sizeof d);
        d.type = VP_D_START_VAT;
        d.vat_parameters = kern_cd_view(&vvp);
        kern_syscall_io_init(io, k, vat);
        s = call_worker(k, io, &d, info, err);
    }
    kern_cd_free(&vvp);
    return s;
}

swing_status kern_deliver_boyd(kern *k, const char *vat, uint64_t budget, kern_vat_io *io,
                               kern_crank_info *info, swing_err *err)
{
    vp_delivery d;
    bool alive;
    swing_status s;
    if ((s = kern_vats_alive(k, vat, &alive, err))) return s;
    if (!alive) return kern_reap_forget(k, vat, err); /* never listed again */
    memset(&d, 0, sizeof d);
    d.type = VP_D_BRING_OUT_YOUR_DEAD;
    d.budget = budget;
    kern_syscall_io_init(io, k, vat);
    s = call_worker(k, io, &d, info, err);
    if (!s) info->kind = KERN_CRANK_BOYD;
    return s;
}

/* A reapQueue event {"budget", "type": "bringOutYourDead", "vatID"}. */
static swing_status deliver_boyd(kern *k, json_t *ev, kern_vat_io *io, kern_crank_info *info,
                                 swing_err *err)
{
    const char *vat = json_string_value(json_object_get(ev, "vatID"));
    json_t *b = json_object_get(ev, "budget");
    if (!vat || !json_is_integer(b) || json_integer_value(b) < 0) return SWING_CORRUPT(err, "bad BOYD event");
    return kern_deliver_boyd(k, vat, (uint64_t)json_integer_value(b), io, info, err);
}

/* Applies the options the kernel owns, then delivers them all to the vat. */
static swing_status deliver_change_options(kern *k, json_t *ev, kern_vat_io *io,
                                           kern_crank_info *info, swing_err *err)
{
    const char *vat = json_string_value(json_object_get(ev, "vatID"));
    json_t *opts = json_object_get(ev, "options"), *cur, *x;
    const char *key;
    char *text = NULL;
    bool alive, found;
    vp_delivery d;
    swing_status s;
    if (!vat || !json_is_object(opts)) return SWING_CORRUPT(err, "bad changeVatOptions event");
    if ((s = kern_vats_alive(k, vat, &alive, err)) || !alive) return s;
    if ((s = kern_kv_get(k, &text, &found, err, "%s.options", vat))) return s;
    cur = found ? json_loads(text, 0, NULL) : NULL;
    swing_mfree(text);
    if (!cur) return SWING_CORRUPT(err, "bad options of %s", vat);
    json_object_foreach(opts, key, x) {
        if ((strcmp(key, "reapDirtThreshold") == 0 || strcmp(key, "critical") == 0) &&
            json_object_set(cur, key, x)) {
            json_decref(cur);
            return SWING_NOMEM(err);
        }
    }
    text = kern_json_dump(cur);
    json_decref(cur);
    if (!text) return SWING_NOMEM(err);
    s = kern_kv_set(k, text, err, "%s.options", vat);
    free(text);
    k->nopts = 0; /* options changed */
    if (s || !(text = kern_json_dump(opts))) return s ? s : SWING_NOMEM(err);
    memset(&d, 0, sizeof d);
    d.type = VP_D_CHANGE_VAT_OPTIONS;
    d.options = text;
    kern_syscall_io_init(io, k, vat);
    s = call_worker(k, io, &d, info, err);
    free(text);
    return s;
}

swing_status kern_deliver_event(kern *k, const char *json, kern_vat_io *io, kern_crank_info *info,
                                swing_err *err)
{
    json_t *ev = json_loads(json, 0, NULL);
    const char *type = json_string_value(json_object_get(ev, "type"));
    swing_status s;
    info->kind = KERN_CRANK_EMPTY;
    kern_syscall_io_init(io, k, "");
    if (!type) s = SWING_CORRUPT(err, "bad run-queue event");
    else if (strcmp(type, "send") == 0) s = deliver_send(k, ev, io, info, err);
    else if (strcmp(type, "notify") == 0) s = deliver_notify(k, ev, io, info, err);
    else if (strcmp(type, "startVat") == 0) s = deliver_start_vat(k, ev, io, info, err);
    else if (strcmp(type, "bringOutYourDead") == 0) s = deliver_boyd(k, ev, io, info, err);
    else if (strcmp(type, "changeVatOptions") == 0) s = deliver_change_options(k, ev, io, info, err);
    else if (strcmp(type, "windDownVat") == 0) {
        io->crank_done = true;
        s = kern_winddown_run_event(k, json, info, err);
        json_decref(ev);
        return s;
    } else if (strcmp(type, "upgradeVat") == 0) {
        io->crank_done = true; /* the upgrade ends (or rolls back) its own crank */
        s = kern_upgrade_run_event(k, json, info, err);
        json_decref(ev);
        return s;
    }
    else s = SWING_CORRUPT(err, "unknown run-queue event %s", type);
    if (s == SWING_OK && info->vat_id[0] && info->kind != KERN_CRANK_BOYD) info->kind = KERN_CRANK_DELIVERY;
    json_decref(ev);
    return s;
}

swing_status kern_deliver_gc(kern *k, const kern_gc_batch *b, kern_vat_io *io,
                             kern_crank_info *info, swing_err *err)
{
    const char **ptrs = swing_calloc(b->n ? b->n : 1, sizeof *ptrs);
    swing_status s = ptrs ? SWING_OK : SWING_NOMEM(err);
    /* Entries were read when the batch was chosen, in this crank; batch krefs
     * are distinct. */
    for (size_t i = 0; !s && i < b->n; i++) {
        const char *kref = b->krefs[i], *vref = b->vrefs[i];
        ptrs[i] = vref;
        if (b->type == KERN_GC_DROP_EXPORT) {
            s = kern_clist_set_reachable_known(k, b->vat, kref, vref, b->flags[i], false, err);
        } else if (b->type == KERN_GC_RETIRE_EXPORT) {
            s = kern_obj_delete(k, kref, err);
            if (!s) s = kern_clist_forget_known(k, b->vat, kref, vref, err);
        } else {
            s = kern_clist_delete_known(k, b->vat, kref, vref, b->flags[i], err);
        }
    }
    if (!s) {
        vp_delivery d;
        memset(&d, 0, sizeof d);
        d.type = b->type == KERN_GC_DROP_EXPORT     ? VP_D_DROP_EXPORTS
                 : b->type == KERN_GC_RETIRE_EXPORT ? VP_D_RETIRE_EXPORTS
                                                    : VP_D_RETIRE_IMPORTS;
        d.vrefs = ptrs;
        d.nvrefs = b->n;
        kern_syscall_io_init(io, k, b->vat);
        s = call_worker(k, io, &d, info, err);
        info->kind = KERN_CRANK_GC_DELIVERY;
        info->gc_krefs = b->n;
    }
    swing_mfree(ptrs);
    return s;
}
