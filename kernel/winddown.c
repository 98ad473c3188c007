/*
 * winddown.c - wind-down (DESIGN.md §6.5; docs/winddown.md): a vat too big
 * to terminate at once is switched to its runtime's built-in wind-down
 * worker, which deletes its vatstore a budget per BOYD with the GC syscalls
 * liveslots would make, then exits; normal termination removes the rest.
 *
 *   vNN.windDown         "queued", then "<items deleted>,<items left>" (left as
 *                        the worker's last BOYD said; while it counts, so far)
 *   kernel.windingDown   comma-joined IDs of the vats winding down
 *
 * The windDownVat run-queue event ({"type":"windDownVat","vatID":v}) is one
 * crank: promises the vat decides rejected, RAM exports (o+N, the root too)
 * abandoned, the transcript closed (the worker keeps no state, so it
 * replays nothing), the options and source switched, and the vat put on
 * the dirty list, whose clean-up BOYDs (kernel.reapBudget items each) then
 * do the work. Unlike an upgrade there is no final BOYD of the user
 * incarnation: a worker that is not in memory would first replay the vat's
 * whole transcript, in one crank, which for the vats wind-down is for is the
 * very flood it avoids; the imports only the old heap held are released by
 * termination's phased deletion instead.
 */
#include "kernel/kernel_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"

#define LIST_KEY "kernel.windingDown"

/* ---- the list of vats winding down ---- */

static swing_status list_edit(kern *k, const char *vat, bool add, swing_err *err)
{
    char *v = NULL, *out;
    bool found;
    size_t vl = strlen(vat), n = 0;
    swing_status s = kern_kv_get(k, &v, &found, err, LIST_KEY);
    if (s) return s;
    out = swing_malloc((found ? strlen(v) : 0) + vl + 2);
    if (!out) s = SWING_NOMEM(err);
    for (const char *p = found ? v : NULL; !s && p && *p;) {
        size_t l = strcspn(p, ",");
        if (!(l == vl && memcmp(p, vat, vl) == 0)) {
            if (n) out[n++] = ',';
            memcpy(out + n, p, l);
            n += l;
        }
        p += l + (p[l] == ',');
    }
    if (!s && add) {
        if (n) out[n++] = ',';
        memcpy(out + n, vat, vl);
        n += vl;
    }
    if (!s) {
        out[n] = '\0';
        s = n ? kern_kv_set(k, out, err, LIST_KEY) : (found ? kern_kv_del(k, err, LIST_KEY) : SWING_OK);
    }
    swing_mfree(v);
    swing_mfree(out);
    return s;
}

swing_status kern_winddown_count(kern *k, uint64_t *n, swing_err *err)
{
    char *v = NULL;
    bool found;
    swing_status s = kern_kv_get(k, &v, &found, err, LIST_KEY);
    *n = 0;
    if (s || !found) return s;
    *n = 1;
    for (const char *c = v; *c; c++) *n += *c == ',';
    swing_mfree(v);
    return SWING_OK;
}

swing_status kern_winddown_ended(kern *k, const char *vat, swing_err *err)
{
    bool has;
    swing_status s = kern_kv_has(k, &has, err, "%s.windDown", vat);
    if (s || !has) return s;
    return list_edit(k, vat, false, err);
}

swing_status kern_winddown_progress(kern *k, const char *vat, uint64_t items, uint64_t left, swing_err *err)
{
    char *v = NULL, text[48];
    bool found;
    uint64_t p[2];
    swing_status s = kern_kv_get(k, &v, &found, err, "%s.windDown", vat);
    if (s || !found) return s;
    if (!kern_kv_parse_u64s(v, p, 2)) s = SWING_CORRUPT(err, "bad %s.windDown", vat);
    swing_mfree(v);
    if (s) return s;
    kern_kv_format(text, sizeof text, "%" PRIu64 ",%" PRIu64, p[0] + items, left);
    return kern_kv_set(k, text, err, "%s.windDown", vat);
}

/* ---- the request ---- */

swing_status kern_winddown_queue(kern *k, const char *vat, swing_err *err)
{
    char why[128], *text;
    const vp_runtime *rt = k->runtime;
    json_t *ev;
    swing_status s = kern_upgrade_eligible(k, vat, why, sizeof why, err); /* the same rules: a live bundle vat, nothing queued */
    if (!s && why[0]) s = swing_err_set(err, SWING_ERR_INVALID, "vat %s cannot wind down: %s", vat, why);
    if (!s && (!rt || !rt->create_wind_down))
        s = swing_err_set(err, SWING_ERR_INVALID, "vat %s cannot wind down: its runtime has no wind-down image", vat);
    ev = s ? NULL : json_pack("{ssss}", "type", "windDownVat", "vatID", vat);
    text = ev ? kern_json_dump(ev) : NULL;
    json_decref(ev);
    if (!s && !text) s = SWING_NOMEM(err);
    if (!s) s = kern_queue_push(k, KERN_RUN, text, err);
    if (!s) s = kern_kv_set(k, "queued", err, "%s.windDown", vat);
    free(text);
    return s;
}

