/*
 * kernel.c - the kernel handle and its host-facing operations: open/close,
 * genesis from a JSON config (static vats, bootstrap), host sends to a vat
 * root, promise inspection, holds, host-requested termination.
 */
#include "kernel/kernel_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"

#define KERN_SCHEMA "1"
#define NAME_MAX_LEN 32

swing_status kern_open(store *st, const kern_options *opt, kern **out, swing_err *err)
{
    kern *k;
    char *v = NULL;
    bool found;
    swing_status s;
    *out = NULL;
    k = swing_calloc(1, sizeof *k);
    if (!k) return SWING_NOMEM(err);
    k->st = st;
    if (opt) {
        k->raw = opt->raw_vats;
        k->nraw = opt->nraw;
        k->gc_batch_default = opt->gc_batch;
        k->runtime = opt->nruntimes ? opt->runtimes : NULL;
    }
    if (k->runtime && (!k->runtime->check || !k->runtime->create)) {
        swing_mfree(k);
        return swing_err_set(err, SWING_ERR_INVALID, "vat runtime %s lacks a check or create function",
                             k->runtime->name ? k->runtime->name : "(unnamed)");
    }
    for (size_t i = 0; i < k->nraw; i++) {
        if (!k->raw[i].name || !k->raw[i].dispatch) {
            swing_mfree(k);
            return swing_err_set(err, SWING_ERR_INVALID, "raw vat %zu lacks a name or dispatch", i);
        }
    }
    store_overlay_init(&k->maybe_free);
    s = kern_kv_get(k, &v, &found, err, "kernel.version");
    if (s == SWING_OK && found && strcmp(v, KERN_SCHEMA) != 0)
        s = SWING_CORRUPT(err, "kernel state has schema %.20s, expected %s", v, KERN_SCHEMA);
    swing_mfree(v);
    if (s) {
        kern_close(k);
        return s;
    }
    *out = k;
    return SWING_OK;
}

void kern_close(kern *k)
{
    if (!k) return;
    if (k->in_crank) kern_crank_abort(k, NULL);
    while (k->nworkers) kern_vats_evict(k, k->workers[0].vat_id);
    swing_mfree(k->workers);
    swing_mfree(k->terms);
    swing_mfree(k->upgrades);
    store_overlay_clear(&k->maybe_free);
    swing_mfree(k);
}

bool kern_initialized(kern *k)
{
    bool found = false;
    return kern_kv_has(k, &found, NULL, "kernel.version") == SWING_OK && found;
}

static bool name_valid(const char *n)
{
    size_t i = 0;
    for (; n[i]; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-') || i >= NAME_MAX_LEN)
            return false;
    }
    return i > 0;
}

static swing_status check_vat_config(const char *name, const json_t *v, swing_err *err);

static swing_status check_config(const json_t *cfg, swing_err *err)
{
    const json_t *vats = json_object_get(cfg, "vats"), *gcb = json_object_get(cfg, "gcBatch");
    const char *boot = json_string_value(json_object_get(cfg, "bootstrap"));
    const char *name, *key;
    json_t *v, *x;
    if (!json_is_object(cfg)) return swing_err_set(err, SWING_ERR_INVALID, "config must be an object");
    json_object_foreach((json_t *)cfg, key, x) {
        if (strcmp(key, "vats") && strcmp(key, "bootstrap") && strcmp(key, "gcBatch") &&
            strcmp(key, "defaultReapDirtThreshold") && strcmp(key, "reapBudget") &&
            strcmp(key, "defaultRestartAfter") && strcmp(key, "vatAdmin"))
            return swing_err_set(err, SWING_ERR_INVALID, "config: unknown field \"%.40s\"", key);
    }
    x = json_object_get(cfg, "defaultReapDirtThreshold");
    if (x && !kern_reap_threshold_valid(x))
        return swing_err_set(err, SWING_ERR_INVALID, "config: bad defaultReapDirtThreshold");
    x = json_object_get(cfg, "reapBudget");
    if (x && (!json_is_integer(x) || json_integer_value(x) < 1))
        return swing_err_set(err, SWING_ERR_INVALID, "config: reapBudget must be a positive integer");
    x = json_object_get(cfg, "vatAdmin");
    if (x && !json_is_boolean(x)) return swing_err_set(err, SWING_ERR_INVALID, "config: vatAdmin must be a boolean");
    if (json_is_true(x) && json_object_get(vats, "vatAdmin"))
        return swing_err_set(err, SWING_ERR_INVALID, "config: the name vatAdmin is the vat admin service's");
    x = json_object_get(cfg, "defaultRestartAfter");
    if (x && (!json_is_integer(x) || json_integer_value(x) < 1))
        return swing_err_set(err, SWING_ERR_INVALID, "config: defaultRestartAfter must be a positive integer");
    if (!json_is_object(vats) || json_object_size(vats) == 0)
        return swing_err_set(err, SWING_ERR_INVALID, "config: \"vats\" must be a non-empty object");
    if (json_object_get(cfg, "bootstrap") && (!boot || !json_object_get(vats, boot)))
        return swing_err_set(err, SWING_ERR_INVALID, "config: bootstrap must name a vat");
    if (gcb && (!json_is_integer(gcb) || json_integer_value(gcb) < 1 || json_integer_value(gcb) > 100000))
        return swing_err_set(err, SWING_ERR_INVALID, "config: gcBatch must be 1..100000");
    json_object_foreach((json_t *)vats, name, v) {
        swing_status s = check_vat_config(name, v, err);
        if (s) return s;
    }
    return SWING_OK;
}

