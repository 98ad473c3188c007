/*
 * send.c - eventual sends (reference/liveslots.md §5.2-§5.3): E(target)
 * proxies, sends to presences and kernel-decided promises as syscalls (each
 * with a fresh result promise, subscribed), local eventual sends to
 * remotables as turns, and following promises the vat decides until they
 * settle, then syscall.resolve.
 */
#include "liveslots/lua/vat_int.h"

#include <string.h>

#define E_PROXY_MT "ls.EProxy"

/* ===== syscall send ===== */

static void syscall_send(lua_State *L, const char *target_vref, const char *method, int first, int n)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    ls_lua_slot_ops ops = ls_lua_refs_ops(v);
    vp_syscall sc;
    vp_capdata ma;
    char vpid[32];
    int body;
    ls_lua_marshal_encode_call(L, method, first, n, &ops); /* body, slots */
    body = lua_gettop(L) - 1;
    ma = ls_lua_vat_capdata(L, body, body + 1);
    ls_lua_vat_next_promise(v, vpid);
    ls_lua_refs_import_promise(L, vpid);
    memset(&sc, 0, sizeof sc);
    sc.type = VP_S_SEND;
    sc.target = target_vref;
    sc.methargs = ma;
    sc.result = vpid;
    ls_lua_vat_syscall(L, &sc, NULL);
    memset(&sc, 0, sizeof sc);
    sc.type = VP_S_SUBSCRIBE;
    sc.vpid = vpid;
    ls_lua_vat_syscall(L, &sc, NULL);
    lua_settop(L, body - 1);
    ls_lua_vat_table(L, LS_PROMISES);
    lua_getfield(L, -1, vpid);
    lua_remove(L, -2);
}

/* ===== local eventual send: a turn calls the method ===== */

/* Job: (rp, target, method, args...) */
static int local_invoke(lua_State *L)
{
    int n = lua_gettop(L) - 3;
    const char *method = lua_tostring(L, 3);
    if ((lua_type(L, 2) != LUA_TTABLE && !ls_lua_vom_is_rep(L, 2)) || lua_getfield(L, 2, method) != LUA_TFUNCTION) {
        ls_lua_marshal_push_error(L, lua_pushfstring(L, "target has no method \"%s\"", method), "TypeError");
        ls_lua_promise_reject(L, 1, -1);
        return 0;
    }
    for (int i = 0; i < n; i++) lua_pushvalue(L, 4 + i);
    if (lua_pcall(L, n, 1, 0) != LUA_OK) {
        if (ls_lua_vm_exhausted(ls_lua_vm_of(L)) != LS_LUA_OK) return lua_error(L);
        if (lua_type(L, -1) == LUA_TSTRING) ls_lua_marshal_push_error(L, lua_tostring(L, -1), "Error");
        ls_lua_promise_reject(L, 1, -1);
        return 0;
    }
    ls_lua_promise_resolve(L, 1, -1);
    return 0;
}

/* Reaction for sends to a not-yet-known promise: upvalues 1 = rp, 2 = method,
 * 3 = args table; args (fulfilled, value). */
static int send_when_settled(lua_State *L)
{
    int n;
    if (!lua_toboolean(L, 1)) {
        ls_lua_promise_reject(L, lua_upvalueindex(1), 2);
        return 0;
    }
    n = (int)lua_rawlen(L, lua_upvalueindex(3));
    for (int i = 1; i <= n; i++) lua_rawgeti(L, lua_upvalueindex(3), i);
    ls_lua_send_eventual(L, 2, lua_tostring(L, lua_upvalueindex(2)), n);
    ls_lua_promise_resolve(L, lua_upvalueindex(1), -1);
    return 0;
}

