/*
 * keyenc.c - order-preserving collection keys (see keyenc.h): encoding,
 * strict decoding, and per-type covers for range scans.
 */
#include "liveslots/lua/keyenc.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/utf8.h"

#define NAN_BITS 0x7ff8000000000000ull
#define SIGN_BIT 0x8000000000000000ull

static const char type_letter[] = {
    [LS_LUA_KEY_BOOL] = 'b',   [LS_LUA_KEY_NUMBER] = 'f', [LS_LUA_KEY_REMOTABLE] = 'r',
    [LS_LUA_KEY_STRING] = 's', [LS_LUA_KEY_NULL] = 'v',   [LS_LUA_KEY_UNDEFINED] = 'z',
};

/* The sortable bits of a double: order of the bits = numeric order. */
static uint64_t number_bits(double d)
{
    uint64_t b;
    if (isnan(d)) b = NAN_BITS;
    else {
        if (d == 0) d = 0; /* -0 is 0 */
        memcpy(&b, &d, sizeof b);
    }
    return (b & SIGN_BIT) ? ~b : b ^ SIGN_BIT;
}

static double bits_number(uint64_t s)
{
    uint64_t b = (s & SIGN_BIT) ? s ^ SIGN_BIT : ~s;
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static bool vref_ok(swing_bytes v)
{
    if (v.len == 0) return false;
    for (size_t i = 0; i < v.len; i++)
        if (v.ptr[i] <= ' ' || v.ptr[i] > '~') return false;
    return true;
}

static swing_status too_large(swing_err *err)
{
    return swing_err_set(err, SWING_ERR_LIMIT, "key too large (encoded keys are at most %d bytes)",
                         LS_LUA_KEYENC_MAX);
}

swing_status ls_lua_keyenc_encode(const ls_lua_key *k, char out[LS_LUA_KEYENC_MAX + 1], size_t *len,
                                  swing_err *err)
{
    int n;
    *len = 0;
    out[0] = '\0';
    switch (k->type) {
    case LS_LUA_KEY_BOOL: n = snprintf(out, LS_LUA_KEYENC_MAX + 1, "b%s", k->boolean ? "true" : "false"); break;
    case LS_LUA_KEY_NUMBER: n = snprintf(out, LS_LUA_KEYENC_MAX + 1, "f%016" PRIx64, number_bits(k->number)); break;
    case LS_LUA_KEY_NULL:
    case LS_LUA_KEY_UNDEFINED: n = snprintf(out, LS_LUA_KEYENC_MAX + 1, "%c", type_letter[k->type]); break;
    case LS_LUA_KEY_STRING:
        if (memchr(k->str.ptr, 0, k->str.len) || !swing_utf8_valid(k->str.ptr, k->str.len))
            return swing_err_set(err, SWING_ERR_INVALID, "a string key must be UTF-8 text without NUL");
        if (k->str.len + 1 > LS_LUA_KEYENC_MAX) return too_large(err);
        out[0] = 's';
        memcpy(out + 1, k->str.ptr, k->str.len);
        n = (int)k->str.len + 1;
        out[n] = '\0';
        break;
    case LS_LUA_KEY_REMOTABLE:
        if (k->ordinal == 0 || k->ordinal > LS_LUA_KEYENC_ORDINAL_MAX)
            return swing_err_set(err, SWING_ERR_INVALID, "remotable key ordinal %" PRIu64 " out of range", k->ordinal);
        if (!vref_ok(k->str)) return swing_err_set(err, SWING_ERR_INVALID, "a remotable key needs a vref");
        if (k->str.len + 12 > LS_LUA_KEYENC_MAX) return too_large(err);
        n = snprintf(out, LS_LUA_KEYENC_MAX + 1, "r%010" PRIu64 ":%.*s", k->ordinal, (int)k->str.len,
                     (const char *)k->str.ptr);
        break;
    default: return swing_err_set(err, SWING_ERR_INVALID, "not a key type");
    }
    *len = (size_t)n;
    return SWING_OK;
}

swing_status ls_lua_keyenc_integer(int64_t i, ls_lua_key *k, swing_err *err)
{
    double d = (double)i;
    memset(k, 0, sizeof *k);
    /* 2^63 is a double but no int64: the range check comes first. */
    if (d >= 9223372036854775808.0 || (int64_t)d != i)
        return swing_err_set(err, SWING_ERR_INVALID, "integer key %" PRId64 " is not exactly a number", i);
    k->type = LS_LUA_KEY_NUMBER;
    k->number = d;
    return SWING_OK;
}

/* Parses exactly 16 lowercase hex digits. */
static bool parse_hex16(const uint8_t *p, uint64_t *v)
{
    *v = 0;
    for (int i = 0; i < 16; i++) {
        int c = p[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return false;
        *v = *v << 4 | (uint64_t)d;
    }
    return true;
}

static swing_status bad(swing_err *err) { return SWING_CORRUPT(err, "bad encoded collection key"); }

static swing_status decode_remotable(swing_bytes enc, ls_lua_key *k, swing_err *err)
{
    uint64_t ord = 0;
    if (enc.len < 13 || enc.ptr[11] != ':') return bad(err);
    for (int i = 1; i <= 10; i++) {
        if (enc.ptr[i] < '0' || enc.ptr[i] > '9') return bad(err);
        ord = ord * 10 + (uint64_t)(enc.ptr[i] - '0');
    }
    k->ordinal = ord;
    k->str = swing_bytes_of(enc.ptr + 12, enc.len - 12);
    if (ord == 0 || !vref_ok(k->str)) return bad(err);
    return SWING_OK;
}

swing_status ls_lua_keyenc_decode(swing_bytes enc, ls_lua_key *k, swing_err *err)
{
    uint64_t bits;
    memset(k, 0, sizeof *k);
    if (enc.len == 0 || enc.len > LS_LUA_KEYENC_MAX) return bad(err);
    switch (enc.ptr[0]) {
    case 'b':
        k->type = LS_LUA_KEY_BOOL;
        if (swing_bytes_cmp(enc, swing_str("btrue")) == 0) k->boolean = true;
        else if (swing_bytes_cmp(enc, swing_str("bfalse")) != 0) return bad(err);
        return SWING_OK;
    case 'f':
        k->type = LS_LUA_KEY_NUMBER;
        if (enc.len != 17 || !parse_hex16(enc.ptr + 1, &bits)) return bad(err);
        k->number = bits_number(bits);
        /* canonical only: one NaN, no -0 */
        return number_bits(k->number) == bits ? SWING_OK : bad(err);
    case 'r': k->type = LS_LUA_KEY_REMOTABLE; return decode_remotable(enc, k, err);
    case 's':
        k->type = LS_LUA_KEY_STRING;
        k->str = swing_bytes_of(enc.ptr + 1, enc.len - 1);
        if (memchr(k->str.ptr, 0, k->str.len) || !swing_utf8_valid(k->str.ptr, k->str.len)) return bad(err);
        return SWING_OK;
    case 'v': k->type = LS_LUA_KEY_NULL; return enc.len == 1 ? SWING_OK : bad(err);
    case 'z': k->type = LS_LUA_KEY_UNDEFINED; return enc.len == 1 ? SWING_OK : bad(err);
    }
    return bad(err);
}

void ls_lua_keyenc_cover(ls_lua_key_type type, char lo[2], char hi[2])
{
    lo[0] = type_letter[type];
    hi[0] = (char)(type_letter[type] + 1);
    lo[1] = hi[1] = '\0';
}
