/*
 * upgrade_run.c - the upgrade crank (reference/upgrade.md §3): one
 * upgradeVat run-queue event is one crank that
 *   1. delivers a final bringOutYourDead to the old incarnation (recorded
 *      in its span; kernel.reapBudget bounds it, the block's compute budget
 *      is not charged for it),
 *   2. rejects every promise the vat decides with the disconnection record
 *      {name:"vatUpgraded", upgradeMessage, incarnationNumber: old} (the
 *      vat's own c-list entry stays only if it subscribed, so the notify
 *      reaches the new incarnation),
 *   3. abandons every export but the root and durable objects (o+N, o+v...:
 *      owner and c-list entry go; holders' sends splat "vat terminated"),
 *   4. rolls the transcript over (a new span, incarnation + 1), records the
 *      new bundle and vatParameters (the new slots were held by the event
 *      before the old ones are released),
 *   5. delivers startVat(vatParameters) to a fresh worker of the new bundle.
 * If the BOYD or startVat fails (buildRootObject throws, a durable kind is
 * not defined again, a limit is hit, the vat exits), the crank rolls back
 * whole: a new crank only consumes the event and reports the failure, and
 * the vat goes on as it was (its worker is rebuilt by replay).
 */
#include "kernel/kernel_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"

typedef struct up_event {
    char vat[KERN_ID_MAX];
    char bundle[STORE_BUNDLE_ID_LEN + 1];
    char message[KERN_UPGRADE_MESSAGE_MAX + 1];
    char result[KERN_ID_MAX]; /* "" when none */
    uint64_t id;
    bool has_params;
    kern_cd params;
} up_event;

static swing_status parse_event(const char *json, up_event *e, swing_err *err)
{
    json_t *ev = json_loads(json, 0, NULL), *p;
    const char *vat = json_string_value(json_object_get(ev, "vatID"));
    const char *bundle = json_string_value(json_object_get(ev, "bundleID"));
    const char *msg = json_string_value(json_object_get(ev, "message"));
    const char *result = json_string_value(json_object_get(ev, "result"));
    swing_status s = SWING_OK;
    memset(e, 0, sizeof *e);
    if (!vat || !bundle || !msg || strlen(vat) >= KERN_ID_MAX || strlen(bundle) > STORE_BUNDLE_ID_LEN ||
        strlen(msg) > KERN_UPGRADE_MESSAGE_MAX || (result && strlen(result) >= KERN_ID_MAX) ||
        !json_is_integer(json_object_get(ev, "upgradeID")))
        s = SWING_CORRUPT(err, "bad upgradeVat event");
    if (!s) {
        snprintf(e->vat, sizeof e->vat, "%s", vat);
        snprintf(e->bundle, sizeof e->bundle, "%s", bundle);
        snprintf(e->message, sizeof e->message, "%s", msg);
        snprintf(e->result, sizeof e->result, "%s", result ? result : "");
        e->id = (uint64_t)json_integer_value(json_object_get(ev, "upgradeID"));
        p = json_object_get(ev, "vatParameters");
        e->has_params = p && !json_is_null(p);
        if (e->has_params) s = kern_cd_from_json(p, &e->params, err);
    }
    json_decref(ev);
    return s;
}

/* {incarnationNumber, name: "vatUpgraded", upgradeMessage} as capdata. */
static swing_status disconnection(const up_event *e, uint64_t old, kern_cd *out, swing_err *err)
{
    json_t *rec = json_pack("{sIssss}", "incarnationNumber", (json_int_t)old, "name", "vatUpgraded",
                            "upgradeMessage", e->message);
    swing_status s;
    memset(out, 0, sizeof *out);
    if (!rec) return SWING_NOMEM(err);
    s = kern_cd_plain(rec, &out->body, err);
    json_decref(rec);
    return s;
}

/* The vat's c-list keys under vNN.c.<tail>, without "vNN.c." (sorted,
 * collected before anything changes). */
static swing_status collect(kern *k, const char *vat, const char *tail, char (**v)[KERN_VREF_MAX], size_t *n,
                            swing_err *err)
{
    char prefix[KERN_ID_MAX + 8];
    size_t pl = (size_t)snprintf(prefix, sizeof prefix, "%s.c.", vat);
    snprintf(prefix + pl, sizeof prefix - pl, "%s", tail);
    return kern_kv_tails(k, prefix, pl, v, n, err);
}