static swing_status check_vat_config(const char *name, const json_t *v, swing_err *err)
{
    const char *key;
    json_t *x;
    if (!name_valid(name))
        return swing_err_set(err, SWING_ERR_INVALID, "config: bad vat name \"%.40s\"", name);
    if (!json_is_object(v) || (!json_string_value(json_object_get(v, "source")) ==
                               !json_string_value(json_object_get(v, "bundleID"))))
        return swing_err_set(err, SWING_ERR_INVALID, "config: vat %s needs a source or a bundleID", name);
    if (json_string_value(json_object_get(v, "source")) &&
        strncmp(json_string_value(json_object_get(v, "source")), "kernel:", 7) == 0)
        return swing_err_set(err, SWING_ERR_INVALID, "config: vat %s: kernel sources are reserved", name);
    if (json_object_get(v, "bundleID") && !store_bundle_id_valid(json_string_value(json_object_get(v, "bundleID"))))
        return swing_err_set(err, SWING_ERR_INVALID, "config: vat %s: bad bundleID", name);
    json_object_foreach((json_t *)v, key, x) {
        bool limit = strcmp(key, "computeLimit") == 0 || strcmp(key, "memoryLimit") == 0 ||
                     strcmp(key, "restartAfter") == 0;
        bool ok = (strcmp(key, "source") == 0) || strcmp(key, "parameters") == 0 ||
                  strcmp(key, "bundleID") == 0 || (limit && json_is_integer(x) && json_integer_value(x) > 0) ||
                  ((strcmp(key, "critical") == 0 || strcmp(key, "enablePipelining") == 0 ||
                    strcmp(key, "useTranscript") == 0) &&
                   json_is_boolean(x)) ||
                  (strcmp(key, "reapDirtThreshold") == 0 && kern_reap_threshold_valid(x));
        if (!ok)
            return swing_err_set(err, SWING_ERR_INVALID, "config: vat %s: bad field \"%.40s\"", name, key);
    }
    return SWING_OK;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* bootstrap(vats): #["bootstrap",[{"name":"$i.Alleged: root",...}]] */
static swing_status queue_bootstrap(kern *k, const char *boot_root, const char **names,
                                    char (*roots)[KERN_ID_MAX], size_t n, swing_err *err)
{
    json_t *rec = json_object(), *body;
    char *text = NULL, *b = NULL, kpid[KERN_ID_MAX];
    const char **slots = swing_calloc(n ? n : 1, sizeof *slots);
    swing_status s = rec && slots ? SWING_OK : SWING_NOMEM(err);
    for (size_t i = 0; !s && i < n; i++) {
        char ref[48];
        snprintf(ref, sizeof ref, "$%zu.Alleged: root", i);
        if (json_object_set_new(rec, names[i], json_string(ref))) s = SWING_NOMEM(err);
        slots[i] = roots[i];
    }
    body = s ? NULL : json_pack("[s[O]]", "bootstrap", rec);
    text = body ? kern_json_dump(body) : NULL;
    json_decref(body);
    json_decref(rec);
    if (!s && text && (b = swing_malloc(strlen(text) + 2))) {
        vp_capdata ma;
        b[0] = '#';
        strcpy(b + 1, text);
        ma.body = b;
        ma.slots = slots;
        ma.nslots = n;
        s = kern_kp_create(k, "", KERN_POLICY_PANIC, kpid, err);
        if (!s) s = kern_kv_set(k, "", err, "kernel.hold.%s", kpid);
        if (!s) s = kern_kp_incref(k, kpid, err);
        if (!s) s = kern_kv_set(k, kpid, err, "kernel.bootstrapResult");
        if (!s) s = kern_queue_send(k, KERN_ACCEPTANCE, boot_root, ma, kpid, err);
    } else if (!s) {
        s = SWING_NOMEM(err);
    }
    free(text);
    swing_mfree(b);
    swing_mfree(slots);
    return s;
}

static swing_status genesis(kern *k, const json_t *cfg, swing_err *err)
{
    const json_t *vats = json_object_get(cfg, "vats"), *gcb = json_object_get(cfg, "gcBatch");
    const char *boot = json_string_value(json_object_get(cfg, "bootstrap"));
    size_t n = json_object_size(vats), i = 0, boot_i = 0;
    bool admin = json_is_true(json_object_get(cfg, "vatAdmin"));
    const char **names = swing_calloc(n + 1, sizeof *names);
    char (*roots)[KERN_ID_MAX] = swing_calloc(n + 1, sizeof *roots);
    json_t *list = json_array(), *v;
    const char *name;
    char *text = NULL;
    swing_status s = names && roots && list ? SWING_OK : SWING_NOMEM(err);
    uint64_t batch = gcb ? (uint64_t)json_integer_value(gcb)
                         : (k->gc_batch_default ? k->gc_batch_default : KERN_DEFAULT_GC_BATCH);
    if (!s) {
        json_object_foreach((json_t *)vats, name, v) names[i++] = name;
        qsort(names, n, sizeof *names, str_cmp); /* byte order, whatever the file order */
    }
    if (!s) s = kern_kv_set(k, KERN_SCHEMA, err, "kernel.version");
    if (!s) s = kern_kv_setu(k, batch, err, "kernel.gcBatch");
    k->gc_batch = 0; /* read again (gc.c) */
    if (!s && json_object_get(cfg, "reapBudget"))
        s = kern_kv_setu(k, (uint64_t)json_integer_value(json_object_get(cfg, "reapBudget")), err,
                         "kernel.reapBudget");
    if (!s && json_object_get(cfg, "defaultRestartAfter"))
        s = kern_kv_setu(k, (uint64_t)json_integer_value(json_object_get(cfg, "defaultRestartAfter")), err,
                         "kernel.defaultRestartAfter");
    if (!s && json_object_get(cfg, "defaultReapDirtThreshold")) {
        char *t = kern_json_dump(json_object_get(cfg, "defaultReapDirtThreshold"));
        s = t ? kern_kv_set(k, t, err, "kernel.reapDirtThreshold") : SWING_NOMEM(err);
        free(t);
        k->nopts = 0;
    }
    for (i = 0; !s && i < n; i++) {
        char vat[KERN_ID_MAX];
        s = kern_vats_create(k, names[i], json_object_get(vats, names[i]), NULL, vat, roots[i], err);
        if (!s && json_array_append_new(list, json_string(names[i]))) s = SWING_NOMEM(err);
        if (boot && strcmp(names[i], boot) == 0) boot_i = i;
    }
    if (!s && (text = kern_json_dump(list)) == NULL) s = SWING_NOMEM(err);
    if (!s) s = kern_kv_set(k, text, err, "vat.names");
    if (!s && admin) { /* the service joins the bootstrap vat's vats record */
        names[n] = "vatAdmin";
        s = kern_vatadmin_create(k, roots[n], err);
    }
    if (!s && boot) s = queue_bootstrap(k, roots[boot_i], names, roots, n + admin, err);
    free(text);
    json_decref(list);
    swing_mfree(names);
    swing_mfree(roots);
    return s;
}

swing_status kern_init(kern *k, const char *config, size_t len, swing_err *err)
{
    json_error_t je;
    json_t *cfg;
    swing_status s = kern_panicked(k, err);
    if (s) return s;
    if (kern_initialized(k)) return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "kernel already initialized");
    cfg = json_loadb(config ? config : "", config ? len : 0, JSON_REJECT_DUPLICATES, &je);
    if (!cfg) return swing_err_set(err, SWING_ERR_INVALID, "config: %s (line %d)", je.text, je.line);
    s = check_config(cfg, err);
    if (!s) s = kern_crank_begin(k, err);
    if (!s) {
        s = genesis(k, cfg, err);
        if (s) kern_crank_abort(k, NULL);
        else s = kern_crank_end(k, err);
    }
    json_decref(cfg);
    return s;
}

