/*
 * admin.c - host ABI operations that shape the kernel rather than run it:
 * genesis (init), bundles (and their names: bundle_name.c), vat creation
 * and termination, and state sync (export of the committed state, verified
 * import into an empty directory). Inside a replayed block they only
 * recompute their responses. Upgrades are upgrade.c's.
 */
#include "abi/host.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "store/export.h"

static swing_status need_block(host_call *c, const char *op)
{
    if (c->h->phase == HOST_IN_BLOCK) return SWING_OK;
    return swing_err_set(c->err, SWING_ERR_OUT_OF_ORDER, "%s is allowed inside a block only", op);
}

static swing_status need_idle(host_call *c, const char *op)
{
    if (c->h->phase == HOST_IDLE) return SWING_OK;
    return swing_err_set(c->err, SWING_ERR_OUT_OF_ORDER, "%s is allowed between blocks only", op);
}

/* ---- init ---- */

/* A bundle of the request: its name and, once installed, its ID. Genesis
 * may carry a great many bundles, so names are looked up in a sorted index
 * (never by a scan per name: that was quadratic). */
typedef struct named_id {
    const char *name;
    char id[STORE_BUNDLE_ID_LEN + 1];
} named_id;

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const named_id *const *)a)->name, (*(const named_id *const *)b)->name);
}

/* Fills ids (request order) and byname (the same entries sorted by name);
 * refuses an empty or repeated name. */
static swing_status index_names(host_call *c, named_id *ids, const named_id **byname)
{
    const Swing__V1__InitRequest *r = c->req->init;
    for (size_t i = 0; i < r->n_bundles; i++) {
        if (!r->bundles[i]->name || !r->bundles[i]->name[0])
            return swing_err_set(c->err, SWING_ERR_INVALID, "bundle %zu has no name", i);
        ids[i].name = r->bundles[i]->name;
        byname[i] = &ids[i];
    }
    if (r->n_bundles > 1) qsort(byname, r->n_bundles, sizeof *byname, by_name);
    for (size_t i = 1; i < r->n_bundles; i++)
        if (strcmp(byname[i - 1]->name, byname[i]->name) == 0)
            return swing_err_set(c->err, SWING_ERR_INVALID, "two bundles named %s", byname[i]->name);
    return SWING_OK;
}

/* Replaces each vat's "bundleName" by the "bundleID" it was installed as. */
static swing_status resolve_names(host_call *c, json_t *cfg, const named_id **byname, size_t n)
{
    json_t *vats = json_object_get(cfg, "vats"), *v;
    const char *vname;
    if (!json_is_object(vats)) return SWING_OK; /* kern_init reports it */
    json_object_foreach(vats, vname, v) {
        json_t *bn = json_object_get(v, "bundleName");
        named_id key;
        const named_id *kp = &key, **hit;
        if (!bn) continue;
        if (!json_is_string(bn))
            return swing_err_set(c->err, SWING_ERR_INVALID, "vat %s: bundleName must be a string", vname);
        key.name = json_string_value(bn);
        hit = n ? bsearch(&kp, byname, n, sizeof *byname, by_name) : NULL;
        if (!hit)
            return swing_err_set(c->err, SWING_ERR_INVALID, "vat %s: no bundle named %s in the request", vname,
                                 json_string_value(bn));
        if (json_object_set_new(v, "bundleID", json_string((*hit)->id)) || json_object_del(v, "bundleName"))
            return SWING_NOMEM(c->err);
    }
    return SWING_OK;
}

/* Puts the bundle's name, and the vats whose config names it, in front of
 * the error of a bundle that failed to install: "vat a, vat b: bundle x:
 * util:3: ..." (the module and line come from the compiler). */
static swing_status name_bundle_users(host_call *c, const json_t *cfg, const char *bundle, swing_status s)
{
    json_t *vats = json_object_get(cfg, "vats"), *v;
    const char *vname;
    char users[256] = "", msg[SWING_ERR_MSG_MAX];
    size_t at = 0;
    if (!c->err) return s;
    json_object_foreach(vats, vname, v) {
        const char *bn = json_string_value(json_object_get(v, "bundleName"));
        int n;
        if (!bn || strcmp(bn, bundle) != 0 || at >= sizeof users) continue;
        n = snprintf(users + at, sizeof users - at, "%svat %s", at ? ", " : "", vname);
        at = n < 0 ? sizeof users : at + (size_t)n;
    }
    snprintf(msg, sizeof msg, "%s", c->err->msg);
    return swing_err_set(c->err, s, "%s%sbundle %.64s: %s", users, users[0] ? ": " : "", bundle, msg);
}