/* Whether vat is among kpid's subscribers (a sorted comma-joined list). */
static swing_status subscribed(kern *k, const char *kpid, const char *vat, bool *yes, swing_err *err)
{
    char *v = NULL;
    bool found;
    size_t vl = strlen(vat);
    swing_status s = kern_kv_get(k, &v, &found, err, "%s.subscribers", kpid);
    *yes = false;
    for (const char *p = found ? v : NULL; !s && p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (strncmp(p, vat, vl) == 0 && (p[vl] == ',' || p[vl] == '\0')) *yes = true;
    swing_mfree(v);
    return s;
}

swing_status kern_upgrade_run_reject(kern *k, const char *vat, vp_capdata why, swing_err *err)
{
    char (*v)[KERN_VREF_MAX];
    size_t n;
    swing_status s = collect(k, vat, "kp", &v, &n, err);
    for (size_t i = 0; !s && i < n; i++) {
        kern_promise_state st;
        char decider[KERN_ID_MAX];
        bool sub;
        if ((s = kern_kp_state(k, v[i], &st, decider, err))) break;
        if (st != KERN_PROMISE_UNRESOLVED || strcmp(decider, vat) != 0) continue;
        if ((s = subscribed(k, v[i], vat, &sub, err))) break;
        if ((s = kern_kp_resolve(k, v[i], true, why, err))) break;
        if (!sub) s = kern_clist_delete(k, vat, v[i], err);
    }
    swing_mfree(v);
    return s;
}

/* Every export but the root and durable objects (o+d...) is abandoned. */
static swing_status abandon_exports(kern *k, const char *vat, swing_err *err)
{
    char (*v)[KERN_VREF_MAX];
    size_t n;
    swing_status s = collect(k, vat, "o+", &v, &n, err);
    for (size_t i = 0; !s && i < n; i++) {
        char kref[KERN_ID_MAX];
        bool found;
        if (strcmp(v[i], "o+0") == 0 || strncmp(v[i], "o+d", 3) == 0) continue;
        if ((s = kern_clist_kref(k, vat, v[i], kref, &found, err)) || !found) continue;
        s = kern_obj_orphan(k, kref, err);
    }
    swing_mfree(v);
    return s;
}

/* The new source and vatParameters (the event's hold on the new slots
 * becomes the retained copy's; the old copy's slots are released). */
static swing_status new_records(kern *k, const up_event *e, swing_err *err)
{
    json_t *src = json_pack("{ss}", "bundleID", e->bundle), *old_j;
    char *text = src ? kern_json_dump(src) : NULL, *old = NULL;
    bool found;
    kern_cd old_cd;
    swing_status s;
    json_decref(src);
    if (!text) return SWING_NOMEM(err);
    s = kern_kv_set(k, text, err, "%s.source", e->vat);
    free(text);
    if (s || !e->has_params) return s;
    if ((s = kern_kv_get(k, &old, &found, err, "%s.vatParameters", e->vat))) return s;
    old_j = found ? json_loads(old, 0, NULL) : NULL;
    swing_mfree(old);
    if (!old_j) return SWING_CORRUPT(err, "vat %s has no valid vatParameters", e->vat);
    s = kern_cd_from_json(old_j, &old_cd, err);
    json_decref(old_j);
    if (s) return s;
    src = kern_cd_to_json(kern_cd_view(&e->params));
    text = src ? kern_json_dump(src) : NULL;
    json_decref(src);
    s = text ? kern_kv_set(k, text, err, "%s.vatParameters", e->vat) : SWING_NOMEM(err);
    free(text);
    if (!s) s = kern_refs_decref_cd(k, kern_cd_view(&old_cd), err);
    kern_cd_free(&old_cd);
    return s;
}

/* A delivery of the upgrade failed: why, for the report. */
static bool delivery_failed(const kern_vat_io *io, const char *what, char *why, size_t cap)
{
    if (io->failed) snprintf(why, cap, "%s failed: %.180s", what, io->why);
    else if (io->exited) snprintf(why, cap, "the vat exited during %s", what);
    return io->failed || io->exited;
}

/* Steps 1-5 in the open crank; *why set (and nothing more done) when a
 * delivery failed. Kernel errors come back as the status. */
static swing_status perform(kern *k, const up_event *e, uint64_t old, kern_crank_info *info, char *why,
                            size_t cap, swing_err *err)
{
    kern_vat_io io;
    kern_cd rec;
    uint64_t budget;
    swing_status s = kern_reap_budget(k, &budget, err);
    memset(&io, 0, sizeof io);
    if (!s) s = kern_deliver_boyd(k, e->vat, budget, &io, info, err);
    if (s || delivery_failed(&io, "the final bringOutYourDead", why, cap)) return s;
    info->computrons = 0; /* the final BOYD is not charged to the block */
    if ((s = disconnection(e, old, &rec, err))) return s;
    s = kern_upgrade_run_reject(k, e->vat, kern_cd_view(&rec), err);
    kern_cd_free(&rec);
    if (!s) s = abandon_exports(k, e->vat, err);
    kern_vats_evict(k, e->vat);
    if (!s) s = store_transcript_rollover(k->st, e->vat, err);
    if (!s) s = new_records(k, e, err);
    if (s) return s;
    memset(&io, 0, sizeof io);
    if ((s = kern_deliver_start(k, e->vat, &io, info, err))) return s;
    delivery_failed(&io, "startVat", why, cap);
    return SWING_OK;
}

/* Consumes the event: the parameters' hold (kept as the retained copy on
 * success), the caller's answer, the vat's queued mark, the pending count. */
static swing_status consume(kern *k, const up_event *e, bool ok, uint64_t inc, const char *why, swing_err *err)
{
    uint64_t pending;
    bool has;
    swing_status s = SWING_OK;
    if (e->has_params && !ok) s = kern_refs_decref_cd(k, kern_cd_view(&e->params), err);
    if (!s && e->result[0]) {
        kern_cd data;
        char text[KERN_TERM_REASON_MAX + 64];
        memset(&data, 0, sizeof data);
        if (ok) {
            snprintf(text, sizeof text, "#{\"incarnationNumber\":%" PRIu64 "}", inc);
            data.body = text;
            s = kern_kp_resolve(k, e->result, false, kern_cd_view(&data), err);
        } else {
            snprintf(text, sizeof text, "vat-upgrade failure: %.200s", why);
            if (!(s = kern_cd_error(text, &data, err))) s = kern_kp_resolve(k, e->result, true, kern_cd_view(&data), err);
            kern_cd_free(&data);
        }
        if (!s) s = kern_kp_decref(k, e->result, err);
    }
    if (!s) s = kern_kv_has(k, &has, err, "%s.upgrading", e->vat);
    if (!s && has) s = kern_kv_del(k, err, "%s.upgrading", e->vat);
    if (!s) s = kern_upgrade_pending_count(k, &pending, err);
    if (!s) s = pending > 1 ? kern_kv_setu(k, pending - 1, err, "kernel.upgrades.pending")
                            : kern_kv_del(k, err, "kernel.upgrades.pending");
    return s;
}

/* Ends the crank and logs the result once it is committed to the block. */
static swing_status finish(kern *k, const up_event *e, bool ok, uint64_t inc, const char *why, swing_err *err)
{
    kern_upgrade_result r;
    swing_status s = consume(k, e, ok, inc, why, err);
    if (s) return kern_crank_failed(k, s, err);
    if ((s = kern_crank_end(k, err))) return s;
    memset(&r, 0, sizeof r);
    r.upgrade_id = e->id;
    snprintf(r.vat_id, sizeof r.vat_id, "%s", e->vat);
    if ((s = kern_term_name_of(k, e->vat, r.name, err))) return s;
    r.ok = ok;
    r.incarnation = inc;
    kern_term_clip(why, r.reason, sizeof r.reason);
    return kern_upgrade_log(k, &r, err);
}

swing_status kern_upgrade_run_event(kern *k, const char *json, kern_crank_info *info, swing_err *err)
{
    up_event e;
    bool alive;
    uint64_t old = 0;
    char why[256] = "";
    swing_status s = parse_event(json, &e, err);
    info->kind = KERN_CRANK_UPGRADE;
    snprintf(info->vat_id, sizeof info->vat_id, "%s", e.vat);
    if (!s) s = kern_vats_alive(k, e.vat, &alive, err);
    if (!s && !alive) snprintf(why, sizeof why, "the vat was terminated first");
    if (!s && alive) s = kern_upgrade_incarnation(k, e.vat, &old, err);
    if (!s && alive) s = perform(k, &e, old, info, why, sizeof why, err);
    info->kind = KERN_CRANK_UPGRADE;
    if (s) {
        kern_cd_free(&e.params);
        return kern_crank_failed(k, s, err);
    }
    if (why[0] && alive) { /* roll back everything; the vat goes on as it was */
        char *again = NULL;
        kern_vats_evict(k, e.vat);
        if (!(s = kern_crank_abort(k, err)) && !(s = kern_crank_begin(k, err)) &&
            (s = kern_queue_pop(k, KERN_RUN, &again, err)))
            kern_crank_abort(k, NULL);
        swing_mfree(again);
    }
    if (!s) s = finish(k, &e, why[0] == '\0', why[0] ? old : old + 1, why, err);
    kern_cd_free(&e.params);
    return s;
}
