/*
 * promise_test.c - vat promises and the turn queue: ordering of reactions,
 * adoption, catch/finally, Promise.all, async/await, errors rejecting,
 * and a spent meter escaping every handler.
 */
#include "tests/lib/testlib.h"

#include <lauxlib.h>
#include <string.h>

#include "liveslots/lua/promise.h"
#include "liveslots/lua/vm.h"

static int drain(lua_State *L)
{
    ls_lua_promise_drain(L);
    return 0;
}

static int install(lua_State *L)
{
    ls_lua_promise_install(L);
    return 0;
}

static ls_lua_vm *vm_new(uint64_t compute)
{
    ls_lua_limits lim = {0, compute};
    ls_lua_vm *vm = NULL;
    swing_err e;
    if (ls_lua_vm_open(&lim, &vm, &e)) fail_msg("open: %s", e.msg);
    lua_pushcfunction(ls_lua_vm_state(vm), install);
    if (ls_lua_vm_pcall(vm, 0, 0, &e)) fail_msg("install: %s", e.msg);
    return vm;
}

/* Runs src, drains the turn queue, returns global `out` as a string. */
static swing_status run(ls_lua_vm *vm, const char *src, char *out, size_t cap, swing_err *e)
{
    lua_State *L = ls_lua_vm_state(vm);
    swing_status s;
    out[0] = '\0';
    ls_lua_vm_begin(vm, 0);
    if ((s = ls_lua_vm_load(vm, "=t", src, strlen(src), e))) return s;
    if ((s = ls_lua_vm_pcall(vm, 0, 0, e))) return s;
    lua_pushcfunction(L, drain);
    if ((s = ls_lua_vm_pcall(vm, 0, 0, e))) return s;
    lua_getglobal(L, "out");
    snprintf(out, cap, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "(none)");
    lua_pop(L, 1);
    return SWING_OK;
}

static void expect(const char *src, const char *want)
{
    ls_lua_vm *vm = vm_new(0);
    char out[512];
    swing_err e;
    if (run(vm, src, out, sizeof out, &e)) fail_msg("%s", e.msg);
    if (strcmp(out, want) != 0) fail_msg("got \"%s\", expected \"%s\"", out, want);
    ls_lua_vm_close(vm);
}

static void test_promise_reactions_run_in_order_after_the_turn(void **state)
{
    (void)state;
    expect("out = ''\n"
           "local k = makePromiseKit()\n"
           "k.promise:next(function(v) out = out .. 'a' .. v end)\n"
           "k.promise:next(function(v) out = out .. 'b' .. v end)\n"
           "k.resolve(1)\n"
           "out = out .. 'sync'",
           "synca1b1");
}

static void test_promise_chains_and_adoption(void **state)
{
    (void)state;
    expect("local inner = makePromiseKit()\n"
           "local outer = makePromiseKit()\n"
           "outer.resolve(inner.promise)\n"
           "outer.promise:next(function(v) return v * 2 end):next(function(v) out = tostring(v) end)\n"
           "inner.resolve(21)",
           "42");
}

static void test_promise_errors_reject_and_catch(void **state)
{
    (void)state;
    expect("Promise.resolve(1):next(function() error('boom', 0) end)\n"
           "  :catch(function(e) out = 'caught ' .. e end)",
           "caught boom");
    expect("out = ''\n"
           "Promise.reject('no'):finally(function() out = out .. 'f' end)\n"
           "  :catch(function(e) out = out .. e end)",
           "fno");
}

static void test_promise_all(void **state)
{
    (void)state;
    expect("local a, b = makePromiseKit(), makePromiseKit()\n"
           "Promise.all({a.promise, 2, b.promise}):next(function(r) out = table.concat(r, ',') end)\n"
           "b.resolve(3) a.resolve(1)",
           "1,2,3");
    expect("Promise.all({Promise.resolve(1), Promise.reject('x')}):catch(function(e) out = e end)", "x");
}

static void test_promise_async_await(void **state)
{
    (void)state;
    expect("local k = makePromiseKit()\n"
           "local f = async(function(x)\n"
           "  local v = await(k.promise)\n"
           "  local w = await(v + x)\n"
           "  return w * 10\n"
           "end)\n"
           "f(2):next(function(r) out = tostring(r) end)\n"
           "k.resolve(3)",
           "50");
    expect("local f = async(function() local v = await(Promise.reject('bad')) return 'no' end)\n"
           "f():catch(function(e) out = 'rejected ' .. e end)",
           "rejected bad");
    expect("local f = async(function() local ok, e = pcall(await, Promise.reject('x')) return tostring(ok) end)\n"
           "out = select(2, pcall(await, 1))",
           "await outside an async function");
}

static void test_promise_spent_meter_escapes_handlers(void **state)
{
    ls_lua_vm *vm = vm_new(500000);
    char out[64];
    swing_err e;
    (void)state;
    assert_int_equal(run(vm, "Promise.resolve(1):next(function() while true do end end):catch(function() out='caught' end)",
                         out, sizeof out, &e),
                     SWING_ERR_LIMIT);
    assert_non_null(strstr(e.msg, "compute limit"));
    assert_int_equal(run(vm, "async(function() while true do end end)()", out, sizeof out, &e), SWING_ERR_LIMIT);
    ls_lua_vm_close(vm);
}

/* Regression (2026-11-23, Lua-vat issue): a job whose last argument was nil
 * lost it, and the reaction read a stale stack slot instead. */
static void test_promise_nil_values_pass_through(void **state)
{
    (void)state;
    expect("local inner = makePromiseKit()\n"
           "local outer = makePromiseKit()\n"
           "outer.resolve(inner.promise)\n"
           "outer.promise:next(function(v) out = 'got ' .. tostring(v) end)\n"
           "inner.resolve(nil)",
           "got nil");
    expect("Promise.resolve(nil):next():next(function(v) out = type(v) end)", "nil");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_promise_reactions_run_in_order_after_the_turn),
        cmocka_unit_test(test_promise_chains_and_adoption),
        cmocka_unit_test(test_promise_errors_reject_and_catch),
        cmocka_unit_test(test_promise_all),
        cmocka_unit_test(test_promise_async_await),
        cmocka_unit_test(test_promise_spent_meter_escapes_handlers),
        cmocka_unit_test(test_promise_nil_values_pass_through),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