/* Registers every bundle's name (bundle_name.c), so upgrades can use it. */
static swing_status register_names(host_call *c, const named_id *ids, size_t n)
{
    const char **names = swing_calloc(n ? n : 1, sizeof *names), **bids = swing_calloc(n ? n : 1, sizeof *bids);
    swing_status s = names && bids ? SWING_OK : SWING_NOMEM(c->err);
    for (size_t i = 0; !s && i < n; i++) {
        names[i] = ids[i].name;
        bids[i] = ids[i].id;
    }
    if (!s) s = host_bundle_names_set(c->h, names, bids, n, c->err);
    swing_mfree(names);
    swing_mfree(bids);
    return s;
}

static swing_status do_init(host_call *c, named_id *ids, const named_id **byname)
{
    const Swing__V1__InitRequest *r = c->req->init;
    Swing__V1__InitResponse *out;
    json_error_t je;
    json_t *cfg;
    char *text;
    swing_status s;
    if ((s = index_names(c, ids, byname))) return s;
    cfg = json_loadb((const char *)r->config_json.data, r->config_json.len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        return swing_err_set(c->err, SWING_ERR_INVALID, "config_json: %s", cfg ? "not an object" : je.text);
    }
    for (size_t i = 0; !s && i < r->n_bundles; i++) {
        s = kern_install_bundle(c->h->k, r->bundles[i]->source.data, r->bundles[i]->source.len, ids[i].id, c->err);
        if (s && SWING_STATUS_PRIMARY(s) == SWING_ERR_INVALID) s = name_bundle_users(c, cfg, ids[i].name, s);
    }
    if (!s) s = resolve_names(c, cfg, byname, r->n_bundles);
    if (!s) s = register_names(c, ids, r->n_bundles);
    text = s ? NULL : json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    if (s) return s;
    if (!text) return SWING_NOMEM(c->err);
    s = kern_init(c->h->k, text, strlen(text), c->err);
    free(text);
    if (s) return s;
    out = host_alloc(c->ar, sizeof *out);
    if (!out) return SWING_NOMEM(c->err);
    swing__v1__init_response__init(out);
    out->activity_hash = host_alloc(c->ar, SWING_SHA256_HEX_LEN + 1);
    if (!out->activity_hash) return SWING_NOMEM(c->err);
    if ((s = store_pending_hash(c->h->st, 0, out->activity_hash, c->err))) return s;
    out->bundles = host_alloc(c->ar, (r->n_bundles ? r->n_bundles : 1) * sizeof *out->bundles);
    if (!out->bundles) return SWING_NOMEM(c->err);
    for (size_t i = 0; i < r->n_bundles; i++) {
        Swing__V1__InstalledBundle *b = host_alloc(c->ar, sizeof *b);
        if (!b) return SWING_NOMEM(c->err);
        swing__v1__installed_bundle__init(b);
        b->name = host_strdup(c->ar, ids[i].name);
        b->id = host_strdup(c->ar, ids[i].id);
        if (!b->name || !b->id) return SWING_NOMEM(c->err);
        out->bundles[out->n_bundles++] = b;
    }
    c->resp->result_case = SWING__V1__RESPONSE__RESULT_INIT;
    c->resp->init = out;
    return SWING_OK;
}

swing_status host_init(host_call *c)
{
    const Swing__V1__InitRequest *r = c->req->init;
    named_id *ids;
    const named_id **byname;
    swing_status s;
    if ((s = need_idle(c, "init"))) return s;
    if (store_height(c->h->st) != 0 || kern_initialized(c->h->k))
        return swing_err_set(c->err, SWING_ERR_OUT_OF_ORDER, "init on an initialized directory");
    ids = swing_calloc(r->n_bundles ? r->n_bundles : 1, sizeof *ids);
    byname = swing_calloc(r->n_bundles ? r->n_bundles : 1, sizeof *byname);
    s = ids && byname ? do_init(c, ids, byname) : SWING_NOMEM(c->err);
    swing_mfree(ids);
    swing_mfree(byname);
    if (s) {
        /* Nothing was committed: dropping the open block undoes the partial genesis. */
        swing_err e2 = {0};
        if (host_reopen(c->h, &e2)) *c->err = e2;
    }
    return s;
}

/* ---- bundles and vats ---- */

