/*
 * runtime.h - the Lua liveslots as a vat runtime (vatproto/runtime.h), for
 * hosts to register with the kernel.
 */
#ifndef LIBSWING_LIVESLOTS_LUA_RUNTIME_H
#define LIBSWING_LIVESLOTS_LUA_RUNTIME_H

#include "vatproto/runtime.h"

/* The vatstore layout the Lua liveslots writes (docs/vats.md, "Vatstore
 * layout"); a wind-down worker reads exactly this version. */
#define LS_LUA_VATSTORE_LAYOUT 1u

/* Fills *rt with the Lua runtime ("lua": Lua 5.4 bundles, bundle.h). */
void ls_lua_runtime(vp_runtime *rt);

/* The wind-down worker of a Lua vat (winddown.c; vp_runtime's
 * create_wind_down). */
swing_status ls_lua_winddown_create(void *user, const char *vat_id, uint32_t layout, void **self,
                                    const vp_worker_ops **ops, swing_err *err);

#endif /* LIBSWING_LIVESLOTS_LUA_RUNTIME_H */
