/*
 * runtime.c - the Lua liveslots as a vat runtime (vatproto/runtime.h):
 * bundle checks and worker creation for hosts to register with the kernel.
 */
#include "liveslots/lua/runtime.h"

#include "liveslots/lua/bundle.h"
#include "liveslots/lua/vat.h"

static swing_status lua_check(void *user, swing_bytes code, swing_err *err)
{
    (void)user;
    return ls_lua_bundle_check((const char *)code.ptr, code.len, err);
}

static swing_status lua_create(void *user, const char *vat_id, swing_bytes code, const vp_worker_limits *lim,
                               void **self, const vp_worker_ops **ops, swing_err *err)
{
    ls_lua_vat_options o = {{0, 0}, 0};
    ls_lua_vat *v = NULL;
    swing_status s;
    (void)user;
    o.limits.compute = lim->compute;
    o.limits.memory_cap = (size_t)lim->memory;
    if ((s = ls_lua_vat_create(vat_id, code, &o, &v, err))) return s;
    *self = v;
    *ops = &ls_lua_vat_ops;
    return SWING_OK;
}

void ls_lua_runtime(vp_runtime *rt)
{
    rt->name = "lua";
    rt->check = lua_check;
    rt->create = lua_create;
    rt->user = NULL;
    rt->layout = LS_LUA_VATSTORE_LAYOUT;
    rt->create_wind_down = ls_lua_winddown_create;
}
