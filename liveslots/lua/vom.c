/*
 * vom.c - the virtual object manager (reference/vom-collections.md §1, §3):
 * kind records (kind.c defines them), representatives (a
 * userdata per facet whose __gc only records its baseRef as possibly dead),
 * the state record of each object (read lazily into a per-delivery cache,
 * written back in sorted order when the delivery ends), the encoding of
 * virtualized data with its durability rules, and the deletion of a dead
 * object's state for bringOutYourDead.
 *
 * Building a representative never makes a syscall: it needs only the kind,
 * which the vref names. So whether Lua collected one and it was rebuilt
 * never changes what the vat does.
 */
#include "liveslots/lua/vat_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveslots/lua/vref.h"

#define STATE_MT "ls.State"
#define FACETS_MT "ls.Facets"

/* ===== kinds ===== */

void ls_lua_vom_push_kind(lua_State *L, uint64_t id)
{
    ls_lua_vat_table(L, LS_KINDS);
    lua_rawgeti(L, -1, (lua_Integer)id);
    lua_remove(L, -2);
}

/* __index of a representative: its facet's method, bound to it. */
static int bound_call(lua_State *L)
{
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_rotate(L, 1, 2);
    lua_call(L, n + 1, LUA_MULTRET);
    return lua_gettop(L);
}

static int rep_index(lua_State *L)
{
    if (lua_type(L, 2) != LUA_TSTRING || lua_rawget(L, lua_upvalueindex(1)) == LUA_TNIL) return 1;
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, bound_call, 2);
    return 1;
}

static int rep_tostring(lua_State *L)
{
    lua_getiuservalue(L, 1, 1);
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "ls_iface");
    lua_pushfstring(L, "%s %s", lua_tostring(L, -1), lua_tostring(L, -3));
    return 1;
}

/* Registers kind `id` with one metatable per facet. The record at `rec`
 * holds tag, durable and, per facet i (1-based), methods[i]: name ->
 * function(rep, args...). */
void ls_lua_vom_register_kind(lua_State *L, uint64_t id, int rec)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    lua_Integer nf;
    rec = lua_absindex(L, rec);
    lua_getfield(L, rec, "methods");
    nf = (lua_Integer)lua_rawlen(L, -1);
    lua_newtable(L); /* mts */
    for (lua_Integer i = 1; i <= nf; i++) {
        lua_createtable(L, 0, 8);
        lua_rawgeti(L, -3, i);
        lua_pushcclosure(L, rep_index, 1);
        lua_setfield(L, -2, "__index");
        lua_pushlightuserdata(L, v);
        lua_pushcclosure(L, ls_lua_refs_gc, 1);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, rep_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "VirtualObject");
        lua_setfield(L, -2, "__metatable");
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "ls_vobj");
        lua_pushvalue(L, rec);
        lua_setfield(L, -2, "ls_kind");
        lua_getfield(L, rec, "tag");
        lua_pushfstring(L, "Alleged: %s", lua_tostring(L, -1));
        lua_setfield(L, -3, "ls_iface");
        lua_pop(L, 1);
        lua_rawseti(L, -2, i);
    }
    lua_setfield(L, rec, "mts");
    lua_pop(L, 1);
    ls_lua_vat_table(L, LS_KINDS);
    lua_pushvalue(L, rec);
    lua_rawseti(L, -2, (lua_Integer)id);
    lua_pop(L, 1);
}

/* ===== representatives ===== */

bool ls_lua_vom_is_rep(lua_State *L, int idx)
{
    bool r;
    if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return false;
    r = lua_getfield(L, -1, "ls_vobj") == LUA_TBOOLEAN;
    lua_pop(L, 2);
    return r;
}

const char *ls_lua_vom_vref(lua_State *L, int idx, const char **iface)
{
    const char *vref;
    idx = lua_absindex(L, idx);
    lua_getiuservalue(L, idx, 1);
    vref = lua_tostring(L, -1); /* anchored by the userdata */
    lua_getmetatable(L, idx);
    lua_getfield(L, -1, "ls_iface");
    *iface = lua_tostring(L, -1); /* anchored by the metatable */
    lua_pop(L, 3);
    return vref;
}