swing_status kern_wind_down_vat(kern *k, const char *vat_name, swing_err *err)
{
    char vat[KERN_ID_MAX];
    bool found;
    swing_status s;
    if (!kern_initialized(k)) return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "kernel not initialized");
    if ((s = kern_vat_id(k, vat_name, vat, &found, err))) return s;
    if (!found) return swing_err_set(err, SWING_ERR_INVALID, "no vat named %s", vat_name);
    if ((s = kern_crank_begin(k, err))) return s;
    if ((s = kern_winddown_queue(k, vat, err))) {
        kern_crank_abort(k, NULL);
        return s;
    }
    return kern_crank_end(k, err);
}

/* ---- the switch ---- */

/* RAM exports (o+N, the root too) are abandoned: no code serves them now. */
static swing_status abandon_ram_exports(kern *k, const char *vat, swing_err *err)
{
    char prefix[KERN_ID_MAX + 8], (*vrefs)[KERN_VREF_MAX] = NULL;
    size_t pl = (size_t)snprintf(prefix, sizeof prefix, "%s.c.o+", vat), n = 0;
    swing_status s = kern_kv_tails(k, prefix, pl - 2, &vrefs, &n, err);
    for (size_t i = 0; !s && i < n; i++) {
        char kref[KERN_ID_MAX];
        bool found, held;
        if (vrefs[i][2] < '0' || vrefs[i][2] > '9') continue; /* o+v..., o+d...: the worker's */
        if ((s = kern_clist_kref(k, vat, vrefs[i], kref, &found, err)) || !found) continue;
        if ((s = kern_obj_orphan(k, kref, err))) break;
        if ((s = kern_kv_has(k, &held, err, "kernel.hold.%s", kref)) || !held) continue;
        if (!(s = kern_kv_del(k, err, "kernel.hold.%s", kref))) s = kern_refs_decref(k, kref, err);
    }
    swing_mfree(vrefs);
    return s;
}

/* vNN.options: windDown with the layout, no transcript, no threshold BOYDs
 * (the dirty list's clean-up BOYDs do the work). */
static swing_status switch_records(kern *k, const char *vat, uint32_t layout, swing_err *err)
{
    char *v = NULL, *text;
    bool found;
    json_t *o, *src;
    swing_status s = kern_kv_get(k, &v, &found, err, "%s.options", vat);
    if (s) return s;
    o = found ? json_loads(v, 0, NULL) : NULL;
    swing_mfree(v);
    if (!o) return SWING_CORRUPT(err, "bad options of %s", vat);
    if (json_object_set_new(o, "windDown", json_pack("{sI}", "layout", (json_int_t)layout)) ||
        json_object_set_new(o, "useTranscript", json_false()) ||
        json_object_set_new(o, "reapDirtThreshold",
                            json_pack("{ssssss}", "computrons", "never", "deliveries", "never", "gcKrefs", "never"))) {
        json_decref(o);
        return SWING_NOMEM(err);
    }
    text = kern_json_dump(o);
    json_decref(o);
    s = text ? kern_kv_set(k, text, err, "%s.options", vat) : SWING_NOMEM(err);
    free(text);
    k->nopts = 0;
    src = s ? NULL : json_pack("{sI}", "windDown", (json_int_t)layout);
    text = src ? kern_json_dump(src) : NULL;
    json_decref(src);
    if (!s) s = text ? kern_kv_set(k, text, err, "%s.source", vat) : SWING_NOMEM(err);
    free(text);
    return s;
}

/* Everything after the final BOYD, in the open crank. */
static swing_status switch_over(kern *k, const char *vat, swing_err *err)
{
    char msg[KERN_ID_MAX + 40];
    kern_cd why;
    swing_status s;
    snprintf(msg, sizeof msg, "vat %s is winding down", vat);
    if ((s = kern_cd_error(msg, &why, err))) return s;
    s = kern_upgrade_run_reject(k, vat, kern_cd_view(&why), err);
    kern_cd_free(&why);
    if (!s) s = abandon_ram_exports(k, vat, err);
    kern_vats_evict(k, vat);
    if (!s) s = store_transcript_rollover(k->st, vat, err);
    if (!s) s = switch_records(k, vat, k->runtime->layout, err);
    if (!s) s = kern_kv_set(k, "0,0", err, "%s.windDown", vat);
    if (!s) s = list_edit(k, vat, true, err);
    if (!s) s = kern_reap_add_dirt(k, vat, 0, 0, err); /* lists it dirty */
    return s;
}

swing_status kern_winddown_run_event(kern *k, const char *json, kern_crank_info *info, swing_err *err)
{
    json_t *ev = json_loads(json, 0, NULL);
    const char *v = json_string_value(json_object_get(ev, "vatID"));
    char vat[KERN_ID_MAX] = "";
    bool alive = false;
    swing_status s = v && strlen(v) < KERN_ID_MAX ? SWING_OK : SWING_CORRUPT(err, "bad windDownVat event");
    if (!s) snprintf(vat, sizeof vat, "%s", v);
    json_decref(ev);
    if (!s) s = kern_vats_alive(k, vat, &alive, err);
    if (!s && alive) s = switch_over(k, vat, err);
    info->kind = KERN_CRANK_WIND_DOWN;
    snprintf(info->vat_id, sizeof info->vat_id, "%s", vat);
    if (s) return kern_crank_failed(k, s, err);
    return kern_crank_end(k, err);
}
