/*
 * marshal_test.c - smallcaps capdata <-> Lua values (liveslots/lua/marshal.c):
 * exact canonical bodies, round trips of every kind through a fake slot
 * table, argument lists with nil, slot dedup and per-body slot caching,
 * null and error objects (also with their globals replaced), every refusal
 * raised with a clear message, the nesting limit both ways, and decoding
 * that leaks nothing when it raises midway (the asan build checks leaks).
 */
#include "tests/lib/luarun.h"

#include <lauxlib.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "liveslots/lua/marshal.h"
#include "liveslots/lua/vm.h"

/* ===== a fake liveslots: references are tables {vref=..., iface=...} ===== */

typedef struct fake {
    ls_lua_slot_ops ops; /* ctx points back at this fake */
    int from_calls;      /* from_slot calls so far */
    int fail_from;       /* from_slot raises on this call number; 0 = never */
} fake;

static int fake_to_slot(lua_State *L, int idx, void *ctx, const char **vref, const char **iface)
{
    (void)ctx;
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE) return 0;
    lua_pushliteral(L, "boom");
    if (lua_rawget(L, idx) != LUA_TNIL) luaL_error(L, "to_slot exploded");
    lua_pushliteral(L, "vref");
    if (lua_rawget(L, idx) != LUA_TSTRING) {
        lua_pop(L, 2);
        return 0;
    }
    *vref = lua_tostring(L, -1); /* anchored by the table */
    lua_pushliteral(L, "iface");
    *iface = lua_rawget(L, idx) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 3);
    return 1;
}

static void fake_from_slot(lua_State *L, const char *vref, const char *iface, void *ctx)
{
    fake *f = ctx;
    if (++f->from_calls == f->fail_from) luaL_error(L, "from_slot exploded");
    lua_createtable(L, 0, 2);
    lua_pushstring(L, vref);
    lua_setfield(L, -2, "vref");
    if (iface) {
        lua_pushstring(L, iface);
        lua_setfield(L, -2, "iface");
    }
}

/* ===== Lua globals wrapping the marshal API (each checks its stack effect) ===== */

static fake *fake_of(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

static void check_top(lua_State *L, int want)
{
    if (lua_gettop(L) != want) luaL_error(L, "stack effect %d, expected %d", lua_gettop(L), want);
}

/* encode(v) -> body, slots */
static int l_encode(lua_State *L)
{
    lua_settop(L, 1);
    ls_lua_marshal_encode(L, -1, &fake_of(L)->ops);
    check_top(L, 3);
    return 2;
}

/* encode_plain(v): no slot ops */
static int l_encode_plain(lua_State *L)
{
    lua_settop(L, 1);
    ls_lua_marshal_encode(L, 1, NULL);
    check_top(L, 3);
    return 2;
}

/* encode_call(method or false, args...) -> body, slots */
static int l_encode_call(lua_State *L)
{
    int n;
    const char *m;
    luaL_checkany(L, 1);
    n = lua_gettop(L) - 1;
    m = lua_toboolean(L, 1) ? luaL_checkstring(L, 1) : NULL;
    ls_lua_marshal_encode_call(L, m, 2, n, &fake_of(L)->ops);
    check_top(L, n + 3);
    return 2;
}

/* The slot strings of the table at idx (anchored by it). */
static size_t get_slots(lua_State *L, int idx, const char **out, size_t cap)
{
    size_t i, n;
    if (lua_isnoneornil(L, idx)) return 0;
    luaL_checktype(L, idx, LUA_TTABLE);
    n = lua_rawlen(L, idx);
    if (n > cap) luaL_error(L, "too many slots for the test");
    for (i = 0; i < n; i++) {
        if (lua_rawgeti(L, idx, (lua_Integer)i + 1) != LUA_TSTRING) luaL_error(L, "slots must be strings");
        out[i] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    return n;
}

static int decode_with(lua_State *L, const ls_lua_slot_ops *ops)
{
    size_t len, n;
    const char *slots[16];
    const char *body = luaL_checklstring(L, 1, &len);
    lua_settop(L, 2);
    n = get_slots(L, 2, slots, 16);
    ls_lua_marshal_decode(L, body, len, slots, n, ops);
    check_top(L, 3);
    return 1;
}

/* decode(body [, slots]) -> value */
static int l_decode(lua_State *L) { return decode_with(L, &fake_of(L)->ops); }

/* decode_plain(body [, slots]): no slot ops */
static int l_decode_plain(lua_State *L) { return decode_with(L, NULL); }

/* decode_call(body [, slots]) -> method, args... */
static int l_decode_call(lua_State *L)
{
    size_t len, n;
    int nargs;
    const char *slots[16];
    const char *body = luaL_checklstring(L, 1, &len);
    lua_settop(L, 2);
    n = get_slots(L, 2, slots, 16);
    nargs = ls_lua_marshal_decode_call(L, body, len, slots, n, &fake_of(L)->ops);
    check_top(L, 2 + 1 + nargs);
    return nargs + 1;
}

static int l_newud(lua_State *L)
{
    lua_newuserdatauv(L, 8, 0);
    return 1;
}

static int l_is_error(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_pushboolean(L, ls_lua_marshal_is_error(L, 1));
    return 1;
}

/* c_error(message [, name]): ls_lua_marshal_push_error */
static int l_c_error(lua_State *L)
{
    ls_lua_marshal_push_error(L, luaL_checkstring(L, 1), luaL_optstring(L, 2, NULL));
    return 1;
}

static int l_from_calls(lua_State *L)
{
    lua_pushinteger(L, fake_of(L)->from_calls);
    return 1;
}

static int l_set_fail_from(lua_State *L)
{
    fake_of(L)->fail_from = (int)luaL_checkinteger(L, 1);
    return 0;
}

static int setup(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"encode", l_encode},         {"encode_plain", l_encode_plain}, {"encode_call", l_encode_call},
        {"decode", l_decode},         {"decode_plain", l_decode_plain}, {"decode_call", l_decode_call},
        {"newud", l_newud},           {"is_error", l_is_error},         {"c_error", l_c_error},
        {"from_calls", l_from_calls}, {"set_fail_from", l_set_fail_from}, {NULL, NULL}};
    fake *f = lua_touserdata(L, 1);
    ls_lua_marshal_install(L);
    lua_pushglobaltable(L);
    lua_pushlightuserdata(L, f);
    luaL_setfuncs(L, fns, 1);
    return 0;
}

