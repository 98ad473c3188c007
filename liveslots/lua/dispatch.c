/*
 * dispatch.c - deliveries into a Lua vat (reference/liveslots.md §5, §6.5):
 * message (the vat decides the result), notify (batch; new promise imports
 * subscribed after, sorted), GC deliveries, startVat (buildRootObject), and
 * bringOutYourDead (full collection, sorted scans, dropImports /
 * retireImports / retireExports each sorted, at most `budget` objects).
 */
#include "liveslots/lua/vat_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/vec.h"

static void deliver_message(lua_State *L, ls_lua_vat *v, const vp_delivery *d)
{
    ls_lua_slot_ops ops = ls_lua_refs_ops(v);
    int target, n;
    const char *method;
    ls_lua_refs_from_slot(L, d->target, NULL, v);
    target = lua_gettop(L);
    n = ls_lua_marshal_decode_call(L, d->methargs.body, strlen(d->methargs.body), d->methargs.slots,
                                   d->methargs.nslots, &ops);
    method = lua_tostring(L, target + 1); /* anchored at target + 1 */
    if (!method) luaL_error(L, "function calls are not supported; send a method");
    ls_lua_send_eventual(L, target, method, n); /* the arguments become the result promise */
    if (!d->result) return;
    ls_lua_vat_table(L, LS_PROMISES);
    if (lua_getfield(L, -1, d->result) != LUA_TNIL && ls_lua_promise_is(L, -1)) {
        /* We imported this promise before and now decide it. */
        ls_lua_promise_resolve(L, -1, -3);
        ls_lua_vat_table(L, LS_KPROMISES);
        lua_pushnil(L);
        lua_setfield(L, -2, d->result);
        lua_pop(L, 1);
        ls_lua_send_follow(L, d->result, -1);
        return;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, d->result);
    lua_pop(L, 1);
    ls_lua_vat_table(L, LS_VALTOSLOT);
    lua_pushvalue(L, -2);
    ls_lua_push_string(L, d->result);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    ls_lua_send_follow(L, d->result, -1);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void syscall_vrefs(lua_State *L, vp_stype type, const char **vrefs, size_t n)
{
    vp_syscall sc;
    if (n == 0) return;
    memset(&sc, 0, sizeof sc);
    sc.type = type;
    sc.vrefs = vrefs;
    sc.nvrefs = n;
    ls_lua_vat_syscall(L, &sc, NULL);
}

static void deliver_notify(lua_State *L, ls_lua_vat *v, const vp_delivery *d)
{
    ls_lua_slot_ops ops = ls_lua_refs_ops(v);
    lua_Integer n;
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LS_NEWVPIDS);
    v->collecting = true;
    for (size_t i = 0; i < d->nresolutions; i++) {
        const vp_resolution *r = &d->resolutions[i];
        bool known;
        ls_lua_vat_table(L, LS_KPROMISES);
        known = lua_getfield(L, -1, r->vpid) != LUA_TNIL;
        lua_pop(L, 2);
        if (!known) continue; /* stale: not ours to hear about */
        ls_lua_vat_table(L, LS_PROMISES);
        lua_getfield(L, -1, r->vpid);
        ls_lua_marshal_decode(L, r->data.body, strlen(r->data.body), r->data.slots, r->data.nslots, &ops);
        if (r->rejected) ls_lua_promise_reject(L, -2, -1);
        else ls_lua_promise_resolve(L, -2, -1);
        lua_pop(L, 3);
        ls_lua_refs_retire_vpid(L, r->vpid);
    }
    v->collecting = false;
    /* Subscribe, in sorted order, to new imports not settled in this batch. */
    ls_lua_vat_table(L, LS_NEWVPIDS);
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_remove(L, -2);
    lua_pushvalue(L, -2);
    lua_call(L, 1, 0);
    n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
        vp_syscall sc;
        bool pending;
        lua_rawgeti(L, -1, i);
        ls_lua_vat_table(L, LS_KPROMISES);
        pending = lua_getfield(L, -1, lua_tostring(L, -2)) != LUA_TNIL;
        lua_pop(L, 2);
        if (pending) {
            memset(&sc, 0, sizeof sc);
            sc.type = VP_S_SUBSCRIBE;
            sc.vpid = lua_tostring(L, -1);
            ls_lua_vat_syscall(L, &sc, NULL);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void gc_delivery(lua_State *L, const vp_delivery *d)
{
    for (size_t i = 0; i < d->nvrefs; i++) {
        const char *vref = d->vrefs[i];
        if (d->type == VP_D_DROP_EXPORTS) {
            ls_lua_vat_table(L, LS_EXPORTS);
            if (lua_getfield(L, -1, vref) != LUA_TNIL) {
                ls_lua_vat_table(L, LS_DROPPED);
                lua_pushvalue(L, -2);
                lua_setfield(L, -2, vref); /* weakly held: it may die now */
                lua_pop(L, 1);
                lua_pushnil(L);
                lua_setfield(L, -3, vref);
            }
            lua_pop(L, 2);
        } else {
            ls_lua_vat_table(L, d->type == VP_D_RETIRE_EXPORTS ? LS_RECOG : LS_IMPORTS);
            lua_pushnil(L);
            lua_setfield(L, -2, vref);
            lua_pop(L, 1);
            if (d->type == VP_D_RETIRE_EXPORTS) {
                ls_lua_vat_table(L, LS_DROPPED);
                lua_pushnil(L);
                lua_setfield(L, -2, vref);
                lua_pop(L, 1);
            }
        }
    }
}

static void start_vat(lua_State *L, ls_lua_vat *v, const vp_delivery *d)
{
    ls_lua_slot_ops ops = ls_lua_refs_ops(v);
    int fn;
    lua_getfield(L, LUA_REGISTRYINDEX, "ls.entry");
    if (lua_type(L, -1) == LUA_TTABLE) lua_getfield(L, -1, "buildRootObject");
    else if (lua_type(L, -1) != LUA_TFUNCTION) lua_getglobal(L, "buildRootObject");
    else lua_pushvalue(L, -1);
    fn = lua_gettop(L);
    if (!lua_isfunction(L, fn)) luaL_error(L, "the bundle defines no buildRootObject");
    lua_newtable(L); /* vatPowers */
    ls_lua_marshal_decode(L, d->vat_parameters.body, strlen(d->vat_parameters.body), d->vat_parameters.slots,
                          d->vat_parameters.nslots, &ops);
    lua_pushnil(L); /* baggage: with virtual objects */
    lua_call(L, 3, 1);
    if (!ls_lua_refs_is_remotable(L, -1)) luaL_error(L, "buildRootObject must return a Far object");
    ls_lua_vat_table(L, LS_VALTOSLOT);
    lua_pushvalue(L, -2);
    lua_pushliteral(L, "o+0");
    lua_rawset(L, -3);
    lua_pop(L, 1);
    ls_lua_vat_table(L, LS_EXPORTS);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "o+0");
    lua_pop(L, 1);
    ls_lua_vat_table(L, LS_RECOG);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "o+0");
    lua_pop(L, 1);
}

