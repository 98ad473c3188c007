/*
 * gc.c - persistent gradual GC (DESIGN.md §6.3, seed S4).
 *
 *   gc.maybeFree.open      sorted comma-joined krefs, at most 1000
 *   gc.maybeFree           "<head>,<tail>" of closed chunks gc.maybeFree.<N>
 *   gc.action.<vat>.<t>.<kref>   one GC action (t: 1 drop, 2 retire export,
 *                                3 retire import), so byte order is the
 *                                SwingSet priority order: vat, type, kref
 *   gc.pending             "<maybe-free entries>,<actions>" (what is left,
 *                                for clean-up reports; crank deltas in RAM)
 *
 * A crank records krefs whose counts touched zero in RAM; kern_gc_flush
 * appends them to the open chunk (closing full chunks) at crank end, so a
 * write is O(chunk). A GC crank pops one chunk and decides each kref late
 * against current counts (duplicates and stale entries are harmless); krefs
 * freed by that work land in the set again, so nothing is missed (#9888).
 * GC deliveries take at most kernel.gcBatch krefs of one (vat, type) group.
 * Clean-up (cleanup.c) may take part of a chunk and smaller batches, so that
 * a block's GC work stays within its budget.
 */
#include "kernel/kernel_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/vec.h"
#include "store/scan.h"

#define OPEN_KEY "gc.maybeFree.open"
#define CLOSED_KEY "gc.maybeFree"
#define ACTION_NS "gc.action."
#define PENDING_KEY "gc.pending"

swing_status kern_gc_maybe_free(kern *k, const char *kref, swing_err *err)
{
    return store_overlay_put(&k->maybe_free, swing_str(kref), swing_bytes_of(NULL, 0), false, err);
}

/* krefs as views into texts that outlive them (a chunk's value, the
 * crank's maybe-free entries): parsed and merged without a copy each. */
typedef struct span_list {
    struct span {
        const char *p;
        size_t n;
    } *v;
    size_t n, cap;
} span_list;

static swing_status span_add(span_list *l, const char *p, size_t n, swing_err *err)
{
    swing_status s = SWING_VEC_RESERVE(l->v, l->cap, l->n + 1, 256, err);
    if (s) return s;
    l->v[l->n].p = p;
    l->v[l->n++].n = n;
    return SWING_OK;
}

static swing_status span_parse(const char *text, span_list *l, swing_err *err)
{
    for (const char *p = text; *p;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        swing_status s;
        if (n == 0 || n >= KERN_ID_MAX) return SWING_CORRUPT(err, "bad maybe-free chunk");
        if ((s = span_add(l, p, n, err))) return s;
        p += n + (c ? 1 : 0);
    }
    return SWING_OK;
}

/* Joins l->v[from, to) with commas (caller frees). */
static char *span_join(const span_list *l, size_t from, size_t to)
{
    size_t len = 1;
    char *out, *w;
    for (size_t i = from; i < to; i++) len += l->v[i].n + 1;
    out = w = swing_malloc(len);
    if (!out) return NULL;
    for (size_t i = from; i < to; i++) {
        if (i > from) *w++ = ',';
        memcpy(w, l->v[i].p, l->v[i].n);
        w += l->v[i].n;
    }
    *w = '\0';
    return out;
}

static swing_status closed_header(kern *k, uint64_t *h, uint64_t *t, swing_err *err)
{
    char *v = NULL;
    bool found;
    swing_status s = kern_kv_get(k, &v, &found, err, CLOSED_KEY);
    *h = *t = 0;
    if (s || !found) return s;
    if (!kern_kv_parse_pair(v, h, t)) s = SWING_CORRUPT(err, "bad %s header", CLOSED_KEY);
    swing_mfree(v);
    return s;
}

static swing_status set_closed_header(kern *k, uint64_t h, uint64_t t, swing_err *err)
{
    char v[48];
    if (h == t) return kern_kv_del(k, err, CLOSED_KEY);
    kern_kv_format(v, sizeof v, "%" PRIu64 ",%" PRIu64, h, t);
    return kern_kv_set(k, v, err, CLOSED_KEY);
}

static swing_status read_pending(kern *k, uint64_t *free, uint64_t *actions, swing_err *err)
{
    char *v = NULL;
    bool found;
    swing_status s = kern_kv_get(k, &v, &found, err, PENDING_KEY);
    *free = *actions = 0;
    if (s || !found) return s;
    uint64_t two[2];
    if (kern_kv_parse_u64s(v, two, 2)) *free = two[0], *actions = two[1];
    else s = SWING_CORRUPT(err, "bad %s", PENDING_KEY);
    swing_mfree(v);
    return s;
}

