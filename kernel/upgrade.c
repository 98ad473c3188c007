/*
 * upgrade.c - vat upgrade (DESIGN.md §6.5; reference/upgrade.md §3, §7):
 * who may be upgraded, the requests that queue an upgrade (one vat,
 * upgrade-all, a vat admin node, a bounded-replay restart), and the log of
 * finished upgrades. The upgrade crank itself is upgrade_run.c's.
 *
 *   kernel.upgrades.nextID    next upgrade ID (from 1)
 *   kernel.upgrades.pending   upgrades queued and not yet run
 *   vNN.upgrading             the ID of the vat's queued upgrade (one at most)
 *
 * The run-queue event (canonical JSON):
 *   {"bundleID":s,"message":s,"result":kp|null,"type":"upgradeVat",
 *    "upgradeID":n,"vatID":v,"vatParameters":capdata|null}
 * vatParameters null keeps the retained copy; otherwise the event holds its
 * slots (+1 each) until the upgrade ends. result is a kernel-decided
 * promise the event holds (+1): a vat admin caller's answer.
 */
#include "kernel/kernel_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/vec.h"

#define DEFAULT_MESSAGE "vat upgraded"

/* ---- eligibility ---- */

swing_status kern_upgrade_eligible(kern *k, const char *vat, char *why, size_t cap, swing_err *err)
{
    char *v = NULL;
    bool found, alive;
    json_t *j;
    swing_status s = kern_vats_alive(k, vat, &alive, err);
    why[0] = '\0';
    if (s) return s;
    if (!alive) {
        snprintf(why, cap, "terminated");
        return SWING_OK;
    }
    if ((s = kern_kv_get(k, &v, &found, err, "%s.source", vat))) return s;
    j = found ? json_loads(v, 0, NULL) : NULL;
    swing_mfree(v);
    if (!json_string_value(json_object_get(j, "bundleID")))
        snprintf(why, cap, json_object_get(j, "kernel") ? "a kernel vat: it has no bundle"
                                                        : "a raw C vat: it has no bundle to restart");
    json_decref(j);
    if (why[0]) return SWING_OK;
    if ((s = kern_kv_has(k, &found, err, "%s.vatParameters", vat))) return s;
    if (!found) {
        snprintf(why, cap, "no retained vatParameters");
        return SWING_OK;
    }
    if ((s = kern_kv_has(k, &found, err, "%s.upgrading", vat))) return s;
    if (found) snprintf(why, cap, "an upgrade is already queued");
    if (!found && (s = kern_kv_has(k, &found, err, "%s.windDown", vat))) return s;
    if (found && !why[0]) snprintf(why, cap, "it is winding down");
    return SWING_OK;
}

/* The vat's bundle ID (its source). */
static swing_status current_bundle(kern *k, const char *vat, char id[STORE_BUNDLE_ID_LEN + 1], swing_err *err)
{
    char *v = NULL;
    bool found;
    json_t *j;
    const char *b;
    swing_status s = kern_kv_get(k, &v, &found, err, "%s.source", vat);
    if (s) return s;
    j = found ? json_loads(v, 0, NULL) : NULL;
    swing_mfree(v);
    b = json_string_value(json_object_get(j, "bundleID"));
    if (!b || strlen(b) > STORE_BUNDLE_ID_LEN) s = SWING_CORRUPT(err, "vat %s has no bundle source", vat);
    else snprintf(id, STORE_BUNDLE_ID_LEN + 1, "%s", b);
    json_decref(j);
    return s;
}

/* upgradeMessage: valid UTF-8 (the JSON dump checks it), bounded. */
static swing_status check_message(const char *m, swing_err *err)
{
    if (strlen(m) > KERN_UPGRADE_MESSAGE_MAX)
        return swing_err_set(err, SWING_ERR_INVALID, "upgrade message longer than %d bytes",
                             KERN_UPGRADE_MESSAGE_MAX);
    for (const char *c = m; *c; c++)
        if ((unsigned char)*c < 0x20) return swing_err_set(err, SWING_ERR_INVALID, "control character in upgrade message");
    return SWING_OK;
}

static json_t *event_json(const char *vat, uint64_t id, const char *bundle, const vp_capdata *params,
                          const char *message, const char *result)
{
    json_t *ev = json_pack("{sssssssssIso}", "type", "upgradeVat", "vatID", vat, "bundleID", bundle, "message",
                           message, "upgradeID", (json_int_t)id, "vatParameters",
                           params ? kern_cd_to_json(*params) : json_null());
    if (ev && json_object_set_new(ev, "result", result ? json_string(result) : json_null())) {
        json_decref(ev);
        ev = NULL;
    }
    return ev;
}

