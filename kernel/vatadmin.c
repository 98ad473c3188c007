/*
 * vatadmin.c - the vat admin service: a kernel vat (source {"kernel":
 * "vatAdmin"}, no bundle, no transcript) whose deliveries run kernel code in
 * the delivery's crank. Genesis makes it when the config says "vatAdmin":
 * true and hands its root to the bootstrap vat as vats.vatAdmin; like any
 * reference it can be passed on.
 *
 *   root.createVat(bundleRef, {name?, vatParameters?}) -> {root, adminNode}
 *   adminNode.upgrade(bundleRef, {vatParameters?, upgradeMessage?})
 *                                  -> {incarnationNumber} once it ran, or
 *                                     rejects with why it failed
 *   adminNode.terminateWithFailure(reason)
 *   adminNode.done()              -> settles when the vat ends: fulfilled
 *                                     by a clean exit, else rejected
 *   adminNode.windDown()          -> the vat starts winding down (winddown.c)
 *
 * bundleRef: a bundle ID (b1-...) or a name given with kern_bundle_name.
 * vatParameters may carry object references: the kernel's retained copy
 * holds them until the next upgrade with new ones or the vat's deletion.
 * A result the service answers later (upgrade, done) is taken over by the
 * kernel: it becomes kernel-decided and held (+1) until settled.
 *
 *   vatAdmin.id                 the service's vat ID
 *   vatAdmin.node.<o+N>         the vat an adminNode export stands for
 *   vatAdmin.nextNode           next adminNode export number (from 1)
 *   vatAdmin.done.<vNN>.<kpid>  a done() promise to settle at the end
 *   bundle.name.<name>          bundle ID registered under a name
 */
#include "kernel/kernel_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"

#define ADMIN_NAME "vatAdmin"

/* ---- bundle names ---- */

static bool name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 0 && n <= 64 && !strchr(name, '.');
}

swing_status kern_bundle_names(kern *k, const char *const *names, const char *const *bundle_ids, size_t n,
                               swing_err *err)
{
    swing_status s;
    for (size_t i = 0; i < n; i++) {
        bool have;
        if (!name_ok(names[i]))
            return swing_err_set(err, SWING_ERR_INVALID, "bundle name %.80s: 1-64 bytes without '.'",
                                 names[i] ? names[i] : "");
        if (!store_bundle_id_valid(bundle_ids[i])) return swing_err_set(err, SWING_ERR_INVALID, "bad bundle ID");
        if ((s = store_bundle_has(k->st, bundle_ids[i], &have, err))) return s;
        if (!have) return swing_err_set(err, SWING_ERR_INVALID, "bundle %s is not installed", bundle_ids[i]);
    }
    if (n == 0) return SWING_OK;
    if ((s = kern_crank_begin(k, err))) return s;
    for (size_t i = 0; !s && i < n; i++) s = kern_kv_set(k, bundle_ids[i], err, "bundle.name.%s", names[i]);
    if (s) {
        kern_crank_abort(k, NULL);
        return s;
    }
    return kern_crank_end(k, err);
}

swing_status kern_bundle_name(kern *k, const char *name, const char *bundle_id, swing_err *err)
{
    return kern_bundle_names(k, &name, &bundle_id, 1, err);
}

swing_status kern_bundle_named(kern *k, const char *name, char id[STORE_BUNDLE_ID_LEN + 1], bool *found,
                               swing_err *err)
{
    char *v = NULL;
    swing_status s;
    *found = false;
    id[0] = '\0';
    if (!name_ok(name)) return SWING_OK;
    if ((s = kern_kv_get(k, &v, found, err, "bundle.name.%s", name))) return s;
    if (*found && strlen(v) <= STORE_BUNDLE_ID_LEN) snprintf(id, STORE_BUNDLE_ID_LEN + 1, "%s", v);
    else *found = false;
    swing_mfree(v);
    return SWING_OK;
}

/* A bundleRef: an installed bundle's ID, or a registered name. */
static swing_status bundle_of(kern *k, const char *ref, char id[STORE_BUNDLE_ID_LEN + 1], bool *ok, swing_err *err)
{
    *ok = false;
    if (!ref || strlen(ref) > STORE_BUNDLE_ID_LEN) return SWING_OK;
    if (!store_bundle_id_valid(ref)) return kern_bundle_named(k, ref, id, ok, err);
    snprintf(id, STORE_BUNDLE_ID_LEN + 1, "%s", ref);
    return store_bundle_has(k->st, id, ok, err);
}

/* ---- the service's vat ---- */