static uint64_t add_clamped(uint64_t v, int64_t d)
{
    if (d < 0 && (uint64_t)-d > v) return 0;
    return (uint64_t)((int64_t)v + d);
}

/* Folds this crank's counts into gc.pending. */
static swing_status apply_pending(kern *k, swing_err *err)
{
    uint64_t f, a;
    char v[48];
    swing_status s;
    if (!k->gc_delta_free && !k->gc_delta_actions) return SWING_OK;
    if ((s = read_pending(k, &f, &a, err))) return s;
    f = add_clamped(f, k->gc_delta_free);
    a = add_clamped(a, k->gc_delta_actions);
    k->gc_delta_free = k->gc_delta_actions = 0;
    if (!f && !a) return kern_kv_del(k, err, PENDING_KEY);
    kern_kv_format(v, sizeof v, "%" PRIu64 ",%" PRIu64, f, a);
    return kern_kv_set(k, v, err, PENDING_KEY);
}

swing_status kern_gc_left(kern *k, uint64_t *free, uint64_t *actions, swing_err *err)
{
    return read_pending(k, free, actions, err);
}

/* The open chunk merged with the crank's krefs (both sorted), duplicates
 * dropped; *before: how many the open chunk had. */
static swing_status flush_merge(kern *k, char **text, span_list *merged, size_t *before, swing_err *err)
{
    span_list open = {0};
    bool found;
    size_t i = 0;
    store_ov_entry *e = store_overlay_first(&k->maybe_free);
    swing_status s = kern_kv_get(k, text, &found, err, OPEN_KEY);
    if (s == SWING_OK && found) s = span_parse(*text, &open, err);
    while (s == SWING_OK && (e || i < open.n)) {
        int c = !e ? 1 : i == open.n ? -1 : swing_bytes_cmp(store_ov_key(e), swing_bytes_of(open.v[i].p, open.v[i].n));
        if (c <= 0) {
            s = span_add(merged, (const char *)e->data, e->klen, err);
            e = store_overlay_next(e);
            if (c == 0) i++;
        } else {
            s = span_add(merged, open.v[i].p, open.v[i].n, err);
            i++;
        }
    }
    *before = open.n;
    swing_mfree(open.v);
    return s;
}

swing_status kern_gc_flush(kern *k, swing_err *err)
{
    span_list merged = {0};
    char *text = NULL;
    size_t before = 0, done = 0;
    uint64_t h, t;
    swing_status s;
    if (!store_overlay_first(&k->maybe_free)) return apply_pending(k, err);
    s = flush_merge(k, &text, &merged, &before, err);
    if (s == SWING_OK) s = closed_header(k, &h, &t, err);
    while (s == SWING_OK && merged.n - done > KERN_MAYBE_FREE_CHUNK) {
        char *chunk = span_join(&merged, done, done + KERN_MAYBE_FREE_CHUNK);
        if (!chunk) s = SWING_NOMEM(err);
        else s = kern_kv_set(k, chunk, err, CLOSED_KEY ".%" PRIu64, t++);
        swing_mfree(chunk);
        done += KERN_MAYBE_FREE_CHUNK;
    }
    if (s == SWING_OK) s = set_closed_header(k, h, t, err);
    if (s == SWING_OK && done == merged.n) {
        s = kern_kv_del(k, err, OPEN_KEY);
    } else if (s == SWING_OK) {
        char *rest = span_join(&merged, done, merged.n);
        if (!rest) s = SWING_NOMEM(err);
        else s = kern_kv_set(k, rest, err, OPEN_KEY);
        swing_mfree(rest);
    }
    k->gc_delta_free += (int64_t)(merged.n - before);
    swing_mfree(merged.v);
    swing_mfree(text);
    if (s == SWING_OK) store_overlay_clear(&k->maybe_free);
    return s ? s : apply_pending(k, err);
}

swing_status kern_gc_pending(kern *k, bool *pending, swing_err *err)
{
    uint64_t h, t;
    swing_status s = closed_header(k, &h, &t, err);
    *pending = false;
    if (s) return s;
    if (h < t) {
        *pending = true;
        return SWING_OK;
    }
    return kern_kv_has(k, pending, err, OPEN_KEY);
}

