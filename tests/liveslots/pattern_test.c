/*
 * pattern_test.c - the sandbox's metered string patterns (pattern.c) against
 * Lua's own string library as the oracle: a table of cases and a few
 * thousand generated patterns and subjects run through find, match, gmatch
 * and gsub in both, results and error messages compared; then the runaway
 * pattern of the issue is stopped by the compute limit, and classes ignore
 * the host's locale.
 */
#include "tests/lib/luarun.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

#include "liveslots/lua/vm.h"

static void sandboxed(ls_lua_vm *vm, const char *src, char *out, size_t cap)
{
    swing_err e;
    if (tl_lua_run(vm, src, out, cap, &e)) snprintf(out, cap, "error: %s", e.msg);
}

/* A chunk that calls every pattern function on (s, p) under pcall and
 * returns all results as one line. */
static void chunk_for(const char *s, const char *p, char *src, size_t cap)
{
    snprintf(src, cap,
             "local s, p = %s, %s\n"
             "local out = {}\n"
             "local function add(ok, ...)\n"
             "  local n = select('#', ...)\n"
             "  out[#out + 1] = tostring(ok) .. '/' .. n\n"
             "  for i = 1, n do out[#out + 1] = tostring((select(i, ...))) end\n"
             "end\n"
             "add(pcall(string.find, s, p))\n"
             "add(pcall(string.find, s, p, 2))\n"
             "add(pcall(string.find, s, p, -2))\n"
             "add(pcall(string.match, s, p))\n"
             "add(pcall(string.gsub, s, p, '<%%0>'))\n"
             "add(pcall(string.gsub, s, p, '[%%1]'))\n"
             "add(pcall(string.gsub, s, p, function(a) return #a end, 3))\n"
             "add(pcall(string.gsub, s, p, { a = 'A', [''] = false }))\n"
             "add(pcall(function() local r = {} for a, b in string.gmatch(s, p) do r[#r + 1] = tostring(a) .. ',' .. tostring(b) end return table.concat(r, ';') end))\n"
             "return table.concat(out, ' | ')\n",
             s, p);
}

static void compare(ls_lua_vm *vm, const char *s, const char *p)
{
    char src[4096], want[4096], got[4096];
    chunk_for(s, p, src, sizeof src);
    tl_lua_oracle(src, want, sizeof want);
    sandboxed(vm, src, got, sizeof got);
    if (strcmp(want, got) != 0) fail_msg("s=%s p=%s\n  lua:     %s\n  sandbox: %s", s, p, want, got);
}

static void test_pattern_cases_match_lua(void **state)
{
    static const char *cases[][2] = {
        {"'hello world'", "'o w'"},          {"'hello world'", "'l+'"},
        {"'hello world'", "'^h(.-)o'"},      {"'hello world'", "'(o)(.*)%1'"},
        {"'key = value'", "'(%w+)%s*=%s*(%w+)'"}, {"'  trim  '", "'^%s*(.-)%s*$'"},
        {"'THE (quick) fox'", "'%f[%a]%a+'"}, {"'THE (quick) fox'", "'%b()'"},
        {"'a.b.c'", "'%.'"},                 {"'a.b.c'", "'.'"},
        {"'abc'", "'()b()'"},                {"'abc'", "''"},
        {"''", "'x*'"},                      {"'aaa'", "'a-'"},
        {"'aaa'", "'a-$'"},                  {"'x^y'", "'^'"},
        {"'x^y'", "'x^'"},                   {"'a$b'", "'$b'"},
        {"'[]]'", "'[]]'"},                  {"'a-z'", "'[a%-z]+'"},
        {"'A1b2'", "'[^%d]'"},               {"'A1b2'", "'[%u%d]+'"},
        {"'\\0a\\0'", "'%z'"},               {"'\\0a\\0'", "'\\0'"},
        {"'tab\\tnl\\n'", "'%c'"},           {"'x'", "'%'"},
        {"'x'", "'[a'"},                     {"'x'", "'(x'"},
        {"'x'", "'x)'"},                     {"'x'", "'%b'"},
        {"'x'", "'%f'"},                     {"'x'", "'%1'"},
        {"'xx'", "'(x)%2'"},                 {"'x'", "'%0'"},
        {"'abab'", "'(ab)%1'"},              {"'ab'", "'(()b)'"},
        {"'caf\\195\\169'", "'[\\128-\\255]+'"}, {"'\\200\\201'", "'%a'"},
        {"'one two  three'", "'%S+'"},       {"'0x1F zz'", "'%x+'"},
        {"'p.q'", "'%p'"},                   {"'abc'", "'[b-]'"},
        {"'a]'", "'[]a]+'"},                 {"'a^'", "'[a^]+'"},
        {"'hello'", "'l?l?o'"},              {"'hello'", "'h?e?z?'"},
    };
    ls_lua_vm *vm = tl_lua_vm(0, 0);
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) compare(vm, cases[i][0], cases[i][1]);
    ls_lua_vm_close(vm);
}