swing_status kern_vatadmin_create(kern *k, char root[KERN_ID_MAX], swing_err *err)
{
    json_t *cfg = json_pack("{sss{sb}}", "source", "kernel:" ADMIN_NAME, "reapDirtThreshold", "never", 1);
    char vat[KERN_ID_MAX];
    swing_status s = cfg ? kern_vats_create(k, ADMIN_NAME, cfg, NULL, vat, root, err) : SWING_NOMEM(err);
    json_decref(cfg);
    if (!s) s = kern_kv_set(k, vat, err, "vatAdmin.id");
    return s;
}

/* The args array of a methargs body #["method",[args...]]; *method set. */
static json_t *args_of(const char *body, const char **method)
{
    json_t *j = body && body[0] == '#' ? json_loads(body + 1, 0, NULL) : NULL;
    json_t *args = json_array_get(j, 1);
    *method = json_string_value(json_array_get(j, 0));
    if (!*method || !json_is_array(args)) {
        json_decref(j);
        return NULL;
    }
    return j; /* the caller reads [1] and frees j */
}

/* A plain string argument (smallcaps: "!" escapes a special first byte). */
static const char *plain_string(const json_t *v)
{
    const char *s = json_string_value(v);
    if (!s) return NULL;
    if (s[0] == '!') return s + 1;
    return strchr("\"#$%&'()*+,-", s[0]) && s[0] ? NULL : s;
}

/* Renumbers the slot references ($N.iface, &N) of a smallcaps value into
 * the sub-list `out` of the delivery's slots (first use order). */
typedef struct sub_slots {
    const char *const *in; /* the delivery's vrefs */
    size_t nin;
    size_t map[64], n;     /* out index i is in[map[i]] */
    bool bad;
} sub_slots;

static json_t *renumber(const json_t *v, sub_slots *ss)
{
    size_t i;
    const char *key, *s;
    json_t *x, *out;
    if (json_is_array(v) || json_is_object(v)) {
        out = json_is_array(v) ? json_array() : json_object();
        if (json_is_array(v)) {
            json_array_foreach(v, i, x) if (!out || json_array_append_new(out, renumber(x, ss))) ss->bad = true;
        } else {
            json_object_foreach((json_t *)v, key, x) if (!out || json_object_set_new(out, key, renumber(x, ss))) ss->bad = true;
        }
        return out;
    }
    s = json_string_value(v);
    if (s && s[0] == '$') {
        char *end, text[160];
        unsigned long n = strtoul(s + 1, &end, 10);
        size_t j;
        if (end == s + 1 || *end != '.' || n >= ss->nin || strlen(end) > 120) {
            ss->bad = true;
            return json_null();
        }
        for (j = 0; j < ss->n && ss->map[j] != n; j++) continue;
        if (j == ss->n) {
            if (ss->n == sizeof ss->map / sizeof *ss->map) {
                ss->bad = true;
                return json_null();
            }
            ss->map[ss->n++] = n;
        }
        snprintf(text, sizeof text, "$%zu%s", j, end);
        return json_string(text);
    }
    if (s && s[0] == '&') ss->bad = true; /* promises cannot be vat parameters */
    return json_deep_copy(v);
}

/* vatParameters from an options record: kernel capdata (slots are krefs). */
static swing_status params_of(kern *k, const char *admin, const json_t *opts, const vp_capdata *ma, kern_cd *out,
                              bool *given, const char **why, swing_err *err)
{
    const json_t *vp = json_object_get(opts, "vatParameters");
    sub_slots ss;
    json_t *r;
    char *text;
    swing_status s = SWING_OK;
    memset(out, 0, sizeof *out);
    *given = vp != NULL;
    if (!vp) return SWING_OK;
    memset(&ss, 0, sizeof ss);
    ss.in = ma->slots;
    ss.nin = ma->nslots;
    r = renumber(vp, &ss);
    text = r && !ss.bad ? kern_json_dump(r) : NULL;
    json_decref(r);
    if (!text) {
        *why = "vatParameters must be data and objects (no promises), at most 64 references";
        return SWING_OK;
    }
    out->body = swing_malloc(strlen(text) + 2);
    out->slots = swing_calloc(ss.n ? ss.n : 1, sizeof *out->slots);
    if (!out->body || !out->slots) s = SWING_NOMEM(err);
    else sprintf(out->body, "#%s", text);
    free(text);
    for (size_t i = 0; !s && i < ss.n; i++) {
        char kref[KERN_ID_MAX];
        bool found;
        if ((s = kern_clist_kref(k, admin, ma->slots[ss.map[i]], kref, &found, err))) break;
        if (!found || !kern_ids_is_kobj(kref)) s = SWING_CORRUPT(err, "vat admin: slot %zu not in its c-list", i);
        else if (!(out->slots[i] = swing_malloc(strlen(kref) + 1))) s = SWING_NOMEM(err);
        else {
            strcpy(out->slots[i], kref);
            out->nslots++;
        }
    }
    return s;
}