/* ----- action groups: what RAM knows of the live actions (kernel_int.h) ----- */

typedef struct kern_gc_group gc_group;

/* Length of "gc.action.<vat>.<t>." at the start of an action key. */
static size_t group_len(const char *key)
{
    const char *dot = strchr(key + strlen(ACTION_NS), '.');
    return dot && dot[1] && dot[2] == '.' ? (size_t)(dot - key) + 3 : 0;
}

/* The group of key; with add, a new group in prefix order (if there is
 * room, else RAM stops knowing). */
static gc_group *group_of(kern *k, const char *key, bool add)
{
    size_t n = group_len(key), at = 0;
    gc_group *g;
    if (!n || n >= sizeof g->prefix) return NULL;
    for (; at < k->gc_ngroups; at++) {
        int c = strncmp(k->gc_groups[at].prefix, key, n);
        if (c == 0 && k->gc_groups[at].prefix[n] == '\0') return &k->gc_groups[at];
        if (c > 0) break;
    }
    if (!add || k->gc_ngroups == KERN_GC_GROUPS) return NULL;
    memmove(&k->gc_groups[at + 1], &k->gc_groups[at], (k->gc_ngroups - at) * sizeof *g);
    k->gc_ngroups++;
    g = &k->gc_groups[at];
    memset(g, 0, sizeof *g);
    memcpy(g->prefix, key, n);
    return g;
}

/* key's group while RAM knows the groups (with add, a new one if needed);
 * NULL when it does not, or stops knowing because key cannot be kept
 * (max and mark have the same size). */
static gc_group *tracked_group(kern *k, const char *key, bool add)
{
    gc_group *g = NULL;
    if (k->gc_groups_known && (strlen(key) >= sizeof g->max || !(g = group_of(k, key, add))))
        k->gc_groups_known = false;
    return g;
}

static void group_added(kern *k, const char *key)
{
    gc_group *g = tracked_group(k, key, true);
    if (!g) return;
    if (strcmp(key, g->max) > 0) strcpy(g->max, key);
    if (g->mark[0] && strcmp(key, g->mark) <= 0) {
        strcpy(g->mark, key);
        g->mark_incl = true;
    }
}

static void group_consumed(kern *k, const char *key)
{
    gc_group *g = tracked_group(k, key, false);
    if (!g) return;
    strcpy(g->mark, key);
    g->mark_incl = false;
}

static bool group_pending(const gc_group *g)
{
    int c;
    if (!g->max[0]) return false;
    if (!g->mark[0]) return true;
    c = strcmp(g->max, g->mark);
    return c > 0 || (c == 0 && g->mark_incl);
}

swing_status kern_gc_add_action(kern *k, const char *vat, kern_gc_type t, const char *kref,
                                swing_err *err)
{
    char key[sizeof k->gc_hint];
    int n = kern_kv_format(key, sizeof key, ACTION_NS "%s.%d.%s", vat, (int)t, kref);
    bool exists;
    swing_status s;
    if (n < 0 || (size_t)n >= sizeof key) return swing_err_set(err, SWING_ERR_INTERNAL, "GC action key too long");
    if ((s = kern_kv_has(k, &exists, err, "%s", key)) || exists) return s;
    if (k->gc_hint[0] && strcmp(key, k->gc_hint) <= 0) {
        strcpy(k->gc_hint, key);
        k->gc_hint_incl = true;
    }
    group_added(k, key);
    k->gc_delta_actions++;
    return kern_kv_set(k, "", err, "%s", key);
}

/* A chunk's reads in key order: its krefs are sorted, so the records,
 * c-list entries and GC actions a decision reads lie in a few key ranges,
 * each read in one pass (store_prefetch) the first time it is needed:
 * the kernel records at once, an owner's ranges at its first kref. */
#define READ_VATS 4        /* owners whose ranges a chunk reads ahead */
#define READS_PER_KREF 8   /* entries read ahead per kref of a range */
#define READ_KEY_MAX 96    /* ns + kref + "/" */
#define READ_MIN_KREFS 64  /* smaller chunks (a crank's few freed promises) read by Gets:
                            * an iterator's creation and seek cost more than they save */

typedef struct chunk_reads {
    char first[KERN_ID_MAX + 1], last[KERN_ID_MAX + 1]; /* last has a '/' after it: past its keys */
    size_t krefs;
    char vats[READ_VATS][KERN_ID_MAX];
    size_t nvats;
} chunk_reads;

