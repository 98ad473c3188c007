/*
 * luarun.c - Lua snippet runner for the liveslots tests (see luarun.h).
 */
#include "tests/lib/luarun.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

ls_lua_vm *tl_lua_vm(size_t memory_cap, uint64_t compute)
{
    ls_lua_limits lim = {memory_cap, compute};
    ls_lua_vm *vm = NULL;
    swing_err e;
    if (ls_lua_vm_open(&lim, &vm, &e)) fail_msg("open: %s", e.msg);
    return vm;
}

void tl_lua_oracle(const char *src, char *out, size_t cap)
{
    lua_State *L = luaL_newstate();
    assert_non_null(L);
    luaL_openlibs(L);
    if (luaL_loadbuffer(L, src, strlen(src), "=test") != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
        snprintf(out, cap, "error: %s", lua_tostring(L, -1));
    else
        snprintf(out, cap, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "(not a string)");
    lua_close(L);
}

swing_status tl_lua_run(ls_lua_vm *vm, const char *src, char *out, size_t cap, swing_err *e)
{
    lua_State *L = ls_lua_vm_state(vm);
    swing_status s;
    out[0] = '\0';
    swing_err_clear(e);
    ls_lua_vm_begin(vm, 0);
    if ((s = ls_lua_vm_load(vm, "=test", src, strlen(src), e))) return s;
    if ((s = ls_lua_vm_pcall(vm, 0, 1, e))) return s;
    if (lua_type(L, -1) == LUA_TSTRING) snprintf(out, cap, "%s", lua_tostring(L, -1));
    else snprintf(out, cap, "%s", luaL_typename(L, -1));
    lua_pop(L, 1);
    return SWING_OK;
}

void tl_lua_expect(ls_lua_vm *vm, const char *src, const char *want)
{
    char out[1024];
    swing_err e;
    if (tl_lua_run(vm, src, out, sizeof out, &e)) fail_msg("%s -> %s", src, e.msg);
    if (strcmp(out, want) != 0) fail_msg("%s -> \"%s\", expected \"%s\"", src, out, want);
}

void tl_lua_expect_fail(ls_lua_vm *vm, const char *src, swing_status want, const char *msg)
{
    char out[1024];
    swing_err e;
    swing_status s = tl_lua_run(vm, src, out, sizeof out, &e);
    if (s != want)
        fail_msg("%s -> %s (%s), expected %s", src, swing_status_name(s), e.msg, swing_status_name(want));
    if (msg && !strstr(e.msg, msg)) fail_msg("%s -> \"%s\", expected to contain \"%s\"", src, e.msg, msg);
}
