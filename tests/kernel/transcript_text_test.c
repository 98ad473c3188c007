/*
 * transcript_text_test.c - a transcript item written syscall by syscall is
 * byte for byte the canonical text (kern_json_dump) of the tree that
 * kern_transcript_syscall / kern_transcript_result build: the vatstore
 * syscalls written directly, the others through their trees, with keys and
 * values that are plain, escaped, empty, or not UTF-8 (hex).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/vec.h"
#include "kernel/transcript.h"

/* Appends the tree's canonical text to *out (the expected item). */
static void expect_json(char **out, size_t *len, size_t *cap, json_t *j)
{
    char *t = kern_json_dump(j);
    size_t n;
    assert_non_null(t);
    n = strlen(t);
    assert_int_equal(SWING_VEC_RESERVE(*out, *cap, *len + n + 1, 64, NULL), 0);
    memcpy(*out + *len, t, n + 1);
    *len += n;
    free(t);
    json_decref(j);
}

static void expect_text(char **out, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    assert_int_equal(SWING_VEC_RESERVE(*out, *cap, *len + n + 1, 64, NULL), 0);
    memcpy(*out + *len, s, n + 1);
    *len += n;
}

static void test_item_text_is_canonical(void **state)
{
    static uint8_t bad[] = {'k', 0xff, 0x00, 'x'};       /* not UTF-8: hex */
    static const char esc[] = "a\"b\\c\n\x01 \xc3\xa9 \xf0\x9f\x98\x80"; /* escapes, UTF-8 */
    static uint8_t twelve[] = {'1', '2'};
    const char *vrefs[] = {"o-5", "o-7"};
    vp_syscall sc[9];
    vp_syscall_result res[9];
    vp_delivery d;
    kern_vat_io io;
    swing_err e;
    char *want = NULL;
    size_t wlen = 0, wcap = 0;
    (void)state;
    memset(sc, 0, sizeof sc);
    memset(res, 0, sizeof res);
    memset(&d, 0, sizeof d);
    memset(&io, 0, sizeof io);
    sc[0].type = VP_S_VATSTORE_GET;
    sc[0].key = swing_bytes_of("vom.rc.o+d10/1", 14);
    res[0].found = true;
    res[0].value.ptr = (uint8_t *)twelve; /* not owned: never freed */
    res[0].value.len = 2;
    sc[1].type = VP_S_VATSTORE_GET;
    sc[1].key = swing_bytes_of(bad, sizeof bad); /* not found */
    sc[2].type = VP_S_VATSTORE_SET;
    sc[2].key = swing_bytes_of(esc, strlen(esc));
    sc[2].value = swing_bytes_of(bad, sizeof bad);
    sc[3].type = VP_S_VATSTORE_SET;
    sc[3].key = swing_bytes_of("k", 1);
    sc[3].value = swing_bytes_of("", 0);
    sc[4].type = VP_S_VATSTORE_DELETE;
    sc[4].key = swing_bytes_of(esc, strlen(esc));
    sc[5].type = VP_S_VATSTORE_NEXT;
    sc[5].key = swing_bytes_of("vc.2.", 5);
    res[5].found = true;
    res[5].value.ptr = (uint8_t *)bad;
    res[5].value.len = sizeof bad;
    sc[6].type = VP_S_VATSTORE_NEXT;
    sc[6].key = swing_bytes_of("vc.2.", 5);
    sc[6].value = swing_bytes_of("vc.2.\xff", 6); /* a bound that is not UTF-8 */
    sc[7].type = VP_S_DROP_IMPORTS;
    sc[7].vrefs = vrefs;
    sc[7].nvrefs = 2;
    sc[8].type = VP_S_SUBSCRIBE;
    sc[8].vpid = "p-4";
    d.type = VP_D_BRING_OUT_YOUR_DEAD;
    d.budget = 5;
    swing_err_clear(&e);
    assert_int_equal(kern_transcript_begin(&io, &d, &e), SWING_OK);
    expect_text(&want, &wlen, &wcap, "{\"d\":");
    expect_json(&want, &wlen, &wcap, kern_transcript_delivery(&d));
    expect_text(&want, &wlen, &wcap, ",\"sc\":[");
    for (size_t i = 0; i < 9; i++) {
        kern_transcript_note(&io, &sc[i], &res[i]);
        expect_text(&want, &wlen, &wcap, i ? ",{\"r\":" : "{\"r\":");
        expect_json(&want, &wlen, &wcap, kern_transcript_result(&res[i]));
        expect_text(&want, &wlen, &wcap, ",\"s\":");
        expect_json(&want, &wlen, &wcap, kern_transcript_syscall(&sc[i]));
        expect_text(&want, &wlen, &wcap, "}");
    }
    assert_int_equal(io.fatal.code, SWING_OK);
    assert_int_equal(io.log_len, wlen);
    assert_string_equal(io.log, want);
    kern_transcript_discard(&io);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_item_text_is_canonical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
