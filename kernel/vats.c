/*
 * vats.c - vat records (vNN.options, vNN.source, vNN.vatParameters, roots),
 * workers (raw C vats, and bundle vats through the registered runtime), and
 * logical termination (DESIGN.md §6.5); termination records are
 * termination.c's.
 */
#include "kernel/kernel_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/vec.h"
#include "kernel/transcript.h"
#include "store/scan.h"

swing_status kern_vats_count(kern *k, uint64_t *n, swing_err *err)
{
    bool found;
    swing_status s = kern_kv_getu(k, n, &found, err, "vat.nextID");
    if (s == SWING_OK) *n = found && *n > 0 ? *n - 1 : 0;
    return s;
}

swing_status kern_vats_alive(kern *k, const char *vat, bool *alive, swing_err *err)
{
    bool has, dead = false;
    swing_status s;
    for (size_t i = 0; i < k->nalive; i++) {
        if (strcmp(k->alive_cache[i].vat, vat) == 0) {
            *alive = k->alive_cache[i].alive;
            return SWING_OK;
        }
    }
    s = kern_kv_has(k, &has, err, "%s.options", vat);
    *alive = false;
    if (s || (has && (s = kern_kv_has(k, &dead, err, "%s.terminated", vat)))) return s;
    *alive = has && !dead;
    if (k->nalive < sizeof k->alive_cache / sizeof *k->alive_cache && strlen(vat) < KERN_ID_MAX) {
        strcpy(k->alive_cache[k->nalive].vat, vat);
        k->alive_cache[k->nalive++].alive = *alive;
    }
    return SWING_OK;
}

/* The kernel-wide reapDirtThreshold (genesis "defaultReapDirtThreshold"). */
static swing_status default_threshold(kern *k, kern_reap_threshold *t, swing_err *err)
{
    char *v = NULL;
    bool found;
    json_t *j;
    swing_status s = kern_kv_get(k, &v, &found, err, "kernel.reapDirtThreshold");
    kern_reap_threshold_default(t);
    if (s || !found) return s;
    j = json_loads(v, 0, NULL);
    swing_mfree(v);
    if (!kern_reap_threshold_valid(j)) s = SWING_CORRUPT(err, "bad kernel.reapDirtThreshold");
    else kern_reap_threshold_merge(t, j);
    json_decref(j);
    return s;
}

/* The options the kernel reads on every delivery, cached after one parse. */
swing_status kern_vats_flags(kern *k, const char *vat, const kern_vat_flags **out, swing_err *err)
{
    char *v = NULL;
    bool found;
    json_t *j, *t;
    size_t i;
    kern_vat_flags f;
    swing_status s;
    for (i = 0; i < k->nopts; i++) {
        if (strcmp(k->opts_cache[i].vat, vat) == 0) {
            *out = &k->opts_cache[i];
            return SWING_OK;
        }
    }
    memset(&f, 0, sizeof f);
    snprintf(f.vat, sizeof f.vat, "%s", vat);
    if ((s = default_threshold(k, &f.reap, err))) return s;
    if ((s = kern_kv_getu(k, &f.restart_after, &found, err, "kernel.defaultRestartAfter"))) return s;
    if (!found) f.restart_after = 0;
    if ((s = kern_kv_get(k, &v, &found, err, "%s.options", vat))) return s;
    if (found) {
        j = json_loads(v, 0, NULL);
        swing_mfree(v);
        if (!j) return SWING_CORRUPT(err, "bad options of %s", vat);
        f.pipelining = json_is_true(json_object_get(j, "enablePipelining"));
        f.transcript = json_is_true(json_object_get(j, "useTranscript"));
        f.critical = json_is_true(json_object_get(j, "critical"));
        f.wind_down = json_object_get(j, "windDown") != NULL;
        if (json_is_integer(json_object_get(j, "restartAfter")))
            f.restart_after = (uint64_t)json_integer_value(json_object_get(j, "restartAfter"));
        t = json_object_get(j, "reapDirtThreshold");
        if (t && kern_reap_threshold_valid(t)) kern_reap_threshold_merge(&f.reap, t);
        json_decref(j);
    }
    if (k->nopts == sizeof k->opts_cache / sizeof *k->opts_cache) k->nopts = 0; /* start over */
    k->opts_cache[k->nopts] = f;
    *out = &k->opts_cache[k->nopts++];
    return SWING_OK;
}