/* Deep equality that tells integers from floats, -0.0 from 0.0, NaN = NaN,
 * and error objects from plain tables; and the round trip check. */
static const char prelude[] =
    "function same(a, b)\n"
    "  if type(a) ~= type(b) then return false end\n"
    "  if type(a) == 'number' then\n"
    "    if math.type(a) ~= math.type(b) then return false end\n"
    "    if a ~= a then return b ~= b end\n"
    "    if a == 0 and math.type(a) == 'float' then return b == 0 and 1/a == 1/b end\n"
    "    return a == b\n"
    "  end\n"
    "  if type(a) ~= 'table' then return rawequal(a, b) end\n"
    "  if is_error(a) ~= is_error(b) then return false end\n"
    "  for k, v in pairs(a) do if not same(v, rawget(b, k)) then return false end end\n"
    "  for k in pairs(b) do if rawget(a, k) == nil then return false end end\n"
    "  return true\n"
    "end\n"
    "function roundtrip(v)\n"
    "  local b, s = encode(v)\n"
    "  local v2 = decode(b, s)\n"
    "  assert(same(v, v2), 'changed by the round trip: ' .. b)\n"
    "  local b2, s2 = encode(v2)\n"
    "  assert(b2 == b, 'body not canonical: ' .. b .. ' then ' .. b2)\n"
    "  assert(#s2 == #s, 'slots changed: ' .. b)\n"
    "  for i = 1, #s do assert(s[i] == s2[i], 'slot changed: ' .. b) end\n"
    "  return b\n"
    "end\n";

typedef struct fx {
    ls_lua_vm *vm;
    fake f;
} fx;


static void fx_open(fx *x, size_t mem_cap)
{
    ls_lua_limits lim = {mem_cap, 0};
    lua_State *L;
    swing_err e;
    char out[16];
    memset(x, 0, sizeof *x);
    x->f.ops.to_slot = fake_to_slot;
    x->f.ops.from_slot = fake_from_slot;
    x->f.ops.ctx = &x->f;
    if (ls_lua_vm_open(&lim, &x->vm, &e)) fail_msg("open: %s", e.msg);
    L = ls_lua_vm_state(x->vm);
    lua_pushcfunction(L, setup);
    lua_pushlightuserdata(L, &x->f);
    if (ls_lua_vm_pcall(x->vm, 1, 0, &e)) fail_msg("setup: %s", e.msg);
    if (tl_lua_run(x->vm, prelude, out, sizeof out, &e)) fail_msg("prelude: %s", e.msg);
}


/* ===== tests ===== */

