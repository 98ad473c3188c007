/*
 * upgrade.c - vat upgrade at the host ABI: upgrade_vat (one vat) and
 * upgrade_all_vats (every live vat), checked here and queued by the kernel
 * (kernel/upgrade.c), which runs each upgrade as normal work and reports it
 * once done; end_block's upgrades and upgrades_left; and the block's
 * upgrade answers, kept with the block (host.lastUpgrades) so that a replay
 * of it answers exactly as the first run did (an upgrade ID cannot be
 * recomputed from the committed state). Bundle names resolve through
 * bundle_name.c. A refused request changes nothing.
 */
#include "abi/host.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/vec.h"

static swing_status need_block(host_call *c, const char *op)
{
    if (c->h->phase == HOST_IN_BLOCK) return SWING_OK;
    return swing_err_set(c->err, SWING_ERR_OUT_OF_ORDER, "%s is allowed inside a block only", op);
}

/* ---- the answers kept for a replay ---- */

swing_status host_upgrade_begin(swing_handle *h, bool replay, swing_err *err)
{
    h->upg_len = h->upg_at = 0;
    h->upg_lost = false;
    return replay ? host_record_load(h, HOST_KEY_UPGRADES, &h->upg_rec, &h->upg_len, &h->upg_cap, err) : SWING_OK;
}

void host_upgrade_free(swing_handle *h)
{
    swing_mfree(h->upg_rec);
    h->upg_rec = NULL;
    h->upg_len = h->upg_cap = h->upg_at = 0;
}

/* Appends this call's answer (status s, its message, the result when OK). */
static void record(host_call *c, swing_status s)
{
    swing_handle *h = c->h;
    Swing__V1__Response r = *c->resp;
    size_t n;
    uint8_t *p;
    if (h->upg_lost) return;
    r.status = (Swing__V1__Status)s;
    if (s) {
        r.error = c->err->code ? c->err->msg : (char *)swing_status_name(s);
        r.result_case = SWING__V1__RESPONSE__RESULT__NOT_SET;
    }
    n = protobuf_c_message_get_packed_size(&r.base);
    if (n > UINT32_MAX || SWING_VEC_RESERVE(h->upg_rec, h->upg_cap, h->upg_len + 4 + n, 256, NULL)) {
        h->upg_lost = true; /* none is written: a replay answers empty, never wrongly */
        return;
    }
    p = h->upg_rec + h->upg_len;
    swing_put_u32be(p, (uint32_t)n);
    protobuf_c_message_pack(&r.base, p + 4);
    h->upg_len += 4 + n;
}

/* In a replay: the next recorded answer; none (a record written before
 * upgrades existed, or one lost) or one of another operation (the host's
 * requests differ, which end_block refuses) answers an empty result. */
static swing_status replay_answer(host_call *c, Swing__V1__Response__ResultCase want, ProtobufCMessage **result)
{
    swing_handle *h = c->h;
    Swing__V1__Response *r = NULL;
    const uint8_t *p;
    size_t left = h->upg_len - h->upg_at, n;
    *result = NULL;
    if (left < 4) return SWING_OK; /* (upg_rec may be NULL) */
    p = h->upg_rec + h->upg_at;
    n = swing_get_u32be(p);
    if (n > left - 4) {
        h->upg_at = h->upg_len;
        return SWING_OK;
    }
    h->upg_at += 4 + n;
    if (!(r = swing__v1__response__unpack(NULL, n, p + 4))) return SWING_OK;
    if (!host_keep_unpacked(c->ar, &r->base)) {
        swing__v1__response__free_unpacked(r, NULL);
        return SWING_NOMEM(c->err);
    }
    if (r->status != SWING__V1__STATUS__STATUS_OK)
        return swing_err_set(c->err, (swing_status)r->status, "%s", r->error ? r->error : "");
    if (r->result_case == want && want == SWING__V1__RESPONSE__RESULT_UPGRADE_VAT) *result = &r->upgrade_vat->base;
    if (r->result_case == want && want == SWING__V1__RESPONSE__RESULT_UPGRADE_ALL_VATS)
        *result = &r->upgrade_all_vats->base;
    return SWING_OK;
}