static swing_status option_bool(kern *k, const char *vat, const char *name, bool *on, swing_err *err)
{
    const kern_vat_flags *f;
    swing_status s = kern_vats_flags(k, vat, &f, err);
    *on = false;
    if (s) return s;
    if (strcmp(name, "enablePipelining") == 0) *on = f->pipelining;
    else if (strcmp(name, "useTranscript") == 0) *on = f->transcript;
    else *on = f->critical;
    return SWING_OK;
}

swing_status kern_vats_pipelining(kern *k, const char *vat, bool *on, swing_err *err)
{
    return option_bool(k, vat, "enablePipelining", on, err);
}

swing_status kern_vats_uses_transcript(kern *k, const char *vat, bool *on, swing_err *err)
{
    return option_bool(k, vat, "useTranscript", on, err);
}

swing_status kern_vats_runtime(kern *k, const vp_runtime **rt, swing_err *err)
{
    *rt = k->runtime;
    if (!*rt) return swing_err_set(err, SWING_ERR_INVALID, "no vat runtime is registered: bundles cannot run");
    return SWING_OK;
}

/* A worker's limits from vNN.options (computeLimit, memoryLimit). */
static swing_status worker_limits(kern *k, const char *vat, vp_worker_limits *lim, swing_err *err)
{
    char *v = NULL;
    bool found;
    json_t *j;
    swing_status s = kern_kv_get(k, &v, &found, err, "%s.options", vat);
    memset(lim, 0, sizeof *lim);
    if (s || !found) return s;
    j = json_loads(v, 0, NULL);
    swing_mfree(v);
    if (!j) return SWING_CORRUPT(err, "bad options of %s", vat);
    lim->compute = (uint64_t)json_integer_value(json_object_get(j, "computeLimit"));
    lim->memory = (uint64_t)json_integer_value(json_object_get(j, "memoryLimit"));
    json_decref(j);
    return SWING_OK;
}

/* A bundle vat's worker, made by the registered runtime and brought up to
 * date by replaying its transcript. */
static swing_status make_bundle_worker(kern *k, const char *vat, const char *bundle_id, kern_worker *w,
                                       swing_err *err)
{
    swing_buf b = {0};
    bool found;
    vp_worker_limits lim;
    const vp_runtime *rt = NULL;
    swing_status s = kern_vats_runtime(k, &rt, err);
    if (s == SWING_OK) s = store_bundle_get(k->st, bundle_id, &b, &found, err);
    if (s == SWING_OK && !found) s = SWING_CORRUPT(err, "bundle %s of vat %s is missing", bundle_id, vat);
    if (s == SWING_OK) s = worker_limits(k, vat, &lim, err);
    if (s == SWING_OK) s = rt->create(rt->user, vat, swing_buf_view(&b), &lim, &w->self, &w->ops, err);
    swing_buf_free(&b);
    if (s) return s;
    snprintf(w->vat_id, sizeof w->vat_id, "%s", vat);
    s = kern_transcript_replay(k, vat, w, err);
    if (s) {
        w->ops->destroy(w->self);
        w->self = NULL;
    }
    return s;
}

static swing_status raw_deliver(void *self, vp_channel *io, const vp_delivery *d,
                                vp_delivery_result *r)
{
    const kern_raw_vat *rv = self;
    return rv->dispatch(rv->user, io, d, r);
}

static void raw_destroy(void *self) { (void)self; }

static const vp_worker_ops raw_ops = {raw_deliver, raw_destroy};

