/*
 * boyd.c - bringOutYourDead in a Lua vat (reference/vom-collections.md §5.4,
 * reference/liveslots.md §6): one full collection; weak stores forget the
 * Far keys it collected; then rounds over the possibly-dead baseRefs in sorted order until none is left or the budget
 * is spent:
 *   an import with no presence in RAM and a zero vdata count is dropped;
 *   a virtual object with no representative in RAM, a zero count and no
 *   reachable export is deleted (its state decrefs what it named, which
 *   may die in the next round; its recognized facets are retired; weak
 *   store entries keyed by it go); a dead store is emptied (over several
 *   BOYDs when the budget says so) and deleted.
 * Objects alive only by their count are candidates for a cycle search
 * (cycles.c); the garbage it finds is deleted the same way, and the rounds
 * go on. Then exports whose Far is gone are retired, and imports nobody
 * reaches or recognizes are retired. The three
 * GC syscalls go out last, each sorted. Nothing here depends on when Lua
 * collected what: every check reads the vref tables after the collection.
 */
#include "liveslots/lua/vat_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/vec.h"
#include "liveslots/lua/vref.h"

/* A vref array in a Lua userdata (so an error never leaks it); the strings
 * are anchored in the BOYD's anchor table. */
typedef struct vlist {
    const char **v;
    size_t n, cap;
    int slot; /* stack slot of the userdata */
} vlist;

typedef struct boyd_run {
    ls_lua_vat *v;
    uint64_t budget, done;
    int anchors;
    lua_Integer nanchors;
    vlist drops, xretires, iretires;
} boyd_run;

#define CYCLE_BATCH_MAX 1024 /* candidates per search */
#define CYCLE_MIN 4096u      /* units a search may use past a spent budget */

static bool spent(const boyd_run *b) { return b->budget && b->done >= b->budget; }

static void push_vref(lua_State *L, boyd_run *b, vlist *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap;
        const char **nv;
        if (swing_vec_cap(l->cap, l->n + 1, 64, sizeof *nv, &cap, NULL)) luaL_error(L, "too many vrefs");
        nv = lua_newuserdatauv(L, cap * sizeof *nv, 0);
        if (l->n) memcpy(nv, l->v, l->n * sizeof *nv);
        lua_replace(L, l->slot);
        l->v = nv;
        l->cap = cap;
    }
    ls_lua_push_string(L, s);
    l->v[l->n++] = lua_tostring(L, -1);
    lua_rawseti(L, b->anchors, ++b->nanchors);
}

static void dead_import(lua_State *L, boyd_run *b, const char *vref)
{
    if (ls_lua_refs_has(L, LS_PRESENCES, vref)) return; /* introduced again since */
    b->done++;                                    /* one unit per entry read */
    if (ls_lua_vstore_rc(L, vref) > 0) return;   /* virtualized data holds it */
    if (ls_lua_refs_has(L, LS_IMPORTS, vref)) {
        ls_lua_refs_forget(L, LS_IMPORTS, vref);
        push_vref(L, b, &b->drops, vref);
    }
    ls_lua_vstore_maybe_retired(L, vref);
}

/* Retires the recognized facets of a deleted object (st: its export
 * status as read) and drops the status; weak stores forget every facet. */
static void forget_object(lua_State *L, boyd_run *b, const char *base, const ls_lua_vref *r, const char *st,
                          size_t len)
{
    char key[LS_LUA_VREF_MAX + 8], vref[LS_LUA_VREF_MAX + 32];
    lua_Integer nf = 0;
    ls_lua_vom_push_kind(L, r->id);
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "facets");
        nf = lua_istable(L, -1) ? (lua_Integer)lua_rawlen(L, -1) : 0;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (len > 0) {
        for (size_t f = 0; f < len; f++) {
            if (st[f] != 's') continue;
            if (nf > 0) snprintf(vref, sizeof vref, "%s:%zu", base, f);
            else snprintf(vref, sizeof vref, "%s", base);
            push_vref(L, b, &b->xretires, vref);
        }
        snprintf(key, sizeof key, "vom.es.%s", base);
        ls_lua_vstore_delete(L, key);
    }
    for (lua_Integer f = 0; f < (nf > 0 ? nf : 1); f++) {
        if (nf > 0) snprintf(vref, sizeof vref, "%s:%d", base, (int)f);
        else snprintf(vref, sizeof vref, "%s", base);
        ls_lua_collection_cease_recognition(L, vref);
    }
}

