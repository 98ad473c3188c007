/*
 * iter.c - deterministic pairs/next (see iter.h), O(1) amortized per step.
 * A traversal works on a sorted snapshot of the table's keys, taken once
 * (priced n log n) when it starts: pairs(t) keeps its snapshot in the
 * iterator; next(t, nil) takes one and keeps it in a per-table traversal
 * cache (registry, weak keys: a dead table's entry goes with it, which no
 * vat code can observe) with each key's position, so next(t, k) is a lookup.
 * As in Lua, keys added during a traversal need not be visited; a key that
 * is not in the current snapshot starts a new one. Every step costs one
 * computron. Sorting happens in a Lua userdata buffer, so an error raised
 * meanwhile leaks nothing.
 */
#include "liveslots/lua/iter.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "liveslots/lua/vm.h"

#define NEXT_CACHE_KEY "libswing.nextcache" /* registry: t -> {keys, positions} */

typedef struct key {
    int rank;            /* 0 number, 1 string, 2 boolean */
    int isint;           /* number: integer subtype */
    lua_Integer i;       /* integer value */
    lua_Number n;        /* float value (and integer as float) */
    const char *s;       /* string bytes (anchored by the table) */
    size_t len;
    int b;               /* boolean */
} key;

static int read_key(lua_State *L, int idx, key *k)
{
    memset(k, 0, sizeof *k);
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        k->rank = 0;
        k->isint = lua_isinteger(L, idx);
        if (k->isint) k->i = lua_tointeger(L, idx);
        k->n = lua_tonumber(L, idx);
        return 1;
    case LUA_TSTRING:
        k->rank = 1;
        k->s = lua_tolstring(L, idx, &k->len);
        return 1;
    case LUA_TBOOLEAN:
        k->rank = 2;
        k->b = lua_toboolean(L, idx);
        return 1;
    default:
        return 0;
    }
}

static int key_cmp(const key *a, const key *b)
{
    if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
    if (a->rank == 0) {
        if (a->isint && b->isint) return (a->i > b->i) - (a->i < b->i);
        if (a->n != b->n) return a->n < b->n ? -1 : 1;
        return (b->isint) - (a->isint); /* equal values: integer first */
    }
    if (a->rank == 1) {
        size_t n = a->len < b->len ? a->len : b->len;
        int c = n ? memcmp(a->s, b->s, n) : 0;
        if (c) return c;
        return (a->len > b->len) - (a->len < b->len);
    }
    return a->b - b->b;
}

static int qcmp(const void *x, const void *y) { return key_cmp(x, y); }

static int unordered(lua_State *L, int idx)
{
    return luaL_error(L, "keys of type %s have no deterministic order (pairs/next)", luaL_typename(L, idx));
}

static void push_key(lua_State *L, const key *k)
{
    if (k->rank == 0) {
        if (k->isint) lua_pushinteger(L, k->i);
        else lua_pushnumber(L, k->n);
    } else if (k->rank == 1) {
        lua_pushlstring(L, k->s, k->len);
    } else {
        lua_pushboolean(L, k->b);
    }
}

/* Pushes the sorted array of the keys of the table at t; returns their
 * number. Priced: a computron per key, and n log n for the sort. */