static swing_status make_worker(kern *k, const char *vat, kern_worker *w, swing_err *err)
{
    char *v = NULL;
    bool found;
    json_t *j;
    const char *raw;
    swing_status s = kern_kv_get(k, &v, &found, err, "%s.source", vat);
    if (s) return s;
    if (!found) return SWING_CORRUPT(err, "vat %s has no source", vat);
    j = json_loads(v, 0, NULL);
    swing_mfree(v);
    if (json_string_value(json_object_get(j, "bundleID"))) {
        s = make_bundle_worker(k, vat, json_string_value(json_object_get(j, "bundleID")), w, err);
        json_decref(j);
        return s;
    }
    if (json_is_integer(json_object_get(j, "windDown"))) { /* the runtime's wind-down worker */
        const vp_runtime *rt = NULL;
        s = kern_vats_runtime(k, &rt, err);
        if (!s && !rt->create_wind_down) s = SWING_CORRUPT(err, "vat %s winds down without a wind-down image", vat);
        if (!s) s = rt->create_wind_down(rt->user, vat, (uint32_t)json_integer_value(json_object_get(j, "windDown")),
                                         &w->self, &w->ops, err);
        if (!s) snprintf(w->vat_id, sizeof w->vat_id, "%s", vat);
        json_decref(j);
        return s;
    }
    if (json_string_value(json_object_get(j, "kernel"))) { /* the vat admin service */
        snprintf(w->vat_id, sizeof w->vat_id, "%s", vat);
        w->ops = &kern_vatadmin_ops;
        w->self = k;
        json_decref(j);
        return SWING_OK;
    }
    raw = json_string_value(json_object_get(j, "raw"));
    s = swing_err_set(err, SWING_ERR_INVALID, "vat %s: no worker for its source", vat);
    for (size_t i = 0; raw && i < k->nraw; i++) {
        if (strcmp(k->raw[i].name, raw) == 0) {
            snprintf(w->vat_id, sizeof w->vat_id, "%s", vat);
            w->ops = &raw_ops;
            w->self = (void *)&k->raw[i];
            s = SWING_OK;
            break;
        }
    }
    json_decref(j);
    return s;
}

swing_status kern_vats_worker(kern *k, const char *vat, kern_worker **out, swing_err *err)
{
    swing_status s;
    for (size_t i = 0; i < k->nworkers; i++) {
        if (strcmp(k->workers[i].vat_id, vat) == 0) {
            *out = &k->workers[i];
            return SWING_OK;
        }
    }
    if ((s = SWING_VEC_RESERVE(k->workers, k->capworkers, k->nworkers + 1, 8, err))) return s;
    if ((s = make_worker(k, vat, &k->workers[k->nworkers], err))) return s;
    *out = &k->workers[k->nworkers++];
    return SWING_OK;
}

void kern_vats_evict(kern *k, const char *vat)
{
    for (size_t i = 0; i < k->nworkers; i++) {
        if (strcmp(k->workers[i].vat_id, vat) == 0) {
            k->workers[i].ops->destroy(k->workers[i].self);
            k->workers[i] = k->workers[--k->nworkers];
            return;
        }
    }
}

/* Rejects every unresolved promise the vat decides. */
static swing_status reject_decided(kern *k, const char *vat, vp_capdata why, swing_err *err)
{
    char prefix[KERN_ID_MAX + 8];
    size_t pl = (size_t)snprintf(prefix, sizeof prefix, "%s.c.kp", vat);
    store_scan sc;
    swing_status s;
    store_scan_init(&sc, k->st, swing_str(prefix));
    for (;;) {
        swing_bytes key;
        bool found;
        char kpid[KERN_ID_MAX], decider[KERN_ID_MAX];
        kern_promise_state st;
        if ((s = store_scan_next(&sc, &key, &found, err)) || !found) break;
        if (key.len - pl + 2 >= sizeof kpid) continue;
        memcpy(kpid, key.ptr + pl - 2, key.len - pl + 2);
        kpid[key.len - pl + 2] = '\0';
        if ((s = kern_kp_state(k, kpid, &st, decider, err))) break;
        if (st == KERN_PROMISE_UNRESOLVED && strcmp(decider, vat) == 0 &&
            (s = kern_kp_resolve(k, kpid, true, why, err)))
            break;
    }
    store_scan_free(&sc);
    return s;
}

