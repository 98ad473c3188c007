/*
 * kind.c - defining kinds (reference/vom-collections.md §3.1-§3.2):
 * VatData.defineKind / defineKindMulti (virtual), makeKindHandle and
 * defineDurableKind / defineDurableKindMulti (durable), their descriptors
 * in the vatstore, the makers that create instances (state encoded and
 * counted in sorted property order), and the methods that hand behavior
 * functions (state, self or facets, args...).
 */
#include "liveslots/lua/vat_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveslots/lua/vref.h"

/* A facet's method: upvalues behavior function, facet index. */
static int vo_method(lua_State *L)
{
    int n = lua_gettop(L) - 1;
    const char *vref, *iface, *colon;
    char base[LS_LUA_VREF_MAX];
    size_t len;
    vref = ls_lua_vom_vref(L, 1, &iface);
    colon = strchr(vref, ':');
    len = colon ? (size_t)(colon - vref) : strlen(vref);
    memcpy(base, vref, len);
    base[len] = '\0';
    lua_pushvalue(L, lua_upvalueindex(1));
    ls_lua_vom_push_state(L, base);
    if (colon) lua_getiuservalue(L, 1, 2); /* the cohort */
    else lua_pushvalue(L, 1);
    lua_rotate(L, 2, 3); /* rep, fn, state, self, args... */
    lua_call(L, n + 2, LUA_MULTRET);
    return lua_gettop(L) - 1;
}

/* Encodes the record init returned (string names, sorted) as a state. */
static void initial_state(lua_State *L, int init_result, bool durable)
{
    const char **names;
    size_t n;
    int rec;
    init_result = lua_absindex(L, init_result);
    if (lua_type(L, init_result) != LUA_TTABLE) luaL_error(L, "a kind's init must return a table of state");
    names = ls_lua_vom_sorted_keys(L, init_result, &n, "state property");
    lua_newtable(L);
    rec = lua_gettop(L);
    for (size_t i = 0; i < n; i++) { /* encode all before counting any: a refusal changes nothing */
        lua_getfield(L, init_result, names[i]);
        ls_lua_vom_encode(L, -1, durable);
        lua_setfield(L, rec, names[i]);
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < n; i++) {
        lua_getfield(L, rec, names[i]);
        lua_rawgeti(L, -1, 2);
        ls_lua_vstore_recount(L, 0, -1);
        lua_pop(L, 2);
    }
    lua_remove(L, rec - 1);
}

/* The maker of a kind: upvalue the kind record. */
static int make_instance(lua_State *L)
{
    int n = lua_gettop(L), rec = lua_upvalueindex(1);
    bool durable;
    uint64_t kind, inst;
    char base[LS_LUA_VREF_MAX];
    lua_getfield(L, rec, "durable");
    durable = lua_toboolean(L, -1);
    lua_getfield(L, rec, "id");
    kind = (uint64_t)lua_tointeger(L, -1);
    lua_pop(L, 2);
    if (durable) {
        char key[64];
        snprintf(key, sizeof key, "vom.dkind.%" PRIu64 ".nextID", kind);
        inst = ls_lua_counts_get(L, key);
        if (inst == 0) inst = 1;
        ls_lua_counts_set(L, key, inst + 1);
    } else {
        lua_getfield(L, rec, "next");
        inst = (uint64_t)lua_tointeger(L, -1);
        lua_pop(L, 1);
        lua_pushinteger(L, (lua_Integer)inst + 1);
        lua_setfield(L, rec, "next");
    }
    snprintf(base, sizeof base, "o+%c%" PRIu64 "/%" PRIu64, durable ? 'd' : 'v', kind, inst);
    {
        char rc[LS_LUA_VREF_MAX + 8];
        snprintf(rc, sizeof rc, "vom.rc.%s", base);
        ls_lua_counts_absent(L, rc); /* a new object: nothing counts it yet */
    }
    lua_getfield(L, rec, "init");
    lua_insert(L, 1);
    lua_call(L, n, 1);
    initial_state(L, -1, durable); /* pushes the record */
    ls_lua_vat_table(L, LS_VCACHE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, base);
    lua_pop(L, 2);
    ls_lua_vom_mark_dirty(L, base);
    ls_lua_vom_build(L, base, rec);
    lua_getfield(L, rec, "finish");
    if (!lua_isnil(L, -1)) {
        ls_lua_vom_push_state(L, base);
        lua_pushvalue(L, -3);
        lua_call(L, 2, 0);
    } else {
        lua_pop(L, 1);
    }
    return 1;
}

