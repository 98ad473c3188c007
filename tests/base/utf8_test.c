/*
 * utf8_test.c - base/utf8.c: well-formedness by RFC 3629's table (overlongs,
 * surrogates and code points above U+10FFFF refused), cuts that never split
 * a character, in-place repair; and base/err.c cutting a long message at a
 * character boundary (issue: hardening, ABI edges, 2025: messages were cut
 * at 511 bytes inside a character, and Go's decoder refused the response).
 */
#include "tests/lib/testlib.h"

#include <string.h>

#include "base/err.h"
#include "base/utf8.h"

#define U(s) (const uint8_t *)(s), sizeof(s) - 1

static void test_utf8_valid_and_ill_formed(void **state)
{
    static const char *const good[] = {
        "", "plain ascii", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
        "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xf0\x90\x80\x80",
        "\xf4\x8f\xbf\xbf",
    };
    static const char *const bad[] = {
        "\x80",             /* lone continuation */
        "\xc3",             /* truncated */
        "\xe2\x82",         /* truncated */
        "\xf0\x9f\x98",     /* truncated */
        "\xc0\x80",         /* overlong NUL */
        "\xc1\xbf",         /* overlong */
        "\xe0\x9f\xbf",     /* overlong */
        "\xf0\x8f\xbf\xbf", /* overlong */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xed\xbf\xbf",     /* surrogate U+DFFF */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf5\x80\x80\x80", /* no such lead */
        "\xff",
        "ok\xc3(",          /* lead followed by a non-continuation */
    };
    (void)state;
    assert_true(swing_utf8_valid(U("\x00")));
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(swing_utf8_valid((const uint8_t *)good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (swing_utf8_valid((const uint8_t *)bad[i], strlen(bad[i])))
            fail_msg("accepted bad[%zu]", i);
    }
}

static void test_utf8_cut_never_splits_a_character(void **state)
{
    /* "a" + e-acute (2) + euro (3) + emoji (4) */
    static const char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    static const size_t want[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10};
    (void)state;
    for (size_t n = 0; n <= 10; n++) assert_int_equal(swing_utf8_cut((const uint8_t *)s, n), want[n]);
    assert_int_equal(swing_utf8_cut(U("abc")), 3);
    assert_int_equal(swing_utf8_cut(U("ab\x80\x80\x80\x80")), 6); /* no lead byte: nothing to save */
}

static void test_utf8_repair_in_place(void **state)
{
    char s[] = "ok \xff\xc3( \xed\xa0\x80 \xc3\xa9 \xe2\x82";
    (void)state;
    assert_int_equal(swing_utf8_repair((uint8_t *)s, strlen(s)), 7);
    assert_string_equal(s, "ok ?\?( ?\?? \xc3\xa9 ?\?");
    assert_true(swing_utf8_valid((const uint8_t *)s, strlen(s)));
    assert_int_equal(swing_utf8_repair((uint8_t *)s, strlen(s)), 0);
}

/* A message longer than the record holds ends at a character boundary,
 * whatever the alignment of the multi-byte characters. */
static void test_utf8_err_message_cut_at_boundary(void **state)
{
    char text[1200];
    (void)state;
    for (size_t lead = 0; lead < 4; lead++) {
        swing_err e;
        size_t n = 0, len;
        for (size_t i = 0; i < lead; i++) text[n++] = 'x';
        while (n + 4 < sizeof text) {
            memcpy(text + n, "\xe2\x82\xac", 3); /* euro sign, 3 bytes */
            n += 3;
        }
        text[n] = '\0';
        swing_err_set(&e, SWING_ERR_INVALID, "%s", text);
        len = strlen(e.msg);
        assert_true(len <= SWING_ERR_MSG_MAX - 1 && len >= SWING_ERR_MSG_MAX - 3);
        assert_true(swing_utf8_valid((const uint8_t *)e.msg, len));
        assert_memory_equal(e.msg, text, len);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid_and_ill_formed),
        cmocka_unit_test(test_utf8_cut_never_splits_a_character),
        cmocka_unit_test(test_utf8_repair_in_place),
        cmocka_unit_test(test_utf8_err_message_cut_at_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