/* ---- results ---- */

/* Takes a message's result over: kernel-decided, held (+1) by the kernel
 * until settle() (kpid "" when the message has none). */
static swing_status take_result(kern *k, const char *admin, const char *vpid, char kpid[KERN_ID_MAX], swing_err *err)
{
    bool found;
    swing_status s;
    kpid[0] = '\0';
    if (!vpid) return SWING_OK;
    if ((s = kern_clist_kref(k, admin, vpid, kpid, &found, err))) return s;
    if (!found) return SWING_CORRUPT(err, "vat admin: result %s not in its c-list", vpid);
    if ((s = kern_kp_incref(k, kpid, err)) || (s = kern_kp_set_decider(k, kpid, "", err))) return s;
    return kern_clist_delete(k, admin, kpid, err);
}

static swing_status settle(kern *k, const char *kpid, bool rejected, vp_capdata data, swing_err *err)
{
    swing_status s;
    if (!kpid[0]) return SWING_OK;
    if ((s = kern_kp_resolve(k, kpid, rejected, data, err))) return s;
    return kern_kp_decref(k, kpid, err);
}

static swing_status settle_error(kern *k, const char *kpid, const char *msg, swing_err *err)
{
    kern_cd cd;
    swing_status s = kern_cd_error(msg, &cd, err);
    if (!s) s = settle(k, kpid, true, kern_cd_view(&cd), err);
    kern_cd_free(&cd);
    return s;
}

static swing_status settle_plain(kern *k, const char *kpid, const char *body, swing_err *err)
{
    vp_capdata cd = {body, NULL, 0};
    return settle(k, kpid, false, cd, err);
}

/* An INVALID from a request the vat made is the vat's error: the result
 * rejects with it; anything else is the kernel's. */
static swing_status refuse_or_fail(kern *k, const char *kpid, swing_status s, const swing_err *e, swing_err *err)
{
    if (SWING_STATUS_PRIMARY(s) != SWING_ERR_INVALID) {
        if (err) *err = *e;
        return s;
    }
    return settle_error(k, kpid, e->msg, err);
}

/* ---- methods ---- */

static bool only_keys(const json_t *opts, const char *const *keys)
{
    const char *key;
    json_t *x;
    if (json_is_array(opts) && json_array_size(opts) == 0) return true; /* an empty Lua table */
    if (opts && !json_is_null(opts) && !json_is_object(opts)) return false;
    json_object_foreach((json_t *)opts, key, x) {
        size_t i;
        for (i = 0; keys[i] && strcmp(keys[i], key) != 0; i++) continue;
        if (!keys[i]) return false;
    }
    return true;
}

/* A new adminNode export standing for vat; *kref its kernel object. */
static swing_status new_node(kern *k, const char *admin, const char *vat, char kref[KERN_ID_MAX], swing_err *err)
{
    uint64_t n;
    char vref[KERN_ID_MAX];
    swing_status s = kern_kv_next_id(k, "vatAdmin.nextNode", 1, &n, err);
    if (s) return s;
    snprintf(vref, sizeof vref, "o+%" PRIu64, n);
    if ((s = kern_obj_create(k, admin, kref, err)) || (s = kern_clist_add(k, admin, kref, vref, true, err))) return s;
    return kern_kv_set(k, vat, err, "vatAdmin.node.%s", vref);
}

