/*
 * marshal.c - smallcaps capdata <-> Lua values (format in marshal.h,
 * reference/liveslots.md §4, DESIGN.md §3 canonical encodings).
 *
 * Encoding writes canonical JSON itself into a buffer owned by a Lua userdata,
 * so a raise midway leaks nothing. Decoding parses with jansson, which
 * allocates outside Lua: the json_t tree is converted inside a protected call
 * and freed before any error is re-raised. Owns the `null` sentinel and the
 * error metatable (registry keys below); touches vat state only through the
 * slot ops.
 */
#include "liveslots/lua/marshal.h"
#include "liveslots/lua/vat_int.h"
#include "liveslots/lua/vm.h"

#include "base/json.h"
#include "base/vec.h"

#include <jansson.h>
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NULL_KEY "libswing.null"   /* registry: the null sentinel (userdata) */
#define ERROR_KEY "libswing.Error" /* registry: the error metatable */
#define MAX_SAFE ((lua_Integer)1 << 53)

/* First bytes smallcaps reserves: ! " # $ % & ' ( ) * + , - (0x21..0x2D). */
static int special(char c) { return c >= '!' && c <= '-'; }

static int same(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/* ===== the null sentinel and error objects ===== */

static int null_tostring(lua_State *L)
{
    lua_pushliteral(L, "null");
    return 1;
}

/* "name: message"; fields that are not strings fall back to Error / "". */
static int error_tostring(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushliteral(L, "name");
    if (lua_rawget(L, 1) != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushliteral(L, "Error");
    }
    lua_pushliteral(L, ": ");
    lua_pushliteral(L, "message");
    if (lua_rawget(L, 1) != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushliteral(L, "");
    }
    lua_concat(L, 3);
    return 1;
}

/* A zero-size userdata whose metatable vat code can neither read nor change. */
static void make_null(lua_State *L)
{
    lua_newuserdatauv(L, 0, 0);
    lua_createtable(L, 0, 3);
    lua_pushliteral(L, "null");
    lua_setfield(L, -2, "__name");
    lua_pushcfunction(L, null_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

static void make_error_mt(lua_State *L)
{
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "Error");
    lua_setfield(L, -2, "__metatable");
}

/* Pushes registry[key], creating it with make() the first time, so that the
 * marshal functions work whatever vat code did to the globals. */
static void push_registered(lua_State *L, const char *key, void (*make)(lua_State *L))
{
    luaL_checkstack(L, 4, NULL);
    if (lua_getfield(L, LUA_REGISTRYINDEX, key) != LUA_TNIL) return;
    lua_pop(L, 1);
    make(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, key);
}

/* Pops name and message (message pushed first); pushes the error object. */
static void error_from_stack(lua_State *L)
{
    lua_createtable(L, 0, 2);
    lua_rotate(L, -3, 1);
    lua_setfield(L, -3, "name");
    lua_setfield(L, -2, "message");
    push_registered(L, ERROR_KEY, make_error_mt);
    lua_setmetatable(L, -2);
}

/* makeError(message [, name]) */
static int l_make_error(lua_State *L)
{
    lua_settop(L, 2);
    luaL_checkstring(L, 1);
    if (lua_isnil(L, 2)) {
        lua_pushliteral(L, "Error");
        lua_replace(L, 2);
    }
    luaL_checkstring(L, 2);
    error_from_stack(L);
    return 1;
}

void ls_lua_marshal_push_null(lua_State *L) { push_registered(L, NULL_KEY, make_null); }

void ls_lua_marshal_push_error(lua_State *L, const char *message, const char *name)
{
    luaL_checkstack(L, 4, NULL);
    ls_lua_push_string(L, message ? message : "");
    ls_lua_push_string(L, name ? name : "Error");
    error_from_stack(L);
}

int ls_lua_marshal_is_error(lua_State *L, int idx)
{
    int r;
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) return 0;
    lua_getfield(L, LUA_REGISTRYINDEX, ERROR_KEY);
    r = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return r;
}

void ls_lua_marshal_install(lua_State *L)
{
    push_registered(L, ERROR_KEY, make_error_mt);
    lua_pop(L, 1);
    ls_lua_marshal_push_null(L);
    lua_setglobal(L, "null");
    lua_pushcfunction(L, l_make_error);
    lua_setglobal(L, "makeError");
}

/* ===== encoding: output buffer ===== */

/* Encoder state. Its Lua values sit in consecutive stack slots from base,
 * in the order of the E_ constants; enc_finish collapses them into the
 * results (body, slots). */
typedef struct enc {
    lua_State *L;
    const ls_lua_slot_ops *ops; /* NULL: no references */
    int base;                   /* stack index of the first working slot */
    char *buf;                  /* output, inside the userdata at E_BUF */
    size_t len;                 /* bytes written */
    size_t cap;                 /* bytes in the userdata */
    lua_Integer nslots;         /* entries in the slots array */
} enc;

enum { E_BUF, E_SLOTS, E_SLOTMAP, E_SEEN, E_NULL, E_ERRMT, E_COUNT };
#define AT(e, k) ((e)->base + (k))
#define PUTLIT(e, s) put((e), "" s, sizeof(s) - 1)

/* Replaces the buffer userdata by one with room for n more bytes. */
static void grow(enc *e, size_t n)
{
    size_t cap = 0;
    char *nb;
    if (n > SIZE_MAX - e->len || swing_vec_cap(e->cap, e->len + n, 256, 1, &cap, NULL)) {
        luaL_error(e->L, "not passable: body too large"); /* does not return */
        return;
    }
    luaL_checkstack(e->L, 1, NULL);
    nb = lua_newuserdatauv(e->L, cap, 0);
    if (e->len) memcpy(nb, e->buf, e->len);
    lua_replace(e->L, AT(e, E_BUF));
    e->buf = nb;
    e->cap = cap;
}

static void put(enc *e, const char *s, size_t n)
{
    if (e->cap - e->len < n) grow(e, n);
    if (n) memcpy(e->buf + e->len, s, n);
    e->len += n;
}

static void put_char(enc *e, char c) { put(e, &c, 1); }

static void put_sink(void *ctx, const char *s, size_t n) { put(ctx, s, n); }

/* String contents, JSON-escaped in the canonical way (base/json.h). */
static void put_escaped(enc *e, const char *s, size_t n)
{
    if (!swing_json_escaped(put_sink, e, s, n)) luaL_error(e->L, "not passable: string is not valid UTF-8");
}

/* A string value or key: quoted, '!' before a reserved first byte. */
static void put_str(enc *e, const char *s, size_t n)
{
    put_char(e, '"');
    if (n > 0 && special(s[0])) put_char(e, '!');
    put_escaped(e, s, n);
    put_char(e, '"');
}

static void put_integer(enc *e, lua_Integer i)
{
    char tmp[32];
    int n;
    if (i >= -MAX_SAFE && i <= MAX_SAFE) n = snprintf(tmp, sizeof tmp, "%lld", (long long)i);
    else n = snprintf(tmp, sizeof tmp, i > 0 ? "\"+%lld\"" : "\"%lld\"", (long long)i);
    put(e, tmp, (size_t)n);
}

/* Floats in the canonical notation (base/json.h); NaN and infinities are
 * smallcaps' special strings. */
static void put_float(enc *e, lua_Number d)
{
    char out[SWING_JSON_NUMBER_MAX];
    if (isnan(d)) {
        PUTLIT(e, "\"#NaN\"");
        return;
    }
    if (isinf(d)) {
        if (d > 0) PUTLIT(e, "\"#Infinity\"");
        else PUTLIT(e, "\"#-Infinity\"");
        return;
    }
    put(e, out, swing_json_float((double)d, out));
}

/* ===== encoding: values ===== */

static void enc_value(enc *e, int idx, int depth);

/* If to_slot claims the value at idx, writes "$i.iface" / "$i" / "&i" (one
 * slot per distinct vref) and returns 1. */
static int enc_ref(enc *e, int idx)
{
    lua_State *L = e->L;
    const char *vref = NULL, *iface = NULL;
    lua_Integer slot;
    char tmp[32], kind;
    int first = 0, n;
    if (!e->ops || !e->ops->to_slot || !e->ops->to_slot(L, idx, e->ops->ctx, &vref, &iface)) return 0;
    if (!vref || (vref[0] != 'o' && vref[0] != 'd' && vref[0] != 'p'))
        luaL_error(L, "not passable: to_slot gave a bad vref");
    kind = vref[0] == 'p' ? '&' : '$';
    ls_lua_push_string(L, vref);
    lua_pushvalue(L, -1);
    if (lua_rawget(L, AT(e, E_SLOTMAP)) == LUA_TNUMBER) {
        slot = lua_tointeger(L, -1);
    } else {
        slot = e->nslots++;
        lua_pushvalue(L, -2);
        lua_rawseti(L, AT(e, E_SLOTS), slot + 1);
        lua_pushvalue(L, -2);
        lua_pushinteger(L, slot);
        lua_rawset(L, AT(e, E_SLOTMAP));
        first = 1;
    }
    lua_pop(L, 2);
    n = snprintf(tmp, sizeof tmp, "\"%c%lld", kind, (long long)slot);
    put(e, tmp, (size_t)n);
    if (first && kind == '$' && iface) {
        put_char(e, '.');
        put_escaped(e, iface, strlen(iface));
    }
    put_char(e, '"');
    return 1;
}

/* {"#error": message, "name": name}; both fields must be strings. */
static void enc_error(enc *e, int t)
{
    lua_State *L = e->L;
    size_t mlen, nlen;
    const char *m, *name;
    lua_pushliteral(L, "message");
    if (lua_rawget(L, t) != LUA_TSTRING) luaL_error(L, "not passable: error message is not a string");
    lua_pushliteral(L, "name");
    if (lua_rawget(L, t) != LUA_TSTRING) luaL_error(L, "not passable: error name is not a string");
    m = lua_tolstring(L, -2, &mlen);
    name = lua_tolstring(L, -1, &nlen);
    PUTLIT(e, "{\"#error\":");
    put_str(e, m, mlen);
    PUTLIT(e, ",\"name\":");
    put_str(e, name, nlen);
    put_char(e, '}');
    lua_pop(L, 2);
}

static void enc_array(enc *e, int t, lua_Integer n, int depth)
{
    lua_Integer i;
    put_char(e, '[');
    for (i = 1; i <= n; i++) {
        if (i > 1) put_char(e, ',');
        lua_rawgeti(e->L, t, i);
        enc_value(e, lua_gettop(e->L), depth);
        lua_pop(e->L, 1);
    }
    put_char(e, ']');
}

typedef struct skey {
    const char *s; /* key bytes, anchored by the key list table */
    size_t n;
} skey;

static int skey_cmp(const void *a, const void *b)
{
    const skey *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = n ? memcmp(x->s, y->s, n) : 0;
    if (c) return c;
    return (x->n > y->n) - (x->n < y->n);
}

/* What sorting n record keys costs, in computrons (n log2 n). */
static uint64_t sort_price(uint64_t n)
{
    uint64_t log = 1;
    while (log < 64 && ((uint64_t)1 << log) < n) log++;
    return n * log;
}

/* A table whose nkeys keys are all strings: keys sorted by raw bytes. */
static void enc_record(enc *e, int t, lua_Integer nkeys, int depth)
{
    lua_State *L = e->L;
    skey *keys = lua_newuserdatauv(L, (size_t)nkeys * sizeof *keys, 0);
    lua_Integer i = 0;
    int anchor;
    lua_createtable(L, (int)(nkeys < INT_MAX ? nkeys : 0), 0);
    anchor = lua_gettop(L);
    lua_pushnil(L);
    while (i < nkeys && lua_next(L, t)) {
        lua_pop(L, 1);
        keys[i].s = lua_tolstring(L, -1, &keys[i].n);
        lua_pushvalue(L, -1);
        lua_rawseti(L, anchor, ++i);
    }
    if (i < nkeys) luaL_error(L, "not passable: table changed while encoding");
    lua_settop(L, anchor);
    ls_lua_vm_spend(L, sort_price((uint64_t)nkeys));
    qsort(keys, (size_t)nkeys, sizeof *keys, skey_cmp);
    put_char(e, '{');
    for (i = 0; i < nkeys; i++) {
        if (i) put_char(e, ',');
        if (memchr(keys[i].s, '\0', keys[i].n))
            luaL_error(L, "not passable: record key contains a NUL byte");
        put_str(e, keys[i].s, keys[i].n);
        put_char(e, ':');
        lua_pushlstring(L, keys[i].s, keys[i].n);
        lua_rawget(L, t);
        enc_value(e, lua_gettop(L), depth);
        lua_pop(L, 1);
    }
    put_char(e, '}');
    lua_pop(L, 2);
}

/* A data table: array (keys exactly 1..n), record (string keys) or [] when
 * empty. depth counts the tables around this one. */
static void enc_table(enc *e, int t, int depth)
{
    lua_State *L = e->L;
    lua_Integer nkeys = 0, maxint = 0;
    int allint = 1, allstr = 1;
    if (depth >= LS_LUA_MARSHAL_MAX_DEPTH)
        luaL_error(L, "not passable: nesting deeper than %d", LS_LUA_MARSHAL_MAX_DEPTH);
    luaL_checkstack(L, 8, "capdata nesting");
    lua_pushvalue(L, t);
    if (lua_rawget(L, AT(e, E_SEEN)) != LUA_TNIL) luaL_error(L, "not passable: cyclic data");
    lua_pop(L, 1);
    lua_pushvalue(L, t);
    lua_pushboolean(L, 1);
    lua_rawset(L, AT(e, E_SEEN));
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        nkeys++;
        if (lua_type(L, -1) == LUA_TSTRING) {
            allint = 0;
            continue;
        }
        allstr = 0;
        if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1) {
            if (lua_tointeger(L, -1) > maxint) maxint = lua_tointeger(L, -1);
        } else
            allint = 0;
    }
    if (nkeys == 0) PUTLIT(e, "[]");
    else if (allint && maxint == nkeys) enc_array(e, t, nkeys, depth + 1);
    else if (allstr) enc_record(e, t, nkeys, depth + 1);
    else luaL_error(L, "not passable: table keys must be 1..n or all strings");
    lua_pushvalue(L, t);
    lua_pushnil(L);
    lua_rawset(L, AT(e, E_SEEN));
}

