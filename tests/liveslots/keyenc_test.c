/*
 * keyenc_test.c - the order-preserving collection key encoding
 * (liveslots/lua/keyenc.c): known encodings, numeric order of doubles
 * (specials included) equals the bytewise order of their encodings, the
 * order between types, strict decoding (every accepted key re-encodes to
 * the same bytes; non-canonical forms are refused), the refusals of the
 * encoder, and the per-type covers.
 */
#include "tests/lib/testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "liveslots/lua/keyenc.h"

static char *enc(const ls_lua_key *k, char buf[LS_LUA_KEYENC_MAX + 1])
{
    size_t n;
    swing_err e;
    if (ls_lua_keyenc_encode(k, buf, &n, &e)) fail_msg("encode: %s", e.msg);
    assert_int_equal(n, strlen(buf));
    return buf;
}

static ls_lua_key num(double d)
{
    ls_lua_key k = {LS_LUA_KEY_NUMBER, false, d, {NULL, 0}, 0};
    return k;
}

static ls_lua_key str(const char *s)
{
    ls_lua_key k = {LS_LUA_KEY_STRING, false, 0, {(const uint8_t *)s, strlen(s)}, 0};
    return k;
}

static ls_lua_key remotable(uint64_t ord, const char *vref)
{
    ls_lua_key k = {LS_LUA_KEY_REMOTABLE, false, 0, {(const uint8_t *)vref, strlen(vref)}, ord};
    return k;
}

static char *enc_key(ls_lua_key k, char buf[LS_LUA_KEYENC_MAX + 1]) { return enc(&k, buf); }

static void test_known_encodings(void **state)
{
    char b[LS_LUA_KEYENC_MAX + 1];
    ls_lua_key t = {LS_LUA_KEY_BOOL, true, 0, {NULL, 0}, 0}, f = t, nul = t, undef = t;
    (void)state;
    f.boolean = false;
    nul.type = LS_LUA_KEY_NULL;
    undef.type = LS_LUA_KEY_UNDEFINED;
    assert_string_equal(enc(&t, b), "btrue");
    assert_string_equal(enc(&f, b), "bfalse");
    assert_string_equal(enc(&nul, b), "v");
    assert_string_equal(enc(&undef, b), "z");
    assert_string_equal(enc_key(num(1.0), b), "fbff0000000000000");
    assert_string_equal(enc_key(num(-1.0), b), "f400fffffffffffff");
    assert_string_equal(enc_key(num(0.0), b), "f8000000000000000");
    assert_string_equal(enc_key(num(-0.0), b), "f8000000000000000");
    assert_string_equal(enc_key(num(NAN), b), "ffff8000000000000");
    assert_string_equal(enc_key(num(-NAN), b), "ffff8000000000000");
    assert_string_equal(enc_key(str("abc"), b), "sabc");
    assert_string_equal(enc_key(str(""), b), "s");
    assert_string_equal(enc_key(remotable(1, "o-4"), b), "r0000000001:o-4");
    assert_string_equal(enc_key(remotable(LS_LUA_KEYENC_ORDINAL_MAX, "o+v12/3:1"), b),
                        "r9999999999:o+v12/3:1");
}

/* Numeric order with NaN last and -0 == 0; -1, 0, 1. */
static int num_cmp(double a, double b)
{
    if (isnan(a) || isnan(b)) return isnan(a) - isnan(b);
    return a < b ? -1 : a > b;
}

static int sign(int x) { return (x > 0) - (x < 0); }

static double random_double(unsigned *seed)
{
    static const double specials[] = {0.0, -0.0, 1.0, -1.0, INFINITY, -INFINITY, NAN, 5e-324, -5e-324,
                                      1.7976931348623157e308, -1.7976931348623157e308, 2.2250738585072014e-308,
                                      9007199254740992.0, -9007199254740993.0, 0.1, -0.1};
    uint64_t bits = 0;
    double d;
    int r = rand_r(seed) % 4;
    if (r == 0) return specials[(unsigned)rand_r(seed) % (sizeof specials / sizeof *specials)];
    if (r == 1) return (double)(rand_r(seed) % 2001 - 1000) / (double)(rand_r(seed) % 7 + 1);
    for (int i = 0; i < 4; i++) bits = bits << 16 | (uint64_t)(rand_r(seed) & 0xffff);
    memcpy(&d, &bits, sizeof d);
    return d;
}

static void test_number_order_is_byte_order(void **state)
{
    unsigned seed = 20261202;
    (void)state;
    for (int i = 0; i < 200000; i++) {
        double a = random_double(&seed), b = random_double(&seed);
        char ea[LS_LUA_KEYENC_MAX + 1], eb[LS_LUA_KEYENC_MAX + 1];
        enc_key(num(a), ea);
        enc_key(num(b), eb);
        if (sign(strcmp(ea, eb)) != num_cmp(a, b)) fail_msg("%a vs %a: %s vs %s", a, b, ea, eb);
    }
}