static swing_status create_vat(kern *k, const char *admin, const json_t *args, const vp_capdata *ma, const char *kpid,
                               swing_err *err)
{
    static const char *const keys[] = {"name", "vatParameters", "restartAfter", NULL};
    const json_t *opts = json_array_get(args, 1);
    const char *name = plain_string(json_object_get(opts, "name")), *why = NULL;
    char id[STORE_BUNDLE_ID_LEN + 1], vat[KERN_ID_MAX], root[KERN_ID_MAX], node[KERN_ID_MAX], gen[40];
    bool ok, given, taken;
    kern_cd params;
    json_t *cfg;
    swing_status s;
    if (!only_keys(opts, keys)) return settle_error(k, kpid, "createVat() received unknown options", err);
    if ((s = bundle_of(k, plain_string(json_array_get(args, 0)), id, &ok, err))) return s;
    if (!ok) return settle_error(k, kpid, "createVat(): no such bundle", err);
    if (!name) {
        uint64_t n;
        if ((s = kern_vats_count(k, &n, err))) return s;
        snprintf(gen, sizeof gen, "dynamic-%" PRIu64, n + 1);
        name = gen;
    }
    {
        swing_err e;
        swing_err_clear(&e);
        if ((s = kern_vat_id(k, name, vat, &taken, &e))) return refuse_or_fail(k, kpid, s, &e, err);
    }
    if (taken) return settle_error(k, kpid, "createVat(): the name is taken", err);
    if ((s = params_of(k, admin, opts, ma, &params, &given, &why, err)) || why) {
        kern_cd_free(&params);
        return s ? s : settle_error(k, kpid, why, err);
    }
    vat[0] = '\0';
    cfg = json_pack("{ss}", "bundleID", id);
    if (cfg && json_object_get(opts, "restartAfter"))
        json_object_set(cfg, "restartAfter", json_object_get(opts, "restartAfter"));
    {
        vp_capdata pv = kern_cd_view(&params);
        swing_err e;
        swing_err_clear(&e);
        s = cfg ? kern_vats_create(k, name, cfg, given ? &pv : NULL, vat, root, &e) : SWING_NOMEM(err);
        ok = s == SWING_OK;
        if (s && cfg) s = refuse_or_fail(k, kpid, s, &e, err);
        else if (!s) s = new_node(k, admin, vat, node, err);
    }
    json_decref(cfg);
    kern_cd_free(&params);
    if (!s && ok && kpid[0]) {
        const char *slots[2] = {node, root};
        vp_capdata rec = {"#{\"adminNode\":\"$0.Alleged: adminNode\",\"root\":\"$1.Alleged: root\"}", slots, 2};
        s = settle(k, kpid, false, rec, err);
    }
    return s;
}

static swing_status node_upgrade(kern *k, const char *admin, const char *vat, const json_t *args,
                                 const vp_capdata *ma, const char *kpid, swing_err *err)
{
    static const char *const keys[] = {"vatParameters", "upgradeMessage", NULL};
    const json_t *opts = json_array_get(args, 1), *ref = json_array_get(args, 0), *msg;
    const char *why = NULL;
    char id[STORE_BUNDLE_ID_LEN + 1] = "";
    bool ok = true, given;
    kern_cd params;
    vp_capdata pv;
    swing_err e;
    swing_status s;
    if (!only_keys(opts, keys)) return settle_error(k, kpid, "upgrade() received unknown options", err);
    msg = json_object_get(opts, "upgradeMessage");
    if (msg && !plain_string(msg)) return settle_error(k, kpid, "upgrade(): upgradeMessage must be a string", err);
    if (ref && !json_is_null(ref) && (s = bundle_of(k, plain_string(ref), id, &ok, err))) return s;
    if (!ok) return settle_error(k, kpid, "upgrade(): no such bundle", err);
    if ((s = params_of(k, admin, opts, ma, &params, &given, &why, err)) || why) {
        kern_cd_free(&params);
        return s ? s : settle_error(k, kpid, why, err);
    }
    pv = kern_cd_view(&params);
    swing_err_clear(&e);
    s = kern_upgrade_queue(k, vat, id[0] ? id : NULL, given ? &pv : NULL, msg ? plain_string(msg) : NULL,
                           kpid[0] ? kpid : NULL, NULL, &e);
    kern_cd_free(&params);
    if (s) return refuse_or_fail(k, kpid, s, &e, err);
    return kpid[0] ? kern_kp_decref(k, kpid, err) : SWING_OK; /* the event holds it now */
}

/* A reason as text: a string, an error's message, else the body. */
static void reason_text(const json_t *v, const char *body, char *out, size_t cap)
{
    const char *s = plain_string(v);
    if (!s) s = json_string_value(json_object_get(v, "#error"));
    snprintf(out, cap, "%s", s ? s : body);
}

static swing_status node_terminate(kern *k, const char *vat, const json_t *args, const char *body, const char *kpid,
                                   swing_err *err)
{
    char why[KERN_TERM_REASON_MAX + 1];
    swing_status s;
    reason_text(json_array_get(args, 0), body, why, sizeof why);
    if ((s = kern_vats_terminate(k, vat, KERN_TERM_ADMIN, why, err))) return s;
    return settle_plain(k, kpid, "#\"#undefined\"", err);
}