static swing_status save_answers(host_call *c)
{
    swing_handle *h = c->h;
    if (h->upg_lost) return store_delete(h->st, swing_str(HOST_KEY_UPGRADES), c->err);
    return store_set(h->st, swing_str(HOST_KEY_UPGRADES),
                     h->upg_len ? swing_bytes_of(h->upg_rec, h->upg_len) : swing_str(""), c->err);
}

/* ---- checks ---- */

/* A vat the request names: a live or terminated one, not deleted. */
static swing_status check_vat(host_call *c, const char *op, const char *name)
{
    char vat_id[24], msg[SWING_ERR_MSG_MAX];
    kern_termination t;
    bool found;
    swing_status s;
    if (!host_name_ok(name)) return swing_err_set(c->err, SWING_ERR_INVALID, "%s: bad vat name", op);
    if ((s = kern_vat_id(c->h->k, name, vat_id, &found, c->err)) || found) return s;
    if ((s = kern_vat_termination(c->h->k, name, &t, &found, c->err))) return s;
    if (!found) return swing_err_set(c->err, SWING_ERR_INVALID, "%s: no vat named %s", op, name);
    kern_term_message(&t, msg, sizeof msg);
    return swing_err_set(c->err, SWING_ERR_INVALID, "%s: %s", op, msg);
}

/* The bundle ID a request gives (by name or ID), "" for the vat's current one. */
static swing_status resolve_bundle(host_call *c, const char *op, const char *name, const char *id,
                                   char out[STORE_BUNDLE_ID_LEN + 1])
{
    bool has_name = name && name[0], has_id = id && id[0], found;
    swing_status s;
    out[0] = '\0';
    if (has_name && has_id) return swing_err_set(c->err, SWING_ERR_INVALID, "%s: give bundle_name or bundle_id, not both", op);
    if (has_name) {
        if ((s = host_bundle_name_get(c->h, name, out, &found, c->err))) return s;
        if (!found) return swing_err_set(c->err, SWING_ERR_INVALID, "%s: no bundle named %.80s", op, name);
        return SWING_OK;
    }
    if (!has_id) return SWING_OK;
    if (!store_bundle_id_valid(id)) return swing_err_set(c->err, SWING_ERR_INVALID, "%s: bad bundle_id", op);
    if ((s = store_bundle_has(c->h->st, id, &found, c->err))) return s;
    if (!found) return swing_err_set(c->err, SWING_ERR_INVALID, "%s: bundle %s is not installed", op, id);
    memcpy(out, id, STORE_BUNDLE_ID_LEN + 1);
    return SWING_OK;
}

/* The new vatParameters' smallcaps body (swing_mfree), NULL to keep the retained ones. */
static swing_status vat_parameters(host_call *c, const Swing__V1__UpgradeVatRequest *r, char **body)
{
    bool given = r->vat_parameters_json && r->vat_parameters_json[0];
    json_error_t je;
    json_t *v;
    swing_status s;
    *body = NULL;
    if (!r->has_vat_parameters)
        return given ? swing_err_set(c->err, SWING_ERR_INVALID,
                                     "upgrade_vat: vat_parameters_json without has_vat_parameters")
                     : SWING_OK;
    if (!given)
        return swing_err_set(c->err, SWING_ERR_INVALID, "upgrade_vat: has_vat_parameters without vat_parameters_json");
    v = json_loads(r->vat_parameters_json, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!v) return swing_err_set(c->err, SWING_ERR_INVALID, "upgrade_vat: vat_parameters_json: %s", je.text);
    json_decref(v);
    s = kern_encode_plain(r->vat_parameters_json, strlen(r->vat_parameters_json), body, c->err);
    if (SWING_STATUS_PRIMARY(s) == SWING_ERR_INVALID)
        return swing_err_set(c->err, s, "upgrade_vat: vat_parameters_json is not plain data "
                                        "(a record key starts with one of !\"#$%%&'()*+,-)");
    return s;
}

/* ---- upgrade_vat ---- */

