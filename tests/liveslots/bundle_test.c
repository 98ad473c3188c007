/*
 * bundle_test.c - Lua vat bundles (liveslots/lua/bundle.c): plain and JSON
 * forms, the bundle-local require (once per module, cycles, unknown names,
 * failed modules not cached), syntax and binary-chunk errors with their
 * module name, every malformed JSON form refused, status mapping of the
 * entry run (USER, LIMIT), a check that compiles but never runs, and a
 * load whose cost does not depend on Lua's address-keyed string cache.
 */
#include "tests/lib/testlib.h"

#include <jansson.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "liveslots/lua/bundle.h"

static ls_lua_vm *vm_new(size_t cap, uint64_t compute)
{
    ls_lua_limits lim = {cap, compute};
    ls_lua_vm *vm = NULL;
    swing_err e;
    if (ls_lua_vm_open(&lim, &vm, &e)) fail_msg("open: %s", e.msg);
    ls_lua_vm_begin(vm, 0);
    return vm;
}

/* A JSON bundle; names[i] maps to srcs[i]. Returns a malloc'd string. */
static char *json_bundle(const char *entry, size_t n, const char *const *names, const char *const *srcs)
{
    json_t *mods = json_object(), *root = json_object();
    char *out;
    for (size_t i = 0; i < n; i++) json_object_set_new(mods, names[i], json_string(srcs[i]));
    json_object_set_new(root, "format", json_string(LS_LUA_BUNDLE_FORMAT));
    json_object_set_new(root, "entry", json_string(entry));
    json_object_set_new(root, "modules", mods);
    out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!out) fail_msg("json_dumps failed");
    return out;
}

/* Loads bytes into vm; on success the entry's result is on the stack, one
 * slot above the old top. Otherwise the stack is unchanged. */
static swing_status load(ls_lua_vm *vm, const char *bytes, size_t len, swing_err *e)
{
    lua_State *L = ls_lua_vm_state(vm);
    int top = lua_gettop(L);
    swing_status s;
    swing_err_clear(e);
    s = ls_lua_bundle_load(vm, bytes, len, e);
    assert_int_equal(lua_gettop(L), s ? top : top + 1);
    return s;
}

/* Loads a bundle that must fail with status want and a message holding msg. */
static void expect_load_fail(ls_lua_vm *vm, const char *bytes, size_t len, swing_status want, const char *msg)
{
    swing_err e;
    swing_status s = load(vm, bytes, len, &e);
    if (s != want) fail_msg("load -> %s (%s), expected %s", swing_status_name(s), e.msg, swing_status_name(want));
    if (msg && !strstr(e.msg, msg)) fail_msg("load -> \"%s\", expected to contain \"%s\"", e.msg, msg);
}

static void expect_check_fail(const char *bytes, size_t len, const char *msg)
{
    swing_err e;
    swing_status s;
    swing_err_clear(&e);
    s = ls_lua_bundle_check(bytes, len, &e);
    if (s != SWING_ERR_INVALID) fail_msg("check -> %s (%s), expected INVALID", swing_status_name(s), e.msg);
    if (msg && !strstr(e.msg, msg)) fail_msg("check -> \"%s\", expected to contain \"%s\"", e.msg, msg);
}

/* Evaluates `return <expr>` with the value on top of the stack as `v`, as a
 * string; the value stays. */
static void expect_result(ls_lua_vm *vm, const char *expr, const char *want)
{
    lua_State *L = ls_lua_vm_state(vm);
    char src[256];
    swing_err e;
    snprintf(src, sizeof src, "local v = ... return tostring(%s)", expr);
    if (ls_lua_vm_load(vm, "=expect", src, strlen(src), &e)) fail_msg("%s: %s", expr, e.msg);
    lua_pushvalue(L, -2);
    if (ls_lua_vm_pcall(vm, 1, 1, &e)) fail_msg("%s: %s", expr, e.msg);
    if (strcmp(lua_tostring(L, -1), want) != 0) fail_msg("%s -> \"%s\", expected \"%s\"", expr, lua_tostring(L, -1), want);
    lua_pop(L, 1);
}