/* ===== bringOutYourDead ===== */

/* A vref array kept in a Lua userdata so an error never leaks it. */
typedef struct vlist {
    const char **v;
    size_t n, cap;
} vlist;

static void vlist_push(lua_State *L, vlist *l, const char *s, int anchor)
{
    if (l->n == l->cap) {
        size_t cap;
        const char **nv;
        if (swing_vec_cap(l->cap, l->n + 1, 64, sizeof *nv, &cap, NULL)) luaL_error(L, "too many vrefs");
        nv = lua_newuserdatauv(L, cap * sizeof *nv, 0);
        if (l->n) memcpy(nv, l->v, l->n * sizeof *nv);
        lua_replace(L, anchor);
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = s;
}

static void boyd(lua_State *L, ls_lua_vat *v, uint64_t budget)
{
    vlist drops = {0}, retires = {0};
    size_t i = 0, kept = 0;
    int anchors;
    uint64_t done = 0;
    lua_gc(L, LUA_GCCOLLECT, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    if (v->ndead) qsort(v->dead, v->ndead, sizeof *v->dead, cmp_str);
    lua_settop(L, 1);
    lua_pushnil(L); /* 2: drops storage */
    lua_pushnil(L); /* 3: retires storage */
    lua_newtable(L); /* 4: strings of this BOYD */
    anchors = 4;
    for (; i < v->ndead; i++) {
        const char *vref = v->dead[i];
        bool live, imported;
        if (i > 0 && strcmp(vref, v->dead[i - 1]) == 0) continue;
        if (budget && done >= budget) break;
        ls_lua_vat_table(L, LS_PRESENCES);
        live = lua_getfield(L, -1, vref) != LUA_TNIL;
        lua_pop(L, 2);
        if (live) continue; /* introduced again since */
        ls_lua_vat_table(L, LS_IMPORTS);
        imported = lua_getfield(L, -1, vref) != LUA_TNIL;
        lua_pop(L, 1);
        if (imported) {
            lua_pushnil(L);
            lua_setfield(L, -2, vref);
            ls_lua_push_string(L, vref);
            vlist_push(L, &drops, lua_tostring(L, -1), 2);
            lua_rawseti(L, anchors, (lua_Integer)drops.n);
            done++;
        }
        lua_pop(L, 1);
    }
    /* Keep what the budget left for the next BOYD. */
    for (size_t j = 0; j < v->ndead; j++) {
        if (j >= i) v->dead[kept++] = v->dead[j];
        else swing_mfree(v->dead[j]);
    }
    v->ndead = kept;
    /* Exports the kernel recognizes whose remotable is gone. */
    ls_lua_vat_table(L, LS_RECOG);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        const char *vref = lua_tostring(L, -2);
        bool pinned, alive;
        lua_pop(L, 1);
        if (strcmp(vref, "o+0") == 0) continue;
        ls_lua_vat_table(L, LS_EXPORTS);
        pinned = lua_getfield(L, -1, vref) != LUA_TNIL;
        ls_lua_vat_table(L, LS_DROPPED);
        alive = lua_getfield(L, -1, vref) != LUA_TNIL;
        lua_pop(L, 4);
        if (!pinned && !alive) vlist_push(L, &retires, vref, 3);
    }
    if (retires.n) qsort(retires.v, retires.n, sizeof *retires.v, cmp_str);
    if (budget && done + retires.n > budget) {
        retires.n = done >= budget ? 0 : (size_t)(budget - done);
        v->boyd_more = true;
    }
    if (kept > 0) v->boyd_more = true; /* the budget stopped the dead-presence scan */
    for (size_t j = 0; j < retires.n; j++) {
        ls_lua_push_string(L, retires.v[j]); /* anchor before removing from the table */
        lua_rawseti(L, anchors, (lua_Integer)(drops.n + j + 1));
        lua_rawgeti(L, anchors, (lua_Integer)(drops.n + j + 1));
        retires.v[j] = lua_tostring(L, -1);
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_setfield(L, -2, retires.v[j]);
    }
    lua_pop(L, 1);
    syscall_vrefs(L, VP_S_DROP_IMPORTS, drops.v, drops.n);
    syscall_vrefs(L, VP_S_RETIRE_IMPORTS, drops.v, drops.n);
    syscall_vrefs(L, VP_S_RETIRE_EXPORTS, retires.v, retires.n);
}

int ls_lua_dispatch(lua_State *L)
{
    const vp_delivery *d = lua_touserdata(L, 1);
    ls_lua_vat *v = ls_lua_vat_get(L);
    switch (d->type) {
    case VP_D_MESSAGE: deliver_message(L, v, d); break;
    case VP_D_NOTIFY: deliver_notify(L, v, d); break;
    case VP_D_DROP_EXPORTS:
    case VP_D_RETIRE_EXPORTS:
    case VP_D_RETIRE_IMPORTS: gc_delivery(L, d); break;
    case VP_D_START_VAT: start_vat(L, v, d); break;
    case VP_D_BRING_OUT_YOUR_DEAD:
        if (!ls_lua_sandbox_check_rules(v->vm)) {
            ls_lua_vm_kill(v->vm, "weak or finalized tables are not allowed");
            return luaL_error(L, "vat stopped");
        }
        boyd(L, v, d->budget);
        break;
    case VP_D_CHANGE_VAT_OPTIONS: break;
    }
    return 0;
}