/* Patterns and subjects drawn from small alphabets (a fixed LCG, so the
 * run is repeatable), malformed ones included. */
static void test_pattern_generated_match_lua(void **state)
{
    static const char *atoms[] = {"a", "b", ".", "%a", "%d", "[ab]", "[^a]", "(", ")", "()", "%1", "*",
                                  "+", "-", "?", "^", "$", "%b()", "%f[%w]", "%", "[", "]", "[a-c]", "%%",
                                  "%2", "[%a%d]", "[^%)]", "%s", ".-", "(a*)", "%w+"};
    static const char subj[] = "ab(a)1b.";
    uint32_t x = 12345;
    ls_lua_vm *vm = tl_lua_vm(0, 0);
    (void)state;
    for (int round = 0; round < 3000; round++) {
        char p[64] = "'", s[32] = "'"; /* 9 atoms of at most 6 bytes, quoted */
        int np = 1 + (int)((x = x * 1103515245u + 12345u) >> 16) % 9;
        int ns = (int)((x = x * 1103515245u + 12345u) >> 16) % 12;
        for (int i = 0; i < np; i++) strcat(p, atoms[((x = x * 1103515245u + 12345u) >> 16) % (sizeof atoms / sizeof *atoms)]);
        for (int i = 0; i < ns; i++) {
            size_t l = strlen(s);
            s[l] = subj[((x = x * 1103515245u + 12345u) >> 16) % (sizeof subj - 1)];
            s[l + 1] = '\0';
        }
        strcat(p, "'");
        strcat(s, "'");
        compare(vm, s, p);
    }
    ls_lua_vm_close(vm);
}

/* The runaway: unmetered, it runs for as long as it likes. */
static void test_pattern_runaway_is_stopped(void **state)
{
    ls_lua_vm *vm = tl_lua_vm(0, 5000000);
    (void)state;
    tl_lua_expect_fail(vm, "return string.find(string.rep('a', 5000), string.rep('a-', 12) .. 'b')", SWING_ERR_LIMIT,
                       "compute limit");
    assert_int_equal(ls_lua_vm_used(vm), 5000000); /* a stopped run is charged its limit */
    tl_lua_expect_fail(vm, "return pcall(string.match, string.rep('a', 5000), string.rep('a*', 12) .. 'b')",
                       SWING_ERR_LIMIT, "compute limit"); /* not catchable */
    tl_lua_expect_fail(vm, "for w in string.gmatch(string.rep('a', 3000), string.rep('a-', 10) .. 'b') do end",
                       SWING_ERR_LIMIT, "compute limit");
    tl_lua_expect_fail(vm, "return string.gsub(string.rep('a', 3000), string.rep('a-', 10) .. 'b', '')",
                       SWING_ERR_LIMIT, "compute limit");
    tl_lua_expect(vm, "return tostring(string.find(string.rep('a', 5000), 'ab', 1, true))", "nil");
    ls_lua_vm_close(vm);
}

/* Matching is charged by its steps: a longer subject costs more. */
static void test_pattern_steps_are_charged(void **state)
{
    ls_lua_vm *vm = tl_lua_vm(0, 0);
    uint64_t small, big;
    (void)state;
    tl_lua_expect(vm, "local s = string.rep('a', 1000) return tostring(s:find('[b]'))", "nil");
    small = ls_lua_vm_used(vm);
    tl_lua_expect(vm, "local s = string.rep('a', 100000) return tostring(s:find('[b]'))", "nil");
    big = ls_lua_vm_used(vm);
    assert_true(big > small + 100000);
    ls_lua_vm_close(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pattern_cases_match_lua),
        cmocka_unit_test(test_pattern_generated_match_lua),
        cmocka_unit_test(test_pattern_runaway_is_stopped),
        cmocka_unit_test(test_pattern_steps_are_charged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
