/*
 * termination.c - why vats were terminated (DESIGN.md §6.5): the durable
 * termination record of each named vat, the text that rejections and
 * refusals carry, and the per-handle log of the terminations a host has not
 * yet been told about. Does not decide when a vat dies (vats.c, run.c) nor
 * delete its state (teardown.c).
 *
 *   vat.terminated.<name>  {"id":vNN,"kind":<kind name>,"reason":<text>}
 *
 * written in the crank that terminates the vat, kept when the vat's state is
 * deleted (it lives outside vNN.), replaced only when a new vat takes the
 * name: at most one record per name, each under 300 bytes. The reason is
 * consensus data: clipped to KERN_TERM_REASON_MAX bytes at a UTF-8
 * character boundary, invalid UTF-8 bytes become '?', control characters
 * become spaces; it comes only from deterministic sources (vat errors,
 * kernel checks, the host's request), never from addresses or the platform.
 */
#include "kernel/kernel_int.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/vec.h"

#define RECORD_PREFIX "vat.terminated."

/* KEEP IN SYNC: kern_term_kind in kernel.h. */
static const char *const KIND_NAMES[KERN_TERM_KINDS] = {
    "",                /* KERN_TERM_NONE */
    "host",            /* KERN_TERM_HOST */
    "compute-limit",   /* KERN_TERM_COMPUTE_LIMIT */
    "memory-limit",    /* KERN_TERM_MEMORY_LIMIT */
    "illegal-syscall", /* KERN_TERM_ILLEGAL_SYSCALL */
    "start-failed",    /* KERN_TERM_START_FAILED */
    "transcript-mismatch", /* KERN_TERM_TRANSCRIPT_MISMATCH */
    "exit",            /* KERN_TERM_EXIT */
    "exit-failure",    /* KERN_TERM_EXIT_FAILURE */
    "delivery-failed", /* KERN_TERM_DELIVERY_FAILED */
    "load-failed",     /* KERN_TERM_LOAD_FAILED */
    "forbidden",       /* KERN_TERM_FORBIDDEN */
    "vat-admin",       /* KERN_TERM_ADMIN */
};

const char *kern_term_kind_name(kern_term_kind kind)
{
    return (unsigned)kind < KERN_TERM_KINDS ? KIND_NAMES[kind] : "";
}

static kern_term_kind kind_of(const char *name)
{
    for (unsigned i = 1; name && i < KERN_TERM_KINDS; i++)
        if (strcmp(KIND_NAMES[i], name) == 0) return (kern_term_kind)i;
    return KERN_TERM_NONE;
}