static void test_marshal_exact_bodies(void **state)
{
    static const char *const cases[][2] = {
        {"{b=1,a={1,2.5,'#x'}}", "#{\"a\":[1,2.5,\"!#x\"],\"b\":1}"},
        {"(1<<53)+1", "#\"+9007199254740993\""},
        {"1<<53", "#9007199254740992"},
        {"-(1<<53)", "#-9007199254740992"},
        {"-(1<<53)-1", "#\"-9007199254740993\""},
        {"math.maxinteger", "#\"+9223372036854775807\""},
        {"math.mininteger", "#\"-9223372036854775808\""},
        {"0", "#0"},
        {"-7", "#-7"},
        {"0.1", "#0.1"},
        {"2.0", "#2.0"},
        {"100.0", "#100.0"},
        {"-123.5", "#-123.5"},
        {"1e300", "#1e+300"},
        {"1e16", "#10000000000000000.0"},
        {"1e20", "#100000000000000000000.0"},
        {"1e21", "#1e+21"},
        {"2^63", "#9223372036854776000.0"},
        {"123456.789", "#123456.789"},
        {"1.5e-6", "#0.0000015"},
        {"1e-7", "#1e-7"},
        {"-1.25e-300", "#-1.25e-300"},
        {"1.7976931348623157e308", "#1.7976931348623157e+308"},
        {"2^53", "#9007199254740992.0"},
        {"1/3", "#0.3333333333333333"},
        {"5e-324", "#5e-324"},
        {"0.0", "#0.0"},
        {"-0.0", "#-0.0"},
        {"0/0", "#\"#NaN\""},
        {"1/0", "#\"#Infinity\""},
        {"-1/0", "#\"#-Infinity\""},
        {"nil", "#\"#undefined\""},
        {"true", "#true"},
        {"false", "#false"},
        {"null", "#null"},
        {"''", "#\"\""},
        {"'hello'", "#\"hello\""},
        {"'!'", "#\"!!\""},
        {"'-x'", "#\"!-x\""},
        {"'+1'", "#\"!+1\""},
        {"'$0'", "#\"!$0\""},
        {"'.x'", "#\".x\""},
        {"' #'", "#\" #\""},
        {"'a\\\"b\\\\c\\n\\r\\t\\b\\f\\1\\31\\127/'", "#\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\x7f/\""},
        {"'a\\0b'", "#\"a\\u0000b\""},
        {"'caf\\u{E9} \\u{1F600}'", "#\"caf\xc3\xa9 \xf0\x9f\x98\x80\""},
        {"{}", "#[]"},
        {"{{}}", "#[[]]"},
        {"{[1]=1,[2]=2}", "#[1,2]"},
        {"{1,{2,{3}}}", "#[1,[2,[3]]]"},
        {"{['!a']=1,['#b']=2,c=3}", "#{\"!!a\":1,\"!#b\":2,\"c\":3}"},
        {"{B=1,a=2,aa=3,['\\u{E9}']=4,['']=5}", "#{\"\":5,\"B\":1,\"a\":2,\"aa\":3,\"\xc3\xa9\":4}"},
        {"{x=1.5,y={true,false,null}}", "#{\"x\":1.5,\"y\":[true,false,null]}"},
        {"makeError('boom')", "#{\"#error\":\"boom\",\"name\":\"Error\"}"},
        {"makeError('#x','TypeError')", "#{\"#error\":\"!#x\",\"name\":\"TypeError\"}"},
        {"{message='m',name='n'}", "#{\"message\":\"m\",\"name\":\"n\"}"},
        {"setmetatable({1,2},{__index=function() return 9 end})", "#[1,2]"},
        {"(function() local x = {1} return {x, x} end)()", "#[[1],[1]]"},
    };
    fx x;
    (void)state;
    fx_open(&x, 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char src[512];
        snprintf(src, sizeof src, "return (encode(%s))", cases[i][0]);
        tl_lua_expect(x.vm, src, cases[i][1]);
    }
    ls_lua_vm_close(x.vm);
}

static void test_marshal_slot_dedup_and_promises(void **state)
{
    static const char *const cases[][2] = {
        {"{{vref='o-4',iface='Alleged: x'},{vref='o-4',iface='Alleged: x'}}", "#[\"$0.Alleged: x\",\"$0\"] o-4"},
        {"{a={vref='p+3'},b={vref='o+1',iface='Alleged: b'},c={vref='p+3'}}",
         "#{\"a\":\"&0\",\"b\":\"$1.Alleged: b\",\"c\":\"&0\"} p+3,o+1"},
        {"{vref='p-1'}", "#\"&0\" p-1"},
        {"{vref='p-1',iface='ignored'}", "#\"&0\" p-1"},
        {"{vref='o+2'}", "#\"$0\" o+2"},
        {"{vref='d+1',iface='Device'}", "#\"$0.Device\" d+1"},
        {"{vref='o-1',iface='Alleged: \"q\"'}", "#\"$0.Alleged: \\\"q\\\"\" o-1"},
        {"{1,{vref='o-5',iface='A'},{vref='o-6',iface='B'},{vref='o-5',iface='A'},{vref='p-7'}}",
         "#[1,\"$0.A\",\"$1.B\",\"$0\",\"&2\"] o-5,o-6,p-7"},
        {"{e=makeError('x'),r={vref='o-1',iface='I'}}", "#{\"e\":{\"#error\":\"x\",\"name\":\"Error\"},\"r\":\"$0.I\"} o-1"},
        {"'$0'", "#\"!$0\" "},
    };
    fx x;
    (void)state;
    fx_open(&x, 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char src[512];
        snprintf(src, sizeof src, "local b, s = encode(%s) return b .. ' ' .. table.concat(s, ',')", cases[i][0]);
        tl_lua_expect(x.vm, src, cases[i][1]);
    }
    /* Without slot ops a table with a vref is just a record. */
    tl_lua_expect(x.vm, "return (encode_plain({vref='o-1'}))", "#{\"vref\":\"o-1\"}");
    ls_lua_vm_close(x.vm);
}