static swing_status read_range(kern *k, const chunk_reads *r, const char *ns, swing_err *err)
{
    char lo[READ_KEY_MAX], hi[READ_KEY_MAX];
    int a = snprintf(lo, sizeof lo, "%s%s", ns, r->first), b = snprintf(hi, sizeof hi, "%s%s", ns, r->last);
    if (a < 0 || b < 0 || (size_t)a >= sizeof lo || (size_t)b >= sizeof hi) return SWING_OK; /* a hint */
    return store_prefetch(k->st, swing_str(lo), swing_str(hi), READS_PER_KREF * r->krefs, err);
}

static swing_status chunk_reads_init(kern *k, chunk_reads *r, const span_list *l, size_t take, swing_err *err)
{
    memset(r, 0, sizeof *r);
    if (take < READ_MIN_KREFS) return SWING_OK;
    snprintf(r->first, sizeof r->first, "%.*s", (int)l->v[0].n, l->v[0].p);
    snprintf(r->last, sizeof r->last, "%.*s/", (int)l->v[take - 1].n, l->v[take - 1].p);
    r->krefs = take;
    return read_range(k, r, "", err);
}

/* The owner's c-list entries and GC actions of the chunk, once per owner. */
static swing_status chunk_reads_vat(kern *k, chunk_reads *r, const char *vat, swing_err *err)
{
    char ns[READ_KEY_MAX];
    swing_status s;
    if (!r->krefs || r->nvats == READ_VATS) return SWING_OK;
    for (size_t i = 0; i < r->nvats; i++)
        if (strcmp(r->vats[i], vat) == 0) return SWING_OK;
    strcpy(r->vats[r->nvats++], vat);
    snprintf(ns, sizeof ns, "%s.c.", vat);
    if ((s = read_range(k, r, ns, err))) return s;
    snprintf(ns, sizeof ns, ACTION_NS "%s.%d.", vat, (int)KERN_GC_DROP_EXPORT);
    if ((s = read_range(k, r, ns, err))) return s;
    snprintf(ns, sizeof ns, ACTION_NS "%s.%d.", vat, (int)KERN_GC_RETIRE_EXPORT);
    return read_range(k, r, ns, err);
}

/* Decides one maybe-free kref (reference/kernel-gc.md §2.6). */
static swing_status decide(kern *k, const char *kref, chunk_reads *reads, swing_err *err)
{
    uint64_t reach, recog;
    bool exists, has;
    char owner[KERN_ID_MAX];
    swing_status s;
    if (kern_ids_is_kpromise(kref)) {
        uint64_t n;
        if ((s = kern_kv_getu(k, &n, &exists, err, "%s.refCount", kref)) || !exists) return s;
        return n == 0 ? kern_kp_delete(k, kref, err) : SWING_OK;
    }
    if ((s = kern_obj_refs(k, kref, &reach, &recog, &exists, err)) || !exists || reach > 0) return s;
    if ((s = kern_obj_owner(k, kref, owner, &has, err))) return s;
    if (has) {
        bool alive;
        if ((s = kern_vats_alive(k, owner, &alive, err))) return s;
        if (alive) {
            char vref[KERN_VREF_MAX];
            bool flag, found;
            if ((s = chunk_reads_vat(k, reads, owner, err))) return s;
            if ((s = kern_clist_vref(k, owner, kref, vref, &flag, &found, err))) return s;
            if (found && flag && (s = kern_gc_add_action(k, owner, KERN_GC_DROP_EXPORT, kref, err)))
                return s;
            if (found && recog == 0)
                return kern_gc_add_action(k, owner, KERN_GC_RETIRE_EXPORT, kref, err);
            return SWING_OK;
        }
        /* Owner terminated: fast-forward the orphaning its cleanup would do. */
        if ((s = kern_clist_forget(k, owner, kref, err))) return s;
        if ((s = kern_kv_del(k, err, "%s.owner", kref))) return s;
    }
    return recog > 0 ? kern_obj_retire(k, kref, err) : kern_obj_delete(k, kref, err);
}