swing_status kern_vat_id(kern *k, const char *vat_name, char vat_id[24], bool *found, swing_err *err)
{
    char *v = NULL;
    swing_status s;
    vat_id[0] = '\0';
    *found = false;
    if (!vat_name || !name_valid(vat_name)) return swing_err_set(err, SWING_ERR_INVALID, "bad vat name");
    s = kern_kv_get(k, &v, found, err, "vat.name.%s", vat_name);
    if (s == SWING_OK && *found) snprintf(vat_id, 24, "%s", v);
    swing_mfree(v);
    return s;
}

/* Runs fn inside its own crank; aborts the crank when fn fails. */
static swing_status in_crank(kern *k, swing_status s, swing_err *err)
{
    if (s) {
        kern_crank_abort(k, NULL);
        return s;
    }
    return kern_crank_end(k, err);
}

/* kern_queue_to_vat; with id, kernel.inbound.<id> = kpid in the same crank. */
static swing_status queue_to_vat(kern *k, const char *id, const char *vat_name, const char *method,
                                 const char *args_body, char kpid[24], swing_err *err)
{
    char vat[KERN_ID_MAX], root[KERN_ID_MAX], *body = NULL;
    bool found, alive;
    swing_status s;
    json_t *args;
    kpid[0] = '\0';
    if (!method) return swing_err_set(err, SWING_ERR_INVALID, "no method");
    if (id) {
        if ((s = kern_kv_has(k, &found, err, KERN_KEY_INBOUND "%s", id))) return s;
        if (found) return swing_err_set(err, SWING_ERR_INVALID, "inbound id %s is already pending", id);
    }
    if ((s = kern_vat_id(k, vat_name, vat, &found, err))) return s;
    if (!found) return kern_term_refusal(k, vat_name, false, err);
    args = json_loads(args_body ? args_body : "[]", 0, NULL);
    if (!json_is_array(args)) {
        json_decref(args);
        return swing_err_set(err, SWING_ERR_INVALID, "args must be a JSON array of plain data");
    }
    s = kern_cd_methargs_plain(method, args, &body, err);
    json_decref(args);
    if (s || (s = kern_crank_begin(k, err))) {
        swing_mfree(body);
        return s;
    }
    s = kern_vats_alive(k, vat, &alive, err);
    if (!s && !alive) s = kern_term_refusal(k, vat_name, true, err);
    if (!s) s = kern_clist_kref(k, vat, "o+0", root, &found, err);
    if (!s && !found) {
        bool winding;
        s = kern_kv_has(k, &winding, err, "%s.windDown", vat);
        if (!s) s = winding ? swing_err_set(err, SWING_ERR_USER, "vat %s is winding down: its root is gone", vat_name)
                            : SWING_CORRUPT(err, "vat %s has no root", vat);
    }
    if (!s) s = kern_kp_create(k, "", KERN_POLICY_IGNORE, kpid, err);
    if (!s) s = kern_kv_set(k, "", err, "kernel.hold.%s", kpid);
    if (!s) s = kern_kp_incref(k, kpid, err);
    if (!s && id) s = kern_kv_set(k, kpid, err, KERN_KEY_INBOUND "%s", id);
    if (!s) {
        vp_capdata ma = {body, NULL, 0};
        s = kern_queue_send(k, KERN_ACCEPTANCE, root, ma, kpid, err);
    }
    swing_mfree(body);
    if (s) kpid[0] = '\0';
    return in_crank(k, s, err);
}