static void test_marshal_round_trips(void **state)
{
    static const char *const values[] = {
        "nil", "true", "false", "null", "0", "1", "-1", "1<<53", "(1<<53)+1", "-(1<<53)-1",
        "math.maxinteger", "math.mininteger", "0.0", "-0.0", "0.1", "2.0", "1e300", "-1e-300", "5e-324",
        "1/3", "0/0", "1/0", "-1/0", "math.pi", "2^53", "2^63", "1.7976931348623157e308",
        "''", "'x'", "'!'", "'!!x'", "'#undefined'", "'#NaN'", "'$0'", "'&1'", "'+5'", "'-5'", "'%sym'",
        "','", "'-'", "'\"q\"'", "'a\\0b'", "'tab\\tnl\\n\\1\\127'", "'\\u{E9}\\u{10FFFF}'",
        "{}", "{1,2,3}", "{{},{{}}}", "{a=1}", "{['']=0,['!']=1,['#x']=2,['$']={1},['\\u{E9}']=3}",
        "{x={y={z={1.5,'w',{true}}}}}", "makeError('m')", "makeError('!m','#N')", "{err=makeError('inner')}",
        "c_error('from C')", "{vref='o-1',iface='Alleged: a'}", "{vref='o-7'}", "{vref='p+2'}",
        "(function() local r = {vref='o-1',iface='I'} return {r,{vref='p+2'},r,{k=r}} end)()",
        "{null,{a=null}}", "{1.0,2,3.5}",
    };
    fx x;
    (void)state;
    fx_open(&x, 0);
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        char src[512], out[1024];
        swing_err e;
        snprintf(src, sizeof src, "return roundtrip(%s)", values[i]);
        if (tl_lua_run(x.vm, src, out, sizeof out, &e)) fail_msg("%s: %s", values[i], e.msg);
    }
    ls_lua_vm_close(x.vm);
}

/* Encodes and decodes d through the C API with no slot ops; the result must
 * be a float with the same bits (so integral floats keep their ".0"). */
static void float_trip(lua_State *L, double d)
{
    size_t len;
    const char *body;
    double back;
    int top = lua_gettop(L);
    lua_pushnumber(L, d);
    ls_lua_marshal_encode(L, -1, NULL);
    if (lua_gettop(L) != top + 3 || lua_rawlen(L, -1) != 0) luaL_error(L, "encode stack effect");
    body = lua_tolstring(L, -2, &len);
    ls_lua_marshal_decode(L, body, len, NULL, 0, NULL);
    if (lua_gettop(L) != top + 4) luaL_error(L, "decode stack effect");
    back = lua_tonumber(L, -1);
    if (lua_isinteger(L, -1) || memcmp(&back, &d, sizeof d) != 0) luaL_error(L, "%s did not round-trip", body);
    lua_settop(L, top);
}

static int float_sweep(lua_State *L)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    int i;
    for (i = 0; i < 20000; i++) { /* xorshift64: bit patterns of every exponent */
        double d;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(&d, &x, sizeof d);
        if (!isnan(d)) float_trip(L, d);
    }
    for (i = -2000; i <= 2000; i++) {
        float_trip(L, i / 10.0);
        float_trip(L, i * 0.01);
        float_trip(L, (double)i);
    }
    for (i = -330; i <= 310; i++) float_trip(L, pow(10.0, i));
    for (i = -1074; i <= 1023; i++) float_trip(L, ldexp(1.0, i));
    float_trip(L, 1.7976931348623157e308);
    float_trip(L, -0.0);
    return 0;
}

static void test_marshal_floats_round_trip_bit_exact(void **state)
{
    fx x;
    swing_err e;
    lua_State *L;
    (void)state;
    fx_open(&x, 0);
    L = ls_lua_vm_state(x.vm);
    ls_lua_vm_begin(x.vm, 0);
    lua_pushcfunction(L, float_sweep);
    if (ls_lua_vm_pcall(x.vm, 0, 0, &e)) fail_msg("%s", e.msg);
    ls_lua_vm_close(x.vm);
}

static void test_marshal_decode_values(void **state)
{
    fx x;
    (void)state;
    fx_open(&x, 0);
    tl_lua_expect(x.vm, "return math.type(decode('#2.0')) .. math.type(decode('#2')) .. math.type(decode('#2e0'))",
           "floatintegerfloat");
    tl_lua_expect(x.vm, "return tostring(decode('#\"-9223372036854775808\"') == math.mininteger)", "true");
    tl_lua_expect(x.vm, "return tostring(decode('#\"+007\"'))", "7");
    tl_lua_expect(x.vm, "return tostring(decode('#9007199254740993'))", "9007199254740993");
    tl_lua_expect(x.vm, "return tostring(decode('#\"#undefined\"'))", "nil");
    tl_lua_expect(x.vm, "local v = decode('#\"#NaN\"') return tostring(v ~= v)", "true");
    tl_lua_expect(x.vm, "return tostring(1/decode('#-0.0'))", "-inf");
    tl_lua_expect(x.vm, "local t = decode('#{\"!!a\":1,\"!#b\":2,\"c\":\"!$x\"}') return t['!a'] .. t['#b'] .. t.c", "12$x");
    /* undefined leaves a record key out (Lua tables cannot hold nil) */
    tl_lua_expect(x.vm, "local t = decode('#{\"a\":\"#undefined\",\"b\":1}') return tostring(t.a) .. next(t)", "nilb");
    tl_lua_expect(x.vm, "return tostring(decode('#[null]')[1] == null)", "true");
    tl_lua_expect(x.vm, "return decode('#\"a\\\\u0000b\"')", "a"); /* the C side of out stops at the NUL */
    tl_lua_expect(x.vm, "return tostring(#decode('#\"a\\\\u0000b\"'))", "3");
    tl_lua_expect(x.vm,
           "local d = decode('#{\"#error\":\"!#x\",\"errorId\":\"error:liveSlots:v1#70001\",\"name\":\"RangeError\"}')\n"
           "return tostring(is_error(d)) .. ' ' .. tostring(d)",
           "true RangeError: #x");
    ls_lua_vm_close(x.vm);
}

