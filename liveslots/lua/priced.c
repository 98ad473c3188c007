/*
 * priced.c - prices for the C library functions whose work grows with their
 * arguments (string.rep, string.format, table.concat, table.sort, ...).
 * Lua counts only VM instructions, and one call of such a function is one
 * instruction however long it runs; so each is wrapped by a closure that
 * works out its price from the arguments, charges it, and raises the limit
 * error before any of the work is done when the budget cannot pay.
 *
 * Prices are in computrons (one computron is about one VM instruction);
 * the per-byte and per-element rates below were set from the adversarial
 * metering benchmark (tests/bench/metering_bench.c), so that no call costs
 * much more time per computron than ordinary vat code.
 */
#include "liveslots/lua/priced.h"

#include <lauxlib.h>
#include <stdint.h>
#include <string.h>

#include "liveslots/lua/vm.h"

#define PRICE_HUGE (UINT64_MAX / 4) /* more than any budget */

typedef enum price_kind {
    P_REP, P_CASE, P_BYTE, P_CHAR, P_PACK, P_CONCAT, P_MOVE, P_UNPACK, P_INSERT,
    P_REMOVE, P_SORT, P_UTF8_SCAN, P_UTF8_RANGE
} price_kind;

static uint64_t len_of(lua_State *L, int idx)
{
    size_t n = 0;
    if (lua_type(L, idx) == LUA_TSTRING) lua_tolstring(L, idx, &n);
    return n;
}

/* Elements in the integer range i..j (0 when empty), saturating. */
static uint64_t span(lua_Integer i, lua_Integer j)
{
    if (j < i) return 0;
    if (i < 0 && j > INT64_MAX + i) return PRICE_HUGE;
    return (uint64_t)(j - i) + 1;
}

/* The border #t without metamethods beyond __len (as the library sees it). */
static lua_Integer length_of(lua_State *L, int idx)
{
    lua_Integer n;
    if (lua_type(L, idx) != LUA_TTABLE) return 0;
    lua_len(L, idx);
    n = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
    lua_pop(L, 1);
    return n;
}

static uint64_t price_rep(lua_State *L)
{
    uint64_t l = len_of(L, 1), sep = len_of(L, 3);
    lua_Integer n = luaL_optinteger(L, 2, 0);
    if (n <= 0) return 1;
    if (l + sep > 0 && (uint64_t)n > PRICE_HUGE / (l + sep)) return PRICE_HUGE;
    return 1 + (uint64_t)n / 16 + ((uint64_t)n * (l + sep)) / 32;
}

/* Sum of the arguments' lengths (strings), %q may quadruple one. */
static uint64_t price_format(lua_State *L)
{
    uint64_t p = 1 + len_of(L, 1) / 4;
    for (int i = 2, top = lua_gettop(L); i <= top; i++) p += 4 + len_of(L, i) / 4;
    return p;
}

/* The sizes written into a pack format ("c1000", "i16", "s4"): what may be
 * produced or read beyond the arguments. */
static uint64_t format_sizes(lua_State *L, int idx)
{
    size_t n;
    const char *f = lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, &n) : NULL;
    uint64_t total = 0, cur = 0;
    if (!f) return 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && f[i] >= '0' && f[i] <= '9') {
            if (cur < PRICE_HUGE / 10) cur = cur * 10 + (uint64_t)(f[i] - '0');
            continue;
        }
        total += cur;
        cur = 0;
    }
    return total;
}

static uint64_t price_concat(lua_State *L)
{
    lua_Integer i = luaL_optinteger(L, 3, 1), j;
    uint64_t n, bytes = 0;
    if (lua_type(L, 1) != LUA_TTABLE) return 1;
    j = lua_isnoneornil(L, 4) ? length_of(L, 1) : luaL_checkinteger(L, 4);
    n = span(i, j);
    ls_lua_vm_spend(L, 1 + n); /* before the scan below */
    for (lua_Integer k = i; n && k <= j; k++) {
        lua_geti(L, 1, k);
        bytes += len_of(L, -1);
        lua_pop(L, 1);
        if (k == j) break;
    }
    return (bytes + (n ? n - 1 : 0) * len_of(L, 2)) / 16;
}

static uint64_t price_sort(lua_State *L)
{
    uint64_t n = (uint64_t)(length_of(L, 1) > 0 ? length_of(L, 1) : 0), log = 1;
    while (log < 64 && ((uint64_t)1 << log) < n) log++;
    if (n > PRICE_HUGE / (2 * log)) return PRICE_HUGE;
    return 1 + 2 * n * log;
}

