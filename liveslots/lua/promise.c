/*
 * promise.c - promises and the turn queue (see promise.h).
 *
 * A promise is a full userdata with two user values: 1 = settled value,
 * 2 = reactions (a table array of {fn} entries, each called as a job with
 * (fulfilled, value) when the promise settles). Resolving with another
 * promise adopts it. The turn queue is a registry table {head, tail, [i] =
 * {fn, args...}} drained in FIFO order.
 */
#include "liveslots/lua/promise.h"

#include <lauxlib.h>

#include "liveslots/lua/vm.h"

#define PROMISE_MT "libswing.Promise"
#define TURNS_KEY "libswing.turns"
#define ASYNC_KEY "libswing.asyncThreads"

typedef struct promise {
    ls_lua_pstate state; /* pending until settled */
    bool resolved;       /* resolve/reject was called (perhaps adopting) */
} promise;

static promise *topromise(lua_State *L, int idx) { return luaL_testudata(L, idx, PROMISE_MT); }

bool ls_lua_promise_is(lua_State *L, int idx) { return topromise(L, idx) != NULL; }

ls_lua_pstate ls_lua_promise_state(lua_State *L, int idx)
{
    promise *p = topromise(L, idx);
    return p ? p->state : LS_PROMISE_PENDING;
}

void ls_lua_promise_value(lua_State *L, int idx) { lua_getiuservalue(L, idx, 1); }

void ls_lua_promise_new(lua_State *L)
{
    promise *p = lua_newuserdatauv(L, sizeof *p, 2);
    p->state = LS_PROMISE_PENDING;
    p->resolved = false;
    luaL_setmetatable(L, PROMISE_MT);
    lua_newtable(L);
    lua_setiuservalue(L, -2, 2);
}

/* ===== turn queue ===== */

void ls_lua_promise_queue(lua_State *L, int n)
{
    lua_Integer tail;
    int first = lua_gettop(L) - n; /* index of fn */
    lua_createtable(L, n + 1, 1);
    for (int i = 0; i <= n; i++) {
        lua_pushvalue(L, first + i);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushinteger(L, n); /* trailing nils count too */
    lua_setfield(L, -2, "n");
    lua_getfield(L, LUA_REGISTRYINDEX, TURNS_KEY);
    lua_getfield(L, -1, "tail");
    tail = lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, tail);
    lua_pushinteger(L, tail + 1);
    lua_setfield(L, -2, "tail");
    lua_settop(L, first - 1);
}

/* Pushes the turn queue table and reads its head and tail indices. */
static void turns(lua_State *L, lua_Integer *h, lua_Integer *t)
{
    lua_getfield(L, LUA_REGISTRYINDEX, TURNS_KEY);
    lua_getfield(L, -1, "head");
    lua_getfield(L, -2, "tail");
    *h = lua_tointeger(L, -2);
    *t = lua_tointeger(L, -1);
    lua_pop(L, 2);
}

lua_Integer ls_lua_promise_pending_jobs(lua_State *L)
{
    lua_Integer h, t;
    turns(L, &h, &t);
    lua_pop(L, 1);
    return t - h;
}

/* Runs one job table at the top of the stack (popped). */
static void run_job(lua_State *L)
{
    int job = lua_gettop(L);
    lua_Integer n;
    lua_getfield(L, job, "n");
    n = lua_tointeger(L, -1);
    lua_pop(L, 1);
    for (lua_Integer i = 1; i <= n + 1; i++) lua_rawgeti(L, job, i);
    lua_call(L, (int)n, 0);
    lua_settop(L, job - 1);
}

void ls_lua_promise_drain(lua_State *L)
{
    for (;;) {
        lua_Integer h, t;
        turns(L, &h, &t);
        if (h >= t) {
            /* reset the indices so the table stays small */
            lua_pushinteger(L, 1);
            lua_setfield(L, -2, "head");
            lua_pushinteger(L, 1);
            lua_setfield(L, -2, "tail");
            lua_pop(L, 1);
            return;
        }
        lua_rawgeti(L, -1, h);
        lua_pushnil(L);
        lua_rawseti(L, -3, h);
        lua_pushinteger(L, h + 1);
        lua_setfield(L, -3, "head");
        lua_remove(L, -2);
        run_job(L);
    }
}

/* ===== settlement ===== */