/* A body that is one plain string or small integer takes cdtext.c's short
 * path; each must give what the same value gives inside an array (the
 * tree path), and what the tree path refuses stays refused. */
static void test_marshal_scalar_bodies_match_the_tree_path(void **state)
{
    static const char *const same_as_tree[] = {
        "\"abc\"", "\"\"", "\"\u00e9t\u00e9\"", "\"\u00e9\"", "\"!!x\"", "\"a b\"", "0", "-0", "7", "-42",
        "123456789012345", "-123456789012345", "1234567890123456", "2.5", "1e3", "\"+12\"", "\"~\"",
    };
    static const char *const refused[] = {"007", "-", "\"a\tb\"", "\"\\xff\"", "\"abc", "12a"};
    fx x;
    char src[256];
    (void)state;
    fx_open(&x, 0);
    for (size_t i = 0; i < sizeof same_as_tree / sizeof *same_as_tree; i++) {
        snprintf(src, sizeof src,
                 "local a, b = decode('#[%s]')[1], decode('#%s')\n"
                 "return tostring(a == b and math.type(a) == math.type(b))",
                 same_as_tree[i], same_as_tree[i]);
        tl_lua_expect(x.vm, src, "true");
    }
    tl_lua_expect(x.vm, "return decode('#\"\u00e9\"')", "\xc3\xa9");
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        snprintf(src, sizeof src, "return tostring(pcall(decode, '#%s'))", refused[i]);
        tl_lua_expect(x.vm, src, "false");
    }
    ls_lua_vm_close(x.vm);
}

static void test_marshal_call_with_nil_arguments(void **state)
{
    static const char *const cases[][2] = {
        {"'foo', 1, nil, '+2', {vref='o-4', iface='Alleged: x'}",
         "#[\"foo\",[1,\"#undefined\",\"!+2\",\"$0.Alleged: x\"]] o-4"},
        {"false, nil, 1", "#[\"#undefined\",1] "},
        {"false", "#[] "},
        {"'#m'", "#[\"!#m\",[]] "},
        {"'f', nil", "#[\"f\",[\"#undefined\"]] "},
        {"'f', nil, nil", "#[\"f\",[\"#undefined\",\"#undefined\"]] "},
        {"'f', {vref='p-1'}, {vref='p-1'}", "#[\"f\",[\"&0\",\"&0\"]] p-1"},
    };
    fx x;
    (void)state;
    fx_open(&x, 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char src[512];
        snprintf(src, sizeof src, "local b, s = encode_call(%s) return b .. ' ' .. table.concat(s, ',')",
                 cases[i][0]);
        tl_lua_expect(x.vm, src, cases[i][1]);
    }
    tl_lua_expect(x.vm,
           "local m, a, b, c = decode_call('#[\"foo\",[1,\"#undefined\",3]]')\n"
           "local n = select('#', decode_call('#[\"foo\",[1,\"#undefined\",3]]'))\n"
           "return m .. a .. tostring(b) .. c .. n",
           "foo1nil34");
    tl_lua_expect(x.vm, "return tostring(select('#', decode_call('#[\"#undefined\",[]]'))) .. tostring(decode_call('#[\"#undefined\",[]]'))",
           "1nil");
    tl_lua_expect(x.vm, "local m, v = decode_call('#[\"!#m\",[null]]') return m .. tostring(v == null)", "#mtrue");
    tl_lua_expect(x.vm,
           "local b, s = encode_call('go', nil, 2, nil, {vref='o-9', iface='I'})\n"
           "local r = table.pack(decode_call(b, s))\n"
           "return r.n .. r[1] .. tostring(r[2]) .. r[3] .. tostring(r[4]) .. r[5].vref .. r[5].iface",
           "5gonil2nilo-9I");
    ls_lua_vm_close(x.vm);
}

