/*
 * priced.h - prices for C library calls whose work grows with their
 * arguments (priced.c): charged before the call runs.
 */
#ifndef LIBSWING_LIVESLOTS_LUA_PRICED_H
#define LIBSWING_LIVESLOTS_LUA_PRICED_H

#include <lua.h>
#include <stdint.h>

/* Wraps the priced functions of the string, table and utf8 libraries and
 * select in the globals table at index g. string.format and load have
 * sandbox wrappers of their own, which charge ls_lua_priced_format and the
 * chunk's length. */
void ls_lua_priced_install(lua_State *L, int g);
uint64_t ls_lua_priced_format(lua_State *L);

#endif /* LIBSWING_LIVESLOTS_LUA_PRICED_H */