static void settle(lua_State *L, int p, ls_lua_pstate state, int v)
{
    promise *pr = topromise(L, p);
    lua_Integer n;
    p = lua_absindex(L, p);
    v = lua_absindex(L, v);
    if (pr->state != LS_PROMISE_PENDING) return;
    pr->state = state;
    lua_pushvalue(L, v);
    lua_setiuservalue(L, p, 1);
    lua_getiuservalue(L, p, 2);
    n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        lua_pushboolean(L, state == LS_PROMISE_FULFILLED);
        lua_pushvalue(L, v);
        ls_lua_promise_queue(L, 2);
    }
    lua_pop(L, 1);
    lua_newtable(L); /* drop the reactions */
    lua_setiuservalue(L, p, 2);
}

void ls_lua_promise_watch(lua_State *L, int p, int f)
{
    promise *pr = topromise(L, p);
    p = lua_absindex(L, p);
    f = lua_absindex(L, f);
    if (pr->state == LS_PROMISE_PENDING) {
        lua_getiuservalue(L, p, 2);
        lua_pushvalue(L, f);
        lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
        lua_pop(L, 1);
        return;
    }
    lua_pushvalue(L, f);
    lua_pushboolean(L, pr->state == LS_PROMISE_FULFILLED);
    lua_getiuservalue(L, p, 1);
    ls_lua_promise_queue(L, 2);
}

/* Adoption reaction: upvalue 1 = the adopting promise. */
static int adopt_reaction(lua_State *L)
{
    promise *pr = topromise(L, lua_upvalueindex(1));
    ls_lua_pstate st = lua_toboolean(L, 1) ? LS_PROMISE_FULFILLED : LS_PROMISE_REJECTED;
    if (pr && pr->state == LS_PROMISE_PENDING) settle(L, lua_upvalueindex(1), st, 2);
    return 0;
}

void ls_lua_promise_resolve(lua_State *L, int p, int v)
{
    promise *pr = topromise(L, p);
    p = lua_absindex(L, p);
    v = lua_absindex(L, v);
    if (!pr || pr->resolved) return;
    pr->resolved = true;
    if (topromise(L, v)) {
        if (lua_rawequal(L, p, v)) {
            lua_pushliteral(L, "a promise cannot resolve to itself");
            settle(L, p, LS_PROMISE_REJECTED, -1);
            lua_pop(L, 1);
            return;
        }
        lua_pushvalue(L, p);
        lua_pushcclosure(L, adopt_reaction, 1);
        ls_lua_promise_watch(L, v, -1);
        lua_pop(L, 1);
        return;
    }
    settle(L, p, LS_PROMISE_FULFILLED, v);
}

void ls_lua_promise_reject(lua_State *L, int p, int v)
{
    promise *pr = topromise(L, p);
    if (!pr || pr->resolved) return;
    pr->resolved = true;
    settle(L, p, LS_PROMISE_REJECTED, v);
}

/* ===== then / catch / finally ===== */

/* Job for p:next(onF, onR): upvalues 1 = onF, 2 = onR, 3 = child promise;
 * args (fulfilled, value). */
static int then_reaction(lua_State *L)
{
    int ok = lua_toboolean(L, 1);
    int handler = lua_upvalueindex(ok ? 1 : 2);
    int child = lua_upvalueindex(3);
    if (!lua_isfunction(L, handler)) {
        if (ok) ls_lua_promise_resolve(L, child, 2);
        else ls_lua_promise_reject(L, child, 2);
        return 0;
    }
    lua_pushvalue(L, handler);
    lua_pushvalue(L, 2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        if (ls_lua_vm_exhausted(ls_lua_vm_of(L)) != LS_LUA_OK) return lua_error(L);
        ls_lua_promise_reject(L, child, -1);
        return 0;
    }
    ls_lua_promise_resolve(L, child, -1);
    return 0;
}

static int p_next(lua_State *L)
{
    luaL_checkudata(L, 1, PROMISE_MT);
    lua_settop(L, 3);
    ls_lua_promise_new(L); /* 4: child */
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 4);
    lua_pushcclosure(L, then_reaction, 3);
    ls_lua_promise_watch(L, 1, -1);
    lua_pop(L, 1);
    return 1;
}

static int p_catch(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushnil(L);
    lua_insert(L, 2);
    return p_next(L);
}