static void push_one(lua_State *L, const char *vref, int mts, int facet, int cohort)
{
    lua_newuserdatauv(L, 0, 2);
    ls_lua_push_string(L, vref);
    lua_setiuservalue(L, -2, 1);
    if (cohort) {
        lua_pushvalue(L, cohort);
        lua_setiuservalue(L, -2, 2);
    }
    lua_rawgeti(L, mts, facet + 1);
    lua_setmetatable(L, -2);
    ls_lua_vat_table(L, LS_VREPS);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, vref);
    lua_pop(L, 1);
    ls_lua_vat_table(L, LS_VALTOSLOT);
    lua_pushvalue(L, -2);
    ls_lua_push_string(L, vref);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

static int facets_index(lua_State *L)
{
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int facets_newindex(lua_State *L) { return luaL_error(L, "a kind's facets cannot be changed"); }

/* Builds the representative of baseRef (every facet for a faceted kind)
 * and pushes the cohort (facets record) or the one representative. */
void ls_lua_vom_build(lua_State *L, const char *base, int rec)
{
    int mts, cohort = 0, real = 0;
    lua_Integer nf;
    rec = lua_absindex(L, rec);
    lua_getfield(L, rec, "mts");
    mts = lua_gettop(L);
    lua_getfield(L, rec, "facets");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        push_one(L, base, mts, 0, 0);
    } else {
        int names = lua_gettop(L);
        nf = (lua_Integer)lua_rawlen(L, names);
        lua_newuserdatauv(L, 0, 1);
        cohort = lua_gettop(L);
        luaL_setmetatable(L, FACETS_MT);
        lua_createtable(L, 0, (int)nf);
        real = lua_gettop(L);
        lua_pushvalue(L, real);
        lua_setiuservalue(L, cohort, 1);
        for (lua_Integer i = 0; i < nf; i++) {
            char vref[LS_LUA_VREF_MAX + 8];
            snprintf(vref, sizeof vref, "%s:%d", base, (int)i);
            push_one(L, vref, mts, (int)i, cohort);
            lua_rawgeti(L, names, i + 1);
            lua_insert(L, -2);
            lua_rawset(L, real);
        }
        lua_settop(L, cohort);
        lua_remove(L, names);
    }
    ls_lua_vat_table(L, LS_VBASE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, base);
    lua_pop(L, 1);
    lua_remove(L, mts);
}

void ls_lua_vom_push_rep(lua_State *L, const char *vref)
{
    ls_lua_vref r;
    char base[LS_LUA_VREF_MAX];
    ls_lua_vat_table(L, LS_VREPS);
    if (lua_getfield(L, -1, vref) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 2);
    if (!ls_lua_vref_parse(vref, &r) || !r.virt) luaL_error(L, "not a virtual object: %s", vref);
    ls_lua_vom_push_kind(L, r.id);
    if (lua_isnil(L, -1)) luaL_error(L, "%s: kind %d is not defined in this incarnation", vref, (int)r.id);
    memcpy(base, vref, r.base_len);
    base[r.base_len] = '\0';
    lua_getfield(L, -1, "facets");
    if (lua_isnil(L, -1) != (r.facet < 0)) luaL_error(L, "%s does not match its kind's facets", vref);
    lua_pop(L, 1);
    ls_lua_vom_build(L, base, -1);
    lua_pop(L, 2);
    ls_lua_vat_table(L, LS_VREPS);
    lua_getfield(L, -1, vref);
    lua_remove(L, -2);
    if (lua_isnil(L, -1)) luaL_error(L, "%s: no such facet", vref);
}

/* ===== encoding virtualized data ===== */

static int vdata_to_slot(lua_State *L, int idx, void *ctx, const char **vref, const char **iface)
{
    const ls_lua_vdata_ctx *c = ctx;
    *vref = NULL;
    *iface = NULL;
    if (ls_lua_refs_is_presence(L, idx)) return ls_lua_refs_to_slot(L, idx, NULL, vref, iface);
    if (ls_lua_vom_is_rep(L, idx)) {
        *vref = ls_lua_vom_vref(L, idx, iface);
        if (c->durable && (*vref)[2] != 'd')
            luaL_error(L, "not durable: %s is a virtual object (only durable objects, imports and data may be "
                          "stored durably)",
                       *vref);
        return 1;
    }
    if (ls_lua_refs_is_remotable(L, idx)) {
        if (c->durable)
            luaL_error(L, "not durable: a Far object (only durable objects, imports and data may be stored durably)");
        *vref = ls_lua_refs_local_vref(L, idx, iface);
        return 1;
    }
    if (ls_lua_promise_is(L, idx)) luaL_error(L, "promises cannot be stored in virtualized data");
    return 0;
}

static void vdata_from_slot(lua_State *L, const char *vref, const char *iface, void *ctx)
{
    ls_lua_refs_from_slot(L, vref, iface, ((const ls_lua_vdata_ctx *)ctx)->vat);
}