static int has_error_mt(enc *e, int idx)
{
    int r;
    if (!lua_getmetatable(e->L, idx)) return 0;
    r = lua_rawequal(e->L, -1, AT(e, E_ERRMT));
    lua_pop(e->L, 1);
    return r;
}

static void enc_value(enc *e, int idx, int depth)
{
    lua_State *L = e->L;
    luaL_checkstack(L, 4, "capdata nesting");
    ls_lua_vm_spend(L, LS_LUA_MARSHAL_VALUE_COMPUTRONS); /* the bytes are charged as the buffer grows */
    switch (lua_type(L, idx)) {
    case LUA_TNIL: PUTLIT(e, "\"#undefined\""); return;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx)) PUTLIT(e, "true");
        else PUTLIT(e, "false");
        return;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) put_integer(e, lua_tointeger(L, idx));
        else put_float(e, lua_tonumber(L, idx));
        return;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        put_str(e, s, n);
        return;
    }
    default: break;
    }
    if (enc_ref(e, idx)) return;
    if (lua_rawequal(L, idx, AT(e, E_NULL))) PUTLIT(e, "null");
    else if (lua_type(L, idx) != LUA_TTABLE) luaL_error(L, "not passable: %s", luaL_typename(L, idx));
    else if (has_error_mt(e, idx)) enc_error(e, idx);
    else enc_table(e, idx, depth);
}