/* Deletes a dead object or store whose export status (st) has no 'r';
 * false: a store's deletion stopped at the budget (keep it listed). */
static bool delete_object(lua_State *L, boyd_run *b, const char *base, const ls_lua_vref *r, const char *st,
                          size_t len)
{
    if (r->id >= LS_LUA_STORE_KIND_FIRST && r->id < LS_LUA_STORE_KIND_FIRST + 8) {
        if (!ls_lua_collection_delete(L, base, b->budget, &b->done)) return false; /* a unit per entry */
    } else if (!ls_lua_vom_delete_state(L, base)) {
        return true; /* deleted already */
    }
    forget_object(L, b, base, r, st, len);
    return true;
}

/* false: a store's deletion stopped at the budget (keep it listed). */
static bool dead_virtual(lua_State *L, boyd_run *b, const char *base, const ls_lua_vref *r)
{
    char st[LS_LUA_ES_MAX];
    size_t len;
    if (r->id == LS_LUA_KIND_HANDLE) return true; /* kind handles are never deleted */
    if (ls_lua_refs_has(L, LS_VBASE, base)) return true;  /* a representative is in RAM */
    b->done++;                                      /* one unit per entry read (its deletion included) */
    if (ls_lua_vstore_rc(L, base) > 0) { /* held: by garbage too, if on a cycle */
        if (ls_lua_cycles_may_hold(L, base, r)) ls_lua_vstore_maybe_cyclic(L, base);
        return true;
    }
    len = ls_lua_vstore_read_status(L, base, st);
    if (strchr(st, 'r')) return true; /* the kernel can reach it */
    return delete_object(L, b, base, r, st, len);
}

/* One round over the dead list as it stands; entries added meanwhile wait
 * for the next round. */
static void round_of(lua_State *L, boyd_run *b)
{
    ls_lua_vat *v = b->v;
    size_t n = v->ndead, i, kept = 0;
    qsort(v->dead, n, sizeof *v->dead, ls_lua_vref_cmp);
    for (i = 0; i < n && !spent(b); i++) {
        char base[LS_LUA_VREF_MAX];
        ls_lua_vref r;
        if (i > 0 && strcmp(v->dead[i], v->dead[i - 1]) == 0) continue;
        snprintf(base, sizeof base, "%s", v->dead[i]);
        if (!ls_lua_vref_parse(base, &r) || r.type != 'o') continue;
        if (!r.allocated) dead_import(L, b, base);
        else if (r.virt && !dead_virtual(L, b, base, &r)) break;
    }
    while (i > 0 && i < n && strcmp(v->dead[i], v->dead[i - 1]) == 0) i++; /* copies of the last one done */
    /* free the processed entries [0, i); keep the rest in order */
    for (size_t j = 0; j < v->ndead; j++) {
        if (j < i) swing_mfree(v->dead[j]);
        else v->dead[kept++] = v->dead[j];
    }
    v->ndead = kept;
}

/* Drops what the budget left that is in RAM again: only a collector that
 * ran earlier could have listed it, and `more` must not depend on that. */
static void prune_live(lua_State *L, ls_lua_vat *v)
{
    size_t kept = 0;
    for (size_t i = 0; i < v->ndead; i++) {
        ls_lua_vref r;
        bool live = false;
        if (ls_lua_vref_parse(v->dead[i], &r) && r.type == 'o')
            live = ls_lua_refs_has(L, r.allocated ? LS_VBASE : LS_PRESENCES, v->dead[i]);
        if (live) swing_mfree(v->dead[i]);
        else v->dead[kept++] = v->dead[i];
    }
    v->ndead = kept;
}

