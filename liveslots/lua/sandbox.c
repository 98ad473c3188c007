/*
 * sandbox.c - the globals vat code sees (DESIGN.md §3): base, string, table,
 * math, utf8 and coroutine libraries, minus everything that reaches outside
 * or is nondeterministic (os, io, debug, package, print, warn,
 * collectgarbage, dofile, loadfile, string.dump, math.random), with
 * replacements that keep the rest deterministic:
 *   pairs/next      sorted order (iter.c)
 *   tostring        type names instead of addresses; NaN and infinities as
 *                   "nan", "inf", "-inf" (the C library prints NaN's sign)
 *   string.format   no %p; float conversions of NaN/infinity print the same
 *                   canonical text
 *   load            text chunks only
 *   setmetatable    refuses __gc/__mode; metatables are remembered so that
 *                   a later __gc/__mode is caught by ls_lua_sandbox_check_rules
 *   pcall, xpcall, coroutine.resume/close/wrap  re-raise once the meter is
 *                   spent; resume tells the meter which thread runs
 */
#include "liveslots/lua/vm.h"

#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

#include "liveslots/lua/iter.h"
#include "liveslots/lua/pattern.h"
#include "liveslots/lua/priced.h"

#define METATABLES_KEY "libswing.metatables"

/* ===== pcall family: spent meters are not catchable ===== */

static int finish_pcall(lua_State *L, int status, lua_KContext extra)
{
    if (status != LUA_OK && status != LUA_YIELD) {
        if (status == LUA_ERRMEM) ls_lua_vm_out_of_memory(ls_lua_vm_of(L));
        if (ls_lua_vm_exhausted(ls_lua_vm_of(L)) != LS_LUA_OK) return lua_error(L);
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -2);
        return 2;
    }
    return lua_gettop(L) - (int)extra;
}

static int sb_pcall(lua_State *L)
{
    int status;
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, finish_pcall);
    return finish_pcall(L, status, 0);
}

static int sb_xpcall(lua_State *L)
{
    int n = lua_gettop(L), status;
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushboolean(L, 1);
    lua_pushvalue(L, 1);
    lua_rotate(L, 3, 2);
    status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_pcall);
    return finish_pcall(L, status, 2);
}

/* coroutine.resume / coroutine.close: (false, err) becomes an error when
 * spent. While the coroutine runs, the meter knows it is the running
 * thread (a spent budget stops it at its next instruction). */
static int sb_resume(lua_State *L)
{
    ls_lua_vm *vm = ls_lua_vm_of(L);
    lua_State *co = lua_tothread(L, 1), *was;
    int n = lua_gettop(L), st;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    was = ls_lua_vm_enter(vm, co ? co : L);
    st = lua_pcall(L, n, LUA_MULTRET, 0);
    ls_lua_vm_enter(vm, was);
    if (st != LUA_OK) return lua_error(L);
    if (ls_lua_vm_exhausted(vm) != LS_LUA_OK && !lua_toboolean(L, 1)) {
        lua_settop(L, 2);
        return lua_error(L);
    }
    return lua_gettop(L);
}

/* The function coroutine.wrap returns: upvalues 1 = the thread, 2 = the
 * sandbox's resume. Errors propagate with the caller's position, as
 * Lua's own wrap does. */
static int sb_wrap_call(lua_State *L)
{
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_rotate(L, 1, 2);
    lua_call(L, n + 1, LUA_MULTRET);
    if (!lua_toboolean(L, 1)) {
        lua_settop(L, 2);
        if (lua_type(L, 2) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, 2);
            lua_concat(L, 2);
        }
        return lua_error(L);
    }
    return lua_gettop(L) - 1;
}

/* coroutine.wrap(f), resuming through the sandbox's resume (upvalue 1). */
static int sb_wrap(lua_State *L)
{
    lua_State *co;
    luaL_checktype(L, 1, LUA_TFUNCTION);
    co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, sb_wrap_call, 2);
    return 1;
}

/* ===== tostring and string.format without addresses ===== */

/* Text of a non-finite float, the same on every platform (C libraries
 * print NaN's sign bit, which differs between CPUs for the same program). */
static const char *nonfinite_text(lua_Number d)
{
    if (d != d) return "nan";
    return d > 0 ? "inf" : "-inf";
}