static void enc_begin(enc *e, lua_State *L, const ls_lua_slot_ops *ops)
{
    memset(e, 0, sizeof *e);
    e->L = L;
    e->ops = ops;
    luaL_checkstack(L, E_COUNT + 8, NULL);
    e->base = lua_gettop(L) + 1;
    lua_pushnil(L);      /* E_BUF, a userdata once something is written */
    lua_newtable(L);     /* E_SLOTS */
    lua_newtable(L);     /* E_SLOTMAP: vref -> slot index */
    lua_newtable(L);     /* E_SEEN: tables being visited */
    push_registered(L, NULL_KEY, make_null);
    push_registered(L, ERROR_KEY, make_error_mt);
    put_char(e, '#');
}

/* Leaves body and slots where the working slots began. */
static void enc_finish(enc *e)
{
    lua_pushlstring(e->L, e->buf, e->len);
    lua_replace(e->L, AT(e, E_BUF));
    lua_settop(e->L, AT(e, E_SLOTS));
}

/* A value that can name no reference and whose body fits a small buffer
 * (nil, a boolean, a number, a short string: state properties and
 * collection values mostly) is written without the encoder's working
 * tables; the same body, the same charge per value. */
static bool enc_scalar(lua_State *L, int idx)
{
    char small[256]; /* '#', quotes, '!' and 40 bytes escaped 6 to 1 fit */
    enc e;
    size_t n = 0;
    int t = lua_type(L, idx);
    if (t == LUA_TSTRING) lua_tolstring(L, idx, &n);
    if (!(t == LUA_TNIL || t == LUA_TBOOLEAN || t == LUA_TNUMBER || (t == LUA_TSTRING && n <= 40))) return false;
    memset(&e, 0, sizeof e);
    e.L = L;
    e.buf = small;
    e.cap = sizeof small;
    put_char(&e, '#');
    enc_value(&e, idx, 0); /* never grows the buffer: see above */
    lua_pushlstring(L, e.buf, e.len);
    lua_newtable(L);
    return true;
}