static void test_bundle_single_file_returns_table(void **state)
{
    static const char src[] = "\n  local t = {answer = 42, name = ...}\n  return t, 'ignored'\n";
    ls_lua_vm *vm = vm_new(0, 0);
    swing_err e;
    (void)state;
    TL_OK(ls_lua_bundle_check(src, strlen(src), &e));
    assert_int_equal(load(vm, src, strlen(src), &e), SWING_OK);
    assert_int_equal(lua_type(ls_lua_vm_state(vm), -1), LUA_TTABLE);
    expect_result(vm, "v.answer", "42");
    expect_result(vm, "v.name", "main");
    /* The result is the value cached for "main". */
    expect_result(vm, "require('main') == v", "true");
    lua_pop(ls_lua_vm_state(vm), 1);
    /* A module that returns nothing is cached (and loaded) as true. */
    assert_int_equal(load(vm, "local x = 1", strlen("local x = 1"), &e), SWING_OK);
    expect_result(vm, "v", "true");
    lua_pop(ls_lua_vm_state(vm), 1);
    ls_lua_vm_close(vm);
}

static void test_bundle_modules_require_each_other_once(void **state)
{
    static const char *const names[] = {"main", "util", "helpers"};
    static const char *const srcs[] = {
        "local u = require('util')\n"
        "local again = require('util')\n"
        "local h = require('helpers')\n"
        "return {same = (u == again), h = h, runs = helper_runs, double = u.double(21), name = u.name}",
        "local helpers = require('helpers')\n"
        "return {double = function(x) return helpers.twice(x) end, name = ...}",
        "helper_runs = (helper_runs or 0) + 1\n"
        "return {twice = function(x) return 2 * x end}",
    };
    char *b = json_bundle("main", 3, names, srcs);
    ls_lua_vm *vm = vm_new(0, 0);
    swing_err e;
    (void)state;
    TL_OK(ls_lua_bundle_check(b, strlen(b), &e));
    if (load(vm, b, strlen(b), &e)) fail_msg("load: %s", e.msg);
    expect_result(vm, "v.same", "true");
    expect_result(vm, "v.runs", "1");
    expect_result(vm, "v.double", "42");
    expect_result(vm, "v.name", "util");
    /* Requiring later still hands back the cached module. */
    expect_result(vm, "require('helpers') == v.h and helper_runs", "1");
    lua_pop(ls_lua_vm_state(vm), 1);
    free(b);
    ls_lua_vm_close(vm);
}

static void test_bundle_require_cycle_raises(void **state)
{
    static const char *const names[] = {"main", "a", "b"};
    static const char *const srcs[] = {"return require('a')", "return require('b')", "return require('a')"};
    static const char *const self[] = {"return require('main')"};
    char *b = json_bundle("main", 3, names, srcs), *s = json_bundle("main", 1, names, self);
    ls_lua_vm *vm = vm_new(0, 0);
    (void)state;
    TL_OK(ls_lua_bundle_check(b, strlen(b), NULL));
    expect_load_fail(vm, b, strlen(b), SWING_ERR_USER, "require cycle: a");
    expect_load_fail(vm, s, strlen(s), SWING_ERR_USER, "require cycle: main");
    free(b);
    free(s);
    ls_lua_vm_close(vm);
}

static void test_bundle_unknown_module_raises(void **state)
{
    static const char *const names[] = {"main", "util"};
    static const char *const srcs[] = {"return require('util')", "return require('nope')"};
    static const char *const lib[] = {"return require('string')", ""};
    char *b = json_bundle("main", 2, names, srcs), *l = json_bundle("main", 2, names, lib);
    ls_lua_vm *vm = vm_new(0, 0);
    (void)state;
    expect_load_fail(vm, b, strlen(b), SWING_ERR_USER, "module not found: nope");
    /* Only modules of the bundle are loadable, not libraries. */
    expect_load_fail(vm, l, strlen(l), SWING_ERR_USER, "module not found: string");
    free(b);
    free(l);
    ls_lua_vm_close(vm);
}

static void test_bundle_failed_module_is_not_cached(void **state)
{
    static const char *const names[] = {"main", "bad"};
    static const char *const srcs[] = {
        "local ok1, e1 = pcall(require, 'bad')\n"
        "local ok2, e2 = pcall(require, 'bad')\n"
        "return tostring(ok1 or ok2) .. '|' .. e2 .. '|' .. bad_runs",
        "bad_runs = (bad_runs or 0) + 1\nerror('boom')",
    };
    char *b = json_bundle("main", 2, names, srcs);
    ls_lua_vm *vm = vm_new(0, 0);
    swing_err e;
    (void)state;
    if (load(vm, b, strlen(b), &e)) fail_msg("load: %s", e.msg);
    expect_result(vm, "v", "false|bad:2: boom|2");
    lua_pop(ls_lua_vm_state(vm), 1);
    free(b);
    ls_lua_vm_close(vm);
}

