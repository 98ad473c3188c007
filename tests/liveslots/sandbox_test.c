/*
 * sandbox_test.c - the Lua vat sandbox and meter: every escape of DESIGN.md
 * §3 refused, deterministic iteration and printing, text-only load, no
 * __gc/__mode, endless loops and memory bombs stopped (uncatchably), syntax
 * errors reported with their line, metering repeatable.
 */
#include "tests/lib/luarun.h"

#include <lauxlib.h>
#include <string.h>

#include "liveslots/lua/vm.h"

static void test_sandbox_escapes_are_absent(void **state)
{
    static const char *names[] = {"os", "io", "debug", "package", "require", "collectgarbage", "dofile",
                                  "loadfile", "print", "warn", "string.dump", "math.random",
                                  "math.randomseed"};
    ls_lua_vm *vm = tl_lua_vm(0, 0);
    (void)state;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char src[128];
        snprintf(src, sizeof src, "return type(%s)", names[i]);
        tl_lua_expect(vm, src, "nil");
    }
    /* A binary chunk is refused even when built by hand. */
    tl_lua_expect(vm, "local f, err = load('\\27Lua\\84\\0') return err", "attempt to load a binary chunk (mode is 't')");
    tl_lua_expect(vm, "return load('return 1+1')()", "number");
    ls_lua_vm_close(vm);
}

static void test_sandbox_no_addresses(void **state)
{
    ls_lua_vm *vm = tl_lua_vm(0, 0);
    (void)state;
    tl_lua_expect(vm, "return tostring({})", "table");
    tl_lua_expect(vm, "return tostring(function() end)", "function");
    tl_lua_expect(vm, "return tostring(coroutine.create(function() end))", "thread");
    tl_lua_expect(vm, "return string.format('%s|%s|%d', {}, 'x', 7)", "table|x|7");
    tl_lua_expect(vm, "return tostring(setmetatable({}, {__tostring = function() return 'me' end}))", "me");
    tl_lua_expect(vm, "return ('%5.1f'):format(2.25)", "  2.2");
    tl_lua_expect_fail(vm, "return string.format('%p', {})", SWING_ERR_USER, "%p is not available");
    ls_lua_vm_close(vm);
}

static void test_sandbox_deterministic_iteration(void **state)
{
    ls_lua_vm *vm = tl_lua_vm(0, 0);
    (void)state;
    tl_lua_expect(vm,
           "local t = {b=1, a=2, [3]=true, [1]=1, [true]=0, [2.5]=1, ['']=1, aa=1}\n"
           "local out = {} for k in pairs(t) do out[#out+1] = tostring(k) end\n"
           "return table.concat(out, ',')",
           "1,2.5,3,,a,aa,b,true");
    tl_lua_expect(vm,
           "local t = {z=1, y=2, x=3} local out, k = {}, nil\n"
           "repeat k = next(t, k) if k then out[#out+1] = k end until k == nil\n"
           "return table.concat(out, ',') .. tostring(next({}))",
           "x,y,znil");
    /* Deleting during traversal is allowed, as with Lua's own next. */
    tl_lua_expect(vm, "local t = {a=1,b=2,c=3} for k in pairs(t) do t[k] = nil end return tostring(next(t))", "nil");
    tl_lua_expect_fail(vm, "for k in pairs({[{}]=1}) do end", SWING_ERR_USER, "no deterministic order");
    tl_lua_expect(vm, "local t = setmetatable({}, {__pairs = function(t) return function() return nil end, t, nil end})\n"
               "for k in pairs(t) do return 'x' end return 'custom'", "custom");
    ls_lua_vm_close(vm);
}

static void test_sandbox_no_gc_or_weak_tables(void **state)
{
    ls_lua_vm *vm = tl_lua_vm(0, 0);
    (void)state;
    tl_lua_expect_fail(vm, "setmetatable({}, {__gc = function() end})", SWING_ERR_USER, "__gc or __mode");
    tl_lua_expect_fail(vm, "setmetatable({}, {__mode = 'k'})", SWING_ERR_USER, "__gc or __mode");
    assert_true(ls_lua_sandbox_check_rules(vm));
    /* Added afterwards: caught by the rule check at delivery end. */
    tl_lua_expect(vm, "local mt = {} keep = setmetatable({}, mt) rawset(mt, '__mode', 'k') return 'ok'", "ok");
    assert_false(ls_lua_sandbox_check_rules(vm));
    ls_lua_vm_close(vm);
}