swing_status kern_queue_to_vat(kern *k, const char *vat_name, const char *method,
                               const char *args_body, char kpid[24], swing_err *err)
{
    return queue_to_vat(k, NULL, vat_name, method, args_body, kpid, err);
}

swing_status kern_inbound_queue(kern *k, const char *id, const char *vat_name, const char *method,
                                const char *args_body, char kpid[24], swing_err *err)
{
    kpid[0] = '\0';
    if (!id || !id[0]) return swing_err_set(err, SWING_ERR_INVALID, "no inbound id");
    return queue_to_vat(k, id, vat_name, method, args_body, kpid, err);
}

swing_status kern_inbound_release(kern *k, const char *id, swing_err *err)
{
    char *kpid = NULL;
    bool found, held = false;
    swing_status s = kern_kv_get(k, &kpid, &found, err, KERN_KEY_INBOUND "%s", id ? id : "");
    if (s) return s;
    if (!found) return swing_err_set(err, SWING_ERR_INVALID, "inbound id %s is not pending", id ? id : "");
    if (kern_ids_kref_valid(kpid) && (s = kern_kv_has(k, &held, err, "kernel.hold.%s", kpid))) goto out;
    if ((s = kern_crank_begin(k, err))) goto out;
    s = kern_kv_del(k, err, KERN_KEY_INBOUND "%s", id);
    if (!s && held) s = kern_kv_del(k, err, "kernel.hold.%s", kpid);
    if (!s && held) s = kern_refs_decref(k, kpid, err);
    s = in_crank(k, s, err);
out:
    swing_mfree(kpid);
    return s;
}