/* Searches the first candidates (sorted) for garbage cycles (cycles.c)
 * and deletes what it finds. The search may use CYCLE_MIN units past the
 * budget. A search the cap cut leaves its candidates for the next BOYD
 * with half as many (a lone candidate whose subgraph is too big is given
 * up: such a cycle is never collected). false: stop this BOYD. */
static bool collect_cycles(lua_State *L, boyd_run *b)
{
    ls_lua_vat *v = b->v;
    uint64_t left = b->budget > b->done ? b->budget - b->done : 0, work = 0;
    uint64_t cap = b->budget ? (left > CYCLE_MIN ? left : CYCLE_MIN) : 1000000u;
    size_t n = 0, take, kept = 0;
    vlist batch = {0};
    lua_Integer ng;
    bool whole;
    if (v->cycle_batch == 0) v->cycle_batch = CYCLE_BATCH_MAX;
    qsort(v->cands, v->ncands, sizeof *v->cands, ls_lua_vref_cmp);
    for (size_t i = 0; i < v->ncands; i++) { /* unique */
        if (n > 0 && strcmp(v->cands[n - 1], v->cands[i]) == 0) swing_mfree(v->cands[i]);
        else v->cands[n++] = v->cands[i];
    }
    v->ncands = n;
    take = n < v->cycle_batch ? n : v->cycle_batch;
    batch.slot = lua_gettop(L) + 1;
    lua_pushnil(L);
    for (size_t i = 0; i < take; i++) push_vref(L, b, &batch, v->cands[i]);
    whole = ls_lua_cycles_find(L, batch.v, batch.n, cap, &work);
    b->done += work;
    if (!whole && take > 1) {
        v->cycle_batch = take / 2;
        lua_pop(L, 2);
        return false;
    }
    v->cycle_batch = v->cycle_batch * 2 > CYCLE_BATCH_MAX ? CYCLE_BATCH_MAX : v->cycle_batch * 2;
    for (size_t i = 0; i < v->ncands; i++) { /* the batch is done with */
        if (i < take) swing_mfree(v->cands[i]);
        else v->cands[kept++] = v->cands[i];
    }
    v->ncands = kept;
    ng = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= ng; i++) {
        char base[LS_LUA_VREF_MAX], st[LS_LUA_ES_MAX];
        ls_lua_vref r;
        size_t len;
        lua_rawgeti(L, -1, i);
        snprintf(base, sizeof base, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        if (!ls_lua_vref_parse(base, &r)) continue;
        len = ls_lua_vstore_read_status(L, base, st);
        if (!delete_object(L, b, base, &r, st, len)) {
            ls_lua_vstore_maybe_dead(L, base, strlen(base)); /* the rest of it next time */
            break;
        }
    }
    lua_pop(L, 2);
    return true;
}

/* Weak stores keyed by a Far forget it once Lua collected it. */
static void dead_weak_keys(lua_State *L, boyd_run *b)
{
    vlist gone = {0};
    gone.slot = lua_gettop(L) + 1;
    lua_pushnil(L);
    ls_lua_vat_table(L, LS_WEAKFAR);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (!ls_lua_refs_has(L, LS_LOCALS, lua_tostring(L, -1))) push_vref(L, b, &gone, lua_tostring(L, -1));
    }
    lua_pop(L, 1);
    if (gone.n) qsort(gone.v, gone.n, sizeof *gone.v, ls_lua_vref_cmp);
    for (size_t i = 0; i < gone.n; i++) {
        ls_lua_refs_forget(L, LS_WEAKFAR, gone.v[i]);
        ls_lua_collection_cease_recognition(L, gone.v[i]);
    }
    lua_pop(L, 1);
}