swing_status host_install_bundle(host_call *c)
{
    const Swing__V1__InstallBundleRequest *r = c->req->install_bundle;
    Swing__V1__InstallBundleResponse *out;
    char id[STORE_BUNDLE_ID_LEN + 1];
    swing_status s;
    if ((s = need_block(c, "install_bundle"))) return s;
    host_fold_input(c->h, &r->base); /* refused ones too: see block.c */
    if (c->h->replay) {
        store_bundle_id_of(swing_bytes_of(r->source.data, r->source.len), id);
    } else {
        const char *name = r->name;
        if (r->name && r->name[0] && !host_bundle_name_ok(r->name))
            return swing_err_set(c->err, SWING_ERR_INVALID, "bundle name: 1-%d bytes without '.'",
                                 HOST_BUNDLE_NAME_MAX);
        if ((s = kern_install_bundle(c->h->k, r->source.data, r->source.len, id, c->err))) return s;
        if (r->name && r->name[0] && (s = host_bundle_names_set(c->h, &name, &(const char *){id}, 1, c->err)))
            return s;
    }
    out = host_alloc(c->ar, sizeof *out);
    if (!out) return SWING_NOMEM(c->err);
    swing__v1__install_bundle_response__init(out);
    out->id = host_strdup(c->ar, id);
    if (!out->id) return SWING_NOMEM(c->err);
    c->resp->result_case = SWING__V1__RESPONSE__RESULT_INSTALL_BUNDLE;
    c->resp->install_bundle = out;
    return SWING_OK;
}