/* finally(f): f() runs either way; the original outcome passes through. */
static int finally_pass(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_call(L, 0, 0);
    lua_pushvalue(L, 1);
    if (!lua_toboolean(L, lua_upvalueindex(2))) return lua_error(L);
    return 1;
}

static int p_finally(lua_State *L)
{
    luaL_checkudata(L, 1, PROMISE_MT);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    lua_pushvalue(L, 2);
    lua_pushboolean(L, 1);
    lua_pushcclosure(L, finally_pass, 2); /* 3 */
    lua_pushvalue(L, 2);
    lua_pushboolean(L, 0);
    lua_pushcclosure(L, finally_pass, 2); /* 4 */
    lua_remove(L, 2);
    return p_next(L);
}

static int p_tostring(lua_State *L)
{
    promise *pr = luaL_checkudata(L, 1, PROMISE_MT);
    lua_pushstring(L, pr->state == LS_PROMISE_PENDING     ? "Promise <pending>"
                      : pr->state == LS_PROMISE_FULFILLED ? "Promise <fulfilled>"
                                                          : "Promise <rejected>");
    return 1;
}

/* ===== constructors ===== */

static int resolver(lua_State *L)
{
    lua_settop(L, 1);
    if (lua_toboolean(L, lua_upvalueindex(2))) ls_lua_promise_resolve(L, lua_upvalueindex(1), 1);
    else ls_lua_promise_reject(L, lua_upvalueindex(1), 1);
    return 0;
}

static int make_kit(lua_State *L)
{
    lua_createtable(L, 0, 3);
    ls_lua_promise_new(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "promise");
    lua_pushvalue(L, -1);
    lua_pushboolean(L, 1);
    lua_pushcclosure(L, resolver, 2);
    lua_setfield(L, -3, "resolve");
    lua_pushboolean(L, 0);
    lua_pushcclosure(L, resolver, 2);
    lua_setfield(L, -2, "reject");
    return 1;
}

static int static_resolve(lua_State *L)
{
    lua_settop(L, 1);
    if (topromise(L, 1)) return 1;
    ls_lua_promise_new(L);
    ls_lua_promise_resolve(L, 2, 1);
    return 1;
}

static int static_reject(lua_State *L)
{
    lua_settop(L, 1);
    ls_lua_promise_new(L);
    ls_lua_promise_reject(L, 2, 1);
    return 1;
}

/* Promise.all: upvalues 1 = results table, 2 = result promise, 3 = index,
 * 4 = counter table {left=n}. */
static int all_reaction(lua_State *L)
{
    if (!lua_toboolean(L, 1)) {
        ls_lua_promise_reject(L, lua_upvalueindex(2), 2);
        return 0;
    }
    lua_pushvalue(L, 2);
    lua_rawseti(L, lua_upvalueindex(1), lua_tointeger(L, lua_upvalueindex(3)));
    lua_getfield(L, lua_upvalueindex(4), "left");
    lua_Integer left = lua_tointeger(L, -1) - 1;
    lua_pushinteger(L, left);
    lua_setfield(L, lua_upvalueindex(4), "left");
    if (left == 0) ls_lua_promise_resolve(L, lua_upvalueindex(2), lua_upvalueindex(1));
    return 0;
}

static int static_all(lua_State *L)
{
    lua_Integer n;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    n = (lua_Integer)lua_rawlen(L, 1);
    lua_createtable(L, (int)n, 0); /* 2: results */
    ls_lua_promise_new(L);         /* 3: result promise */
    lua_createtable(L, 0, 1);      /* 4: counter */
    lua_pushinteger(L, n);
    lua_setfield(L, 4, "left");
    if (n == 0) ls_lua_promise_resolve(L, 3, 2);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_pushcfunction(L, static_resolve);
        lua_rawgeti(L, 1, i);
        lua_call(L, 1, 1); /* promise for element i */
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 3);
        lua_pushinteger(L, i);
        lua_pushvalue(L, 4);
        lua_pushcclosure(L, all_reaction, 4);
        ls_lua_promise_watch(L, -2, -1);
        lua_pop(L, 2);
    }
    lua_pushvalue(L, 3);
    return 1;
}

/* ===== async / await ===== */

static void async_step(lua_State *L, int co_idx, int rp_idx, int nargs);