static swing_status upgrade_vat(host_call *c, const Swing__V1__UpgradeVatRequest *r)
{
    kern_upgrade_request q = {NULL, NULL, NULL};
    Swing__V1__UpgradeVatResponse *out = host_alloc(c->ar, sizeof *out);
    char bundle[STORE_BUNDLE_ID_LEN + 1], *body = NULL;
    vp_capdata params = {NULL, NULL, 0};
    uint64_t id = 0;
    swing_status s;
    if (!out) return SWING_NOMEM(c->err);
    if ((s = check_vat(c, "upgrade_vat", r->vat))) return s;
    if ((s = resolve_bundle(c, "upgrade_vat", r->bundle_name, r->bundle_id, bundle))) return s;
    if ((s = vat_parameters(c, r, &body))) return s;
    q.bundle_id = bundle[0] ? bundle : NULL;
    params.body = body;
    q.params = body ? &params : NULL;
    q.message = r->upgrade_message && r->upgrade_message[0] ? r->upgrade_message : NULL;
    s = kern_upgrade_vat(c->h->k, r->vat, &q, &id, c->err);
    swing_mfree(body);
    if (s) return s;
    swing__v1__upgrade_vat_response__init(out);
    out->upgrade_id = id;
    c->resp->result_case = SWING__V1__RESPONSE__RESULT_UPGRADE_VAT;
    c->resp->upgrade_vat = out;
    return SWING_OK;
}

swing_status host_upgrade_vat(host_call *c)
{
    const Swing__V1__UpgradeVatRequest *r = c->req->upgrade_vat;
    swing_status s;
    if ((s = need_block(c, "upgrade_vat"))) return s;
    host_fold_input(c->h, &r->base); /* refused ones too: see block.c */
    if (c->h->replay) {
        ProtobufCMessage *m;
        Swing__V1__UpgradeVatResponse *out;
        if ((s = replay_answer(c, SWING__V1__RESPONSE__RESULT_UPGRADE_VAT, &m))) return s;
        if (!(out = m ? (Swing__V1__UpgradeVatResponse *)m : host_alloc(c->ar, sizeof *out))) return SWING_NOMEM(c->err);
        if (!m) swing__v1__upgrade_vat_response__init(out);
        c->resp->result_case = SWING__V1__RESPONSE__RESULT_UPGRADE_VAT;
        c->resp->upgrade_vat = out;
        return SWING_OK;
    }
    s = upgrade_vat(c, r);
    record(c, s);
    return s;
}

/* ---- upgrade_all_vats ---- */

static int by_vat(const void *a, const void *b)
{
    return strcmp((*(const Swing__V1__VatBundle *const *)a)->vat, (*(const Swing__V1__VatBundle *const *)b)->vat);
}

/* Every entry names an existing vat, once, and at most one bundle. */
static swing_status check_bundles(host_call *c, const Swing__V1__UpgradeAllVatsRequest *r, const char **names,
                                  const char **ids, char (*bids)[STORE_BUNDLE_ID_LEN + 1],
                                  const Swing__V1__VatBundle **sorted)
{
    swing_status s;
    for (size_t i = 0; i < r->n_bundles; i++) {
        const Swing__V1__VatBundle *b = r->bundles[i];
        if ((s = check_vat(c, "upgrade_all_vats", b->vat))) return s;
        if ((s = resolve_bundle(c, "upgrade_all_vats", b->bundle_name, b->bundle_id, bids[i]))) return s;
        names[i] = b->vat;
        ids[i] = bids[i][0] ? bids[i] : NULL;
        sorted[i] = b;
    }
    if (r->n_bundles > 1) qsort(sorted, r->n_bundles, sizeof *sorted, by_vat);
    for (size_t i = 1; i < r->n_bundles; i++)
        if (strcmp(sorted[i - 1]->vat, sorted[i]->vat) == 0)
            return swing_err_set(c->err, SWING_ERR_INVALID, "upgrade_all_vats: vat %s is given twice", sorted[i]->vat);
    return SWING_OK;
}

static Swing__V1__UpgradePlan *plan_of(host_call *c, const kern_upgrade_plan *p)
{
    Swing__V1__UpgradePlan *o = host_alloc(c->ar, sizeof *o);
    if (!o) return NULL;
    swing__v1__upgrade_plan__init(o);
    o->vat_id = host_strdup(c->ar, p->vat_id);
    o->name = host_strdup(c->ar, p->name);
    o->queued = p->queued;
    o->upgrade_id = p->upgrade_id;
    o->skipped = host_strdup(c->ar, p->queued ? "" : p->skipped);
    return o->vat_id && o->name && o->skipped ? o : NULL;
}