/* {"bundleID":..., "parameters":..., <options>} for kern_create_vat. */
static swing_status vat_config(host_call *c, const Swing__V1__CreateVatRequest *r, char **text)
{
    json_error_t je;
    json_t *cfg, *params = NULL;
    *text = NULL;
    if (!store_bundle_id_valid(r->bundle_id)) return swing_err_set(c->err, SWING_ERR_INVALID, "bad bundle_id");
    if (r->options_json && r->options_json[0]) {
        cfg = json_loads(r->options_json, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(cfg)) {
            json_decref(cfg);
            return swing_err_set(c->err, SWING_ERR_INVALID, "options_json must be a JSON object");
        }
    } else if (!(cfg = json_object())) {
        return SWING_NOMEM(c->err);
    }
    if (r->parameters_json && r->parameters_json[0]) {
        params = json_loads(r->parameters_json, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
        if (!params) {
            json_decref(cfg);
            return swing_err_set(c->err, SWING_ERR_INVALID, "parameters_json: %s", je.text);
        }
    }
    if (json_object_set_new(cfg, "bundleID", json_string(r->bundle_id)) ||
        (params && json_object_set_new(cfg, "parameters", params))) {
        json_decref(cfg);
        return SWING_NOMEM(c->err);
    }
    *text = json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    return *text ? SWING_OK : SWING_NOMEM(c->err);
}

swing_status host_create_vat(host_call *c)
{
    const Swing__V1__CreateVatRequest *r = c->req->create_vat;
    Swing__V1__CreateVatResponse *out;
    char vat_id[24] = "", *cfg = NULL;
    swing_status s;
    if ((s = need_block(c, "create_vat"))) return s;
    host_fold_input(c->h, &r->base); /* refused ones too: see block.c */
    if (!host_name_ok(r->name)) return swing_err_set(c->err, SWING_ERR_INVALID, "bad vat name");
    if ((s = vat_config(c, r, &cfg))) return s;
    if (c->h->replay) {
        bool found;
        s = kern_vat_id(c->h->k, r->name, vat_id, &found, c->err);
        if (!s && !found) s = SWING_CORRUPT(c->err, "replayed block created vat %s, which does not exist", r->name);
    } else {
        s = kern_create_vat(c->h->k, r->name, cfg, NULL, vat_id, c->err);
    }
    free(cfg);
    if (s) return s;
    out = host_alloc(c->ar, sizeof *out);
    if (!out) return SWING_NOMEM(c->err);
    swing__v1__create_vat_response__init(out);
    out->vat_id = host_strdup(c->ar, vat_id);
    if (!out->vat_id) return SWING_NOMEM(c->err);
    c->resp->result_case = SWING__V1__RESPONSE__RESULT_CREATE_VAT;
    c->resp->create_vat = out;
    return SWING_OK;
}

swing_status host_terminate_vat(host_call *c)
{
    const Swing__V1__TerminateVatRequest *r = c->req->terminate_vat;
    Swing__V1__TerminateVatResponse *out;
    swing_status s;
    if ((s = need_block(c, "terminate_vat"))) return s;
    host_fold_input(c->h, &r->base); /* refused ones too: see block.c */
    if (!host_name_ok(r->name)) return swing_err_set(c->err, SWING_ERR_INVALID, "bad vat name");
    if (!c->h->replay &&
        (s = kern_terminate_vat(c->h->k, r->name, r->reason && r->reason[0] ? r->reason : NULL, c->err)))
        return s;
    out = host_alloc(c->ar, sizeof *out);
    if (!out) return SWING_NOMEM(c->err);
    swing__v1__terminate_vat_response__init(out);
    c->resp->result_case = SWING__V1__RESPONSE__RESULT_TERMINATE_VAT;
    c->resp->terminate_vat = out;
    return SWING_OK;
}

swing_status host_wind_down_vat(host_call *c)
{
    const Swing__V1__WindDownVatRequest *r = c->req->wind_down_vat;
    Swing__V1__WindDownVatResponse *out;
    swing_status s;
    if ((s = need_block(c, "wind_down_vat"))) return s;
    host_fold_input(c->h, &r->base); /* refused ones too: see block.c */
    if (!host_name_ok(r->name)) return swing_err_set(c->err, SWING_ERR_INVALID, "bad vat name");
    if (!c->h->replay) {
        kern_termination t;
        bool dead;
        if ((s = kern_vat_termination(c->h->k, r->name, &t, &dead, c->err))) return s;
        if (dead) {
            char msg[KERN_TERM_REASON_MAX + KERN_TERM_NAME_MAX + 96];
            kern_term_message(&t, msg, sizeof msg);
            return swing_err_set(c->err, SWING_ERR_USER, "%s", msg);
        }
        if ((s = kern_wind_down_vat(c->h->k, r->name, c->err))) return s;
    }
    out = host_alloc(c->ar, sizeof *out);
    if (!out) return SWING_NOMEM(c->err);
    swing__v1__wind_down_vat_response__init(out);
    c->resp->result_case = SWING__V1__RESPONSE__RESULT_WIND_DOWN_VAT;
    c->resp->wind_down_vat = out;
    return SWING_OK;
}

/* ---- state sync ---- */

swing_status host_export(host_call *c)
{
    const Swing__V1__ExportRequest *r = c->req->export;
    Swing__V1__ExportResponse *out;
    store_exporter *ex = NULL;
    store_export_mode mode = r->archival ? STORE_EXPORT_ARCHIVAL : STORE_EXPORT_OPERATIONAL;
    const char *const *names;
    size_t count = 0;
    swing_status s;
    if ((s = need_idle(c, "export"))) return s;
    if (!r->out_dir || !r->out_dir[0]) return swing_err_set(c->err, SWING_ERR_INVALID, "out_dir is empty");
    if (store_height(c->h->st) == 0) return swing_err_set(c->err, SWING_ERR_OUT_OF_ORDER, "nothing committed to export");
    out = host_alloc(c->ar, sizeof *out);
    if (!out) return SWING_NOMEM(c->err);
    swing__v1__export_response__init(out);
    if ((s = store_export_begin(c->h->st, mode, &ex, c->err))) return s;
    s = store_exporter_artifacts(ex, &names, &count, c->err);
    if (!s) s = store_exporter_write_dir(ex, r->out_dir, c->err);
    out->height = store_exporter_height(ex);
    out->activity_hash = host_strdup(c->ar, store_exporter_activity_hash(ex));
    if (!out->activity_hash && !s) s = SWING_NOMEM(c->err);
    out->export_data_entries = store_exporter_written(ex);
    store_exporter_destroy(ex);
    if (s) return s;
    out->artifacts = count;
    c->resp->result_case = SWING__V1__RESPONSE__RESULT_EXPORT;
    c->resp->export = out;
    return SWING_OK;
}

swing_status host_import(host_call *c)
{
    const Swing__V1__ImportRequest *r = c->req->import;
    swing_handle *h = c->h;
    Swing__V1__ImportResponse *out;
    store_import_expect expect;
    swing_status s;
    if ((s = need_idle(c, "import"))) return s;
    if (!r->in_dir || !r->in_dir[0]) return swing_err_set(c->err, SWING_ERR_INVALID, "in_dir is empty");
    if (store_height(h->st) != 0 || kern_initialized(h->k))
        return swing_err_set(c->err, SWING_ERR_OUT_OF_ORDER, "import needs an empty, never initialized directory");
    out = host_alloc(c->ar, sizeof *out);
    if (!out) return SWING_NOMEM(c->err);
    swing__v1__import_response__init(out);
    expect.height = r->expected_height;
    expect.activity_hash = r->expected_activity_hash;
    /* Into the open store, in its own directory: no sibling paths, nothing
     * moved or removed; on failure the store is as it was. */
    if ((s = store_import(h->st, r->in_dir, &expect, c->err))) return s;
    if ((s = host_reopen(h, c->err))) return s;
    out->height = store_height(h->st);
    out->activity_hash = host_strdup(c->ar, store_committed_hash(h->st));
    if (!out->activity_hash) return SWING_NOMEM(c->err);
    c->resp->result_case = SWING__V1__RESPONSE__RESULT_IMPORT;
    c->resp->import = out;
    return SWING_OK;
}