static void test_marshal_slot_values_are_cached_per_body(void **state)
{
    fx x;
    (void)state;
    fx_open(&x, 0);
    tl_lua_expect(x.vm,
           "local before = from_calls()\n"
           "local v = decode('#[\"$0.A\",\"$0\",\"&1\",\"&1\",{\"k\":\"$0.B\"}]', {'o-1','p-2'})\n"
           "assert(from_calls() - before == 2, 'from_slot calls: ' .. (from_calls() - before))\n"
           "assert(v[1] == v[2] and v[3] == v[4] and v[5].k == v[1])\n"
           "assert(v[1].vref == 'o-1' and v[1].iface == 'A' and v[3].vref == 'p-2' and v[3].iface == nil)\n"
           "local w = decode('#\"$0\"', {'o-1'})\n"
           "assert(w ~= v[1] and w.iface == nil)\n"
           "return 'ok'",
           "ok");
    ls_lua_vm_close(x.vm);
}

static void test_marshal_null_and_errors(void **state)
{
    fx x;
    (void)state;
    fx_open(&x, 0);
    tl_lua_expect(x.vm,
           "assert(tostring(null) == 'null' and type(null) == 'userdata')\n"
           "assert(getmetatable(null) == false)\n"
           "local e = makeError('boom', 'TypeError')\n"
           "assert(tostring(e) == 'TypeError: boom' and e.message == 'boom' and e.name == 'TypeError')\n"
           "assert(getmetatable(e) == 'Error')\n"
           "assert(not pcall(setmetatable, e, {}))\n"
           "assert(tostring(makeError('m')) == 'Error: m')\n"
           "assert(is_error(e) and not is_error({message='boom', name='TypeError'}))\n"
           "assert(not is_error(null) and not is_error(1) and not is_error(setmetatable({}, {})))\n"
           "local c = c_error('from C')\n"
           "assert(is_error(c) and c.name == 'Error' and c.message == 'from C')\n"
           "assert(not pcall(makeError))\n"
           "return 'ok'",
           "ok");
    /* The marshal works from the registry even after vat code replaced the globals. */
    tl_lua_expect(x.vm,
           "local realnull, mk = null, makeError\n"
           "null = 1 makeError = nil\n"
           "assert(decode('#null') == realnull)\n"
           "assert(is_error(decode('#{\"#error\":\"y\",\"name\":\"Error\"}')))\n"
           "return (encode({realnull, mk('x')}))",
           "#[null,{\"#error\":\"x\",\"name\":\"Error\"}]");
    ls_lua_vm_close(x.vm);
}

