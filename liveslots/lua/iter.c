/*
 * iter.c - deterministic pairs/next (see iter.h). pairs sorts a snapshot of
 * the keys once (O(n log n)) and then walks it; next(t, k) scans for the
 * smallest key above k (O(n) per call). Sorting happens in a Lua userdata
 * buffer, so an error raised meanwhile leaks nothing.
 */
#include "liveslots/lua/iter.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

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

/* Pushes the key of t (at index 1) that follows `after` (NULL: the first),
 * or nil. */
static void find_next(lua_State *L, const key *after)
{
    key best, cur;
    int have = 0, slot;
    lua_pushnil(L);
    slot = lua_gettop(L); /* the best key so far */
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        if (!read_key(L, -1, &cur)) {
            unordered(L, -1);
            return;
        }
        if ((!after || key_cmp(&cur, after) > 0) && (!have || key_cmp(&cur, &best) < 0)) {
            lua_pushvalue(L, -1);
            lua_replace(L, slot);
            read_key(L, slot, &best);
            have = 1;
        }
    }
}

static int det_next(lua_State *L)
{
    key after;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (!lua_isnil(L, 2) && !read_key(L, 2, &after)) return unordered(L, 2);
    find_next(L, lua_isnil(L, 2) ? NULL : &after);
    if (lua_isnil(L, -1)) return 1; /* no key left */
    lua_pushvalue(L, -1);
    lua_rawget(L, 1);
    return 2;
}

/* Iterator closure: upvalue 1 = sorted key array table, 2 = position. */
static int walk(lua_State *L)
{
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(2));
    for (;;) {
        i++;
        if (lua_rawgeti(L, lua_upvalueindex(1), i) == LUA_TNIL) return 1;
        lua_pushvalue(L, -1);
        if (lua_rawget(L, 1) != LUA_TNIL) break; /* skip keys deleted meanwhile */
        lua_pop(L, 2);
    }
    lua_pushinteger(L, i);
    lua_replace(L, lua_upvalueindex(2));
    return 2;
}

static int det_pairs(lua_State *L)
{
    size_t n = 0, i = 0;
    key *keys;
    luaL_checkany(L, 1);
    if (luaL_getmetafield(L, 1, "__pairs") != LUA_TNIL) {
        lua_pushvalue(L, 1);
        lua_call(L, 1, 3);
        return 3;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        n++;
    }
    keys = lua_newuserdatauv(L, (n ? n : 1) * sizeof *keys, 0); /* index 2 */
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        if (!read_key(L, -1, &keys[i])) return unordered(L, -1);
        i++;
    }
    qsort(keys, n, sizeof *keys, qcmp);
    lua_createtable(L, (int)n, 0); /* index 3: sorted keys */
    for (i = 0; i < n; i++) {
        if (keys[i].rank == 0) {
            if (keys[i].isint) lua_pushinteger(L, keys[i].i);
            else lua_pushnumber(L, keys[i].n);
        } else if (keys[i].rank == 1) {
            lua_pushlstring(L, keys[i].s, keys[i].len);
        } else {
            lua_pushboolean(L, keys[i].b);
        }
        lua_rawseti(L, 3, (lua_Integer)i + 1);
    }
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, walk, 2);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

void ls_lua_iter_install(lua_State *L, int g)
{
    g = lua_absindex(L, g);
    lua_pushcfunction(L, det_next);
    lua_setfield(L, g, "next");
    lua_pushcfunction(L, det_pairs);
    lua_setfield(L, g, "pairs");
}
