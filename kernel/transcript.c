/*
 * transcript.c - recording deliveries and syscalls, and replaying them into
 * a fresh worker (see transcript.h).
 */
#include "kernel/transcript.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/utf8.h"
#include "base/vec.h"

/* ===== to JSON ===== */

static json_t *strs(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *bytes_json(swing_bytes b)
{
    static const char hex[] = "0123456789abcdef";
    json_t *s = json_stringn((const char *)b.ptr, b.len);
    char *h;
    if (s) return s;
    h = swing_malloc(b.len * 2 + 1);
    if (!h) return NULL;
    for (size_t i = 0; i < b.len; i++) {
        h[2 * i] = hex[b.ptr[i] >> 4];
        h[2 * i + 1] = hex[b.ptr[i] & 15];
    }
    h[b.len * 2] = '\0';
    s = json_pack("{ss}", "hex", h);
    swing_mfree(h);
    return s;
}

static json_t *resolutions_json(const vp_resolution *r, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_pack("[sbo]", r[i].vpid, r[i].rejected, kern_cd_to_json(r[i].data)))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static const char *dtype_name(vp_dtype t)
{
    switch (t) {
    case VP_D_MESSAGE: return "message";
    case VP_D_NOTIFY: return "notify";
    case VP_D_DROP_EXPORTS: return "dropExports";
    case VP_D_RETIRE_EXPORTS: return "retireExports";
    case VP_D_RETIRE_IMPORTS: return "retireImports";
    case VP_D_BRING_OUT_YOUR_DEAD: return "bringOutYourDead";
    case VP_D_START_VAT: return "startVat";
    case VP_D_CHANGE_VAT_OPTIONS: return "changeVatOptions";
    }
    return "?";
}

json_t *kern_transcript_delivery(const vp_delivery *d)
{
    switch (d->type) {
    case VP_D_MESSAGE:
        return json_pack("{sssssoso}", "type", "message", "target", d->target, "methargs",
                         kern_cd_to_json(d->methargs), "result", d->result ? json_string(d->result) : json_null());
    case VP_D_NOTIFY:
        return json_pack("{ssso}", "type", "notify", "resolutions", resolutions_json(d->resolutions, d->nresolutions));
    case VP_D_START_VAT:
        return json_pack("{ssso}", "type", "startVat", "vatParameters", kern_cd_to_json(d->vat_parameters));
    case VP_D_BRING_OUT_YOUR_DEAD:
        return json_pack("{sssI}", "type", "bringOutYourDead", "budget", (json_int_t)d->budget);
    case VP_D_CHANGE_VAT_OPTIONS:
        return json_pack("{ssss}", "type", "changeVatOptions", "options", d->options ? d->options : "{}");
    default:
        return json_pack("{ssso}", "type", dtype_name(d->type), "vrefs", strs(d->vrefs, d->nvrefs));
    }
}

json_t *kern_transcript_syscall(const vp_syscall *sc)
{
    switch (sc->type) {
    case VP_S_SEND:
        return json_pack("{sssssoso}", "type", "send", "target", sc->target ? sc->target : "", "methargs",
                         kern_cd_to_json(sc->methargs), "result", sc->result ? json_string(sc->result) : json_null());
    case VP_S_RESOLVE:
        return json_pack("{ssso}", "type", "resolve", "resolutions", resolutions_json(sc->resolutions, sc->nresolutions));
    case VP_S_SUBSCRIBE: return json_pack("{ssss}", "type", "subscribe", "vpid", sc->vpid ? sc->vpid : "");
    case VP_S_EXIT:
        return json_pack("{sssbso}", "type", "exit", "failure", sc->failure, "info", kern_cd_to_json(sc->info));
    case VP_S_VATSTORE_GET: return json_pack("{ssso}", "type", "vatstoreGet", "key", bytes_json(sc->key));
    case VP_S_VATSTORE_SET:
        return json_pack("{sssoso}", "type", "vatstoreSet", "key", bytes_json(sc->key), "value", bytes_json(sc->value));
    case VP_S_VATSTORE_DELETE: return json_pack("{ssso}", "type", "vatstoreDelete", "key", bytes_json(sc->key));
    case VP_S_VATSTORE_NEXT:
        if (sc->value.len)
            return json_pack("{sssoso}", "type", "vatstoreGetNextKey", "key", bytes_json(sc->key), "bound",
                             bytes_json(sc->value));
        return json_pack("{ssso}", "type", "vatstoreGetNextKey", "key", bytes_json(sc->key));
    case VP_S_DROP_IMPORTS: return json_pack("{ssso}", "type", "dropImports", "vrefs", strs(sc->vrefs, sc->nvrefs));
    case VP_S_RETIRE_IMPORTS: return json_pack("{ssso}", "type", "retireImports", "vrefs", strs(sc->vrefs, sc->nvrefs));
    case VP_S_RETIRE_EXPORTS: return json_pack("{ssso}", "type", "retireExports", "vrefs", strs(sc->vrefs, sc->nvrefs));
    case VP_S_ABANDON_EXPORTS:
        return json_pack("{ssso}", "type", "abandonExports", "vrefs", strs(sc->vrefs, sc->nvrefs));
    case VP_S_CALL_NOW: return json_pack("{ss}", "type", "callNow");
    }
    return json_pack("{ss}", "type", "?");
}

json_t *kern_transcript_result(const vp_syscall_result *res)
{
    if (!res || !res->found) return json_null();
    return json_pack("{sbso}", "found", 1, "value", bytes_json(swing_buf_view(&res->value)));
}

/* ===== recording ===== */

/* The item is {"d":<delivery>,"sc":[{"r":<result>,"s":<syscall>},...]}:
 * the text kern_json_dump writes for that tree, built piece by piece so a
 * delivery with many syscalls never holds one big tree. */
static bool log_put(kern_vat_io *io, const char *s, size_t n)
{
    if (SWING_VEC_RESERVE(io->log, io->log_cap, io->log_len + n + 1, 256, NULL)) return false;
    memcpy(io->log + io->log_len, s, n);
    io->log_len += n;
    io->log[io->log_len] = '\0';
    return true;
}

/* swing_json_put over the log; a failed reservation is remembered. */
typedef struct log_out {
    kern_vat_io *io;
    bool failed;
} log_out;

static void log_put_cb(void *ctx, const char *s, size_t n)
{
    log_out *o = ctx;
    if (!o->failed && n && !log_put(o->io, s, n)) o->failed = true;
}

/* Appends what bytes_json's tree dumps to: a JSON string when b is valid
 * UTF-8 (jansson's rule and base/utf8's are the same strict one), else
 * {"hex":"..."}. */
static void log_bytes(log_out *o, swing_bytes b)
{
    static const char hex[] = "0123456789abcdef";
    char pair[2];
    if (swing_utf8_valid(b.ptr, b.len)) {
        log_put_cb(o, "\"", 1);
        if (!swing_json_escaped(log_put_cb, o, (const char *)b.ptr, b.len)) o->failed = true;
        log_put_cb(o, "\"", 1);
        return;
    }
    log_put_cb(o, "{\"hex\":\"", 8);
    for (size_t i = 0; i < b.len && !o->failed; i++) {
        pair[0] = hex[b.ptr[i] >> 4];
        pair[1] = hex[b.ptr[i] & 15];
        log_put_cb(o, pair, 2);
    }
    log_put_cb(o, "\"}", 2);
}

/* The vatstore syscalls, the bulk of a VOM-heavy delivery, are written
 * straight into the log in the canonical form (keys in byte order) that
 * kern_json_dump gives kern_transcript_syscall's tree; false when sc is of
 * another type (o untouched). */
static bool log_vatstore_syscall(log_out *o, const vp_syscall *sc)
{
    const char *type;
    switch (sc->type) {
    case VP_S_VATSTORE_GET: type = "vatstoreGet\"}"; break;
    case VP_S_VATSTORE_SET: type = "vatstoreSet\",\"value\":"; break;
    case VP_S_VATSTORE_DELETE: type = "vatstoreDelete\"}"; break;
    case VP_S_VATSTORE_NEXT: type = "vatstoreGetNextKey\"}"; break;
    default: return false;
    }
    log_put_cb(o, "{", 1);
    if (sc->type == VP_S_VATSTORE_NEXT && sc->value.len) {
        log_put_cb(o, "\"bound\":", 8);
        log_bytes(o, sc->value);
        log_put_cb(o, ",", 1);
    }
    log_put_cb(o, "\"key\":", 6);
    log_bytes(o, sc->key);
    log_put_cb(o, ",\"type\":\"", 9);
    log_put_cb(o, type, strlen(type));
    if (sc->type == VP_S_VATSTORE_SET) {
        log_bytes(o, sc->value);
        log_put_cb(o, "}", 1);
    }
    return true;
}

/* The result's canonical text, as kern_transcript_result's tree dumps. */
static void log_result(log_out *o, const vp_syscall_result *res)
{
    if (!res || !res->found) {
        log_put_cb(o, "null", 4);
        return;
    }
    log_put_cb(o, "{\"found\":true,\"value\":", 22);
    log_bytes(o, swing_buf_view(&res->value));
    log_put_cb(o, "}", 1);
}

/* Appends the canonical text of j (consumed). */
static bool log_json(kern_vat_io *io, json_t *j)
{
    char *text = j ? kern_json_dump(j) : NULL;
    bool ok = text && log_put(io, text, strlen(text));
    json_decref(j);
    free(text);
    return ok;
}

swing_status kern_transcript_begin(kern_vat_io *io, const vp_delivery *d, swing_err *err)
{
    io->log = NULL;
    io->log_len = io->log_cap = io->log_n = 0;
    if (log_put(io, "{\"d\":", 5) && log_json(io, kern_transcript_delivery(d)) && log_put(io, ",\"sc\":[", 7))
        return SWING_OK;
    kern_transcript_discard(io);
    return SWING_NOMEM(err);
}

void kern_transcript_note(kern_vat_io *io, const vp_syscall *sc, const vp_syscall_result *res)
{
    log_out o = {io, false};
    if (!io->log) return;
    if (io->log_n++ > 0) log_put_cb(&o, ",", 1);
    log_put_cb(&o, "{\"r\":", 5);
    log_result(&o, res);
    log_put_cb(&o, ",\"s\":", 5);
    if (!o.failed && !log_vatstore_syscall(&o, sc) && !log_json(io, kern_transcript_syscall(sc))) o.failed = true;
    log_put_cb(&o, "}", 1);
    if (o.failed) {
        /* Out of memory while recording: the item would be incomplete. */
        if (io->fatal.code == SWING_OK) SWING_NOMEM(&io->fatal);
    }
}

swing_status kern_transcript_commit(kern *k, kern_vat_io *io, swing_err *err)
{
    swing_status s;
    if (!io->log) return SWING_OK;
    if (!log_put(io, "]}", 2)) {
        kern_transcript_discard(io);
        return SWING_NOMEM(err);
    }
    s = store_transcript_append(k->st, io->vat, swing_bytes_of(io->log, io->log_len), NULL, err);
    kern_transcript_discard(io);
    return s;
}

void kern_transcript_discard(kern_vat_io *io)
{
    swing_mfree(io->log);
    io->log = NULL;
    io->log_len = io->log_cap = io->log_n = 0;
}

/* ===== replay ===== */

static bool cd_of(json_t *j, vp_capdata *cd, const char ***slots)
{
    json_t *s = json_object_get(j, "slots");
    size_t n = json_array_size(s);
    cd->body = json_string_value(json_object_get(j, "body"));
    *slots = swing_calloc(n ? n : 1, sizeof **slots);
    if (!cd->body || !*slots) return false;
    for (size_t i = 0; i < n; i++)
        if (!((*slots)[i] = json_string_value(json_array_get(s, i)))) return false;
    cd->slots = *slots;
    cd->nslots = n;
    return true;
}

/* Pointers into dj; arrays owned by the caller's `owned` list. */
typedef struct owned {
    void *p[64];
    size_t n;
} owned;

static void *own(owned *o, void *p)
{
    if (p && o->n < sizeof o->p / sizeof *o->p) o->p[o->n++] = p;
    else if (p) {
        swing_mfree(p);
        return NULL;
    }
    return p;
}

static void owned_free(owned *o)
{
    for (size_t i = 0; i < o->n; i++) swing_mfree(o->p[i]);
    o->n = 0;
}

static bool delivery_of(json_t *dj, vp_delivery *d, owned *o)
{
    const char *t = json_string_value(json_object_get(dj, "type"));
    const char **slots = NULL;
    memset(d, 0, sizeof *d);
    if (!t) return false;
    if (strcmp(t, "message") == 0) {
        d->type = VP_D_MESSAGE;
        d->target = json_string_value(json_object_get(dj, "target"));
        d->result = json_string_value(json_object_get(dj, "result"));
        return cd_of(json_object_get(dj, "methargs"), &d->methargs, &slots) && own(o, slots) && d->target;
    }
    if (strcmp(t, "startVat") == 0) {
        d->type = VP_D_START_VAT;
        return cd_of(json_object_get(dj, "vatParameters"), &d->vat_parameters, &slots) && own(o, slots);
    }
    if (strcmp(t, "bringOutYourDead") == 0) {
        d->type = VP_D_BRING_OUT_YOUR_DEAD;
        d->budget = (uint64_t)json_integer_value(json_object_get(dj, "budget"));
        return true;
    }
    if (strcmp(t, "changeVatOptions") == 0) {
        d->type = VP_D_CHANGE_VAT_OPTIONS;
        d->options = json_string_value(json_object_get(dj, "options"));
        return true;
    }
    if (strcmp(t, "notify") == 0) {
        json_t *rs = json_object_get(dj, "resolutions");
        size_t n = json_array_size(rs);
        vp_resolution *r = own(o, swing_calloc(n ? n : 1, sizeof *r));
        if (!r) return false;
        d->type = VP_D_NOTIFY;
        for (size_t i = 0; i < n; i++) {
            json_t *x = json_array_get(rs, i);
            r[i].vpid = json_string_value(json_array_get(x, 0));
            r[i].rejected = json_is_true(json_array_get(x, 1));
            if (!r[i].vpid || !cd_of(json_array_get(x, 2), &r[i].data, &slots) || !own(o, slots)) return false;
        }
        d->resolutions = r;
        d->nresolutions = n;
        return true;
    }
    {
        json_t *vs = json_object_get(dj, "vrefs");
        size_t n = json_array_size(vs);
        const char **v = own(o, swing_calloc(n ? n : 1, sizeof *v));
        if (!v) return false;
        if (strcmp(t, "dropExports") == 0) d->type = VP_D_DROP_EXPORTS;
        else if (strcmp(t, "retireExports") == 0) d->type = VP_D_RETIRE_EXPORTS;
        else if (strcmp(t, "retireImports") == 0) d->type = VP_D_RETIRE_IMPORTS;
        else return false;
        for (size_t i = 0; i < n; i++)
            if (!(v[i] = json_string_value(json_array_get(vs, i)))) return false;
        d->vrefs = v;
        d->nvrefs = n;
        return true;
    }
}

/* Recorded bytes (string or {"hex"}) into res->value. */
static swing_status bytes_of(json_t *v, vp_syscall_result *res, kern_vat_io *io)
{
    const char *s = json_string_value(v), *h = json_string_value(json_object_get(v, "hex"));
    size_t n = s ? json_string_length(v) : h ? strlen(h) / 2 : 0;
    if ((!s && !h) || (h && strlen(h) % 2)) {
        swing_err_set(&io->fatal, SWING_ERR_CORRUPT, "bad vatstore value in a transcript");
        return SWING_ERR_CORRUPT;
    }
    res->value.ptr = swing_malloc(n ? n : 1);
    if (!res->value.ptr) return SWING_NOMEM(&io->fatal);
    if (s) {
        memcpy(res->value.ptr, s, n);
    } else {
        for (size_t i = 0; i < n; i++) {
            unsigned x;
            if (sscanf(h + 2 * i, "%2x", &x) != 1) {
                swing_buf_free(&res->value);
                swing_err_set(&io->fatal, SWING_ERR_CORRUPT, "bad hex in a transcript");
                return SWING_ERR_CORRUPT;
            }
            res->value.ptr[i] = (uint8_t)x;
        }
    }
    res->value.len = n;
    res->found = true;
    return SWING_OK;
}

swing_status kern_transcript_replay_syscall(kern_vat_io *io, const vp_syscall *sc, vp_syscall_result *res)
{
    json_t *rec = json_array_get(io->replay, io->replay_next), *mine = kern_transcript_syscall(sc);
    char *a = mine ? kern_json_dump(mine) : NULL, *b = rec ? kern_json_dump(json_object_get(rec, "s")) : NULL;
    json_t *r;
    bool same = a && b && strcmp(a, b) == 0;
    json_decref(mine);
    if (!same) {
        io->failed = true;
        snprintf(io->why, sizeof io->why, "transcript mismatch at item %llu syscall %zu: recorded %.80s, got %.80s",
                 (unsigned long long)io->replay_pos, io->replay_next, b ? b : "nothing", a ? a : "?");
        free(a);
        free(b);
        return SWING_ERR_VAT;
    }
    free(a);
    free(b);
    io->replay_next++;
    r = json_object_get(rec, "r");
    if (res && json_is_true(json_object_get(r, "found"))) return bytes_of(json_object_get(r, "value"), res, io);
    return SWING_OK;
}

typedef struct replay_ctx {
    kern_worker *w;
    kern_vat_io io;
} replay_ctx;

static swing_status replay_item(void *ctx, uint64_t pos, swing_bytes item, swing_err *err)
{
    replay_ctx *c = ctx;
    json_t *j = json_loadb((const char *)item.ptr, item.len, 0, NULL);
    vp_delivery d;
    vp_delivery_result r;
    owned o = {{0}, 0};
    swing_status s = SWING_OK;
    if (!j || !delivery_of(json_object_get(j, "d"), &d, &o)) {
        json_decref(j);
        owned_free(&o);
        return SWING_CORRUPT(err, "bad transcript item %llu of %s", (unsigned long long)pos, c->io.vat);
    }
    c->io.replay = json_object_get(j, "sc");
    c->io.replay_next = 0;
    c->io.replay_pos = pos;
    memset(&r, 0, sizeof r);
    r.ok = true;
    c->w->ops->deliver(c->w->self, &c->io.ch, &d, &r);
    if (c->io.fatal.code != SWING_OK) {
        if (err) *err = c->io.fatal;
        s = c->io.fatal.code;
    } else if (c->io.failed) {
        s = swing_err_set(err, KERN_ERR_REPLAY, "%s", c->io.why); /* "transcript mismatch at item ..." */
    } else if (!r.ok || c->io.replay_next != json_array_size(c->io.replay)) {
        s = swing_err_set(err, KERN_ERR_REPLAY, "transcript mismatch at item %llu: %s%.150s", (unsigned long long)pos,
                          r.ok ? "fewer syscalls than recorded" : "the delivery failed on replay: ",
                          r.ok ? "" : r.message);
    }
    c->io.replay = NULL;
    json_decref(j);
    owned_free(&o);
    return s;
}

swing_status kern_transcript_replay(kern *k, const char *vat, kern_worker *w, swing_err *err)
{
    store_span sp;
    bool found;
    replay_ctx c;
    swing_status s = store_transcript_current(k->st, vat, &sp, &found, err);
    if (s || !found || sp.end == sp.start) return s;
    memset(&c, 0, sizeof c);
    c.w = w;
    kern_syscall_io_init(&c.io, k, vat);
    return store_transcript_read(k->st, vat, sp.start, sp.end, replay_item, &c, err);
}