static uint64_t price_of(lua_State *L, price_kind kind)
{
    int top = lua_gettop(L);
    switch (kind) {
    case P_REP: return price_rep(L);
    case P_CASE: return 1 + len_of(L, 1) / 8;
    case P_BYTE: {
        lua_Integer i = luaL_optinteger(L, 2, 1);
        return 1 + span(i, luaL_optinteger(L, 3, i)) / 4;
    }
    case P_CHAR: return 1 + (uint64_t)top / 4;
    case P_PACK: {
        uint64_t p = 1 + len_of(L, 1) + format_sizes(L, 1) / 16;
        for (int i = 2; i <= top; i++) p += len_of(L, i) / 16;
        return p;
    }
    case P_CONCAT: return price_concat(L);
    case P_MOVE: return 1 + span(luaL_checkinteger(L, 2), luaL_checkinteger(L, 3));
    case P_UNPACK: {
        lua_Integer i = luaL_optinteger(L, 2, 1);
        lua_Integer j = lua_isnoneornil(L, 3) ? length_of(L, 1) : luaL_checkinteger(L, 3);
        return 1 + span(i, j);
    }
    case P_INSERT:
        return top >= 3 ? 1 + span(luaL_checkinteger(L, 2), length_of(L, 1) + 1) : 1;
    case P_REMOVE:
        return top >= 2 ? 1 + span(luaL_checkinteger(L, 2), length_of(L, 1)) : 1;
    case P_SORT: return price_sort(L);
    case P_UTF8_SCAN: return 1 + len_of(L, 1) / 8;
    case P_UTF8_RANGE: {
        lua_Integer i = luaL_optinteger(L, 2, 1);
        return 1 + span(i, luaL_optinteger(L, 3, i)) + len_of(L, 1) / 16;
    }
    }
    return 1;
}

/* upvalues: 1 = the library's function, 2 = its price kind. The library's
 * C function runs in this call's frame, so its errors name the function
 * and the caller's line as Lua's own do (none of them uses upvalues). */
static int priced_call(lua_State *L)
{
    lua_CFunction f = lua_tocfunction(L, lua_upvalueindex(1));
    ls_lua_vm_spend(L, price_of(L, (price_kind)lua_tointeger(L, lua_upvalueindex(2))));
    return f(L);
}

uint64_t ls_lua_priced_format(lua_State *L) { return price_format(L); }

static void price(lua_State *L, int lib, const char *name, price_kind kind)
{
    int top = lua_gettop(L);
    lib = lua_absindex(L, lib);
    /* only a plain C function may run in the wrapper's frame */
    if (lua_getfield(L, lib, name) != LUA_TFUNCTION || !lua_tocfunction(L, -1) || lua_getupvalue(L, -1, 1)) {
        lua_settop(L, top);
        return;
    }
    lua_pushinteger(L, kind);
    lua_pushcclosure(L, priced_call, 2);
    lua_setfield(L, lib, name);
}

void ls_lua_priced_install(lua_State *L, int g)
{
    g = lua_absindex(L, g);
    lua_getfield(L, g, "string");
    price(L, -1, "rep", P_REP);
    price(L, -1, "upper", P_CASE);
    price(L, -1, "lower", P_CASE);
    price(L, -1, "reverse", P_CASE);
    price(L, -1, "byte", P_BYTE);
    price(L, -1, "char", P_CHAR);
    price(L, -1, "pack", P_PACK);
    price(L, -1, "unpack", P_PACK);
    price(L, -1, "packsize", P_PACK);
    lua_pop(L, 1);
    lua_getfield(L, g, "table");
    price(L, -1, "concat", P_CONCAT);
    price(L, -1, "move", P_MOVE);
    price(L, -1, "unpack", P_UNPACK);
    price(L, -1, "insert", P_INSERT);
    price(L, -1, "remove", P_REMOVE);
    price(L, -1, "sort", P_SORT);
    lua_pop(L, 1);
    lua_getfield(L, g, "utf8");
    price(L, -1, "char", P_CHAR);
    price(L, -1, "len", P_UTF8_SCAN);
    price(L, -1, "offset", P_UTF8_SCAN);
    price(L, -1, "codepoint", P_UTF8_RANGE);
    lua_pop(L, 1);
    price(L, g, "select", P_CHAR);
}