swing_status kern_gc_process_chunk(kern *k, size_t max, size_t *n, swing_err *err)
{
    uint64_t h, t;
    char *text = NULL, *rest = NULL;
    bool found, closed;
    size_t take;
    span_list l = {0};
    chunk_reads reads;
    swing_status s = closed_header(k, &h, &t, err);
    *n = 0;
    if (s) return s;
    closed = h < t;
    if (closed) {
        s = kern_kv_get(k, &text, &found, err, CLOSED_KEY ".%" PRIu64, h);
        if (s == SWING_OK && !found) s = SWING_CORRUPT(err, "maybe-free chunk %" PRIu64 " missing", h);
    } else {
        s = kern_kv_get(k, &text, &found, err, OPEN_KEY);
    }
    if (s == SWING_OK && text) s = span_parse(text, &l, err);
    take = max && max < l.n ? max : l.n;
    /* The chunk loses its first `take` krefs (all of them: it goes). */
    if (s == SWING_OK && take < l.n) {
        if (!(rest = span_join(&l, take, l.n))) s = SWING_NOMEM(err);
        else if (closed) s = kern_kv_set(k, rest, err, CLOSED_KEY ".%" PRIu64, h);
        else s = kern_kv_set(k, rest, err, OPEN_KEY);
        swing_mfree(rest);
    } else if (s == SWING_OK && closed) {
        s = kern_kv_del(k, err, CLOSED_KEY ".%" PRIu64, h);
        if (s == SWING_OK) s = set_closed_header(k, h + 1, t, err);
    } else if (s == SWING_OK && found) {
        s = kern_kv_del(k, err, OPEN_KEY);
    }
    if (s == SWING_OK) s = chunk_reads_init(k, &reads, &l, take, err);
    for (size_t i = 0; s == SWING_OK && i < take; i++) {
        char kref[KERN_ID_MAX]; /* span_parse keeps each shorter */
        memcpy(kref, l.v[i].p, l.v[i].n);
        kref[l.v[i].n] = '\0';
        s = decide(k, kref, &reads, err);
    }
    k->gc_delta_free -= (int64_t)take;
    *n = take;
    swing_mfree(l.v);
    swing_mfree(text);
    return s;
}

/* Parses gc.action.<vat>.<t>.<kref>. */
static bool parse_action(swing_bytes key, char vat[KERN_ID_MAX], int *t, char kref[KERN_ID_MAX])
{
    char buf[128], *p, *d1, *d2;
    size_t nl = strlen(ACTION_NS);
    if (key.len <= nl || key.len - nl >= sizeof buf) return false;
    memcpy(buf, key.ptr + nl, key.len - nl);
    buf[key.len - nl] = '\0';
    p = buf;
    d1 = strchr(p, '.');
    if (!d1 || (size_t)(d1 - p) >= KERN_ID_MAX) return false;
    d2 = strchr(d1 + 1, '.');
    if (!d2 || d2 != d1 + 2 || d1[1] < '1' || d1[1] > '3') return false;
    *d1 = '\0';
    strcpy(vat, p);
    *t = d1[1] - '0';
    if (!kern_ids_kref_valid(d2 + 1)) return false;
    strcpy(kref, d2 + 1);
    return true;
}

/* Decides whether an action still applies; on *ok, vref and flag hold the
 * vat's c-list entry for the delivery. */
static swing_status survives(kern *k, const char *vat, int t, const char *kref, bool *ok,
                             char vref[KERN_VREF_MAX], bool *flag, swing_err *err)
{
    uint64_t reach, recog;
    bool exists, found, alive;
    swing_status s = kern_vats_alive(k, vat, &alive, err);
    *ok = false;
    if (s || !alive) return s;
    if ((s = kern_clist_vref(k, vat, kref, vref, flag, &found, err)) || !found) return s;
    if (t == KERN_GC_RETIRE_IMPORT) {
        *ok = true;
        return SWING_OK;
    }
    if ((s = kern_obj_refs(k, kref, &reach, &recog, &exists, err)) || !exists || reach > 0) return s;
    *ok = t == KERN_GC_DROP_EXPORT ? *flag : recog == 0;
    return SWING_OK;
}

static swing_status gc_batch_size(kern *k, uint64_t *n, swing_err *err)
{
    bool found;
    swing_status s;
    if (k->gc_batch) { /* genesis configuration: written once, by kern_init */
        *n = k->gc_batch;
        return SWING_OK;
    }
    s = kern_kv_getu(k, n, &found, err, "kernel.gcBatch");
    if (s == SWING_OK && (!found || *n == 0)) *n = KERN_DEFAULT_GC_BATCH;
    if (s == SWING_OK) k->gc_batch = *n;
    return s;
}