swing_status kern_vats_terminate(kern *k, const char *vat, kern_term_kind kind, const char *reason,
                                 swing_err *err)
{
    bool alive, critical;
    kern_termination t;
    kern_cd why;
    swing_status s = kern_vats_alive(k, vat, &alive, err);
    if (s || !alive) return s;
    if ((s = option_bool(k, vat, "critical", &critical, err))) return s;
    kern_vats_evict(k, vat);
    if (critical)
        return kern_crank_panic(k, err, "critical vat %s failed (%s): %.200s", vat, kern_term_kind_name(kind),
                                reason);
    k->nalive = 0; /* aliveness changes */
    if ((s = kern_kv_set(k, "1", err, "%s.terminated", vat))) return s;
    if ((s = kern_term_record(k, vat, kind, reason, &t, err))) return s;
    if ((s = kern_vatadmin_ended(k, vat, &t, err))) return s;
    if ((s = kern_winddown_ended(k, vat, err))) return s;
    if ((s = kern_reap_forget(k, vat, err))) return s;
    if ((s = kern_teardown_enqueue(k, vat, err))) return s;
    if ((s = kern_term_rejection(&t, &why, err))) return s;
    s = reject_decided(k, vat, kern_cd_view(&why), err);
    kern_cd_free(&why);
    return s;
}

/* kern_vats_create, step 1: the source is "raw:<name>" or an installed
 * bundle. */
static swing_status create_check_source(kern *k, const char *name, const char *source, const char *bundle_id,
                                        swing_err *err)
{
    bool have;
    swing_status s;
    if (!bundle_id && source && strcmp(source, "kernel:vatAdmin") == 0 && strcmp(name, "vatAdmin") == 0)
        return SWING_OK; /* vatadmin.c's, at genesis; configs cannot name kernel sources */
    if (!bundle_id && (!source || strncmp(source, "raw:", 4) != 0 || !source[4]))
        return swing_err_set(err, SWING_ERR_INVALID, "vat %s: source must be \"raw:<name>\" or a bundleID", name);
    if (!bundle_id) return SWING_OK;
    if ((s = store_bundle_has(k->st, bundle_id, &have, err))) return s;
    if (!have) return swing_err_set(err, SWING_ERR_INVALID, "vat %s: bundle %s is not installed", name, bundle_id);
    return SWING_OK;
}

/* The <vat>.options object of a new vat, or NULL when out of memory. */
static json_t *create_options(const json_t *cfg, const char *name, const char *bundle_id)
{
    json_t *opts = json_pack("{sbsbss}", "critical", json_is_true(json_object_get(cfg, "critical")),
                             "enablePipelining", json_is_true(json_object_get(cfg, "enablePipelining")),
                             "name", name);
    if (opts && (bundle_id || json_is_true(json_object_get(cfg, "useTranscript"))) &&
        json_object_set_new(opts, "useTranscript", json_true())) {
        json_decref(opts);
        opts = NULL;
    }
    if (opts && bundle_id &&
        ((json_object_get(cfg, "computeLimit") && json_object_set(opts, "computeLimit", json_object_get(cfg, "computeLimit"))) ||
         (json_object_get(cfg, "memoryLimit") && json_object_set(opts, "memoryLimit", json_object_get(cfg, "memoryLimit"))))) {
        json_decref(opts);
        opts = NULL;
    }
    if (opts && bundle_id && json_object_get(cfg, "restartAfter") &&
        json_object_set(opts, "restartAfter", json_object_get(cfg, "restartAfter"))) {
        json_decref(opts);
        opts = NULL;
    }
    if (opts && json_object_get(cfg, "reapDirtThreshold") &&
        json_object_set(opts, "reapDirtThreshold", json_object_get(cfg, "reapDirtThreshold"))) {
        json_decref(opts);
        opts = NULL;
    }
    return opts;
}

/* The <vat>.vatParameters capdata of a new vat (params, else the config's
 * plain "parameters"), or NULL when it cannot be built. */
