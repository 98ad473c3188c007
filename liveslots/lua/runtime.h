/*
 * runtime.h - the Lua liveslots as a vat runtime (vatproto/runtime.h), for
 * hosts to register with the kernel.
 */
#ifndef LIBSWING_LIVESLOTS_LUA_RUNTIME_H
#define LIBSWING_LIVESLOTS_LUA_RUNTIME_H

#include "vatproto/runtime.h"

/* Fills *rt with the Lua runtime ("lua": Lua 5.4 bundles, bundle.h). */
void ls_lua_runtime(vp_runtime *rt);

#endif /* LIBSWING_LIVESLOTS_LUA_RUNTIME_H */