ls_lua_slot_ops ls_lua_vom_ops(ls_lua_vat *v, bool durable)
{
    ls_lua_slot_ops ops;
    ops.to_slot = vdata_to_slot;
    ops.from_slot = vdata_from_slot;
    ops.ctx = &v->vdata[durable ? 1 : 0];
    return ops;
}

void ls_lua_vom_encode(lua_State *L, int idx, bool durable)
{
    ls_lua_slot_ops ops = ls_lua_vom_ops(ls_lua_vat_get(L), durable);
    ls_lua_marshal_encode(L, idx, &ops); /* body, slots */
    lua_createtable(L, 2, 0);
    lua_insert(L, -3);
    lua_rawseti(L, -3, 2);
    lua_rawseti(L, -2, 1);
}

void ls_lua_vom_decode(lua_State *L, int cd)
{
    ls_lua_slot_ops ops = ls_lua_vom_ops(ls_lua_vat_get(L), false);
    const char *body;
    size_t len;
    vp_capdata c;
    cd = lua_absindex(L, cd);
    lua_rawgeti(L, cd, 1);
    lua_rawgeti(L, cd, 2);
    body = lua_tolstring(L, -2, &len);
    c = ls_lua_vat_capdata(L, -2, -1);
    ls_lua_marshal_decode(L, body, len, c.slots, c.nslots, &ops);
    lua_replace(L, -4);
    lua_pop(L, 2);
}

/* ===== state records ===== */

static void state_key(char *out, size_t cap, const char *base) { snprintf(out, cap, "vom.%s", base); }

/* Pushes the cached record of base (loading it), or raises. */
static void push_record(lua_State *L, const char *base)
{
    char key[LS_LUA_VREF_MAX + 8];
    ls_lua_vat_table(L, LS_VCACHE);
    if (lua_getfield(L, -1, base) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    state_key(key, sizeof key, base);
    if (!ls_lua_vstore_get(L, key)) luaL_error(L, "%s has no state: the object was deleted", base);
    ls_lua_vstore_parse_record(L, lua_tostring(L, -1), lua_rawlen(L, -1));
    lua_remove(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, base);
    lua_remove(L, -2);
}

void ls_lua_vom_mark_dirty(lua_State *L, const char *base)
{
    ls_lua_vat_table(L, LS_VDIRTY);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, base);
    lua_pop(L, 1);
}

static int state_get(lua_State *L)
{
    const char *name = luaL_checkstring(L, 2);
    lua_getiuservalue(L, 1, 1);
    push_record(L, lua_tostring(L, -1));
    if (lua_getfield(L, -1, name) == LUA_TNIL) return 1;
    ls_lua_vom_decode(L, -1); /* a fresh copy each read: change state by assigning */
    return 1;
}

static int state_set(lua_State *L)
{
    const char *name = luaL_checkstring(L, 2), *base;
    lua_settop(L, 3);
    lua_getiuservalue(L, 1, 1); /* 4 */
    base = lua_tostring(L, 4);
    push_record(L, base); /* 5 */
    if (lua_getfield(L, 5, name) == LUA_TNIL) { /* 6: a new property (init's nils made none) */
        lua_pop(L, 1);
        lua_createtable(L, 2, 0);
        lua_newtable(L);
        lua_rawseti(L, -2, 2);
    }
    ls_lua_vom_encode(L, 3, base[2] == 'd'); /* 7: raises before anything changes */
    lua_rawgeti(L, 6, 2);
    lua_rawgeti(L, 7, 2);
    ls_lua_vstore_recount(L, -2, -1);
    lua_pop(L, 2);
    lua_pushvalue(L, 7);
    lua_setfield(L, 5, name);
    ls_lua_vom_mark_dirty(L, base);
    return 0;
}

void ls_lua_vom_push_state(lua_State *L, const char *base)
{
    lua_newuserdatauv(L, 0, 1);
    ls_lua_push_string(L, base);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, STATE_MT);
}