/* Fills rec.methods from a behavior table (one facet) or a facets table. */
static void methods_of(lua_State *L, int rec, int behavior, bool multi)
{
    const char **names;
    size_t n;
    rec = lua_absindex(L, rec);
    behavior = lua_absindex(L, behavior);
    luaL_checktype(L, behavior, LUA_TTABLE);
    names = ls_lua_vom_sorted_keys(L, behavior, &n, "behavior"); /* facet index = position */
    for (size_t i = 0; i < n; i++) {
        lua_getfield(L, behavior, names[i]);
        if (multi ? lua_type(L, -1) != LUA_TTABLE : !lua_isfunction(L, -1))
            luaL_error(L, multi ? "defineKindMulti: each facet must be a table of methods"
                                : "defineKind: behavior must be a table of functions (use defineKindMulti for facets)");
        lua_pop(L, 1);
    }
    lua_newtable(L); /* methods */
    lua_newtable(L); /* facet names */
    for (size_t f = 0; f < (multi ? n : 1); f++) {
        lua_newtable(L);
        if (multi) lua_getfield(L, behavior, names[f]);
        else lua_pushvalue(L, behavior);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) != LUA_TSTRING || !lua_isfunction(L, -1))
                luaL_error(L, "methods must be functions under string names");
            lua_pushcclosure(L, vo_method, 1);
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -5);
        }
        lua_pop(L, 1);
        lua_rawseti(L, -3, (lua_Integer)f + 1);
        if (multi) {
            ls_lua_push_string(L, names[f]);
            lua_rawseti(L, -2, (lua_Integer)f + 1);
        }
    }
    if (multi) lua_setfield(L, rec, "facets");
    else lua_pop(L, 1);
    lua_setfield(L, rec, "methods");
    lua_pop(L, 1);
}

static void write_descriptor(lua_State *L, const char *which, uint64_t id, int rec)
{
    char key[64];
    int top = lua_gettop(L), n = 0;
    rec = lua_absindex(L, rec);
    snprintf(key, sizeof key, "vom.%s.%" PRIu64 ".descriptor", which, id);
    lua_getfield(L, rec, "facets"); /* top + 1 */
    lua_pushfstring(L, "{\"kindID\":\"%I\",\"tag\":", (lua_Integer)id);
    lua_getfield(L, rec, "tag");
    ls_lua_vstore_push_json_string(L, lua_tostring(L, -1));
    lua_remove(L, -2);
    n = 2;
    if (lua_istable(L, top + 1)) {
        lua_Integer nf = (lua_Integer)lua_rawlen(L, top + 1);
        luaL_checkstack(L, (int)nf * 2 + 4, "too many facets");
        lua_pushliteral(L, ",\"facets\":[");
        n++;
        for (lua_Integer i = 1; i <= nf; i++) {
            if (i > 1) {
                lua_pushliteral(L, ",");
                n++;
            }
            lua_rawgeti(L, top + 1, i);
            ls_lua_vstore_push_json_string(L, lua_tostring(L, -1));
            lua_remove(L, -2);
            n++;
        }
        lua_pushliteral(L, "]");
        n++;
    }
    lua_pushliteral(L, "}");
    lua_concat(L, n + 1);
    ls_lua_vstore_set(L, key, lua_tostring(L, -1), lua_rawlen(L, -1));
    lua_settop(L, top);
}