void ls_lua_send_eventual(lua_State *L, int target, const char *method, int n)
{
    int first = lua_gettop(L) - n + 1;
    target = lua_absindex(L, target);
    if (ls_lua_refs_is_presence(L, target)) {
        lua_getiuservalue(L, target, 1);
        {
            const char *vref = lua_tostring(L, -1);
            lua_pop(L, 1); /* the userdata anchors it */
            syscall_send(L, vref, method, first, n);
        }
    } else if (ls_lua_refs_is_remotable(L, target) || ls_lua_vom_is_rep(L, target)) {
        ls_lua_promise_new(L);
        lua_pushcfunction(L, local_invoke);
        lua_pushvalue(L, -2);
        lua_pushvalue(L, target);
        ls_lua_push_string(L, method);
        for (int i = 0; i < n; i++) lua_pushvalue(L, first + i);
        ls_lua_promise_queue(L, n + 3);
    } else if (ls_lua_promise_is(L, target)) {
        ls_lua_pstate st = ls_lua_promise_state(L, target);
        const char *vpid = NULL;
        bool kernel = false;
        if (st == LS_PROMISE_PENDING) {
            ls_lua_vat_table(L, LS_VALTOSLOT);
            lua_pushvalue(L, target);
            lua_rawget(L, -2);
            vpid = lua_tostring(L, -1);
            if (vpid) {
                ls_lua_vat_table(L, LS_KPROMISES);
                kernel = lua_getfield(L, -1, vpid) != LUA_TNIL;
                lua_pop(L, 2);
            }
            lua_pop(L, 2);
        }
        if (kernel) {
            syscall_send(L, vpid, method, first, n); /* pipelined through the kernel */
        } else {
            ls_lua_promise_new(L);
            lua_pushvalue(L, -1);
            ls_lua_push_string(L, method);
            lua_createtable(L, n, 0);
            for (int i = 0; i < n; i++) {
                lua_pushvalue(L, first + i);
                lua_rawseti(L, -2, i + 1);
            }
            lua_pushcclosure(L, send_when_settled, 3);
            ls_lua_promise_watch(L, target, -1);
            lua_pop(L, 1);
        }
    } else {
        ls_lua_promise_new(L);
        ls_lua_marshal_push_error(L, lua_pushfstring(L, "cannot send \"%s\" to a %s", method, luaL_typename(L, target)),
                                  "TypeError");
        ls_lua_promise_reject(L, -3, -1);
        lua_pop(L, 2);
    }
    /* leave only the result promise in place of the arguments */
    if (lua_gettop(L) != first) {
        lua_replace(L, first);
        lua_settop(L, first);
    }
}

/* ===== following promises the vat decides ===== */

static int encode_protected(lua_State *L)
{
    ls_lua_marshal_encode(L, 1, lua_touserdata(L, 2));
    return 2;
}

static int follow_reaction(lua_State *L)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    ls_lua_slot_ops ops = ls_lua_refs_ops(v);
    const char *vpid = lua_tostring(L, lua_upvalueindex(1));
    vp_syscall sc;
    vp_resolution r;
    bool rejected = !lua_toboolean(L, 1);
    int body;
    lua_settop(L, 2);
    if (rejected && lua_type(L, 2) == LUA_TSTRING) {
        ls_lua_marshal_push_error(L, lua_tostring(L, 2), "Error");
        lua_replace(L, 2);
    }
    /* A value that cannot be serialized rejects the promise instead. */
    lua_pushcfunction(L, encode_protected);
    lua_pushvalue(L, 2);
    lua_pushlightuserdata(L, &ops);
    if (lua_pcall(L, 2, 2, 0) != LUA_OK) {
        if (ls_lua_vm_exhausted(ls_lua_vm_of(L)) != LS_LUA_OK) return lua_error(L);
        ls_lua_marshal_push_error(L, lua_isstring(L, -1) ? lua_tostring(L, -1) : "not passable", "Error");
        lua_replace(L, 2);
        lua_settop(L, 2);
        rejected = true;
        ls_lua_marshal_encode(L, 2, &ops);
    }
    body = lua_gettop(L) - 1;
    memset(&sc, 0, sizeof sc);
    r.vpid = vpid;
    r.rejected = rejected;
    r.data = ls_lua_vat_capdata(L, body, body + 1);
    sc.type = VP_S_RESOLVE;
    sc.resolutions = &r;
    sc.nresolutions = 1;
    ls_lua_vat_syscall(L, &sc, NULL);
    ls_lua_refs_retire_vpid(L, vpid);
    return 0;
}

void ls_lua_send_follow(lua_State *L, const char *vpid, int p)
{
    p = lua_absindex(L, p);
    ls_lua_push_string(L, vpid);
    lua_pushcclosure(L, follow_reaction, 1);
    ls_lua_promise_watch(L, p, -1);
    lua_pop(L, 1);
}

/* ===== E(target).method(args...) ===== */

static int e_method(lua_State *L)
{
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1)); /* target */
    lua_insert(L, 1);
    ls_lua_send_eventual(L, 1, lua_tostring(L, lua_upvalueindex(2)), n);
    return 1;
}

static int e_index(lua_State *L)
{
    const char *name = luaL_checkstring(L, 2);
    lua_getiuservalue(L, 1, 1);
    ls_lua_push_string(L, name);
    lua_pushcclosure(L, e_method, 2);
    return 1;
}

static int e_make(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_newuserdatauv(L, 0, 1);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, E_PROXY_MT);
    return 1;
}

void ls_lua_send_install(lua_State *L)
{
    luaL_newmetatable(L, E_PROXY_MT);
    lua_pushcfunction(L, e_index);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "EProxy");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    lua_pushcfunction(L, e_make);
    lua_setglobal(L, "E");
}