/* done() of a vat that has ended: its termination record says how. */
static swing_status settle_done(kern *k, const char *kpid, const kern_termination *t, swing_err *err)
{
    char msg[KERN_TERM_MSG_MAX];
    json_t *v;
    char *body = NULL;
    swing_status s;
    if (t->kind != KERN_TERM_EXIT) {
        kern_term_message(t, msg, sizeof msg);
        return settle_error(k, kpid, msg, err);
    }
    v = json_string(t->reason);
    s = v ? kern_cd_plain(v, &body, err) : SWING_NOMEM(err);
    json_decref(v);
    if (!s) s = settle_plain(k, kpid, body, err);
    swing_mfree(body);
    return s;
}

static swing_status node_done(kern *k, const char *vat, const char *kpid, swing_err *err)
{
    bool alive, found;
    kern_termination t;
    swing_status s = kern_vats_alive(k, vat, &alive, err);
    if (s || !kpid[0]) return s;
    if (alive) return kern_kv_set(k, "", err, "vatAdmin.done.%s.%s", vat, kpid); /* held until the end */
    if ((s = kern_term_of_vat(k, vat, &t, &found, err))) return s;
    if (!found) return settle_error(k, kpid, "vat terminated", err);
    return settle_done(k, kpid, &t, err);
}

swing_status kern_vatadmin_ended(kern *k, const char *vat, const kern_termination *t, swing_err *err)
{
    char prefix[KERN_ID_MAX + 24], (*kpids)[KERN_VREF_MAX] = NULL;
    size_t n = 0;
    swing_status s;
    snprintf(prefix, sizeof prefix, "vatAdmin.done.%s.", vat);
    s = kern_kv_tails(k, prefix, strlen(prefix), &kpids, &n, err);
    for (size_t i = 0; !s && i < n; i++) {
        if (!(s = kern_kv_del(k, err, "%s%s", prefix, kpids[i]))) s = settle_done(k, kpids[i], t, err);
    }
    swing_mfree(kpids);
    return s;
}

/* One message to the service (o+0) or to an adminNode (o+N). */
static swing_status admin_message(kern *k, const char *admin, const vp_delivery *d, swing_err *err)
{
    const char *method;
    json_t *j = args_of(d->methargs.body, &method), *args = json_array_get(j, 1);
    char kpid[KERN_ID_MAX], *vat = NULL;
    bool found = false;
    swing_status s = take_result(k, admin, d->result, kpid, err);
    if (!s && strcmp(d->target, "o+0") != 0) s = kern_kv_get(k, &vat, &found, err, "vatAdmin.node.%s", d->target);
    if (s) {
        json_decref(j);
        swing_mfree(vat);
        return s;
    }
    if (!j) s = settle_error(k, kpid, "vat admin: bad message", err);
    else if (!found && strcmp(method, "createVat") == 0) s = create_vat(k, admin, args, &d->methargs, kpid, err);
    else if (found && strcmp(method, "upgrade") == 0) s = node_upgrade(k, admin, vat, args, &d->methargs, kpid, err);
    else if (found && strcmp(method, "terminateWithFailure") == 0)
        s = node_terminate(k, vat, args, d->methargs.body, kpid, err);
    else if (found && strcmp(method, "done") == 0) s = node_done(k, vat, kpid, err);
    else if (found && strcmp(method, "windDown") == 0) {
        swing_err e;
        swing_err_clear(&e);
        s = kern_winddown_queue(k, vat, &e);
        s = s ? refuse_or_fail(k, kpid, s, &e, err) : settle_plain(k, kpid, "#\"#undefined\"", err);
    }
    else s = settle_error(k, kpid, "vat admin: no such method", err);
    json_decref(j);
    swing_mfree(vat);
    return s;
}

static swing_status admin_deliver(void *self, vp_channel *ch, const vp_delivery *d, vp_delivery_result *r)
{
    kern *k = self;
    kern_vat_io *io = (kern_vat_io *)ch; /* the channel is the first member */
    swing_status s = SWING_OK;
    r->ok = true;
    if (d->type == VP_D_MESSAGE) s = admin_message(k, io->vat, d, &io->fatal);
    for (size_t i = 0; !s && d->type == VP_D_RETIRE_EXPORTS && i < d->nvrefs; i++) {
        bool has;
        if (!(s = kern_kv_has(k, &has, &io->fatal, "vatAdmin.node.%s", d->vrefs[i])) && has)
            s = kern_kv_del(k, &io->fatal, "vatAdmin.node.%s", d->vrefs[i]);
    }
    if (s && io->fatal.code == SWING_OK) swing_err_set(&io->fatal, s, "vat admin: %s", swing_status_name(s));
    return s;
}

static void admin_destroy(void *self) { (void)self; }

const vp_worker_ops kern_vatadmin_ops = {admin_deliver, admin_destroy};