/* Reaction resuming an async coroutine: upvalues 1 = thread, 2 = promise. */
static int async_resume(lua_State *L)
{
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    lua_settop(L, 2);
    lua_xmove(L, co, 2); /* (fulfilled, value) become await's results */
    async_step(L, lua_upvalueindex(1), lua_upvalueindex(2), 2);
    return 0;
}

static void async_step(lua_State *L, int co_idx, int rp_idx, int nargs)
{
    lua_State *co = lua_tothread(L, co_idx);
    int nres = 0, st;
    co_idx = lua_absindex(L, co_idx);
    rp_idx = lua_absindex(L, rp_idx);
    {
        lua_State *was = ls_lua_vm_enter(ls_lua_vm_of(L), co);
        st = lua_resume(co, L, nargs, &nres);
        ls_lua_vm_enter(ls_lua_vm_of(L), was);
    }
    if (ls_lua_vm_exhausted(ls_lua_vm_of(L)) != LS_LUA_OK) {
        lua_xmove(co, L, 1);
        lua_error(L);
    }
    if (st == LUA_YIELD) {
        lua_xmove(co, L, nres > 0 ? 1 : 0);
        if (nres > 1) lua_pop(co, nres - 1);
        if (nres == 0) lua_pushnil(L);
        lua_pushcfunction(L, static_resolve);
        lua_insert(L, -2);
        lua_call(L, 1, 1); /* the awaited value as a promise */
        lua_pushvalue(L, co_idx);
        lua_pushvalue(L, rp_idx);
        lua_pushcclosure(L, async_resume, 2);
        ls_lua_promise_watch(L, -2, -1);
        lua_pop(L, 2);
        return;
    }
    if (st == LUA_OK) {
        if (nres > 0) lua_xmove(co, L, 1);
        else lua_pushnil(L);
        if (nres > 1) lua_pop(co, nres - 1);
        ls_lua_promise_resolve(L, rp_idx, -1);
    } else {
        lua_xmove(co, L, 1);
        ls_lua_promise_reject(L, rp_idx, -1);
    }
    lua_pop(L, 1);
}

static int async_call(lua_State *L)
{
    int n = lua_gettop(L);
    lua_State *co;
    ls_lua_promise_new(L);           /* n+1: result promise */
    co = lua_newthread(L);           /* n+2 */
    lua_getfield(L, LUA_REGISTRYINDEX, ASYNC_KEY);
    lua_pushvalue(L, n + 2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_xmove(L, co, 1);
    for (int i = 1; i <= n; i++) lua_pushvalue(L, i);
    lua_xmove(L, co, n);
    async_step(L, n + 2, n + 1, n);
    lua_pushvalue(L, n + 1);
    return 1;
}

static int make_async(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_pushcclosure(L, async_call, 1);
    return 1;
}

static int await_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    /* resumed with (fulfilled, value) */
    if (!lua_toboolean(L, -2)) return lua_error(L);
    return 1;
}

static int await(lua_State *L)
{
    bool ours;
    lua_settop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, ASYNC_KEY);
    lua_pushthread(L);
    ours = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    if (!ours || !lua_isyieldable(L)) return luaL_error(L, "await outside an async function");
    return lua_yieldk(L, 1, 0, await_done);
}

void ls_lua_promise_install(lua_State *L)
{
    static const luaL_Reg methods[] = {{"next", p_next}, {"then", p_next}, {"catch", p_catch},
                                       {"finally", p_finally}, {NULL, NULL}};
    if (luaL_newmetatable(L, PROMISE_MT)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, p_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "Promise");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, 1);
    lua_setfield(L, -2, "head");
    lua_pushinteger(L, 1);
    lua_setfield(L, -2, "tail");
    lua_setfield(L, LUA_REGISTRYINDEX, TURNS_KEY);
    lua_newtable(L); /* async threads (weak keys: bookkeeping only) */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, ASYNC_KEY);
    lua_pushcfunction(L, make_kit);
    lua_setglobal(L, "makePromiseKit");
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, static_resolve);
    lua_setfield(L, -2, "resolve");
    lua_pushcfunction(L, static_reject);
    lua_setfield(L, -2, "reject");
    lua_pushcfunction(L, static_all);
    lua_setfield(L, -2, "all");
    lua_setglobal(L, "Promise");
    lua_pushcfunction(L, make_async);
    lua_setglobal(L, "async");
    lua_pushcfunction(L, await);
    lua_setglobal(L, "await");
}