static void test_marshal_encode_refusals(void **state)
{
    static const char *const cases[][2] = {
        {"encode(function() end)", "not passable: function"},
        {"encode({1, {a=print or function() end}})", "not passable: function"},
        {"encode(coroutine.create(function() end))", "not passable: thread"},
        {"encode(newud())", "not passable: userdata"},
        {"local t = {} t[1] = t encode(t)", "not passable: cyclic data"},
        {"local t = {a={}} t.a.b = t encode(t)", "not passable: cyclic data"},
        {"encode({1, a=2})", "not passable: table keys must be 1..n or all strings"},
        {"encode({[2]=1})", "not passable: table keys"},
        {"encode({[0]=1, 2})", "not passable: table keys"},
        {"encode({1, 2, nil, 4})", "not passable: table keys"},
        {"encode({[1.5]=1})", "not passable: table keys"},
        {"encode({[true]=1})", "not passable: table keys"},
        {"encode({[{}]=1})", "not passable: table keys"},
        {"encode('\\xff')", "not passable: string is not valid UTF-8"},
        {"encode('ok\\xc0\\x80')", "not passable: string is not valid UTF-8"},
        {"encode('\\xed\\xa0\\x80')", "not passable: string is not valid UTF-8"},
        {"encode('\\xe2\\x82')", "not passable: string is not valid UTF-8"},
        {"encode('\\xf4\\x90\\x80\\x80')", "not passable: string is not valid UTF-8"},
        {"encode({['\\xff']=1})", "not passable: string is not valid UTF-8"},
        {"encode({vref='o-1', iface='\\xff'})", "not passable: string is not valid UTF-8"},
        {"encode_call('\\xff')", "not passable: string is not valid UTF-8"},
        {"encode_call('m', 1, '\\xff')", "not passable: string is not valid UTF-8"},
        {"encode(makeError('\\xff'))", "not passable: string is not valid UTF-8"},
        {"local e = makeError('x') e.message = 5 encode(e)", "not passable: error message is not a string"},
        {"local e = makeError('x') e.name = nil encode(e)", "not passable: error name is not a string"},
        {"encode({['a\\0b']=1})", "not passable: record key contains a NUL byte"},
        {"encode({vref='x-1'})", "not passable: to_slot gave a bad vref"},
        {"encode({{vref='o-1', boom=true}})", "to_slot exploded"},
    };
    fx x;
    (void)state;
    fx_open(&x, 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        tl_lua_expect_fail(x.vm, cases[i][0], SWING_ERR_USER, cases[i][1]);
    /* Refused values leave the state usable. */
    tl_lua_expect(x.vm, "return (encode({1}))", "#[1]");
    ls_lua_vm_close(x.vm);
}

static void test_marshal_decode_refusals(void **state)
{
    static const char *const cases[][2] = {
        {"#[1,", "malformed capdata"},
        {"#\"$5\"", "malformed capdata: slot index out of range"},
        {"#\"$1\"", "malformed capdata: slot index out of range"},
        {"#\"&99999999999999999999999\"", "malformed capdata: slot index out of range"},
        {"#\"%x\"", "malformed capdata: passable symbols are not supported"},
        {"x", "malformed capdata: body does not start with '#'"},
        {"", "malformed capdata: body does not start with '#'"},
        {"{\"@qclass\":\"undefined\"}", "malformed capdata: body does not start with '#'"},
        {"#", "malformed capdata"},
        {"#1 2", "malformed capdata"},
        {"#NaN", "malformed capdata"},
        {"#1e400", "malformed capdata"},
        {"#\"\\ud800\"", "malformed capdata"},
        {"#\"\xff\"", "malformed capdata"},
        {"#\"#foo\"", "malformed capdata: unknown '#' constant"},
        {"#\"+\"", "malformed capdata: bigint without digits"},
        {"#\"-\"", "malformed capdata: bigint without digits"},
        {"#\"+12a\"", "malformed capdata: bigint with a non-digit"},
        {"#\"+9223372036854775808\"", "malformed capdata: bigint out of the 64-bit integer range"},
        {"#\"-9223372036854775809\"", "malformed capdata: bigint out of the 64-bit integer range"},
        {"#[1,\"#undefined\"]", "malformed capdata: undefined inside an array"},
        {"#{\"#tag\":\"x\",\"payload\":1}", "malformed capdata: tagged values are not supported"},
        {"#{\"#error\":1,\"name\":\"Error\"}", "malformed capdata: error properties must be strings"},
        {"#{\"#error\":\"m\"}", "malformed capdata: error without a name"},
        {"#{\"#error\":\"m\",\"name\":\"E\",\"stack\":\"s\"}", "malformed capdata: unexpected property in an error"},
        {"#{\"#error\":\"$0\",\"name\":\"E\"}", "malformed capdata: error message is not a string"},
        {"#{\"$a\":1}", "malformed capdata: record key is not a string"},
        {"#{\"#x\":1}", "malformed capdata: record key is not a string"},
        {"#{\"!a\":1,\"a\":2}", "malformed capdata: duplicate record key"},
        {"#{\"a\":1,\"a\":2}", "malformed capdata"},
        {"#\"&0.x\"", "malformed capdata: bad slot reference"},
        {"#\"$0x\"", "malformed capdata: bad slot reference"},
        {"#\"$x\"", "malformed capdata: slot reference without an index"},
        {"#\"$\"", "malformed capdata: slot reference without an index"},
        {"#\"'q\"", "malformed capdata: string starts with a reserved character"},
        {"#\"(q\"", "malformed capdata: string starts with a reserved character"},
    };
    static const char *const calls[][2] = {
        {"#[1,[]]", "malformed capdata: methargs must be [method, [args...]]"},
        {"#[\"a\"]", "malformed capdata: methargs must be"},
        {"#[\"a\",{}]", "malformed capdata: methargs must be"},
        {"#{\"a\":1}", "malformed capdata: methargs must be"},
        {"#[\"a\",[],1]", "malformed capdata: methargs must be"},
        {"#[\"$0\",[]]", "malformed capdata: method name is not a string"},
        {"#[\"a\",[[\"#undefined\"]]]", "malformed capdata: undefined inside an array"},
    };
    fx x;
    char src[512];
    (void)state;
    fx_open(&x, 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(src, sizeof src, "return decode([==[%s]==], {'o-1'})", cases[i][0]);
        tl_lua_expect_fail(x.vm, src, SWING_ERR_USER, cases[i][1]);
    }
    for (size_t i = 0; i < sizeof calls / sizeof *calls; i++) {
        snprintf(src, sizeof src, "return decode_call([==[%s]==], {'o-1'})", calls[i][0]);
        tl_lua_expect_fail(x.vm, src, SWING_ERR_USER, calls[i][1]);
    }
    tl_lua_expect_fail(x.vm, "return decode_plain('#\"$0\"', {'o-1'})", SWING_ERR_USER,
                "malformed capdata: a slot reference where none is allowed");
    tl_lua_expect(x.vm, "return (decode_plain('#\"!$0\"'))", "$0");
    ls_lua_vm_close(x.vm);
}

/* Encoding and decoding are priced per value (and record keys by their
 * sort): a big structure costs in proportion to its size, not one call. */
static void test_marshal_is_priced_by_size(void **state)
{
    fx x;
    uint64_t small, big;
    (void)state;
    fx_open(&x, 0);
    tl_lua_expect(x.vm, "local t = {} for i = 1, 10 do t['k' .. i] = {i} end return (decode(encode(t))).k1[1] .. ''",
                  "1");
    small = ls_lua_vm_used(x.vm);
    tl_lua_expect(x.vm,
                  "local t = {} for i = 1, 50000 do t['k' .. i] = {i} end return (decode(encode(t))).k1[1] .. ''",
                  "1");
    big = ls_lua_vm_used(x.vm);
    /* per key: building the table (about 10), encoding two values and a
     * share of the sort, decoding two values */
    assert_true(big > small + 50000 * (10 + 4 + 4 + 16));
    ls_lua_vm_close(x.vm);
}

static void test_marshal_nesting_limit(void **state)
{
    fx x;
    (void)state;
    fx_open(&x, 0);
    /* 64 nested tables pass both ways; 65 are refused both ways. */
    tl_lua_expect(x.vm,
           "local t = 1 for i = 1, 64 do t = {t} end\n"
           "local b = encode(t) local v = decode(b)\n"
           "for i = 1, 64 do v = v[1] end return tostring(v)",
           "1");
    tl_lua_expect(x.vm,
           "local t = {} for i = 1, 63 do t = {a=t} end\n"
           "return (encode(decode(encode(t)))):sub(1, 12)",
           "#{\"a\":{\"a\":{");
    tl_lua_expect_fail(x.vm, "local t = 1 for i = 1, 65 do t = {t} end encode(t)", SWING_ERR_USER,
                "not passable: nesting deeper than 64");
    tl_lua_expect_fail(x.vm, "local t = {} for i = 1, 64 do t = {a=t} end encode_call('m', t)", SWING_ERR_USER,
                "not passable: nesting deeper than 64");
    tl_lua_expect(x.vm, "return (decode('#' .. ('['):rep(64) .. (']'):rep(64)) and 'ok')", "ok");
    tl_lua_expect_fail(x.vm, "decode('#' .. ('['):rep(65) .. (']'):rep(65))", SWING_ERR_USER,
                "malformed capdata: nesting deeper than 64");
    tl_lua_expect_fail(x.vm, "decode('#' .. ('['):rep(100) .. (']'):rep(100))", SWING_ERR_USER,
                "malformed capdata: nesting deeper than 64");
    tl_lua_expect_fail(x.vm, "decode('#' .. ('{\"a\":'):rep(100) .. '1' .. ('}'):rep(100))", SWING_ERR_USER,
                "malformed capdata: nesting deeper than 64");
    tl_lua_expect_fail(x.vm, "decode_call('#[\"m\",[' .. ('['):rep(65) .. (']'):rep(65) .. ']]')", SWING_ERR_USER,
                "malformed capdata: nesting deeper than 64");
    ls_lua_vm_close(x.vm);
}

static void test_marshal_decode_never_leaks(void **state)
{
    fx x, small;
    (void)state;
    fx_open(&x, 0);
    /* Raises after much of the tree has been converted; the asan build's
     * leak check proves every json_t was freed. */
    tl_lua_expect(x.vm,
           "for i = 1, 20 do\n"
           "  local ok, err = pcall(decode, '#[' .. string.rep('{\"a\":[1,2,\"x\"]},', 200) .. '\"%x\"]')\n"
           "  assert(not ok and err:find('passable symbols'), err)\n"
           "  ok, err = pcall(decode_call, '#[\"m\",[' .. string.rep('[1],', 200) .. '[1,\"#undefined\"]]]')\n"
           "  assert(not ok and err:find('undefined inside an array'), err)\n"
           "  ok, err = pcall(decode, '#[' .. string.rep('{\"a\":[1,2,\"x\"]},', 200) .. '\"$9\"]', {'o-1'})\n"
           "  assert(not ok and err:find('out of range'), err)\n"
           "end\n"
           "set_fail_from(from_calls() + 3)\n"
           "local ok, err = pcall(decode, '#[[1],{\"b\":\"$0.A\"},\"$1\",[\"$2\"]]', {'o-1', 'o-2', 'o-3'})\n"
           "assert(not ok and err:find('from_slot exploded'), err)\n"
           "set_fail_from(0)\n"
           "return 'ok'",
           "ok");
    /* Running out of Lua memory midway is a memory limit, and leaks nothing.
     * One C call builds the whole tree, with no meter check inside it, so
     * the tree (~20 MB) is sized to hit the allocator's hard ceiling. */
    fx_open(&small, 2u << 20);
    tl_lua_expect_fail(small.vm, "local body = '#[' .. string.rep('[1],', 200000) .. '[1]]' decode(body)", SWING_ERR_LIMIT,
                "memory limit");
    ls_lua_vm_close(small.vm);
    ls_lua_vm_close(x.vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marshal_exact_bodies),
        cmocka_unit_test(test_marshal_slot_dedup_and_promises),
        cmocka_unit_test(test_marshal_round_trips),
        cmocka_unit_test(test_marshal_floats_round_trip_bit_exact),
        cmocka_unit_test(test_marshal_decode_values),
        cmocka_unit_test(test_marshal_scalar_bodies_match_the_tree_path),
        cmocka_unit_test(test_marshal_call_with_nil_arguments),
        cmocka_unit_test(test_marshal_slot_values_are_cached_per_body),
        cmocka_unit_test(test_marshal_null_and_errors),
        cmocka_unit_test(test_marshal_encode_refusals),
        cmocka_unit_test(test_marshal_decode_refusals),
        cmocka_unit_test(test_marshal_nesting_limit),
        cmocka_unit_test(test_marshal_is_priced_by_size),
        cmocka_unit_test(test_marshal_decode_never_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