void ls_lua_marshal_encode(lua_State *L, int idx, const ls_lua_slot_ops *ops)
{
    enc e;
    idx = lua_absindex(L, idx);
    if (enc_scalar(L, idx)) return;
    enc_begin(&e, L, ops);
    enc_value(&e, idx, 0);
    enc_finish(&e);
}

void ls_lua_marshal_encode_call(lua_State *L, const char *method, int first, int n,
                                const ls_lua_slot_ops *ops)
{
    enc e;
    int i;
    first = lua_absindex(L, first);
    enc_begin(&e, L, ops);
    if (method) {
        PUTLIT(&e, "[");
        put_str(&e, method, strlen(method));
        put_char(&e, ',');
    }
    put_char(&e, '[');
    for (i = 0; i < n; i++) {
        if (i) put_char(&e, ',');
        enc_value(&e, first + i, 0);
    }
    put_char(&e, ']');
    if (method) put_char(&e, ']');
    enc_finish(&e);
}

/* ===== decoding ===== */

typedef struct dec {
    json_t *root;               /* parsed body; freed by dec_run */
    const char *const *slots;   /* borrowed */
    size_t nslots;
    const ls_lua_slot_ops *ops; /* NULL: a reference is malformed */
    int call;                   /* root is methargs [method, args] */
    int null_idx;               /* stack index of the null sentinel */
    int cache_idx;              /* stack index of slot index+1 -> value */
} dec;

