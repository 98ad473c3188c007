/*
 * winddown.c - the built-in wind-down worker of a Lua vat (docs/winddown.md;
 * reference/upgrade.md §8): no Lua state, no user code, no bundle. It knows
 * the vatstore layout version 1 (docs/vats.md) and sheds the vat's state a
 * budget at a time, with the syscalls liveslots would make:
 *
 *   message            its result rejects ("vat ... is winding down")
 *   notify             ignored
 *   dropExports        export status 's' (vom.es.<baseRef>, per facet)
 *   retireExports      export status forgotten
 *   retireImports      the import's recognizer records deleted
 *   bringOutYourDead   phase 0 counts the keys (COUNT_PER_ITEM per budget
 *                      item), so every later BOYD can say how many are
 *                      left; phase 1: each vom.rc.o-N (an import virtualized data
 *                      holds: rc > 0 says the kernel still has it reachable)
 *                      and its vom.ir.o-N|C records are deleted; the import
 *                      is dropped, then retired. Phase 2: every other key is
 *                      deleted; an export status 'r' abandons that export,
 *                      's' retires it. Then the worker exits.
 *
 * Progress lives in the vatstore (wd.phase, wd.cursor: the last key done,
 * wd.left: the keys left, counted so far in phase 0; GC deliveries that
 * delete a counted key take it off),
 * so the worker keeps nothing in RAM and a BOYD never rescans what is gone.
 * Imports only the old incarnation's heap held are left to termination,
 * which releases the rest of the c-list. Each vatstore item deleted is one
 * budget unit (so a BOYD makes about two syscalls per unit: find the key,
 * delete it), plus at most four GC syscalls.
 */
#include "liveslots/lua/runtime.h"
#include "liveslots/lua/vat_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/vec.h"

#define KEY_MAX 512
#define PHASE_KEY "wd.phase"
#define CURSOR_KEY "wd.cursor"
#define LEFT_KEY "wd.left"
#define RC_PREFIX "vom.rc.o-"
#define COUNT_PER_ITEM 8 /* keys phase 0 counts per budget item */
enum { P_COUNT, P_IMPORTS, P_EXPORTS, P_REST, P_DONE };

typedef struct wd_worker {
    char vat[32];
} wd_worker;

/* A sorted vref list for one GC syscall. */
typedef struct vref_list {
    char **v;
    size_t n, cap;
} vref_list;

typedef struct wd_boyd {
    vp_channel *ch;
    uint64_t budget, used;  /* units: vatstore items deleted */
    vref_list drop, retire_imp, abandon, retire_exp;
    char kind_cache[48];    /* last kind whose facets were looked up */
    bool kind_faceted;
    bool mark_read;         /* vom.upgradeMark, once per BOYD: */
    uint64_t mark_export, mark_collection; /* ids below these were abandoned at an upgrade */
} wd_boyd;

static swing_status list_add(vref_list *l, const char *vref, size_t len, swing_err *err)
{
    swing_status s = SWING_VEC_RESERVE(l->v, l->cap, l->n + 1, 16, err);
    if (s) return s;
    if (!(l->v[l->n] = swing_malloc(len + 1))) return SWING_NOMEM(err);
    memcpy(l->v[l->n], vref, len);
    l->v[l->n++][len] = '\0';
    return SWING_OK;
}