static size_t snapshot(lua_State *L, int t)
{
    size_t n = 0, i = 0, log = 1;
    key *keys;
    int buf;
    t = lua_absindex(L, t);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        n++;
    }
    while (log < 64 && ((size_t)1 << log) < n) log++;
    ls_lua_vm_spend(L, 1 + n + n * log);
    keys = lua_newuserdatauv(L, (n ? n : 1) * sizeof *keys, 0);
    buf = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (!read_key(L, -1, &keys[i])) return (size_t)unordered(L, -1);
        i++;
    }
    qsort(keys, n, sizeof *keys, qcmp);
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        push_key(L, &keys[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_remove(L, buf);
    return n;
}

/* From position i of the snapshot at index keys, the first key still in t
 * (index 1); pushes key and value and returns 2, or pushes nil and returns
 * 1 at the end. *at is the position reached. */
static int step_from(lua_State *L, int keys, lua_Integer *at)
{
    lua_Integer i = *at;
    for (;;) {
        ls_lua_vm_spend(L, 1);
        if (lua_rawgeti(L, keys, ++i) == LUA_TNIL) {
            *at = i;
            return 1;
        }
        lua_pushvalue(L, -1);
        if (lua_rawget(L, 1) != LUA_TNIL) break; /* skip keys deleted meanwhile */
        lua_pop(L, 2);
    }
    *at = i;
    return 2;
}

/* The traversal cache entry of t (index 1): pushes {keys, positions}, made
 * afresh when fresh is set or there is none. */
static void traversal(lua_State *L, bool fresh)
{
    int entry;
    lua_getfield(L, LUA_REGISTRYINDEX, NEXT_CACHE_KEY);
    if (!fresh) {
        lua_pushvalue(L, 1);
        if (lua_rawget(L, -2) == LUA_TTABLE) {
            lua_remove(L, -2);
            return;
        }
        lua_pop(L, 1);
    }
    lua_createtable(L, 2, 0);
    entry = lua_gettop(L);
    {
        size_t n = snapshot(L, 1);
        lua_createtable(L, 0, (int)n);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, -2, (lua_Integer)i);
            lua_pushinteger(L, (lua_Integer)i);
            lua_rawset(L, -3);
        }
    }
    lua_rawseti(L, entry, 2);
    lua_rawseti(L, entry, 1);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, entry);
    lua_rawset(L, entry - 1);
    lua_remove(L, entry - 1);
}

/* A key k not in t: the position of the last snapshot key (entry at 3)
 * below it, so that the traversal goes on with the smallest key above k. */
static lua_Integer preceding(lua_State *L, const key *k)
{
    lua_Integer lo = 0, hi;
    lua_rawgeti(L, 3, 1);
    hi = (lua_Integer)lua_rawlen(L, -1);
    while (lo < hi) { /* invariant: keys 1..lo are below k, keys above hi are not */
        lua_Integer mid = lo + (hi - lo + 1) / 2;
        key m;
        lua_rawgeti(L, -1, mid);
        read_key(L, -1, &m);
        if (key_cmp(&m, k) < 0) lo = mid;
        else hi = mid - 1;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    ls_lua_vm_spend(L, 1);
    return lo;
}

static int det_next(lua_State *L)
{
    lua_Integer at = 0;
    int keys;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (!lua_isnil(L, 2)) {
        key k;
        if (!read_key(L, 2, &k)) return unordered(L, 2);
        traversal(L, false); /* 3 */
        lua_rawgeti(L, 3, 2);
        lua_pushvalue(L, 2);
        if (lua_rawget(L, -2) != LUA_TNUMBER) { /* not in this snapshot: a new one */
            lua_settop(L, 2);
            traversal(L, true);
            lua_rawgeti(L, 3, 2);
            lua_pushvalue(L, 2);
            at = lua_rawget(L, -2) == LUA_TNUMBER ? lua_tointeger(L, -1) : preceding(L, &k);
        } else {
            at = lua_tointeger(L, -1);
        }
    } else {
        traversal(L, true);
    }
    lua_rawgeti(L, 3, 1);
    keys = lua_gettop(L);
    return step_from(L, keys, &at);
}

/* Iterator closure: upvalue 1 = sorted key array table, 2 = position. */
static int walk(lua_State *L)
{
    lua_Integer at = lua_tointeger(L, lua_upvalueindex(2));
    int n = step_from(L, lua_upvalueindex(1), &at);
    lua_pushinteger(L, at);
    lua_replace(L, lua_upvalueindex(2));
    return n;
}

static int det_pairs(lua_State *L)
{
    luaL_checkany(L, 1);
    if (luaL_getmetafield(L, 1, "__pairs") != LUA_TNIL) {
        lua_pushvalue(L, 1);
        lua_call(L, 1, 3);
        return 3;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    snapshot(L, 1);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, walk, 2);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

void ls_lua_iter_install(lua_State *L, int g)
{
    g = lua_absindex(L, g);
    lua_newtable(L); /* the traversal cache: weak keys, bookkeeping only */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, NEXT_CACHE_KEY);
    lua_pushcfunction(L, det_next);
    lua_setfield(L, g, "next");
    lua_pushcfunction(L, det_pairs);
    lua_setfield(L, g, "pairs");
}