void ls_lua_sandbox_tostring(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TNUMBER && !lua_isinteger(L, idx)) {
        lua_Number d = lua_tonumber(L, idx);
        if (d != d || d - d != 0) {
            lua_pushstring(L, nonfinite_text(d));
            return;
        }
    }
    luaL_tolstring(L, idx, NULL);
}

static int sb_tostring(lua_State *L)
{
    int t;
    luaL_checkany(L, 1);
    t = lua_type(L, 1);
    if (t == LUA_TNIL || t == LUA_TBOOLEAN || t == LUA_TNUMBER || t == LUA_TSTRING) {
        ls_lua_sandbox_tostring(L, 1);
        return 1;
    }
    if (luaL_getmetafield(L, 1, "__tostring") != LUA_TNIL) {
        lua_pop(L, 1);
        luaL_tolstring(L, 1, NULL);
        return 1;
    }
    lua_pushstring(L, luaL_typename(L, 1));
    return 1;
}

static bool is_float_conversion(char c) { return c && strchr("aAeEfFgG", c) != NULL; }

static bool nonfinite_arg(lua_State *L, int arg)
{
    lua_Number d;
    if (lua_type(L, arg) != LUA_TNUMBER || lua_isinteger(L, arg)) return false;
    d = lua_tonumber(L, arg);
    return d != d || d - d != 0;
}

/* A float conversion of a NaN or infinity (spec..conv: flags, width,
 * precision, letter) becomes %<-><width>s of the canonical text, with the
 * sign flags applied and the case of the letter. */
static void rewrite_nonfinite(lua_State *L, luaL_Buffer *b, const char *spec, const char *conv, int arg)
{
    lua_Number d = lua_tonumber(L, arg);
    const char *text = nonfinite_text(d), *p;
    char out[8];
    size_t n = 0;
    bool plus = false, space = false, upper = *conv >= 'A' && *conv <= 'Z';
    luaL_addchar(b, '%');
    for (p = spec + 1; p < conv && strchr("-+ #0", *p); p++) {
        if (*p == '-') luaL_addchar(b, '-');
        plus = plus || *p == '+';
        space = space || *p == ' ';
    }
    for (; p < conv && *p >= '0' && *p <= '9'; p++) luaL_addchar(b, *p);
    luaL_addchar(b, 's');
    if (*text != '-' && (plus || space)) out[n++] = plus ? '+' : ' ';
    for (; *text; text++) out[n++] = upper && *text >= 'a' ? (char)(*text - 'a' + 'A') : *text;
    lua_pushlstring(L, out, n);
    lua_replace(L, arg);
}

static int sb_format(lua_State *L)
{
    size_t len;
    const char *fmt = luaL_checklstring(L, 1, &len), *end = fmt + len, *from = fmt;
    int arg = 1, top = lua_gettop(L), rewritten = 0;
    luaL_Buffer b;
    ls_lua_vm_spend(L, ls_lua_priced_format(L));
    luaL_buffinit(L, &b);
    while (fmt < end) {
        const char *spec;
        if (*fmt++ != '%') continue;
        if (fmt < end && *fmt == '%') {
            fmt++;
            continue;
        }
        spec = fmt - 1;
        while (fmt < end && strchr("-+ #0123456789.", *fmt)) fmt++;
        if (fmt >= end) break;
        arg++;
        if (*fmt == 'p') return luaL_error(L, "string.format: %%p is not available");
        if (*fmt == 's' && arg <= top && lua_type(L, arg) != LUA_TSTRING &&
            (lua_type(L, arg) != LUA_TNUMBER || nonfinite_arg(L, arg))) {
            lua_pushcfunction(L, sb_tostring);
            lua_pushvalue(L, arg);
            lua_call(L, 1, 1);
            lua_replace(L, arg);
        }
        if (is_float_conversion(*fmt) && arg <= top && nonfinite_arg(L, arg)) {
            luaL_addlstring(&b, from, (size_t)(spec - from));
            rewrite_nonfinite(L, &b, spec, fmt, arg);
            from = fmt + 1;
            rewritten = 1;
        }
        fmt++;
    }
    if (rewritten) {
        luaL_addlstring(&b, from, (size_t)(end - from));
        luaL_pushresult(&b);
        lua_replace(L, 1);
    }
    lua_settop(L, top);
    return lua_tocfunction(L, lua_upvalueindex(1))(L); /* Lua's, in this frame */
}