static void test_bundle_check_reports_syntax_error_with_module_line(void **state)
{
    static const char *const names[] = {"main", "util", "zeta", "Zed"};
    static const char *const srcs[] = {"return require('util')", "local a = 1\nlocal b = 2\nlocal c = = 3\n",
                                       "return (", "x ="};
    char *one = json_bundle("main", 2, names, srcs), *three = json_bundle("main", 3, names, srcs);
    char *four = json_bundle("main", 4, names, srcs);
    ls_lua_vm *vm = vm_new(0, 0);
    (void)state;
    expect_check_fail(one, strlen(one), "util:3:");
    /* The first error in byte order of module names: "Zed" < "util" < "zeta". */
    expect_check_fail(three, strlen(three), "util:3:");
    expect_check_fail(four, strlen(four), "Zed:1:");
    expect_check_fail("return 1 +", strlen("return 1 +"), "main:1:");
    /* load refuses the same bundles, before running anything. */
    expect_load_fail(vm, one, strlen(one), SWING_ERR_INVALID, "util:3:");
    expect_load_fail(vm, four, strlen(four), SWING_ERR_INVALID, "Zed:1:");
    free(one);
    free(three);
    free(four);
    ls_lua_vm_close(vm);
}

typedef struct dump_buf {
    char data[4096]; /* a small chunk's dump fits */
    size_t len;
} dump_buf;