static swing_status upgrade_all(host_call *c, const Swing__V1__UpgradeAllVatsRequest *r)
{
    size_t n = r->n_bundles ? r->n_bundles : 1, nplans = 0;
    const char **names = swing_calloc(n, sizeof *names), **ids = swing_calloc(n, sizeof *ids);
    char (*bids)[STORE_BUNDLE_ID_LEN + 1] = swing_calloc(n, sizeof *bids);
    const Swing__V1__VatBundle **sorted = swing_calloc(n, sizeof *sorted);
    Swing__V1__UpgradeAllVatsResponse *out = host_alloc(c->ar, sizeof *out);
    kern_upgrade_plan *plans = NULL;
    swing_status s = names && ids && bids && sorted && out ? SWING_OK : SWING_NOMEM(c->err);
    if (!s) s = check_bundles(c, r, names, ids, bids, sorted);
    if (!s) s = kern_upgrade_all(c->h->k, names, ids, r->n_bundles, &plans, &nplans, c->err);
    if (!s) swing__v1__upgrade_all_vats_response__init(out);
    for (size_t i = 0; !s && i < nplans; i++) {
        Swing__V1__UpgradePlan *p = plan_of(c, &plans[i]);
        if (!p || !host_push(c->ar, (void ***)&out->vats, &out->n_vats, p)) s = SWING_NOMEM(c->err);
    }
    swing_mfree(plans);
    swing_mfree(names);
    swing_mfree(ids);
    swing_mfree(bids);
    swing_mfree(sorted);
    if (s) return s;
    c->resp->result_case = SWING__V1__RESPONSE__RESULT_UPGRADE_ALL_VATS;
    c->resp->upgrade_all_vats = out;
    return SWING_OK;
}

swing_status host_upgrade_all_vats(host_call *c)
{
    const Swing__V1__UpgradeAllVatsRequest *r = c->req->upgrade_all_vats;
    swing_status s;
    if ((s = need_block(c, "upgrade_all_vats"))) return s;
    host_fold_input(c->h, &r->base); /* refused ones too: see block.c */
    if (c->h->replay) {
        ProtobufCMessage *m;
        Swing__V1__UpgradeAllVatsResponse *out;
        if ((s = replay_answer(c, SWING__V1__RESPONSE__RESULT_UPGRADE_ALL_VATS, &m))) return s;
        if (!(out = m ? (Swing__V1__UpgradeAllVatsResponse *)m : host_alloc(c->ar, sizeof *out)))
            return SWING_NOMEM(c->err);
        if (!m) swing__v1__upgrade_all_vats_response__init(out);
        c->resp->result_case = SWING__V1__RESPONSE__RESULT_UPGRADE_ALL_VATS;
        c->resp->upgrade_all_vats = out;
        return SWING_OK;
    }
    s = upgrade_all(c, r);
    record(c, s);
    return s;
}

/* ---- end_block ---- */

static Swing__V1__UpgradeResult *result_of(host_call *c, const kern_upgrade_result *u)
{
    Swing__V1__UpgradeResult *o = host_alloc(c->ar, sizeof *o);
    if (!o) return NULL;
    swing__v1__upgrade_result__init(o);
    o->upgrade_id = u->upgrade_id;
    o->vat_id = host_strdup(c->ar, u->vat_id);
    o->name = host_strdup(c->ar, u->name);
    o->ok = u->ok;
    o->incarnation = u->incarnation;
    o->reason = host_strdup(c->ar, u->ok ? "" : u->reason);
    return o->vat_id && o->name && o->reason ? o : NULL;
}

swing_status host_upgrade_end(host_call *c, Swing__V1__EndBlockResponse *out)
{
    kern_upgrade_result *list = NULL;
    size_t n = 0;
    swing_status s = kern_upgrades_take(c->h->k, &list, &n, c->err);
    for (size_t i = 0; !s && i < n; i++) {
        Swing__V1__UpgradeResult *e = result_of(c, &list[i]);
        if (!e || !host_push(c->ar, (void ***)&out->upgrades, &out->n_upgrades, e)) s = SWING_NOMEM(c->err);
    }
    swing_mfree(list);
    if (!s) s = kern_upgrades_pending(c->h->k, &out->upgrades_left, c->err);
    if (!s) s = save_answers(c);
    return s;
}