void ls_lua_vom_flush(lua_State *L)
{
    const char **keys;
    size_t n = 0, cap = 0;
    int dirty, cache;
    ls_lua_vat_table(L, LS_VDIRTY);
    dirty = lua_gettop(L);
    ls_lua_vat_table(L, LS_VCACHE);
    cache = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, dirty)) {
        lua_pop(L, 1);
        cap++;
    }
    keys = lua_newuserdatauv(L, (cap ? cap : 1) * sizeof *keys, 0);
    lua_pushnil(L);
    while (lua_next(L, dirty)) {
        lua_pop(L, 1);
        keys[n++] = lua_tostring(L, -1); /* anchored by the dirty table */
    }
    qsort(keys, n, sizeof *keys, ls_lua_vref_cmp);
    for (size_t i = 0; i < n; i++) {
        char key[LS_LUA_VREF_MAX + 8];
        size_t len;
        const char *json;
        if (lua_getfield(L, cache, keys[i]) == LUA_TNIL) {
            lua_pop(L, 1);
            continue; /* deleted in this delivery */
        }
        ls_lua_vstore_push_record(L, -1);
        json = lua_tolstring(L, -1, &len);
        state_key(key, sizeof key, keys[i]);
        ls_lua_vstore_set(L, key, json, len);
        lua_pop(L, 2);
    }
    lua_settop(L, dirty - 1);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LS_VDIRTY);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LS_VCACHE);
}

/* ===== sorted names ===== */

const char **ls_lua_vom_sorted_keys(lua_State *L, int idx, size_t *n, const char *what)
{
    const char **names;
    size_t cap = 0;
    idx = lua_absindex(L, idx);
    *n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "%s names must be strings", what);
        cap++;
    }
    names = lua_newuserdatauv(L, (cap ? cap : 1) * sizeof *names, 0);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        names[(*n)++] = lua_tostring(L, -1); /* anchored by the table */
    }
    qsort(names, *n, sizeof *names, ls_lua_vref_cmp);
    return names;
}

/* ===== deletion (bringOutYourDead) ===== */

bool ls_lua_vom_delete_state(lua_State *L, const char *base)
{
    char key[LS_LUA_VREF_MAX + 8];
    int rec;
    state_key(key, sizeof key, base);
    if (!ls_lua_vstore_get(L, key)) return false; /* deleted already */
    ls_lua_vstore_parse_record(L, lua_tostring(L, -1), lua_rawlen(L, -1));
    rec = lua_gettop(L);
    {
        size_t n;
        const char **names = ls_lua_vom_sorted_keys(L, rec, &n, "state property");
        for (size_t i = 0; i < n; i++) {
            lua_getfield(L, rec, names[i]);
            lua_rawgeti(L, -1, 2);
            ls_lua_vstore_recount(L, -1, 0);
            lua_pop(L, 2);
        }
    }
    lua_settop(L, rec - 2);
    ls_lua_vstore_delete(L, key);
    return true;
}

/* ===== installation ===== */

/* A userdata proxy's metatable, registered as name, hidden as shown. */
static void proxy_metatable(lua_State *L, const char *name, lua_CFunction index, lua_CFunction newindex,
                            const char *shown)
{
    luaL_newmetatable(L, name);
    lua_pushcfunction(L, index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, newindex);
    lua_setfield(L, -2, "__newindex");
    ls_lua_push_string(L, shown);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

void ls_lua_vom_install(lua_State *L, ls_lua_vat *v)
{
    v->vdata[0].vat = v;
    v->vdata[0].durable = false;
    v->vdata[1].vat = v;
    v->vdata[1].durable = true;
    ls_lua_refs_new_table(L, LS_KINDS, NULL);
    ls_lua_refs_new_table(L, LS_KHANDLES, NULL);
    ls_lua_refs_new_table(L, LS_VREPS, "v");
    ls_lua_refs_new_table(L, LS_VBASE, "v");
    ls_lua_refs_new_table(L, LS_VCACHE, NULL);
    ls_lua_refs_new_table(L, LS_VDIRTY, NULL);
    ls_lua_counts_reset(L);
    ls_lua_refs_new_table(L, LS_VPINS, NULL);
    ls_lua_refs_new_table(L, LS_VPINNED, NULL);
    ls_lua_refs_new_table(L, LS_LOCALS, "v");
    proxy_metatable(L, STATE_MT, state_get, state_set, "state");
    proxy_metatable(L, FACETS_MT, facets_index, facets_newindex, "facets");
    /* the kind of kind handles: no methods, never deleted */
    lua_newtable(L);
    lua_pushliteral(L, "kind");
    lua_setfield(L, -2, "tag");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "durable");
    lua_newtable(L);
    lua_newtable(L);
    lua_rawseti(L, -2, 1);
    lua_setfield(L, -2, "methods");
    ls_lua_vom_register_kind(L, LS_LUA_KIND_HANDLE, -1);
    lua_pop(L, 1);
    lua_newtable(L);
    lua_setglobal(L, "VatData");
}