static void test_type_order_and_covers(void **state)
{
    ls_lua_key keys[] = {{LS_LUA_KEY_BOOL, false, 0, {NULL, 0}, 0}, {LS_LUA_KEY_BOOL, true, 0, {NULL, 0}, 0},
                         num(-INFINITY), num(0), num(NAN), remotable(1, "o+9"), remotable(2, "o-1"),
                         str(""), str("a"), str("\xc3\xa9"), str("\xf0\x9f\x98\x80"),
                         {LS_LUA_KEY_NULL, false, 0, {NULL, 0}, 0}, {LS_LUA_KEY_UNDEFINED, false, 0, {NULL, 0}, 0}};
    size_t n = sizeof keys / sizeof *keys;
    char prev[LS_LUA_KEYENC_MAX + 1] = "";
    (void)state;
    for (size_t i = 0; i < n; i++) {
        char e[LS_LUA_KEYENC_MAX + 1], lo[2], hi[2];
        enc(&keys[i], e);
        assert_true(strcmp(prev, e) < 0); /* listed in key order */
        ls_lua_keyenc_cover(keys[i].type, lo, hi);
        assert_true(strcmp(lo, e) <= 0 && strcmp(e, hi) < 0);
        for (size_t j = 0; j < n; j++) { /* no other type falls in the cover */
            char o[LS_LUA_KEYENC_MAX + 1];
            if (keys[j].type == keys[i].type) continue;
            enc(&keys[j], o);
            assert_false(strcmp(lo, o) <= 0 && strcmp(o, hi) < 0);
        }
        strcpy(prev, e);
    }
}

static void test_decode_round_trip_and_strictness(void **state)
{
    static const char *good[] = {"btrue", "bfalse", "v", "z", "s", "sabc", "s\xc3\xa9", "f8000000000000000",
                                 "ffff8000000000000", "fbff0000000000000", "f000fffffffffffff" /* -inf */,
                                 "r0000000001:o-4", "r0000000042:o+d6/1"};
    static const char *bad[] = {"", "x", "bmaybe", "btru", "v1", "z ", "f800000000000000", "f80000000000000000",
                                "fBFF0000000000000", "f7fffffffffffffff" /* -0 */,
                                "ffff8000000000001" /* a second NaN */, "f0000000000000000" /* a negative NaN */, "s\xff", "s\xc3", "r000000000:o-4",
                                "r0000000000:o-4", "r0000000001:", "r0000000001-o-4", "r000000000a:o-4",
                                "r0000000001:o 4"};
    unsigned seed = 7;
    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        ls_lua_key k;
        char e[LS_LUA_KEYENC_MAX + 1];
        swing_err err;
        if (ls_lua_keyenc_decode(swing_str(good[i]), &k, &err)) fail_msg("%s: %s", good[i], err.msg);
        assert_string_equal(enc(&k, e), good[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ls_lua_key k;
        assert_int_equal(ls_lua_keyenc_decode(swing_str(bad[i]), &k, NULL), SWING_ERR_CORRUPT);
    }
    {
        ls_lua_key k;
        assert_int_equal(ls_lua_keyenc_decode(swing_bytes_of("s\0", 2), &k, NULL), SWING_ERR_CORRUPT);
    }
    for (int i = 0; i < 100000; i++) { /* every number round-trips */
        ls_lua_key k = num(random_double(&seed)), d;
        char e[LS_LUA_KEYENC_MAX + 1], e2[LS_LUA_KEYENC_MAX + 1];
        enc(&k, e);
        TL_OK(ls_lua_keyenc_decode(swing_str(e), &d, NULL));
        assert_int_equal(d.type, LS_LUA_KEY_NUMBER);
        assert_int_equal(num_cmp(d.number, k.number), 0);
        assert_string_equal(enc(&d, e2), e);
    }
}

static void test_encoder_refusals(void **state)
{
    char b[LS_LUA_KEYENC_MAX + 1], big[LS_LUA_KEYENC_MAX + 2];
    size_t n;
    ls_lua_key k;
    swing_err e;
    (void)state;
    k = str("bad\xff");
    assert_int_equal(ls_lua_keyenc_encode(&k, b, &n, &e), SWING_ERR_INVALID);
    k.str = swing_bytes_of("a\0b", 3);
    assert_int_equal(ls_lua_keyenc_encode(&k, b, &n, &e), SWING_ERR_INVALID);
    memset(big, 'x', sizeof big);
    k.str = swing_bytes_of(big, LS_LUA_KEYENC_MAX - 1); /* "s" + 218 bytes: the largest */
    TL_OK(ls_lua_keyenc_encode(&k, b, &n, &e));
    assert_int_equal(n, LS_LUA_KEYENC_MAX);
    k.str = swing_bytes_of(big, LS_LUA_KEYENC_MAX);
    assert_int_equal(ls_lua_keyenc_encode(&k, b, &n, &e), SWING_ERR_LIMIT);
    assert_non_null(strstr(e.msg, "key too large"));
    k = remotable(0, "o-1");
    assert_int_equal(ls_lua_keyenc_encode(&k, b, &n, &e), SWING_ERR_INVALID);
    k = remotable(LS_LUA_KEYENC_ORDINAL_MAX + 1, "o-1");
    assert_int_equal(ls_lua_keyenc_encode(&k, b, &n, &e), SWING_ERR_INVALID);
    k = remotable(1, "");
    assert_int_equal(ls_lua_keyenc_encode(&k, b, &n, &e), SWING_ERR_INVALID);
    /* integers: exact doubles only; 1 and 1.0 are one key */
    TL_OK(ls_lua_keyenc_integer(1, &k, &e));
    assert_string_equal(enc(&k, b), "fbff0000000000000");
    TL_OK(ls_lua_keyenc_integer(9007199254740992ll, &k, &e));
    TL_OK(ls_lua_keyenc_integer(INT64_MIN, &k, &e));
    assert_int_equal(ls_lua_keyenc_integer(9007199254740993ll, &k, &e), SWING_ERR_INVALID);
    assert_int_equal(ls_lua_keyenc_integer(INT64_MAX, &k, &e), SWING_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_encodings),
        cmocka_unit_test(test_number_order_is_byte_order),
        cmocka_unit_test(test_type_order_and_covers),
        cmocka_unit_test(test_decode_round_trip_and_strictness),
        cmocka_unit_test(test_encoder_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