/* define(tagOrHandle, init, behavior, options): pushes the maker. */
static int define(lua_State *L, bool durable, bool multi)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    uint64_t id;
    int rec;
    lua_settop(L, 4);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_newtable(L);
    rec = lua_gettop(L);
    if (durable) {
        ls_lua_vref r;
        const char *iface, *vref;
        if (!ls_lua_vom_is_rep(L, 1)) return luaL_error(L, "defineDurableKind needs a kind handle");
        vref = ls_lua_vom_vref(L, 1, &iface);
        if (!ls_lua_vref_parse(vref, &r) || r.id != LS_LUA_KIND_HANDLE)
            return luaL_error(L, "defineDurableKind needs a kind handle");
        id = r.instance;
        ls_lua_vom_push_kind(L, id);
        if (!lua_isnil(L, -1)) return luaL_error(L, "redefinition of durable kind %d", (int)id);
        lua_pop(L, 1);
        if (lua_getiuservalue(L, 1, 2) != LUA_TSTRING) { /* a handle from an earlier incarnation */
            char key[64];
            lua_pop(L, 1);
            snprintf(key, sizeof key, "vom.dkind.%" PRIu64 ".descriptor", id);
            ls_lua_vstore_push_json_field(L, key, "tag");
            if (!lua_isstring(L, -1)) return luaL_error(L, "kind %d has no descriptor", (int)id);
        }
    } else {
        luaL_checkstring(L, 1);
        id = v->export_id++;
        v->counters_dirty = true;
        lua_pushvalue(L, 1);
    }
    lua_setfield(L, rec, "tag");
    lua_pushinteger(L, (lua_Integer)id);
    lua_setfield(L, rec, "id");
    lua_pushboolean(L, durable);
    lua_setfield(L, rec, "durable");
    lua_pushvalue(L, 2);
    lua_setfield(L, rec, "init");
    lua_pushinteger(L, 1);
    lua_setfield(L, rec, "next");
    if (lua_istable(L, 4)) {
        lua_getfield(L, 4, "finish");
        if (!lua_isnil(L, -1) && !lua_isfunction(L, -1)) return luaL_error(L, "options.finish must be a function");
        lua_setfield(L, rec, "finish");
    }
    methods_of(L, rec, 3, multi);
    write_descriptor(L, durable ? "dkind" : "vkind", id, rec);
    ls_lua_vom_register_kind(L, id, rec);
    lua_pushvalue(L, rec);
    lua_pushcclosure(L, make_instance, 1);
    return 1;
}

static int define_kind(lua_State *L) { return define(L, false, false); }
static int define_kind_multi(lua_State *L) { return define(L, false, true); }
static int define_durable_kind(lua_State *L) { return define(L, true, false); }
static int define_durable_kind_multi(lua_State *L) { return define(L, true, true); }

/* makeKindHandle(tag): a durable object naming a durable kind to come. */
static int make_kind_handle(lua_State *L)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    const char *tag = luaL_checkstring(L, 1);
    char key[64], vref[LS_LUA_VREF_MAX];
    uint64_t id = v->export_id++;
    v->counters_dirty = true;
    lua_newtable(L);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "tag");
    write_descriptor(L, "dkind", id, lua_gettop(L));
    lua_pop(L, 1);
    snprintf(key, sizeof key, "vom.dkind.%" PRIu64 ".nextID", id);
    ls_lua_counts_set(L, key, 1);
    snprintf(vref, sizeof vref, "o+d%d/%" PRIu64, LS_LUA_KIND_HANDLE, id);
    ls_lua_vom_push_rep(L, vref);
    ls_lua_push_string(L, tag);
    lua_setiuservalue(L, -2, 2);
    ls_lua_vat_table(L, LS_KHANDLES); /* held for the whole incarnation */
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, (lua_Integer)id);
    lua_pop(L, 1);
    return 1;
}

void ls_lua_kind_install(lua_State *L)
{
    static const luaL_Reg api[] = {{"defineKind", define_kind},
                                   {"defineKindMulti", define_kind_multi},
                                   {"defineDurableKind", define_durable_kind},
                                   {"defineDurableKindMulti", define_durable_kind_multi},
                                   {"makeKindHandle", make_kind_handle},
                                   {NULL, NULL}};
    lua_getglobal(L, "VatData");
    luaL_setfuncs(L, api, 0);
    lua_pop(L, 1);
}