swing_status kern_upgrade_queue(kern *k, const char *vat, const char *bundle_id, const vp_capdata *params,
                                const char *message, const char *result, uint64_t *upgrade_id, swing_err *err)
{
    char why[128], bundle[STORE_BUNDLE_ID_LEN + 1], *text;
    bool have;
    uint64_t id, pending;
    json_t *ev;
    swing_status s = kern_upgrade_eligible(k, vat, why, sizeof why, err);
    if (s) return s;
    if (why[0]) return swing_err_set(err, SWING_ERR_INVALID, "vat %s cannot be upgraded: %s", vat, why);
    if (!message || !message[0]) message = DEFAULT_MESSAGE;
    if ((s = check_message(message, err))) return s;
    if (bundle_id && bundle_id[0]) {
        if (strlen(bundle_id) > STORE_BUNDLE_ID_LEN) return swing_err_set(err, SWING_ERR_INVALID, "bad bundle ID");
        if ((s = store_bundle_has(k->st, bundle_id, &have, err))) return s;
        if (!have) return swing_err_set(err, SWING_ERR_INVALID, "bundle %s is not installed", bundle_id);
        snprintf(bundle, sizeof bundle, "%s", bundle_id);
    } else if ((s = current_bundle(k, vat, bundle, err))) {
        return s;
    }
    for (size_t i = 0; params && i < params->nslots; i++)
        if (!kern_ids_kref_valid(params->slots[i]))
            return swing_err_set(err, SWING_ERR_INVALID, "vatParameters slot %zu is not a kref", i);
    if ((s = kern_kv_next_id(k, "kernel.upgrades.nextID", 1, &id, err))) return s;
    ev = event_json(vat, id, bundle, params, message, result);
    text = ev ? kern_json_dump(ev) : NULL;
    json_decref(ev);
    if (!text) return SWING_NOMEM(err);
    s = kern_queue_push(k, KERN_RUN, text, err);
    free(text);
    if (!s && params) s = kern_refs_incref_cd(k, *params, err); /* the event's hold */
    if (!s && result) s = kern_kp_incref(k, result, err);
    if (!s) s = kern_kv_setu(k, id, err, "%s.upgrading", vat);
    if (!s) s = kern_upgrade_pending_count(k, &pending, err);
    if (!s) s = kern_kv_setu(k, pending + 1, err, "kernel.upgrades.pending");
    if (!s && upgrade_id) *upgrade_id = id;
    return s;
}

swing_status kern_upgrade_pending_count(kern *k, uint64_t *n, swing_err *err)
{
    bool found;
    swing_status s = kern_kv_getu(k, n, &found, err, "kernel.upgrades.pending");
    if (!s && !found) *n = 0;
    return s;
}

/* ---- host requests ---- */

static swing_status host_crank(kern *k, swing_status s, swing_err *err)
{
    if (s) {
        kern_crank_abort(k, NULL);
        return s;
    }
    return kern_crank_end(k, err);
}

swing_status kern_upgrade_vat(kern *k, const char *vat_name, const kern_upgrade_request *req,
                              uint64_t *upgrade_id, swing_err *err)
{
    char vat[KERN_ID_MAX];
    bool found;
    swing_status s;
    if (upgrade_id) *upgrade_id = 0;
    if (!req) return swing_err_set(err, SWING_ERR_INVALID, "upgrade needs a request");
    if (!kern_initialized(k)) return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "kernel not initialized");
    if ((s = kern_vat_id(k, vat_name, vat, &found, err))) return s;
    if (!found) return swing_err_set(err, SWING_ERR_INVALID, "no vat named %s", vat_name);
    if ((s = kern_crank_begin(k, err))) return s;
    s = kern_upgrade_queue(k, vat, req->bundle_id, req->params, req->message, NULL, upgrade_id, err);
    return host_crank(k, s, err);
}

/* The bundle upgrade-all gives the vat named `name`, or NULL. */
static const char *given_bundle(const char *name, const char *const *names, const char *const *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], name) == 0) return ids[i];
    return NULL;
}

/* One upgrade-all entry: queued, or skipped with its rule. */
static swing_status plan_one(kern *k, kern_upgrade_plan *p, const char *const *names, const char *const *ids,
                             size_t nb, swing_err *err)
{
    const char *bundle = given_bundle(p->name, names, ids, nb);
    swing_status s = kern_upgrade_eligible(k, p->vat_id, p->skipped, sizeof p->skipped, err);
    if (s || p->skipped[0]) return s;
    s = kern_upgrade_queue(k, p->vat_id, bundle, NULL, "kernel upgrade-all", NULL, &p->upgrade_id, err);
    p->queued = s == SWING_OK;
    return s;
}