static swing_status batch_alloc(kern_gc_batch *b, uint64_t limit, swing_err *err)
{
    b->krefs = swing_calloc(limit, sizeof *b->krefs);
    b->vrefs = swing_calloc(limit, sizeof *b->vrefs);
    b->flags = swing_calloc(limit, sizeof *b->flags);
    return b->krefs && b->vrefs && b->flags ? SWING_OK : SWING_NOMEM(err);
}

/* Where a batch's scan starts: with the groups known, within the first
 * group that has live actions (*g), from its mark; else at the hint, over
 * all actions. false: the groups are known and none has a live action. */
static bool scan_start(kern *k, store_scan *sc, char prefix[sizeof k->gc_groups[0].prefix], gc_group **g,
                       swing_status *s, swing_err *err)
{
    *g = NULL;
    *s = SWING_OK;
    if (!k->gc_groups_known) {
        store_scan_init(sc, k->st, swing_str(ACTION_NS));
        if (k->gc_hint[0]) *s = store_scan_resume(sc, swing_str(k->gc_hint), k->gc_hint_incl, err);
        return true;
    }
    for (size_t i = 0; i < k->gc_ngroups && !*g; i++)
        if (group_pending(&k->gc_groups[i])) *g = &k->gc_groups[i];
    if (!*g) return false;
    strcpy(prefix, (*g)->prefix);
    store_scan_init(sc, k->st, swing_str(prefix));
    if ((*g)->mark[0]) *s = store_scan_resume(sc, swing_str((*g)->mark), (*g)->mark_incl, err);
    return true;
}

/* An action was taken out: the hint and its group's mark move past it.
 * True when it was its group's last. */
static bool consumed(kern *k, swing_bytes key, const gc_group *g)
{
    if (key.len >= sizeof k->gc_hint) {
        k->gc_groups_known = false;
        return false;
    }
    memcpy(k->gc_hint, key.ptr, key.len);
    k->gc_hint[key.len] = '\0';
    k->gc_hint_incl = false;
    group_consumed(k, k->gc_hint);
    return g && k->gc_groups_known && strcmp(k->gc_hint, g->max) == 0;
}

swing_status kern_gc_next_batch(kern *k, size_t max, kern_gc_batch *b, bool *any, swing_err *err)
{
    uint64_t limit, examined = 0;
    store_scan sc;
    char prefix[sizeof k->gc_groups[0].prefix];
    gc_group *g;
    bool last = false;
    swing_status s = gc_batch_size(k, &limit, err);
    memset(b, 0, sizeof *b);
    *any = false;
    if (s) return s;
    if (max && max < limit) limit = max;
    if (!scan_start(k, &sc, prefix, &g, &s, err)) return SWING_OK;
    while (!s && !last) {
        swing_bytes key;
        bool found, ok, flag;
        char vat[KERN_ID_MAX], kref[KERN_ID_MAX], vref[KERN_VREF_MAX];
        int t;
        if ((s = store_scan_next(&sc, &key, &found, err))) break;
        if (!found) { /* every action is taken (a group scan should have stopped at its last) */
            k->gc_groups_known = !g;
            k->gc_ngroups = 0;
            break;
        }
        if (!parse_action(key, vat, &t, kref)) {
            s = SWING_CORRUPT(err, "bad GC action key");
            break;
        }
        if (b->n > 0 && (strcmp(vat, b->vat) != 0 || t != (int)b->type)) break; /* group done */
        if (b->n == limit || examined == (max ? limit : 4 * limit)) break; /* clean-up: within its budget */
        if (!b->krefs && (s = batch_alloc(b, limit, err))) break; /* at the first action: most cranks have none */
        *any = true;
        examined++;
        b->examined = examined;
        if ((s = survives(k, vat, t, kref, &ok, vref, &flag, err))) break;
        if ((s = store_delete(k->st, key, err))) break;
        k->gc_delta_actions--;
        last = consumed(k, key, g);
        if (!ok) continue;
        strcpy(b->vat, vat);
        b->type = (kern_gc_type)t;
        strcpy(b->vrefs[b->n], vref);
        b->flags[b->n] = flag;
        strcpy(b->krefs[b->n++], kref);
    }
    store_scan_free(&sc);
    if (s || !*any) kern_gc_batch_free(b);
    return s;
}

void kern_gc_batch_free(kern_gc_batch *b)
{
    swing_mfree(b->krefs);
    swing_mfree(b->vrefs);
    swing_mfree(b->flags);
    memset(b, 0, sizeof *b);
}