static void list_free(vref_list *l)
{
    for (size_t i = 0; i < l->n; i++) swing_mfree(l->v[i]);
    swing_mfree(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* ---- syscalls ---- */

static swing_status vs(vp_channel *ch, vp_stype t, const char *key, swing_bytes val, vp_syscall_result *res)
{
    vp_syscall sc;
    memset(&sc, 0, sizeof sc);
    sc.type = t;
    sc.key = swing_bytes_of(key, strlen(key));
    sc.value = val;
    if (res) memset(res, 0, sizeof *res);
    return vp_channel_syscall(ch, &sc, res);
}

/* The value of key (NUL-terminated, caller frees) or NULL. */
static swing_status get(vp_channel *ch, const char *key, char **out)
{
    vp_syscall_result res;
    swing_status s = vs(ch, VP_S_VATSTORE_GET, key, swing_bytes_of(NULL, 0), &res);
    *out = NULL;
    if (!s && res.found && (*out = swing_malloc(res.value.len + 1))) {
        if (res.value.len) memcpy(*out, res.value.ptr, res.value.len);
        (*out)[res.value.len] = '\0';
    } else if (!s && res.found) {
        s = SWING_ERR_NOMEM;
    }
    swing_buf_free(&res.value);
    return s;
}

static swing_status set(vp_channel *ch, const char *key, const char *val)
{
    return vs(ch, VP_S_VATSTORE_SET, key, swing_bytes_of(val, strlen(val)), NULL);
}

static swing_status del(vp_channel *ch, const char *key)
{
    return vs(ch, VP_S_VATSTORE_DELETE, key, swing_bytes_of(NULL, 0), NULL);
}

/* The first key after `after` starting with prefix, into out; *found. */
static swing_status next(vp_channel *ch, const char *after, const char *prefix, char out[KEY_MAX], bool *found)
{
    vp_syscall_result res;
    size_t pl = strlen(prefix);
    swing_status s = vs(ch, VP_S_VATSTORE_NEXT, after, swing_bytes_of(prefix, pl), &res);
    *found = !s && res.found && res.value.len >= pl && res.value.len < KEY_MAX &&
             memcmp(res.value.ptr, prefix, pl) == 0;
    if (*found) {
        memcpy(out, res.value.ptr, res.value.len);
        out[res.value.len] = '\0';
    }
    swing_buf_free(&res.value);
    return s;
}

static swing_status gc(vp_channel *ch, vp_stype t, vref_list *l)
{
    vp_syscall sc;
    if (l->n == 0) return SWING_OK;
    qsort(l->v, l->n, sizeof *l->v, cmp_str);
    memset(&sc, 0, sizeof sc);
    sc.type = t;
    sc.vrefs = (const char *const *)l->v;
    sc.nvrefs = l->n;
    return vp_channel_syscall(ch, &sc, NULL);
}

static swing_status uncount(vp_channel *ch, const char *key);

/* ---- export status ---- */

/* "o+vK/I[:F]": the base ref's length and the facet (0 when unfaceted). */
static size_t base_of(const char *vref, size_t *facet)
{
    const char *colon = strchr(vref, ':');
    *facet = colon ? (size_t)strtoul(colon + 1, NULL, 10) : 0;
    return colon ? (size_t)(colon - vref) : strlen(vref);
}

/* Sets facet f of vref's export status to c ('s', or 'n' = forgotten). */
static swing_status export_status(vp_channel *ch, const char *vref, char c)
{
    char key[KEY_MAX], *st = NULL, buf[64];
    size_t f, bl = base_of(vref, &f), len;
    bool any = false;
    swing_status s;
    if (bl + 8 > sizeof key || f + 2 > sizeof buf) return SWING_OK;
    snprintf(key, sizeof key, "vom.es.%.*s", (int)bl, vref);
    if ((s = get(ch, key, &st)) || !st) return s; /* not a virtual export, or gone */
    snprintf(buf, sizeof buf, "%s", st);
    swing_mfree(st);
    len = strlen(buf);
    if (f >= len) return SWING_OK;
    buf[f] = c;
    for (size_t i = 0; i < len; i++) any = any || buf[i] != 'n';
    if (any) return set(ch, key, buf);
    return (s = del(ch, key)) ? s : uncount(ch, key);
}

/* Whether baseRef's kind is faceted (its descriptor names facets). */
static swing_status faceted(wd_boyd *b, const char *base, bool *yes)
{
    char key[96], kind[48], *d = NULL;
    const char *slash = strchr(base, '/');
    size_t kl = slash ? (size_t)(slash - base) : 0;
    swing_status s;
    *yes = false;
    if (kl < 4 || kl >= sizeof kind) return SWING_OK;
    memcpy(kind, base, kl);
    kind[kl] = '\0';
    if (strcmp(kind, b->kind_cache) == 0) {
        *yes = b->kind_faceted;
        return SWING_OK;
    }
    snprintf(key, sizeof key, "vom.%ckind.%s.descriptor", base[2] == 'd' ? 'd' : 'v', kind + 3);
    if ((s = get(b->ch, key, &d))) return s;
    *yes = d && strstr(d, "\"facets\":") != NULL;
    swing_mfree(d);
    snprintf(b->kind_cache, sizeof b->kind_cache, "%s", kind);
    b->kind_faceted = *yes;
    return SWING_OK;
}

/* ---- the three phases, one key at a time ---- */

/* Phase 1: an import virtualized data holds, and its recognizers. */
static swing_status step_import(wd_boyd *b, const char *key)
{
    const char *vref = key + strlen("vom.rc.");
    char prefix[KEY_MAX], at[KEY_MAX];
    bool found;
    swing_status s = del(b->ch, key);
    if (s || (s = list_add(&b->drop, vref, strlen(vref), NULL))) return s;
    b->used++;
    snprintf(prefix, sizeof prefix, "vom.ir.%.400s|", vref);
    snprintf(at, sizeof at, "%s", prefix);
    while (!(s = next(b->ch, at, prefix, at, &found)) && found) {
        if ((s = del(b->ch, at))) return s;
        b->used++;
    }
    return s ? s : list_add(&b->retire_imp, vref, strlen(vref), NULL);
}

/* A non-durable export of an incarnation before the last upgrade: the
 * kernel abandoned it then (its status record stayed), so no syscall may
 * name it. Virtual kinds are numbered from exportID, virtual stores by
 * collectionID (their kind numbers are fixed). */
static swing_status abandoned_at_upgrade(wd_boyd *b, const char *base, bool *yes)
{
    unsigned long long kind = 0, inst = 0;
    swing_status s = SWING_OK;
    *yes = false;
    if (!b->mark_read) {
        char *m = NULL;
        unsigned long long e, c;
        b->mark_read = true;
        if ((s = get(b->ch, "vom.upgradeMark", &m))) return s;
        if (m && sscanf(m, "%llu,%llu", &e, &c) == 2) {
            b->mark_export = e;
            b->mark_collection = c;
        }
        swing_mfree(m);
    }
    if (strncmp(base, "o+v", 3) != 0 || sscanf(base + 3, "%llu/%llu", &kind, &inst) != 2) return SWING_OK;
    if (kind >= LS_LUA_STORE_KIND_FIRST && kind < LS_LUA_STORE_KIND_FIRST + 8)
        *yes = inst < b->mark_collection; /* a store kind */
    else *yes = kind < b->mark_export;
    return SWING_OK;
}

/* Phase 2: an export's status says how the kernel holds each facet. */
static swing_status step_export(wd_boyd *b, const char *key)
{
    const char *base = key + strlen("vom.es.");
    char *st = NULL, vref[KEY_MAX];
    bool multi, stale = false;
    swing_status s = abandoned_at_upgrade(b, base, &stale);
    if (!s && !stale) s = get(b->ch, key, &st);
    if (!s && st) s = faceted(b, base, &multi);
    for (size_t f = 0; !s && st && st[f]; f++) {
        int n = multi ? snprintf(vref, sizeof vref, "%s:%zu", base, f) : snprintf(vref, sizeof vref, "%s", base);
        if (n < 0 || (size_t)n >= sizeof vref || (!multi && f > 0)) break;
        if (st[f] == 'r') s = list_add(&b->abandon, vref, (size_t)n, NULL);
        else if (st[f] == 's') s = list_add(&b->retire_exp, vref, (size_t)n, NULL);
    }
    swing_mfree(st);
    if (!s) s = del(b->ch, key);
    b->used++;
    return s;
}

static const char *const phase_prefix[P_DONE] = {"", RC_PREFIX, "vom.es.", ""};

/* Phase 0: counts keys from the cursor, at most `most` (0: all). */
static swing_status count_keys(wd_boyd *b, int *phase, char cursor[KEY_MAX], uint64_t most, uint64_t *left)
{
    swing_status s = SWING_OK;
    for (uint64_t n = 0; most == 0 || n < most; n++) {
        char key[KEY_MAX];
        bool found;
        if ((s = next(b->ch, cursor[0] ? cursor : "\x01", "", key, &found))) return s;
        if (!found) {
            *phase = P_IMPORTS;
            cursor[0] = '\0';
            return SWING_OK;
        }
        snprintf(cursor, KEY_MAX, "%s", key);
        if (strncmp(key, "wd.", 3) != 0) (*left)++;
    }
    return s;
}

/* Runs phases from *phase at the cursor until the budget is spent or all
 * is done (*phase P_DONE). */
static swing_status run_phases(wd_boyd *b, int *phase, char cursor[KEY_MAX], uint64_t *left)
{
    swing_status s = SWING_OK;
    if (*phase == P_COUNT && (s = count_keys(b, phase, cursor, b->budget * COUNT_PER_ITEM, left))) return s;
    while (*phase > P_COUNT && *phase < P_DONE && (b->budget == 0 || b->used < b->budget)) {
        char key[KEY_MAX];
        const char *after = cursor[0] ? cursor : phase_prefix[*phase][0] ? phase_prefix[*phase] : "\x01";
        bool found;
        if ((s = next(b->ch, after, phase_prefix[*phase], key, &found))) return s;
        if (!found) {
            (*phase)++;
            cursor[0] = '\0';
            continue;
        }
        snprintf(cursor, KEY_MAX, "%s", key);
        if (*phase == P_IMPORTS) s = step_import(b, key);
        else if (*phase == P_EXPORTS) s = step_export(b, key);
        else if (strncmp(key, "wd.", 3) != 0 && !(s = del(b->ch, key))) b->used++;
        if (s) return s;
    }
    return s;
}

static swing_status exit_now(vp_channel *ch)
{
    vp_syscall sc;
    memset(&sc, 0, sizeof sc);
    sc.type = VP_S_EXIT;
    sc.info.body = "#\"wound down\"";
    return vp_channel_syscall(ch, &sc, NULL);
}

/* The worker's progress keys. */
typedef struct wd_progress {
    int phase;
    char cursor[KEY_MAX];
    uint64_t left;
} wd_progress;

static swing_status load_progress(vp_channel *ch, wd_progress *p)
{
    char *v = NULL;
    swing_status s;
    memset(p, 0, sizeof *p);
    if ((s = get(ch, PHASE_KEY, &v))) return s;
    if (v) p->phase = atoi(v) >= 0 && atoi(v) <= P_DONE ? atoi(v) : 0;
    swing_mfree(v);
    if ((s = get(ch, CURSOR_KEY, &v))) return s;
    if (v) snprintf(p->cursor, sizeof p->cursor, "%s", v);
    swing_mfree(v);
    if ((s = get(ch, LEFT_KEY, &v))) return s;
    if (v) p->left = strtoull(v, NULL, 10);
    swing_mfree(v);
    return SWING_OK;
}

static swing_status save_progress(vp_channel *ch, const wd_progress *p)
{
    char text[24];
    swing_status s;
    snprintf(text, sizeof text, "%d", p->phase);
    if ((s = set(ch, PHASE_KEY, text))) return s;
    snprintf(text, sizeof text, "%" PRIu64, p->left);
    if ((s = set(ch, LEFT_KEY, text))) return s;
    return p->cursor[0] ? set(ch, CURSOR_KEY, p->cursor) : del(ch, CURSOR_KEY);
}

/* A GC delivery deleted `key`: if phase 0 already counted it (or is done),
 * it is no longer left. */
static swing_status uncount(vp_channel *ch, const char *key)
{
    wd_progress p;
    swing_status s = load_progress(ch, &p);
    if (s || (p.phase == P_COUNT && strcmp(key, p.cursor) > 0) || p.left == 0) return s;
    p.left--;
    return save_progress(ch, &p);
}

static swing_status boyd(vp_channel *ch, uint64_t budget, vp_delivery_result *r)
{
    wd_boyd b;
    wd_progress p;
    swing_status s;
    memset(&b, 0, sizeof b);
    b.ch = ch;
    b.budget = budget;
    if ((s = load_progress(ch, &p))) return s;
    s = run_phases(&b, &p.phase, p.cursor, &p.left);
    if (!s) s = gc(ch, VP_S_DROP_IMPORTS, &b.drop);
    if (!s) s = gc(ch, VP_S_RETIRE_IMPORTS, &b.retire_imp);
    if (!s) s = gc(ch, VP_S_ABANDON_EXPORTS, &b.abandon);
    if (!s) s = gc(ch, VP_S_RETIRE_EXPORTS, &b.retire_exp);
    p.left -= p.left < b.used ? p.left : b.used;
    if (!s && p.phase < P_DONE) s = save_progress(ch, &p);
    else if (!s && !(s = del(ch, PHASE_KEY)) && !(s = del(ch, CURSOR_KEY)) && !(s = del(ch, LEFT_KEY)))
        s = exit_now(ch);
    r->more = !s && p.phase < P_DONE;
    r->units = b.used;
    r->left = p.phase < P_DONE ? p.left : 0;
    r->counting = p.phase == P_COUNT;
    list_free(&b.drop);
    list_free(&b.retire_imp);
    list_free(&b.abandon);
    list_free(&b.retire_exp);
    return s;
}

/* ---- the worker ---- */

static swing_status reject_result(vp_channel *ch, const char *vat, const char *result)
{
    char body[160];
    vp_resolution res;
    vp_syscall sc;
    snprintf(body, sizeof body, "#{\"#error\":\"vat %s is winding down\",\"name\":\"Error\"}", vat);
    memset(&res, 0, sizeof res);
    res.vpid = result;
    res.rejected = true;
    res.data.body = body;
    memset(&sc, 0, sizeof sc);
    sc.type = VP_S_RESOLVE;
    sc.resolutions = &res;
    sc.nresolutions = 1;
    return vp_channel_syscall(ch, &sc, NULL);
}

static swing_status forget_import(vp_channel *ch, const char *vref)
{
    char prefix[KEY_MAX], at[KEY_MAX];
    bool found;
    swing_status s;
    snprintf(prefix, sizeof prefix, "vom.ir.%.400s|", vref);
    snprintf(at, sizeof at, "%s", prefix);
    while (!(s = next(ch, at, prefix, at, &found)) && found)
        if ((s = del(ch, at)) || (s = uncount(ch, at))) return s;
    return s;
}

static swing_status wd_deliver(void *self, vp_channel *ch, const vp_delivery *d, vp_delivery_result *r)
{
    wd_worker *w = self;
    swing_status s = SWING_OK;
    r->ok = true;
    switch (d->type) {
    case VP_D_MESSAGE:
        if (d->result) s = reject_result(ch, w->vat, d->result);
        break;
    case VP_D_DROP_EXPORTS:
    case VP_D_RETIRE_EXPORTS:
        for (size_t i = 0; !s && i < d->nvrefs; i++)
            s = export_status(ch, d->vrefs[i], d->type == VP_D_DROP_EXPORTS ? 's' : 'n');
        break;
    case VP_D_RETIRE_IMPORTS:
        for (size_t i = 0; !s && i < d->nvrefs; i++) s = forget_import(ch, d->vrefs[i]);
        break;
    case VP_D_BRING_OUT_YOUR_DEAD: s = boyd(ch, d->budget, r); break;
    default: break; /* notify, startVat, changeVatOptions: nothing to do */
    }
    if (s) {
        r->ok = false;
        snprintf(r->message, sizeof r->message, "wind-down worker: %s", swing_status_name(s));
    }
    return SWING_OK;
}

static void wd_destroy(void *self) { swing_mfree(self); }

static const vp_worker_ops wd_ops = {wd_deliver, wd_destroy};

swing_status ls_lua_winddown_create(void *user, const char *vat_id, uint32_t layout, void **self,
                                    const vp_worker_ops **ops, swing_err *err)
{
    wd_worker *w;
    (void)user;
    if (layout != LS_LUA_VATSTORE_LAYOUT)
        return swing_err_set(err, SWING_ERR_INVALID, "no wind-down image for vatstore layout %" PRIu32, layout);
    if (!(w = swing_calloc(1, sizeof *w))) return SWING_NOMEM(err);
    snprintf(w->vat, sizeof w->vat, "%s", vat_id);
    *self = w;
    *ops = &wd_ops;
    return SWING_OK;
}