/* Every name upgrade-all gives a bundle to must be a live vat's. */
static swing_status check_names(kern *k, const char *const *names, size_t nb, swing_err *err)
{
    for (size_t i = 0; i < nb; i++) {
        char vat[KERN_ID_MAX];
        bool found, alive = false;
        swing_status s = kern_vat_id(k, names[i], vat, &found, err);
        if (!s && found) s = kern_vats_alive(k, vat, &alive, err);
        if (s) return s;
        if (!alive) return swing_err_set(err, SWING_ERR_INVALID, "upgrade-all: no live vat named %s", names[i]);
    }
    return SWING_OK;
}

swing_status kern_upgrade_all(kern *k, const char *const *names, const char *const *bundle_ids,
                              size_t nbundles, kern_upgrade_plan **list, size_t *n, swing_err *err)
{
    uint64_t nvats;
    size_t cap = 0;
    swing_status s;
    *list = NULL;
    *n = 0;
    if (!kern_initialized(k)) return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "kernel not initialized");
    if ((s = check_names(k, names, nbundles, err))) return s;
    if ((s = kern_crank_begin(k, err))) return s;
    s = kern_vats_count(k, &nvats, err);
    for (uint64_t i = 1; !s && i <= nvats; i++) {
        kern_upgrade_plan p;
        bool alive;
        memset(&p, 0, sizeof p);
        snprintf(p.vat_id, sizeof p.vat_id, "v%" PRIu64, i);
        if ((s = kern_vats_alive(k, p.vat_id, &alive, err)) || !alive) continue;
        if (!(s = kern_term_name_of(k, p.vat_id, p.name, err))) s = plan_one(k, &p, names, bundle_ids, nbundles, err);
        if (!s) s = SWING_VEC_RESERVE(*list, cap, *n + 1, 8, err);
        if (!s) (*list)[(*n)++] = p;
    }
    s = host_crank(k, s, err);
    if (s) {
        swing_mfree(*list);
        *list = NULL;
        *n = 0;
    }
    return s;
}

/* ---- bounded replay ---- */

swing_status kern_upgrade_restart_due(kern *k, const char *vat, uint64_t restart_after, swing_err *err)
{
    store_span sp;
    bool found;
    char why[128], msg[64];
    swing_status s = store_transcript_current(k->st, vat, &sp, &found, err);
    if (s || !found || sp.end - sp.start < restart_after) return s;
    if ((s = kern_upgrade_eligible(k, vat, why, sizeof why, err)) || why[0]) return s;
    snprintf(msg, sizeof msg, "restart after %" PRIu64 " deliveries", restart_after);
    return kern_upgrade_queue(k, vat, NULL, NULL, msg, NULL, NULL, err);
}

/* ---- the log and queries ---- */

swing_status kern_upgrade_log(kern *k, const kern_upgrade_result *r, swing_err *err)
{
    swing_status s = SWING_VEC_RESERVE(k->upgrades, k->capupgrades, k->nupgrades + 1, 8, err);
    if (!s) k->upgrades[k->nupgrades++] = *r;
    return s;
}

swing_status kern_upgrades_take(kern *k, kern_upgrade_result **list, size_t *n, swing_err *err)
{
    (void)err;
    *list = k->nupgrades ? k->upgrades : NULL;
    *n = k->nupgrades;
    if (!k->nupgrades) swing_mfree(k->upgrades);
    k->upgrades = NULL;
    k->nupgrades = k->capupgrades = 0;
    return SWING_OK;
}

swing_status kern_upgrades_pending(kern *k, uint64_t *n, swing_err *err)
{
    return kern_upgrade_pending_count(k, n, err);
}

swing_status kern_upgrade_incarnation(kern *k, const char *vat, uint64_t *incarnation, swing_err *err)
{
    store_span sp;
    bool found;
    swing_status s = store_transcript_current(k->st, vat, &sp, &found, err);
    *incarnation = !s && found ? sp.incarnation : 0;
    return s;
}

swing_status kern_vat_incarnation(kern *k, const char *vat_name, uint64_t *incarnation, bool *found,
                                  swing_err *err)
{
    char vat[KERN_ID_MAX];
    bool alive = false;
    swing_status s = kern_vat_id(k, vat_name, vat, found, err);
    *incarnation = 0;
    if (!s && *found) s = kern_vats_alive(k, vat, &alive, err);
    if (s || !*found) return s;
    *found = alive;
    return alive ? kern_upgrade_incarnation(k, vat, incarnation, err) : SWING_OK;
}