/* Exports the kernel recognizes whose remotable is gone. */
static void dead_exports(lua_State *L, boyd_run *b)
{
    size_t first = b->xretires.n;
    ls_lua_vat_table(L, LS_RECOG);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        const char *vref = lua_tostring(L, -2);
        lua_pop(L, 1);
        if (strcmp(vref, "o+0") == 0) continue;
        if (!ls_lua_refs_has(L, LS_EXPORTS, vref) && !ls_lua_refs_has(L, LS_DROPPED, vref)) push_vref(L, b, &b->xretires, vref);
    }
    lua_pop(L, 1);
    if (b->xretires.n > first) qsort(b->xretires.v + first, b->xretires.n - first, sizeof *b->xretires.v, ls_lua_vref_cmp);
    if (b->budget && b->done + (b->xretires.n - first) > b->budget) {
        b->xretires.n = first + (b->done >= b->budget ? 0 : (size_t)(b->budget - b->done));
        b->v->boyd_more = true;
    }
    b->done += b->xretires.n - first;
    for (size_t j = first; j < b->xretires.n; j++) ls_lua_refs_forget(L, LS_RECOG, b->xretires.v[j]);
}

static bool recognized(lua_State *L, const char *vref)
{
    char prefix[LS_LUA_VREF_MAX + 16];
    snprintf(prefix, sizeof prefix, "vom.ir.%s|", vref);
    if (!ls_lua_vstore_next(L, prefix, prefix)) return false;
    lua_pop(L, 1);
    return true;
}

/* Imports the kernel thinks we recognize that nothing reaches or recognizes. */
static void dead_recognitions(lua_State *L, boyd_run *b)
{
    ls_lua_vat *v = b->v;
    vlist cand = {0};
    cand.slot = lua_gettop(L) + 1;
    lua_pushnil(L);
    for (size_t i = 0; i < v->nretired; i++) push_vref(L, b, &cand, v->retired[i]);
    for (size_t i = 0; i < v->nretired; i++) swing_mfree(v->retired[i]);
    v->nretired = 0;
    if (cand.n) qsort(cand.v, cand.n, sizeof *cand.v, ls_lua_vref_cmp);
    for (size_t i = 0; i < cand.n; i++) {
        const char *vref = cand.v[i];
        if (i > 0 && strcmp(vref, cand.v[i - 1]) == 0) continue;
        if (!ls_lua_refs_has(L, LS_IRECOG, vref) || ls_lua_refs_has(L, LS_IMPORTS, vref) || ls_lua_refs_has(L, LS_PRESENCES, vref))
            continue;
        if (ls_lua_vstore_rc(L, vref) > 0 || recognized(L, vref)) continue;
        ls_lua_refs_forget(L, LS_IRECOG, vref);
        push_vref(L, b, &b->iretires, vref);
    }
    lua_pop(L, 1);
}

static void syscall_vrefs(lua_State *L, vp_stype type, vlist *l)
{
    vp_syscall sc;
    if (l->n == 0) return;
    qsort(l->v, l->n, sizeof *l->v, ls_lua_vref_cmp);
    memset(&sc, 0, sizeof sc);
    sc.type = type;
    sc.vrefs = l->v;
    sc.nvrefs = l->n;
    ls_lua_vat_syscall(L, &sc, NULL);
}

void ls_lua_boyd(lua_State *L, ls_lua_vat *v, uint64_t budget)
{
    boyd_run b;
    memset(&b, 0, sizeof b);
    b.v = v;
    b.budget = budget;
    lua_gc(L, LUA_GCCOLLECT, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    lua_settop(L, 1);
    lua_pushnil(L);
    b.drops.slot = 2;
    lua_pushnil(L);
    b.xretires.slot = 3;
    lua_pushnil(L);
    b.iretires.slot = 4;
    lua_newtable(L);
    b.anchors = 5;
    dead_weak_keys(L, &b); /* before the rounds: the values they free may die in them */
    for (bool searched = false;; searched = true) { /* one search a BOYD at least, or candidates pile up */
        while (v->ndead > 0 && !spent(&b)) round_of(L, &b);
        if (v->ncands == 0 || (searched && spent(&b)) || !collect_cycles(L, &b)) break;
    }
    prune_live(L, v);
    if (v->ndead > 0 || v->ncands > 0) v->boyd_more = true;
    dead_exports(L, &b);
    dead_recognitions(L, &b);
    syscall_vrefs(L, VP_S_DROP_IMPORTS, &b.drops);
    syscall_vrefs(L, VP_S_RETIRE_IMPORTS, &b.iretires);
    syscall_vrefs(L, VP_S_RETIRE_EXPORTS, &b.xretires);
}
