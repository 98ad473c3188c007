/*
 * priced.h - prices for C library calls whose work grows with their
 * arguments (priced.c): charged before the call runs.
 */
#ifndef LIBSWING_LIVESLOTS_LUA_PRICED_H
#define LIBSWING_LIVESLOTS_LUA_PRICED_H

#include <lua.h>

/* Wraps the priced functions of the string, table and utf8 libraries and
 * load/select in the globals table at index g. */
void ls_lua_priced_install(lua_State *L, int g);

#endif /* LIBSWING_LIVESLOTS_LUA_PRICED_H */