/* load(chunk [, name [, mode [, env]]]) with mode forced to text. */
static int sb_load(lua_State *L)
{
    size_t len = 0;
    if (lua_type(L, 1) == LUA_TSTRING) lua_tolstring(L, 1, &len);
    ls_lua_vm_spend(L, 1 + len); /* compiling costs about a computron a byte */
    if (lua_gettop(L) < 3) lua_settop(L, 3);
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    return lua_tocfunction(L, lua_upvalueindex(1))(L); /* Lua's, in this frame */
}

/* ===== metatables: no __gc, no __mode ===== */

static bool forbidden_mt(lua_State *L, int idx)
{
    bool bad;
    idx = lua_absindex(L, idx);
    lua_pushliteral(L, "__gc");
    bad = lua_rawget(L, idx) != LUA_TNIL;
    lua_pop(L, 1);
    lua_pushliteral(L, "__mode");
    bad = bad || lua_rawget(L, idx) != LUA_TNIL;
    lua_pop(L, 1);
    return bad;
}

static int sb_setmetatable(lua_State *L)
{
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (t == LUA_TTABLE) {
        if (forbidden_mt(L, 2)) return luaL_error(L, "metatables may not have __gc or __mode");
        lua_getfield(L, LUA_REGISTRYINDEX, METATABLES_KEY);
        lua_pushvalue(L, 2);
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    lua_settop(L, 2);
    return lua_tocfunction(L, lua_upvalueindex(1))(L); /* Lua's, in this frame */
}

bool ls_lua_sandbox_check_rules(ls_lua_vm *vm)
{
    lua_State *L = ls_lua_vm_state(vm);
    bool ok = true;
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 4)) return false;
    lua_getfield(L, LUA_REGISTRYINDEX, METATABLES_KEY);
    lua_pushnil(L);
    while (ok && lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TTABLE && forbidden_mt(L, -1)) ok = false;
    }
    lua_settop(L, top);
    return ok;
}

/* ===== installation ===== */

static void wrap(lua_State *L, int lib, const char *name, lua_CFunction f)
{
    lib = lua_absindex(L, lib);
    lua_getfield(L, lib, name);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, lib, name);
}

static void drop(lua_State *L, int lib, const char *name)
{
    lib = lua_absindex(L, lib);
    lua_pushnil(L);
    lua_setfield(L, lib, name);
}

static int install(lua_State *L)
{
    static const char *gone[] = {"collectgarbage", "dofile", "loadfile", "print", "warn", "require"};
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
    lua_settop(L, 0);
    /* registry set of metatables in use (weak keys: bookkeeping only) */
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, METATABLES_KEY);
    lua_pushglobaltable(L);
    for (size_t i = 0; i < sizeof gone / sizeof *gone; i++) drop(L, -1, gone[i]);
    lua_pushcfunction(L, sb_pcall);
    lua_setfield(L, -2, "pcall");
    lua_pushcfunction(L, sb_xpcall);
    lua_setfield(L, -2, "xpcall");
    lua_pushcfunction(L, sb_tostring);
    lua_setfield(L, -2, "tostring");
    wrap(L, -1, "load", sb_load);
    wrap(L, -1, "setmetatable", sb_setmetatable);
    ls_lua_iter_install(L, -1);
    lua_getfield(L, -1, "string");
    drop(L, -1, "dump");
    wrap(L, -1, "format", sb_format);
    ls_lua_pattern_install(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, -1, "math");
    drop(L, -1, "random");
    drop(L, -1, "randomseed");
    lua_pop(L, 1);
    lua_getfield(L, -1, "coroutine");
    wrap(L, -1, "resume", sb_resume);
    wrap(L, -1, "close", sb_resume);
    lua_getfield(L, -1, "resume");
    lua_pushcclosure(L, sb_wrap, 1);
    lua_setfield(L, -2, "wrap");
    lua_pop(L, 1);
    ls_lua_priced_install(L, -1);
    lua_pop(L, 1);
    return 0;
}

swing_status ls_lua_sandbox_install(ls_lua_vm *vm, swing_err *err)
{
    lua_State *L = ls_lua_vm_state(vm);
    lua_pushcfunction(L, install);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        lua_pop(L, 1);
        return swing_err_set(err, SWING_ERR_NOMEM, "cannot build the Lua sandbox");
    }
    return SWING_OK;
}
