/*
 * canonical_test.c - one encoder for consensus data: the kernel's JSON
 * writer (vatParameters from the genesis config, stored in
 * vNN.vatParameters) and the vat's marshal (the same values echoed back by
 * the vat) write byte-identical text; and the canonical number notation of
 * base/json.h on its edge cases.
 */
#include "tests/lib/rawvat.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

static const char *ECHO =
    "local p\n"
    "function buildRootObject(vatPowers, params)\n"
    "  p = params\n"
    "  return Far('echo', { params = function() return p end })\n"
    "end\n";

/* Values where the two writers used to differ (0.1 was stored as
 * 0.10000000000000001 by one of them), and strings that need escapes. */
static const char *PARAMS =
    "{\"a\":0.1,\"b\":1e21,\"c\":0.3333333333333333,\"d\":[1.5,-2e-7,123456789012,100.0,5e-324],"
    "\"e\":1.7976931348623157e308,\"s\":\"\\u00e9\\u0001\\\"\\\\/\\n\",\"t\":true,\"z\":null}";

static void test_canonical_vat_parameters_match_marshal(void **state)
{
    tk t;
    char id[STORE_BUNDLE_ID_LEN + 1], config[1024], kpid[24];
    kern_promise_state st;
    swing_buf body = {0}, stored = {0};
    bool found = false;
    swing_err e;
    json_t *rec;
    const char *vp_body;
    (void)state;
    memset(&t, 0, sizeof t);
    tk_open(&t, NULL, 0, NULL);
    if (kern_install_bundle(t.k, ECHO, strlen(ECHO), id, &e)) fail_msg("install: %s", e.msg);
    snprintf(config, sizeof config, "{\"vats\":{\"echo\":{\"bundleID\":\"%s\",\"parameters\":%s}}}", id, PARAMS);
    if (kern_init(t.k, config, strlen(config), &e)) fail_msg("init: %s", e.msg);
    tk_run(&t);
    if (kern_queue_to_vat(t.k, "echo", "params", "[]", kpid, &e)) fail_msg("queue: %s", e.msg);
    tk_run(&t);
    TL_OK(kern_promise_status(t.k, kpid, &st, &body, &e));
    assert_int_equal(st, KERN_PROMISE_FULFILLED);
    TL_OK(store_get(t.st, swing_str("v1.vatParameters"), &stored, &found, &e));
    assert_true(found);
    rec = json_loadb((const char *)stored.ptr, stored.len, 0, NULL);
    assert_non_null(rec);
    vp_body = json_string_value(json_object_get(rec, "body"));
    assert_non_null(vp_body);
    /* the kernel's text of the config's values is the vat's text of them */
    assert_int_equal(strlen(vp_body), body.len);
    assert_memory_equal(vp_body, body.ptr, body.len);
    assert_non_null(strstr(vp_body, "\"a\":0.1,"));
    assert_non_null(strstr(vp_body, "\"b\":1e+21"));
    json_decref(rec);
    swing_buf_free(&body);
    swing_buf_free(&stored);
    tk_close(&t);
}

static void test_canonical_numbers(void **state)
{
    static const struct {
        double d;
        const char *text;
    } cases[] = {
        {0.1, "0.1"}, {1e21, "1e+21"}, {1e20, "100000000000000000000.0"}, {1e-7, "1e-7"},
        {1.5e-6, "0.0000015"}, {123e-9, "1.23e-7"}, {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"}, {100.0, "100.0"}, {-0.5, "-0.5"},
        {9007199254740992.0, "9007199254740992.0"}, {0.3333333333333333, "0.3333333333333333"},
        {2.0, "2.0"}, {1.25e300, "1.25e+300"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[SWING_JSON_NUMBER_MAX];
        swing_json_float(cases[i].d, out);
        if (strcmp(out, cases[i].text) != 0) fail_msg("%.17g -> %s, expected %s", cases[i].d, out, cases[i].text);
        assert_true(strtod(out, NULL) == cases[i].d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_vat_parameters_match_marshal),
        cmocka_unit_test(test_canonical_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
