/*
 * pattern.h - metered Lua string patterns (pattern.c): string.find, match,
 * gmatch and gsub with the Lua 5.4 syntax, ASCII classes, every matcher
 * step charged.
 */
#ifndef LIBSWING_LIVESLOTS_LUA_PATTERN_H
#define LIBSWING_LIVESLOTS_LUA_PATTERN_H

#include <lua.h>

/* Replaces find, match, gmatch and gsub in the string library at index. */
void ls_lua_pattern_install(lua_State *L, int string_lib);

#endif /* LIBSWING_LIVESLOTS_LUA_PATTERN_H */
