/*
 * iter.h - deterministic table iteration for vat code: pairs and next visit
 * keys in a fixed order (numbers ascending, then strings in byte order, then
 * false, true) whatever the process's string hash seed. Keys of other types
 * have no deterministic order: pairs/next raise an error on them.
 */
#ifndef LIBSWING_LIVESLOTS_LUA_ITER_H
#define LIBSWING_LIVESLOTS_LUA_ITER_H

#include <lua.h>

/* Sets pairs and next in the table at index g (the sandbox globals). */
void ls_lua_iter_install(lua_State *L, int g);

#endif /* LIBSWING_LIVESLOTS_LUA_ITER_H */