static void test_sandbox_endless_loops_are_stopped(void **state)
{
    ls_lua_vm *vm = tl_lua_vm(0, 2000000);
    (void)state;
    tl_lua_expect_fail(vm, "while true do end", SWING_ERR_LIMIT, "compute limit");
    tl_lua_expect_fail(vm, "while true do pcall(function() while true do end end) end", SWING_ERR_LIMIT, "compute limit");
    tl_lua_expect_fail(vm, "while true do xpcall(function() while true do end end, function(m) return m end) end",
                SWING_ERR_LIMIT, "compute limit");
    tl_lua_expect_fail(vm,
                "local co = coroutine.create(function() while true do end end)\n"
                "while true do coroutine.resume(co) co = coroutine.create(function() while true do end end) end",
                SWING_ERR_LIMIT, "compute limit");
    /* A fresh budget works again. */
    tl_lua_expect(vm, "local n = 0 for i = 1, 1000 do n = n + i end return tostring(n)", "500500");
    assert_true(ls_lua_vm_used(vm) > 0);
    ls_lua_vm_close(vm);
}

static void test_sandbox_memory_bombs_are_stopped(void **state)
{
    ls_lua_vm *vm = tl_lua_vm(8u << 20, 0), *other = tl_lua_vm(0, 0);
    (void)state;
    tl_lua_expect_fail(vm, "local t = {} while true do t[#t+1] = string.rep('x', 4096) .. #t end", SWING_ERR_LIMIT,
                "memory limit");
    tl_lua_expect_fail(vm, "local t = {} while true do pcall(function() t[#t+1] = string.rep('y', 1e6) .. #t end) end",
                SWING_ERR_LIMIT, NULL);
    /* Between two meter checks the allocator lets a state grow up to the
     * hard ceiling, never past it. */
    assert_true(ls_lua_vm_memory(vm) <= LS_LUA_HARD_CAP_FACTOR * (8u << 20));
    tl_lua_expect(other, "return 'still fine'", "still fine");
    /* Garbage never counts: 6 MB kept under an 8 MB cap while 60 MB of
     * garbage churns through (the collector's own pacing lets it pile up
     * past the cap). */
    tl_lua_expect(vm,
           "local keep = {} for i = 1, 6 do keep[i] = string.rep('k', 1000000) .. i end\n"
           "for i = 1, 300 do local g = string.rep('g', 100000) .. i end\n"
           "return 'kept ' .. #keep",
           "kept 6");
    ls_lua_vm_close(vm);
    ls_lua_vm_close(other);
}

static void test_sandbox_syntax_error_has_line(void **state)
{
    ls_lua_vm *vm = tl_lua_vm(0, 0);
    char out[64];
    swing_err e;
    (void)state;
    assert_int_equal(tl_lua_run(vm, "local a = 1\nlocal b = 2\nlocal c = = 3\n", out, sizeof out, &e), SWING_ERR_INVALID);
    assert_non_null(strstr(e.msg, "test:3:"));
    ls_lua_vm_close(vm);
}

static void test_sandbox_metering_repeats(void **state)
{
    const char *src = "local t = {} for i = 1, 20000 do t[i] = tostring(i) .. 'x' end return 'ok'";
    ls_lua_vm *a = tl_lua_vm(0, 0), *b = tl_lua_vm(0, 0);
    (void)state;
    tl_lua_expect(a, src, "ok");
    tl_lua_expect(b, src, "ok");
    assert_int_equal(ls_lua_vm_used(a), ls_lua_vm_used(b));
    assert_true(ls_lua_vm_used(a) > 20000);
    ls_lua_vm_close(a);
    ls_lua_vm_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sandbox_escapes_are_absent),
        cmocka_unit_test(test_sandbox_no_addresses),
        cmocka_unit_test(test_sandbox_deterministic_iteration),
        cmocka_unit_test(test_sandbox_no_gc_or_weak_tables),
        cmocka_unit_test(test_sandbox_endless_loops_are_stopped),
        cmocka_unit_test(test_sandbox_memory_bombs_are_stopped),
        cmocka_unit_test(test_sandbox_syntax_error_has_line),
        cmocka_unit_test(test_sandbox_metering_repeats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
