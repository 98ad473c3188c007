/*
 * counts.c - the per-delivery cache of the VOM's counters: a kind's next
 * instance (vom.dkind.K.nextID), a store's entry count and next ordinal
 * (vc.C.|entryCount, vc.C.|nextOrdinal) and vdata reference counts
 * (vom.rc.<baseRef>). Making one object and
 * putting it in a store touched each of them with a read and a write; now
 * each key is read at most once per delivery, kept in LS_VCOUNTS (key ->
 * integer, or false: absent), and the changed ones are written back (or
 * deleted) in byte order of their keys when the delivery ends, after the
 * objects' state (ls_lua_counts_flush). The syscalls a delivery makes are a
 * function of what vat code did, never of GC timing, so the cache keeps
 * determinism. Only keys that every reader and writer reaches through this
 * file may be cached.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveslots/lua/vat_int.h"
#include "liveslots/lua/vref.h"

#define LS_VCOUNTS "ls.vcounts"     /* key -> integer, or false: absent */
#define LS_VCOUNTDIRTY "ls.vcdirty" /* key -> true: write back at the end */

/* Pushes the cached entry of key (nil: not read yet). */
static int cached(lua_State *L, const char *key)
{
    ls_lua_vat_table(L, LS_VCOUNTS);
    lua_getfield(L, -1, key);
    lua_remove(L, -2);
    return lua_type(L, -1);
}

/* Caches v (the top of the stack, popped) for key; dirty: to write back. */
static void keep(lua_State *L, const char *key, bool dirty)
{
    ls_lua_vat_table(L, LS_VCOUNTS);
    lua_insert(L, -2);
    lua_setfield(L, -2, key);
    lua_pop(L, 1);
    if (!dirty) return;
    ls_lua_vat_table(L, LS_VCOUNTDIRTY);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, key);
    lua_pop(L, 1);
}

uint64_t ls_lua_counts_get(lua_State *L, const char *key)
{
    uint64_t n = 0;
    int t = cached(L, key);
    if (t == LUA_TNUMBER) n = (uint64_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (t != LUA_TNIL) return n;
    n = ls_lua_vstore_get_number(L, key); /* absent reads as 0: only written keys are written back */
    lua_pushinteger(L, (lua_Integer)n);
    keep(L, key, false);
    return n;
}

void ls_lua_counts_set(lua_State *L, const char *key, uint64_t n)
{
    lua_pushinteger(L, (lua_Integer)n);
    keep(L, key, true);
}

void ls_lua_counts_delete(lua_State *L, const char *key)
{
    lua_pushboolean(L, 0);
    keep(L, key, true);
}

void ls_lua_counts_absent(lua_State *L, const char *key)
{
    if (cached(L, key) != LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_pushboolean(L, 0);
    keep(L, key, false);
}

void ls_lua_counts_reset(lua_State *L)
{
    ls_lua_refs_new_table(L, LS_VCOUNTS, NULL);
    ls_lua_refs_new_table(L, LS_VCOUNTDIRTY, NULL);
}

void ls_lua_counts_flush(lua_State *L)
{
    const char **keys;
    size_t n = 0, cap = 0;
    int dirty, counts;
    ls_lua_vat_table(L, LS_VCOUNTDIRTY);
    dirty = lua_gettop(L);
    ls_lua_vat_table(L, LS_VCOUNTS);
    counts = lua_gettop(L);
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
        lua_getfield(L, counts, keys[i]);
        if (lua_type(L, -1) == LUA_TNUMBER) ls_lua_vstore_set_number(L, keys[i], (uint64_t)lua_tointeger(L, -1));
        else ls_lua_vstore_delete(L, keys[i]);
        lua_pop(L, 1);
    }
    lua_settop(L, dirty - 1);
    ls_lua_counts_reset(L);
}