swing_status kern_promise_status(kern *k, const char *kpid, kern_promise_state *state,
                                 swing_buf *body, swing_err *err)
{
    swing_status s;
    if (body) body->ptr = NULL, body->len = 0;
    if (!kpid || !kern_ids_kref_valid(kpid) || !kern_ids_is_kpromise(kpid))
        return swing_err_set(err, SWING_ERR_INVALID, "not a kpid");
    if ((s = kern_kp_state(k, kpid, state, NULL, err))) return s;
    if (body && (*state == KERN_PROMISE_FULFILLED || *state == KERN_PROMISE_REJECTED)) {
        kern_cd d;
        if ((s = kern_kp_data(k, kpid, &d, err))) return s;
        body->ptr = (uint8_t *)d.body;
        body->len = strlen(d.body);
        d.body = NULL;
        kern_cd_free(&d);
    }
    return SWING_OK;
}

swing_status kern_release(kern *k, const char *kref, swing_err *err)
{
    bool held;
    swing_status s;
    if (!kref || !kern_ids_kref_valid(kref)) return swing_err_set(err, SWING_ERR_INVALID, "not a kref");
    if ((s = kern_kv_has(k, &held, err, "kernel.hold.%s", kref))) return s;
    if (!held) return swing_err_set(err, SWING_ERR_INVALID, "%s is not held", kref);
    if ((s = kern_crank_begin(k, err))) return s;
    s = kern_kv_del(k, err, "kernel.hold.%s", kref);
    if (!s) s = kern_refs_decref(k, kref, err);
    return in_crank(k, s, err);
}

swing_status kern_terminate_vat(kern *k, const char *vat_name, const char *reason, swing_err *err)
{
    char vat[KERN_ID_MAX];
    bool found;
    swing_status s = kern_vat_id(k, vat_name, vat, &found, err);
    if (s) return s;
    if (!found) {
        kern_termination t;
        if ((s = kern_vat_termination(k, vat_name, &t, &found, err))) return s;
        return found ? SWING_OK : swing_err_set(err, SWING_ERR_INVALID, "no vat named %s", vat_name);
    }
    if ((s = kern_crank_begin(k, err))) return s;
    s = kern_vats_terminate(k, vat, KERN_TERM_HOST, reason && reason[0] ? reason : "terminated by the host", err);
    return in_crank(k, s, err);
}

swing_status kern_create_vat(kern *k, const char *name, const char *vat_config,
                             const vp_capdata *params, char vat_id[24], swing_err *err)
{
    json_t *cfg;
    char root[KERN_ID_MAX], vat[KERN_ID_MAX];
    bool found;
    swing_status s;
    vat_id[0] = '\0';
    if (!name || !vat_config) return swing_err_set(err, SWING_ERR_INVALID, "create_vat needs a name and config");
    if ((s = kern_vat_id(k, name, vat, &found, err))) return s;
    if (found) return swing_err_set(err, SWING_ERR_INVALID, "a vat named %s exists", name);
    if (!kern_initialized(k)) return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "kernel not initialized");
    cfg = json_loads(vat_config, JSON_REJECT_DUPLICATES, NULL);
    if (!cfg) return swing_err_set(err, SWING_ERR_INVALID, "vat config is not JSON");
    s = check_vat_config(name, cfg, err);
    for (size_t i = 0; !s && params && i < params->nslots; i++) {
        const char *kref = params->slots[i];
        if (!kref || !kern_ids_kref_valid(kref))
            s = swing_err_set(err, SWING_ERR_INVALID, "vatParameters slot %zu is not a kref", i);
    }
    if (!s && (s = kern_crank_begin(k, err)) == SWING_OK) {
        for (size_t i = 0; !s && params && i < params->nslots; i++) {
            bool exists;
            const char *kref = params->slots[i];
            if (kern_ids_is_kobj(kref)) {
                uint64_t r, c;
                s = kern_obj_refs(k, kref, &r, &c, &exists, err);
            } else {
                s = kern_kv_has(k, &exists, err, "%s.state", kref);
            }
            if (!s && !exists) s = swing_err_set(err, SWING_ERR_INVALID, "vatParameters name unknown %s", kref);
        }
        if (!s) s = kern_vats_create(k, name, cfg, params, vat, root, err);
        if (!s) snprintf(vat_id, 24, "%s", vat);
        s = in_crank(k, s, err);
    }
    json_decref(cfg);
    return s;
}