static int collect_dump(lua_State *L, const void *p, size_t n, void *ud)
{
    dump_buf *b = ud;
    (void)L;
    if (n > sizeof b->data - b->len) return 1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static void test_bundle_binary_chunk_rejected(void **state)
{
    static const char *const names[] = {"main", "util"};
    static const char *const srcs[] = {"return 1", "\x1bLua\x54"};
    lua_State *host = luaL_newstate(); /* unsandboxed, only to make a real dump */
    ls_lua_vm *vm = vm_new(0, 0);
    char *j = json_bundle("main", 2, names, srcs);
    static dump_buf dump;
    const char *bin = dump.data;
    size_t len;
    (void)state;
    assert_non_null(host);
    assert_int_equal(luaL_loadstring(host, "return 42"), LUA_OK);
    dump.len = 0;
    assert_int_equal(lua_dump(host, collect_dump, &dump, 0), 0);
    len = dump.len;
    assert_true(len > 4 && bin[0] == '\x1b');
    expect_check_fail(bin, len, "main: attempt to load a binary chunk");
    expect_load_fail(vm, bin, len, SWING_ERR_INVALID, "binary chunk");
    expect_check_fail(j, strlen(j), "util: attempt to load a binary chunk");
    expect_load_fail(vm, j, strlen(j), SWING_ERR_INVALID, "util: attempt to load a binary chunk");
    free(j);
    lua_close(host);
    ls_lua_vm_close(vm);
}

static void test_bundle_malformed_json_rejected(void **state)
{
#define MODS "\"modules\":{\"main\":\"return 1\"}"
#define FMT "\"format\":\"swing-lua-bundle-1\""
    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"{", "bad JSON"},
        {"  \n\t{" FMT ",\"entry\":\"main\"," MODS "} trailing", "bad JSON"},
        {"{}", "\"format\""},
        {"{\"entry\":\"main\"," MODS "}", "\"format\""},
        {"{\"format\":\"swing-lua-bundle-2\",\"entry\":\"main\"," MODS "}", "\"format\""},
        {"{\"format\":1,\"entry\":\"main\"," MODS "}", "\"format\""},
        {"{" FMT "," MODS "}", "\"entry\""},
        {"{" FMT ",\"entry\":7," MODS "}", "\"entry\""},
        {"{" FMT ",\"entry\":\"a/b\"," MODS "}", "\"entry\""},
        {"{" FMT ",\"entry\":\"util\"," MODS "}", "not among the modules"},
        {"{" FMT ",\"entry\":\"main\",\"modules\":{}}", "not among the modules"},
        {"{" FMT ",\"entry\":\"main\"}", "\"modules\""},
        {"{" FMT ",\"entry\":\"main\",\"modules\":[\"return 1\"]}", "\"modules\""},
        {"{" FMT ",\"entry\":\"main\",\"modules\":\"return 1\"}", "\"modules\""},
        {"{" FMT ",\"entry\":\"main\",\"modules\":{\"main\":1}}", "must be a string"},
        {"{" FMT ",\"entry\":\"main\",\"modules\":{\"main\":\"\",\"x\":null}}", "must be a string"},
        {"{" FMT ",\"entry\":\"main\",\"modules\":{\"main\":\"\",\"a/b\":\"\"}}", "bad module name"},
        {"{" FMT ",\"entry\":\"main\",\"modules\":{\"main\":\"\",\"\":\"\"}}", "bad module name"},
        {"{" FMT ",\"entry\":\"main\",\"modules\":{\"main\":\"\",\"a b\":\"\"}}", "bad module name"},
        {"{" FMT ",\"entry\":\"main\",\"modules\":{\"main\":\"\",\"\xc3\xa9\":\"\"}}", "bad module name"},
        {"{" FMT ",\"entry\":\"main\",\"modules\":{\"main\":\"\","
         "\"a1234567890123456789012345678901234567890123456789012345678901234\":\"\"}}",
         "bad module name"},
        {"{" FMT ",\"entry\":\"main\"," MODS ",\"extra\":true}", "unexpected field \"extra\""},
        {"{" FMT "," FMT ",\"entry\":\"main\"," MODS "}", "bad JSON"},
        {"{" FMT ",\"entry\":\"main\",\"modules\":{\"main\":\"\",\"main\":\"\"}}", "bad JSON"},
        {"{" FMT ",\"entry\":\"main\",\"modules\":{\"main\":\"return '\\u0000'\"}}", "bad JSON"},
    };
    /* A 64-character name is the longest allowed. */
    static const char ok[] = "{" FMT ",\"entry\":\"a123456789012345678901234567890123456789012345678901234567890_.-\","
                             "\"modules\":{\"a123456789012345678901234567890123456789012345678901234567890_.-\":"
                             "\"return 'ok'\"}}";
    ls_lua_vm *vm = vm_new(0, 0);
    swing_err e;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        expect_check_fail(bad[i].json, strlen(bad[i].json), bad[i].msg);
        expect_load_fail(vm, bad[i].json, strlen(bad[i].json), SWING_ERR_INVALID, bad[i].msg);
    }
    /* Nothing was installed by the refused loads. */
    lua_pushnil(ls_lua_vm_state(vm));
    expect_result(vm, "type(require)", "nil");
    lua_pop(ls_lua_vm_state(vm), 1);
    TL_OK(ls_lua_bundle_check(ok, strlen(ok), &e));
    if (load(vm, ok, strlen(ok), &e)) fail_msg("load: %s", e.msg);
    expect_result(vm, "v", "ok");
    lua_pop(ls_lua_vm_state(vm), 1);
    ls_lua_vm_close(vm);
#undef MODS
#undef FMT
}

static void test_bundle_entry_raise_is_user(void **state)
{
    static const char *const names[] = {"main", "util"};
    static const char *const srcs[] = {"local u = require('util')\nreturn u", "local x = 1\nerror('util broke')"};
    char *b = json_bundle("main", 2, names, srcs), *u = json_bundle("util", 2, names, srcs);
    ls_lua_vm *vm = vm_new(0, 0);
    (void)state;
    expect_load_fail(vm, "local a = 1\nerror('boom')", strlen("local a = 1\nerror('boom')"), SWING_ERR_USER, "main:2: boom");
    expect_load_fail(vm, b, strlen(b), SWING_ERR_USER, "util:2: util broke");
    expect_load_fail(vm, u, strlen(u), SWING_ERR_USER, "util:2: util broke");
    free(b);
    free(u);
    ls_lua_vm_close(vm);
}

