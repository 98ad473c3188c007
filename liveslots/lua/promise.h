/*
 * promise.h - promises and the turn queue of a Lua vat (DESIGN.md §7, seed
 * S2). Promises are userdata (so vat code cannot tamper with their state);
 * reactions run as jobs on a FIFO turn queue that the runtime drains before
 * a delivery returns.
 *
 * Vat-visible API (globals set by ls_lua_promise_install):
 *   makePromiseKit()    -> {promise=, resolve=, reject=}
 *   Promise.resolve(v), Promise.reject(e), Promise.all(list)
 *   p:next(onFulfilled, onRejected), p:catch(onRejected), p:finally(f)
 *     ("then" is a reserved word in Lua; p["then"] is the same as p.next)
 *   async(fn)           -> a function that runs fn in a coroutine and returns a promise
 *   await(v)            -> inside an async function: the settled value, or raises the rejection
 */
#ifndef LIBSWING_LIVESLOTS_LUA_PROMISE_H
#define LIBSWING_LIVESLOTS_LUA_PROMISE_H

#include <lua.h>
#include <stdbool.h>

typedef enum ls_lua_pstate { LS_PROMISE_PENDING = 0, LS_PROMISE_FULFILLED = 1, LS_PROMISE_REJECTED = 2 } ls_lua_pstate;

/* Registers the promise metatable, the turn queue and the globals. */
void ls_lua_promise_install(lua_State *L);

/* Pushes a new pending promise. */
void ls_lua_promise_new(lua_State *L);
bool ls_lua_promise_is(lua_State *L, int idx);
ls_lua_pstate ls_lua_promise_state(lua_State *L, int idx);
/* Pushes the settled value (nil while pending). */
void ls_lua_promise_value(lua_State *L, int idx);

/* Resolves the promise at p with the value at v (adopting a promise value),
 * or rejects it. No effect on a promise already resolved. */
void ls_lua_promise_resolve(lua_State *L, int p, int v);
void ls_lua_promise_reject(lua_State *L, int p, int v);

/* Registers C reactions: when the promise at p settles, fn is called as a
 * job with (fulfilled boolean, value). fn is the function at index f. */
void ls_lua_promise_watch(lua_State *L, int p, int f);

/* Queues a job: calls the function at index f with the n values above it
 * (pops f and the values). */
void ls_lua_promise_queue(lua_State *L, int n);

/* Runs jobs until the queue is empty. A job's Lua error is contained (it
 * rejects that job's derived promise); a spent meter re-raises. */
void ls_lua_promise_drain(lua_State *L);

/* Number of jobs waiting. */
lua_Integer ls_lua_promise_pending_jobs(lua_State *L);

#endif /* LIBSWING_LIVESLOTS_LUA_PROMISE_H */