static int malformed(lua_State *L, const char *why)
{
    return luaL_error(L, "malformed capdata: %s", why);
}

/* A string that must decode to a string (record key, error field, method). */
static void dec_plain(lua_State *L, const char *s, size_t n, const char *what)
{
    if (n > 0 && s[0] == '!') lua_pushlstring(L, s + 1, n - 1);
    else if (n > 0 && special(s[0])) luaL_error(L, "malformed capdata: %s is not a string", what);
    else lua_pushlstring(L, s, n);
}

/* "+N" / "-N": decimal digits within the Lua integer range. */
static void dec_bigint(lua_State *L, const char *s, size_t n)
{
    int neg = s[0] == '-';
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    size_t i;
    if (n < 2) malformed(L, "bigint without digits");
    for (i = 1; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9) malformed(L, "bigint with a non-digit");
        if (v > (lim - d) / 10) malformed(L, "bigint out of the 64-bit integer range");
        v = v * 10 + d;
    }
    if (!neg) lua_pushinteger(L, (lua_Integer)v);
    else if (v == (uint64_t)INT64_MAX + 1) lua_pushinteger(L, LUA_MININTEGER);
    else lua_pushinteger(L, -(lua_Integer)v);
}

/* "$i.iface", "$i", "&i": one from_slot call per slot index per body. */
static void dec_ref(lua_State *L, dec *d, const char *s, size_t n)
{
    size_t i = 1, idx = 0;
    const char *iface = NULL;
    int top;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        if (idx <= d->nslots) idx = idx * 10 + (size_t)(s[i] - '0'); /* else stays out of range */
    if (i == 1) malformed(L, "slot reference without an index");
    if (i < n) {
        if (s[0] != '$' || s[i] != '.') malformed(L, "bad slot reference");
        iface = s + i + 1;
        if (strlen(iface) != n - i - 1) malformed(L, "interface name contains a NUL byte");
    }
    if (idx >= d->nslots) malformed(L, "slot index out of range");
    if (lua_rawgeti(L, d->cache_idx, (lua_Integer)idx + 1) != LUA_TNIL) return;
    lua_pop(L, 1);
    if (!d->ops || !d->ops->from_slot) malformed(L, "a slot reference where none is allowed");
    if (!d->slots[idx]) malformed(L, "missing slot");
    top = lua_gettop(L);
    d->ops->from_slot(L, d->slots[idx], iface, d->ops->ctx);
    if (lua_gettop(L) != top + 1) luaL_error(L, "marshal: from_slot must push one value");
    lua_pushvalue(L, -1);
    lua_rawseti(L, d->cache_idx, (lua_Integer)idx + 1);
}