/* Length of the well-formed UTF-8 sequence at p (at most n bytes), 0 if
 * there is none (RFC 3629: no overlong forms, no surrogates, <= U+10FFFF). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned lo = 0x80, hi = 0xbf;
    if (p[0] < 0x80) return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) len = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef) len = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4) len = 4;
    else return 0;
    if (p[0] == 0xe0) lo = 0xa0;
    else if (p[0] == 0xed) hi = 0x9f;
    else if (p[0] == 0xf0) lo = 0x90;
    else if (p[0] == 0xf4) hi = 0x8f;
    if (len > n || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf) return 0;
    return len;
}

void kern_term_clip(const char *in, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)(in ? in : "");
    size_t n = strlen((const char *)p), at = 0;
    if (cap == 0) return;
    while (n > 0) {
        size_t len = utf8_len(p, n);
        if (len == 0 || (len == 1 && (p[0] < 0x20 || p[0] == 0x7f))) {
            if (at + 1 >= cap) break;
            out[at++] = len == 0 ? '?' : ' ';
            len = 1;
        } else {
            if (at + len >= cap) break;
            memcpy(out + at, p, len);
            at += len;
        }
        p += len;
        n -= len;
    }
    out[at] = '\0';
}

void kern_term_message(const kern_termination *t, char *out, size_t cap)
{
    snprintf(out, cap, "vat %s (%s) terminated%s: %s", t->name, t->vat_id,
             t->kind == KERN_TERM_HOST ? " by the host" : "", t->reason);
}

/* Parses a record value into t (name given). */
static swing_status parse_record(const char *name, const char *v, size_t len, kern_termination *t,
                                 swing_err *err)
{
    json_t *j = json_loadb(v, len, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *reason = json_string_value(json_object_get(j, "reason"));
    kern_term_kind kind = kind_of(json_string_value(json_object_get(j, "kind")));
    swing_status s = SWING_OK;
    memset(t, 0, sizeof *t);
    if (!id || !reason || kind == KERN_TERM_NONE || strlen(id) >= sizeof t->vat_id ||
        strlen(name) >= sizeof t->name) {
        s = SWING_CORRUPT(err, "bad termination record of %.40s", name);
    } else {
        snprintf(t->vat_id, sizeof t->vat_id, "%s", id);
        snprintf(t->name, sizeof t->name, "%s", name);
        t->kind = kind;
        kern_term_clip(reason, t->reason, sizeof t->reason);
    }
    json_decref(j);
    return s;
}

swing_status kern_vat_termination(kern *k, const char *vat_name, kern_termination *t, bool *found,
                                  swing_err *err)
{
    char *v = NULL;
    swing_status s;
    memset(t, 0, sizeof *t);
    *found = false;
    if (!vat_name || strlen(vat_name) > KERN_TERM_NAME_MAX) return SWING_OK;
    if ((s = kern_kv_get(k, &v, found, err, RECORD_PREFIX "%s", vat_name)) || !*found) return s;
    s = parse_record(vat_name, v, strlen(v), t, err);
    swing_mfree(v);
    if (s) *found = false;
    return s;
}

swing_status kern_term_name_of(kern *k, const char *vat, char name[KERN_TERM_NAME_MAX + 1], swing_err *err)
{
    char *v = NULL;
    bool found;
    json_t *j;
    const char *n;
    swing_status s = kern_kv_get(k, &v, &found, err, "%s.options", vat);
    name[0] = '\0';
    if (s || !found) return s;
    j = json_loads(v, 0, NULL);
    swing_mfree(v);
    n = json_string_value(json_object_get(j, "name"));
    if (!n || strlen(n) > KERN_TERM_NAME_MAX) s = SWING_CORRUPT(err, "bad options of %s", vat);
    else snprintf(name, KERN_TERM_NAME_MAX + 1, "%s", n);
    json_decref(j);
    return s;
}

swing_status kern_term_of_vat(kern *k, const char *vat, kern_termination *t, bool *found, swing_err *err)
{
    char name[KERN_TERM_NAME_MAX + 1];
    swing_status s = kern_term_name_of(k, vat, name, err);
    memset(t, 0, sizeof *t);
    *found = false;
    if (s || !name[0]) return s;
    if ((s = kern_vat_termination(k, name, t, found, err)) || !*found) return s;
    if (strcmp(t->vat_id, vat) != 0) *found = false; /* the name's record is another vat's */
    return SWING_OK;
}

/* Appends t to the handle's log (pending until the crank ends). */
static swing_status log_push(kern *k, const kern_termination *t, swing_err *err)
{
    swing_status s = SWING_VEC_RESERVE(k->terms, k->capterms, k->nterms + 1, 8, err);
    if (s) return s;
    k->terms[k->nterms++] = *t;
    return SWING_OK;
}

swing_status kern_term_record(kern *k, const char *vat, kern_term_kind kind, const char *reason,
                              kern_termination *t, swing_err *err)
{
    json_t *j;
    char *text;
    swing_status s = kern_term_name_of(k, vat, t->name, err);
    if (s) return s;
    if (!t->name[0]) return SWING_CORRUPT(err, "vat %s has no name", vat);
    snprintf(t->vat_id, sizeof t->vat_id, "%s", vat);
    t->kind = kind;
    kern_term_clip(reason, t->reason, sizeof t->reason);
    j = json_pack("{ssssss}", "id", vat, "kind", kern_term_kind_name(kind), "reason", t->reason);
    text = j ? kern_json_dump(j) : NULL;
    json_decref(j);
    if (!text) return SWING_NOMEM(err);
    s = kern_kv_set(k, text, err, RECORD_PREFIX "%s", t->name);
    free(text);
    return s ? s : log_push(k, t, err);
}

swing_status kern_term_forget(kern *k, const char *vat_name, swing_err *err)
{
    bool found;
    swing_status s = kern_kv_has(k, &found, err, RECORD_PREFIX "%s", vat_name);
    if (s || !found) return s;
    return kern_kv_del(k, err, RECORD_PREFIX "%s", vat_name);
}

swing_status kern_term_refusal(kern *k, const char *vat_name, bool named, swing_err *err)
{
    kern_termination t;
    char msg[KERN_TERM_MSG_MAX];
    bool found;
    swing_status s = kern_vat_termination(k, vat_name, &t, &found, err);
    if (s) return s;
    if (!found && named) return swing_err_set(err, SWING_ERR_USER, "vat %s is terminated", vat_name);
    if (!found) return swing_err_set(err, SWING_ERR_INVALID, "no vat named %s", vat_name);
    kern_term_message(&t, msg, sizeof msg);
    return swing_err_set(err, SWING_ERR_USER, "%s", msg);
}

swing_status kern_term_rejection(const kern_termination *t, kern_cd *out, swing_err *err)
{
    char msg[KERN_TERM_MSG_MAX];
    kern_term_message(t, msg, sizeof msg);
    return kern_cd_error(msg, out, err);
}

void kern_term_crank_end(kern *k) { k->terms_done = k->nterms; }

void kern_term_crank_abort(kern *k) { k->nterms = k->terms_done; }

swing_status kern_terminations_take(kern *k, kern_termination **list, size_t *n, swing_err *err)
{
    (void)err;
    *list = NULL;
    *n = k->terms_done;
    if (*n == 0) return SWING_OK;
    *list = k->terms;
    k->terms = NULL;
    k->nterms = k->capterms = k->terms_done = 0;
    return SWING_OK;
}

/* ===== the host's list of vats ===== */

typedef struct vat_list {
    kern_vat_info *v;
    size_t n, cap;
} vat_list;

static kern_vat_info *list_add(vat_list *l)
{
    if (SWING_VEC_RESERVE(l->v, l->cap, l->n + 1, 16, NULL)) return NULL;
    memset(&l->v[l->n], 0, sizeof l->v[l->n]);
    return &l->v[l->n++];
}

/* Collects the entries of one prefix: names (vat.name.*) or records. */
static swing_status scan(kern *k, const char *prefix, bool records, vat_list *l, swing_err *err)
{
    store_iter *it = NULL;
    size_t pl = strlen(prefix);
    swing_status s = store_iter_create(k->st, swing_str(prefix), &it, err);
    for (bool valid = true; !s && valid;) {
        swing_bytes key, val;
        char name[KERN_TERM_NAME_MAX + 1];
        kern_vat_info *e;
        s = store_iter_next(it, &key, &val, &valid, err);
        if (s || !valid) break;
        if (key.len - pl > KERN_TERM_NAME_MAX || (!records && val.len >= KERN_ID_MAX)) {
            s = SWING_CORRUPT(err, "bad key under %s", prefix);
            break;
        }
        memcpy(name, key.ptr + pl, key.len - pl);
        name[key.len - pl] = '\0';
        if (!(e = list_add(l))) {
            s = SWING_NOMEM(err);
            break;
        }
        if (records) {
            s = parse_record(name, (const char *)val.ptr, val.len, &e->t, err);
        } else {
            snprintf(e->t.name, sizeof e->t.name, "%s", name);
            memcpy(e->t.vat_id, val.ptr, val.len);
            e->t.vat_id[val.len] = '\0';
        }
    }
    store_iter_destroy(it);
    return s;
}

/* True if vat is in vats.terminated (v: its comma-joined value). */
static bool listed(const char *v, const char *vat)
{
    size_t n = strlen(vat);
    for (const char *p = v; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (strncmp(p, vat, n) == 0 && (p[n] == ',' || p[n] == '\0')) return true;
    return false;
}

swing_status kern_vats_list(kern *k, kern_vat_info **list, size_t *n, swing_err *err)
{
    vat_list names = {0}, recs = {0}, out = {0};
    char *pending = NULL;
    bool found;
    size_t i = 0, j = 0;
    swing_status s = scan(k, "vat.name.", false, &names, err);
    *list = NULL;
    *n = 0;
    if (!s) s = scan(k, RECORD_PREFIX, true, &recs, err);
    if (!s) s = kern_kv_get(k, &pending, &found, err, "vats.terminated");
    while (!s && (i < names.n || j < recs.n)) {
        int c = i == names.n ? 1 : j == recs.n ? -1 : strcmp(names.v[i].t.name, recs.v[j].t.name);
        kern_vat_info *e = list_add(&out);
        if (!e) {
            s = SWING_NOMEM(err);
            break;
        }
        if (c > 0) {
            *e = recs.v[j++]; /* the name is free: deleted, unless the last phase still runs */
            e->terminated = true;
            e->deleted = !listed(pending, e->t.vat_id);
            continue;
        }
        if (c == 0 && strcmp(recs.v[j].t.vat_id, names.v[i].t.vat_id) == 0) *e = recs.v[j];
        else *e = names.v[i]; /* no record (or a stale one): alive, or terminated before records */
        j += c == 0;
        if (e->t.kind != KERN_TERM_NONE) e->terminated = true;
        else s = kern_kv_has(k, &e->terminated, err, "%s.terminated", names.v[i].t.vat_id);
        i++;
    }
    swing_mfree(pending);
    swing_mfree(names.v);
    swing_mfree(recs.v);
    if (s) {
        swing_mfree(out.v);
        return s;
    }
    *list = out.v;
    *n = out.n;
    return SWING_OK;
}