static json_t *create_params(const json_t *cfg, const vp_capdata *params, swing_err *err)
{
    json_t *cfg_params = json_object_get(cfg, "parameters");
    json_t *vp = NULL;
    char *pbody = NULL;
    if (params) {
        vp = kern_cd_to_json(*params);
    } else {
        json_t *empty = json_object();
        if (kern_cd_plain(cfg_params ? cfg_params : empty, &pbody, err) == SWING_OK)
            vp = json_pack("{s:s,s:[]}", "body", pbody, "slots");
        json_decref(empty);
    }
    swing_mfree(pbody);
    return vp;
}

/* Writes the new vat's name, options, source and parameters (takes
 * ownership of opts, src and vp, any of which may be NULL: out of memory). */
static swing_status create_records(kern *k, const char *name, const char *vat, json_t *opts, json_t *src,
                                   json_t *vp, const vp_capdata *params, swing_err *err)
{
    swing_status s = SWING_OK;
    char *t_opts = opts ? kern_json_dump(opts) : NULL;
    char *t_src = src ? kern_json_dump(src) : NULL;
    char *t_vp = vp ? kern_json_dump(vp) : NULL;
    json_decref(opts);
    json_decref(src);
    json_decref(vp);
    if (!t_opts || !t_src || !t_vp) s = SWING_NOMEM(err);
    if (!s) s = kern_term_forget(k, name, err); /* an earlier vat's record */
    if (!s) s = kern_kv_set(k, vat, err, "vat.name.%s", name);
    if (!s) s = kern_kv_set(k, t_opts, err, "%s.options", vat);
    if (!s) s = kern_kv_set(k, t_src, err, "%s.source", vat);
    if (!s) s = kern_kv_set(k, t_vp, err, "%s.vatParameters", vat);
    if (!s && params) s = kern_refs_incref_cd(k, *params, err); /* retained (S3) */
    free(t_opts);
    free(t_src);
    free(t_vp);
    return s;
}

/* The root object o+0, held by the kernel so the host can always reach it,
 * then the startVat event on the acceptance queue. */
static swing_status create_root(kern *k, const char *vat, char root[KERN_ID_MAX], swing_err *err)
{
    swing_status s;
    json_t *ev;
    char *text;
    if ((s = kern_obj_create(k, vat, root, err))) return s;
    if ((s = kern_clist_add(k, vat, root, "o+0", true, err))) return s;
    if ((s = kern_kv_set(k, "", err, "kernel.hold.%s", root))) return s;
    if ((s = kern_obj_incref(k, root, true, err))) return s;
    ev = json_pack("{ssss}", "type", "startVat", "vatID", vat);
    text = ev ? kern_json_dump(ev) : NULL;
    json_decref(ev);
    if (!text) return SWING_NOMEM(err);
    s = kern_queue_push(k, KERN_ACCEPTANCE, text, err);
    free(text);
    return s;
}

swing_status kern_vats_create(kern *k, const char *name, const json_t *cfg,
                              const vp_capdata *params, char vat[KERN_ID_MAX],
                              char root[KERN_ID_MAX], swing_err *err)
{
    const char *source = json_string_value(json_object_get(cfg, "source"));
    const char *bundle_id = json_string_value(json_object_get(cfg, "bundleID"));
    json_t *opts, *src, *vp;
    uint64_t id;
    swing_status s;
    if ((s = create_check_source(k, name, source, bundle_id, err))) return s;
    if ((s = kern_kv_next_id(k, "vat.nextID", 1, &id, err))) return s;
    snprintf(vat, KERN_ID_MAX, "v%" PRIu64, id);
    k->nalive = 0; /* aliveness changes */
    k->nopts = 0;
    opts = create_options(cfg, name, bundle_id);
    src = bundle_id                            ? json_pack("{ss}", "bundleID", bundle_id)
          : strncmp(source, "kernel:", 7) == 0 ? json_pack("{ss}", "kernel", source + 7)
                                               : json_pack("{ss}", "raw", source + 4);
    vp = create_params(cfg, params, err);
    if ((s = create_records(k, name, vat, opts, src, vp, params, err))) return s;
    return create_root(k, vat, root, err);
}