/* Pushes the value of a JSON string; returns 1 for "#undefined" (nil). */
static int dec_string(lua_State *L, dec *d, const char *s, size_t n)
{
    if (n == 0 || !special(s[0])) {
        lua_pushlstring(L, s, n);
        return 0;
    }
    switch (s[0]) {
    case '!': lua_pushlstring(L, s + 1, n - 1); return 0;
    case '#':
        if (same(s, n, "#undefined")) {
            lua_pushnil(L);
            return 1;
        }
        if (same(s, n, "#NaN")) lua_pushnumber(L, (lua_Number)NAN);
        else if (same(s, n, "#Infinity")) lua_pushnumber(L, (lua_Number)HUGE_VAL);
        else if (same(s, n, "#-Infinity")) lua_pushnumber(L, -(lua_Number)HUGE_VAL);
        else malformed(L, "unknown '#' constant");
        return 0;
    case '+':
    case '-': dec_bigint(L, s, n); return 0;
    case '$':
    case '&': dec_ref(L, d, s, n); return 0;
    case '%': return malformed(L, "passable symbols are not supported");
    default: return malformed(L, "string starts with a reserved character");
    }
}

static int dec_value(lua_State *L, dec *d, json_t *j, int depth);

static void dec_array(lua_State *L, dec *d, json_t *j, int depth)
{
    size_t i, n = json_array_size(j);
    lua_createtable(L, n < INT_MAX ? (int)n : 0, 0);
    for (i = 0; i < n; i++) {
        if (dec_value(L, d, json_array_get(j, i), depth)) malformed(L, "undefined inside an array");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* {"#error": message, "name": name [, "errorId": id]} */
static void dec_error(lua_State *L, json_t *j)
{
    json_t *msg = json_object_get(j, "#error"), *name = json_object_get(j, "name"), *v;
    const char *key;
    json_object_foreach(j, key, v) {
        if (strcmp(key, "#error") && strcmp(key, "name") && strcmp(key, "errorId"))
            malformed(L, "unexpected property in an error");
        if (!json_is_string(v)) malformed(L, "error properties must be strings");
    }
    if (!name) malformed(L, "error without a name");
    dec_plain(L, json_string_value(msg), json_string_length(msg), "error message");
    dec_plain(L, json_string_value(name), json_string_length(name), "error name");
    error_from_stack(L);
}

/* A record; a "#undefined" value leaves its key out. */
static void dec_object(lua_State *L, dec *d, json_t *j, int depth)
{
    const char *key;
    size_t klen;
    json_t *v;
    int t;
    if (json_object_get(j, "#error")) {
        dec_error(L, j);
        return;
    }
    if (json_object_get(j, "#tag")) malformed(L, "tagged values are not supported");
    lua_createtable(L, 0, json_object_size(j) < INT_MAX ? (int)json_object_size(j) : 0);
    t = lua_gettop(L);
    json_object_keylen_foreach(j, key, klen, v) {
        dec_plain(L, key, klen, "record key");
        lua_pushvalue(L, -1);
        if (lua_rawget(L, t) != LUA_TNIL) malformed(L, "duplicate record key");
        lua_pop(L, 1);
        if (dec_value(L, d, v, depth)) lua_pop(L, 2);
        else lua_rawset(L, t);
    }
}

/* Pushes the value of j; returns 1 when it was "#undefined". depth counts
 * the containers around j. */
static int dec_value(lua_State *L, dec *d, json_t *j, int depth)
{
    luaL_checkstack(L, 6, "capdata nesting");
    ls_lua_vm_spend(L, LS_LUA_MARSHAL_VALUE_COMPUTRONS);
    switch (json_typeof(j)) {
    case JSON_NULL: lua_pushvalue(L, d->null_idx); return 0;
    case JSON_TRUE: lua_pushboolean(L, 1); return 0;
    case JSON_FALSE: lua_pushboolean(L, 0); return 0;
    case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(j)); return 0;
    case JSON_REAL: lua_pushnumber(L, (lua_Number)json_real_value(j)); return 0;
    case JSON_STRING: return dec_string(L, d, json_string_value(j), json_string_length(j));
    default: break;
    }
    if (depth >= LS_LUA_MARSHAL_MAX_DEPTH)
        luaL_error(L, "malformed capdata: nesting deeper than %d", LS_LUA_MARSHAL_MAX_DEPTH);
    if (json_is_array(j)) dec_array(L, d, j, depth + 1);
    else dec_object(L, d, j, depth + 1);
    return 0;
}

/* [method, [args...]]: pushes the method (nil for "#undefined") and args. */
static int dec_methargs(lua_State *L, dec *d)
{
    json_t *m = json_array_get(d->root, 0), *args = json_array_get(d->root, 1);
    size_t i, n;
    if (!json_is_array(d->root) || json_array_size(d->root) != 2 || !json_is_string(m) ||
        !json_is_array(args))
        malformed(L, "methargs must be [method, [args...]]");
    if (same(json_string_value(m), json_string_length(m), "#undefined")) lua_pushnil(L);
    else dec_plain(L, json_string_value(m), json_string_length(m), "method name");
    n = json_array_size(args);
    if (n > 100000) malformed(L, "too many arguments");
    luaL_checkstack(L, (int)n + 8, "too many arguments");
    for (i = 0; i < n; i++) dec_value(L, d, json_array_get(args, i), 0);
    return (int)n + 1;
}

/* Runs protected, with the dec at index 1. */
static int dec_main(lua_State *L)
{
    dec *d = lua_touserdata(L, 1);
    ls_lua_marshal_push_null(L);
    d->null_idx = lua_gettop(L);
    lua_newtable(L);
    d->cache_idx = lua_gettop(L);
    if (d->call) return dec_methargs(L, d);
    dec_value(L, d, d->root, 0);
    return 1;
}

/* Parses body and converts it under lua_pcall, so the json_t is freed
 * whatever happens; then re-raises. Returns the number of values pushed. */
static int dec_run(lua_State *L, dec *d, const char *body, size_t len)
{
    json_error_t jerr;
    int base, r;
    luaL_checkstack(L, 4, NULL);
    if (len == 0 || body[0] != '#') malformed(L, "body does not start with '#'");
    ls_lua_vm_spend(L, 1 + len / LS_LUA_BYTES_PER_COMPUTRON); /* parsing, before it is done */
    d->root = json_loadb(body + 1, len - 1, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES,
                         &jerr);
    if (!d->root) luaL_error(L, "malformed capdata: %s", jerr.text);
    base = lua_gettop(L);
    lua_pushcfunction(L, dec_main);
    lua_pushlightuserdata(L, d);
    r = lua_pcall(L, 1, LUA_MULTRET, 0);
    json_decref(d->root);
    d->root = NULL;
    if (r != LUA_OK) lua_error(L);
    return lua_gettop(L) - base;
}

void ls_lua_marshal_decode(lua_State *L, const char *body, size_t len, const char *const *slots,
                           size_t nslots, const ls_lua_slot_ops *ops)
{
    dec d = {NULL, slots, nslots, ops, 0, 0, 0};
    if (ls_lua_cdtext_scalar(L, body, len)) { /* a stored string or integer, mostly */
        ls_lua_vm_spend(L, 1 + len / LS_LUA_BYTES_PER_COMPUTRON + LS_LUA_MARSHAL_VALUE_COMPUTRONS);
        return;
    }
    dec_run(L, &d, body, len);
}

int ls_lua_marshal_decode_call(lua_State *L, const char *body, size_t len, const char *const *slots,
                               size_t nslots, const ls_lua_slot_ops *ops)
{
    dec d = {NULL, slots, nslots, ops, 1, 0, 0};
    return dec_run(L, &d, body, len) - 1;
}