swing_status kern_bring_out_your_dead(kern *k, const char *vat_name, uint64_t budget,
                                      swing_err *err)
{
    char vat[KERN_ID_MAX];
    bool found, alive;
    json_t *ev;
    char *text;
    swing_status s = kern_vat_id(k, vat_name, vat, &found, err);
    if (s) return s;
    if (!found) return kern_term_refusal(k, vat_name, false, err);
    if ((s = kern_crank_begin(k, err))) return s;
    s = kern_vats_alive(k, vat, &alive, err);
    if (!s && !alive) s = kern_term_refusal(k, vat_name, true, err);
    if (!s) {
        ev = json_pack("{sssssI}", "type", "bringOutYourDead", "vatID", vat, "budget", (json_int_t)budget);
        text = ev ? kern_json_dump(ev) : NULL;
        json_decref(ev);
        s = text ? kern_queue_push(k, KERN_REAP, text, err) : SWING_NOMEM(err);
        free(text);
    }
    return in_crank(k, s, err);
}

swing_status kern_change_vat_options(kern *k, const char *vat_name, const char *options,
                                     swing_err *err)
{
    char vat[KERN_ID_MAX];
    bool found, alive;
    const char *key;
    json_t *opts, *x, *ev;
    char *text = NULL;
    swing_status s = kern_vat_id(k, vat_name, vat, &found, err);
    if (s) return s;
    if (!found) return kern_term_refusal(k, vat_name, false, err);
    opts = json_loads(options ? options : "", JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(opts)) {
        json_decref(opts);
        return swing_err_set(err, SWING_ERR_INVALID, "options must be a JSON object");
    }
    json_object_foreach(opts, key, x) {
        if ((strcmp(key, "reapDirtThreshold") == 0 && !kern_reap_threshold_valid(x)) ||
            (strcmp(key, "critical") == 0 && !json_is_boolean(x))) {
            s = swing_err_set(err, SWING_ERR_INVALID, "bad option %.40s", key);
            json_decref(opts);
            return s;
        }
    }
    ev = json_pack("{sssssO}", "type", "changeVatOptions", "vatID", vat, "options", opts);
    text = ev ? kern_json_dump(ev) : NULL;
    json_decref(ev);
    json_decref(opts);
    if (!text) return SWING_NOMEM(err);
    if ((s = kern_crank_begin(k, err))) {
        free(text);
        return s;
    }
    s = kern_vats_alive(k, vat, &alive, err);
    if (!s && !alive) s = kern_term_refusal(k, vat_name, true, err);
    if (!s) s = kern_queue_push(k, KERN_ACCEPTANCE, text, err);
    free(text);
    return in_crank(k, s, err);
}

swing_status kern_install_bundle(kern *k, const void *bytes, size_t len, char id[STORE_BUNDLE_ID_LEN + 1],
                                 swing_err *err)
{
    const vp_runtime *rt;
    swing_status s;
    id[0] = '\0';
    if (!bytes && len) return swing_err_set(err, SWING_ERR_INVALID, "no bundle bytes");
    if (len > STORE_BUNDLE_MAX) return swing_err_set(err, SWING_ERR_LIMIT, "bundle too large");
    if ((s = kern_vats_runtime(k, &rt, err))) return s;
    if ((s = rt->check(rt->user, swing_bytes_of(bytes, len), err))) return s;
    if ((s = kern_crank_begin(k, err))) return s;
    s = store_bundle_put(k->st, swing_bytes_of(bytes, len), id, err);
    return in_crank(k, s, err);
}

swing_status kern_evict_worker(kern *k, const char *vat_name, swing_err *err)
{
    char vat[KERN_ID_MAX];
    bool found;
    swing_status s = kern_vat_id(k, vat_name, vat, &found, err);
    if (s) return s;
    if (!found) return kern_term_refusal(k, vat_name, false, err);
    kern_vats_evict(k, vat);
    return SWING_OK;
}