static void test_bundle_endless_entry_is_limit(void **state)
{
    static const char *const names[] = {"main", "loop"};
    static const char *const srcs[] = {"while true do pcall(require, 'loop') end", "while true do end"};
    static const char *const bomb[] = {"local t = {} while true do t[#t+1] = string.rep('x', 4096) .. #t end"};
    char *b = json_bundle("main", 2, names, srcs), *m = json_bundle("main", 1, names, bomb);
    ls_lua_vm *vm = vm_new(0, 2000000), *small = vm_new(4u << 20, 0);
    (void)state;
    expect_load_fail(vm, "while true do end", strlen("while true do end"), SWING_ERR_LIMIT, "compute limit");
    ls_lua_vm_begin(vm, 0);
    /* The limit is not catchable through require either. */
    expect_load_fail(vm, b, strlen(b), SWING_ERR_LIMIT, "compute limit");
    expect_load_fail(small, m, strlen(m), SWING_ERR_LIMIT, "memory limit");
    free(b);
    free(m);
    ls_lua_vm_close(vm);
    ls_lua_vm_close(small);
}

static void test_bundle_check_runs_no_code(void **state)
{
    static const char *const names[] = {"main", "spin"};
    static const char *const srcs[] = {"while true do end", "error('must not run')"};
    char *b = json_bundle("main", 2, names, srcs);
    swing_err e;
    (void)state;
    TL_OK(ls_lua_bundle_check("while true do end", strlen("while true do end"), &e));
    TL_OK(ls_lua_bundle_check(b, strlen(b), &e));
    TL_OK(ls_lua_bundle_check("", 0, &e));
    TL_OK(ls_lua_bundle_check(NULL, 0, &e));
    free(b);
}

/* Memory a fresh vm (collector stopped) spends loading `bundle` after its
 * string cache was filled with `fill`: 53 copies at addresses of every
 * residue modulo Lua's cache size (53, prime; the copies are 61 bytes apart),
 * so that every cache bucket holds that text. */
static size_t load_cost_after_cache_fill(const char *bundle, const char *fill)
{
    ls_lua_vm *vm = vm_new(0, 0);
    lua_State *L = ls_lua_vm_state(vm);
    size_t n = strlen(fill), before, after;
    char *copies = malloc(53 * (n + 1));
    swing_err e;
    assert_int_equal(n + 1, 61);
    assert_non_null(copies);
    lua_gc(L, LUA_GCSTOP);
    for (size_t i = 0; i < 53; i++) {
        memcpy(copies + i * (n + 1), fill, n + 1);
        lua_pushstring(L, copies + i * (n + 1)); /* goes through the address-keyed cache */
        lua_pop(L, 1);
    }
    free(copies);
    before = ls_lua_vm_memory(vm);
    TL_OK(load(vm, bundle, strlen(bundle), &e));
    after = ls_lua_vm_memory(vm);
    ls_lua_vm_close(vm);
    return after - before;
}

/* Regression (2026-12-02, failures-visible issue): install() named each
 * module with lua_setfield, which looks a long name up in Lua's string
 * cache by the address of the C string, so a bundle's allocations (what the
 * meter and the memory cap see) depended on what the cache held at that
 * address. Now a load costs the same whatever the cache holds. */
static void test_bundle_long_module_name_costs_the_same_whatever_the_cache(void **state)
{
    const char *name = "a_module_name_long_enough_not_to_be_interned_by_lua_01234567";
    const char *other = "another_name_just_as_long_that_is_not_any_module_98765432100";
    static const char *const srcs[] = {"return {}"};
    const char *names[] = {name};
    char *b = json_bundle(name, 1, names, srcs);
    (void)state;
    assert_int_equal(strlen(name), strlen(other));
    assert_int_equal(load_cost_after_cache_fill(b, name), load_cost_after_cache_fill(b, other));
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundle_single_file_returns_table),
        cmocka_unit_test(test_bundle_modules_require_each_other_once),
        cmocka_unit_test(test_bundle_require_cycle_raises),
        cmocka_unit_test(test_bundle_unknown_module_raises),
        cmocka_unit_test(test_bundle_failed_module_is_not_cached),
        cmocka_unit_test(test_bundle_check_reports_syntax_error_with_module_line),
        cmocka_unit_test(test_bundle_binary_chunk_rejected),
        cmocka_unit_test(test_bundle_malformed_json_rejected),
        cmocka_unit_test(test_bundle_entry_raise_is_user),
        cmocka_unit_test(test_bundle_endless_entry_is_limit),
        cmocka_unit_test(test_bundle_check_runs_no_code),
        cmocka_unit_test(test_bundle_long_module_name_costs_the_same_whatever_the_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
