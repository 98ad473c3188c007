/*
 * vatadmin_test.c - the vat admin service from Lua vats (issue 15): the
 * bootstrap vat creates a vat from a bundle ID or a registered name, with
 * vatParameters carrying an object; adminNode.upgrade resolves with the new
 * incarnation number or rejects with why; the node can be passed to another
 * vat and used there; terminateWithFailure ends the vat and done() rejects
 * with the reason; bad requests reject without harm.
 */
#include "tests/lib/rawvat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

static const char *BOOT =
    "local vats, node, root, outcome\n"
    "function buildRootObject()\n"
    "  return Far('boot', {\n"
    "    bootstrap = function(vs) vats = vs end,\n"
    "    create = function(ref, name) return E(vats.vatAdmin).createVat(ref,\n"
    "      { name = name, vatParameters = { marker = Far('marker', { hi = function() return 'marked' end }) } })\n"
    "      :next(function(r) node, root = r.adminNode, r.root return E(root).hello() end) end,\n"
    "    hello = function() return E(root).hello() end,\n"
    "    upgrade = function(ref, msg) return E(node).upgrade(ref, { upgradeMessage = msg }) end,\n"
    "    badOption = function(ref) return E(node).upgrade(ref, { colour = 'red' }) end,\n"
    "    viaOther = function(ref) return E(vats.other).upgradeIt(node, ref) end,\n"
    "    watch = function() E(node).done():next(function(x) outcome = 'ok ' .. tostring(x) end,\n"
    "      function(e) outcome = 'failed ' .. tostring(e) end) return 'watching' end,\n"
    "    terminate = function() return E(node).terminateWithFailure('enough') end,\n"
    "    windDown = function() return E(node).windDown() end,\n"
    "    outcome = function() return outcome end,\n"
    "    createBad = function() return E(vats.vatAdmin).createVat('nosuch', {}) end,\n"
    "  })\n"
    "end\n";

static const char *OTHER =
    "function buildRootObject()\n"
    "  return Far('other', { upgradeIt = function(node, ref) return E(node).upgrade(ref) end })\n"
    "end\n";

/* %d: the version it answers with */
#define CHILD(v)                                                                                             \
    "function buildRootObject(vatPowers, params, baggage)\n"                                                 \
    "  local marker = params.marker\n"                                                                       \
    "  return Far('child', { hello = function() return E(marker).hi():next(function(t)\n"                   \
    "    return t .. ' v" #v "' end) end })\n"                                                               \
    "end\n"

static const char *CHILD_THROWS = "function buildRootObject() error('child refuses') end\n";

static tk T;
static char child1[80], child2[80], bad[80];

static void start(void)
{
    char boot[80], other[80], config[512];
    swing_err e;
    tk_open(&T, NULL, 0, NULL);
    tk_install(&T, BOOT, boot);
    tk_install(&T, OTHER, other);
    tk_install(&T, CHILD(1), child1);
    tk_install(&T, CHILD(2), child2);
    tk_install(&T, CHILD_THROWS, bad);
    snprintf(config, sizeof config,
             "{\"bootstrap\":\"boot\",\"vatAdmin\":true,\"vats\":{\"boot\":{\"bundleID\":\"%s\"},"
             "\"other\":{\"bundleID\":\"%s\"}}}", boot, other);
    if (kern_init(T.k, config, strlen(config), &e)) fail_msg("init: %s", e.msg);
    if (kern_bundle_name(T.k, "child2", child2, &e)) fail_msg("name: %s", e.msg);
    tk_run(&T);
}

static const char *ask2(const char *method, const char *a, const char *b)
{
    char args[256];
    if (b) snprintf(args, sizeof args, "[\"%s\",\"%s\"]", a, b);
    else if (a) snprintf(args, sizeof args, "[\"%s\"]", a);
    else snprintf(args, sizeof args, "[]");
    return tk_ask(&T, "boot", method, args);
}

static void test_vatadmin_create_and_upgrade(void **state)
{
    uint64_t inc;
    bool found;
    swing_err e;
    (void)state;
    start();
    assert_string_equal(ask2("create", child1, "child"), "#\"marked v1\"");
    assert_string_equal(ask2("upgrade", "child2", "to v2"), "#{\"incarnationNumber\":1}"); /* by name */
    assert_string_equal(ask2("hello", NULL, NULL), "#\"marked v2\""); /* the marker came through */
    assert_int_equal(kern_vat_incarnation(T.k, "child", &inc, &found, &e), SWING_OK);
    assert_int_equal(inc, 1);
    assert_string_equal(ask2("viaOther", child1, NULL), "#{\"incarnationNumber\":2}");
    assert_string_equal(ask2("hello", NULL, NULL), "#\"marked v1\"");
    {
        const char *r = ask2("upgrade", bad, NULL);
        if (!strstr(r, "rejected") || !strstr(r, "vat-upgrade failure") || !strstr(r, "child refuses"))
            fail_msg("bad upgrade answered %s", r);
    }
    assert_string_equal(ask2("hello", NULL, NULL), "#\"marked v1\""); /* it goes on */
    {
        const char *r = ask2("badOption", child2, NULL);
        if (!strstr(r, "unknown options")) fail_msg("bad option answered %s", r);
    }
    {
        const char *r = ask2("createBad", NULL, NULL);
        if (!strstr(r, "no such bundle")) fail_msg("createBad answered %s", r);
    }
    tk_close(&T);
}

static void test_vatadmin_terminate_and_done(void **state)
{
    kern_termination t;
    bool found;
    swing_err e;
    (void)state;
    start();
    assert_string_equal(ask2("create", child1, "child"), "#\"marked v1\"");
    assert_string_equal(ask2("watch", NULL, NULL), "#\"watching\"");
    assert_string_equal(ask2("outcome", NULL, NULL), "#\"#undefined\"");
    assert_string_equal(ask2("terminate", NULL, NULL), "#\"#undefined\"");
    assert_string_equal(ask2("outcome", NULL, NULL),
                        "#\"failed Error: vat child (v4) terminated: enough\"");
    assert_int_equal(kern_vat_termination(T.k, "child", &t, &found, &e), SWING_OK);
    assert_true(found);
    assert_int_equal(t.kind, KERN_TERM_ADMIN);
    assert_string_equal(t.reason, "enough");
    tk_settle(&T, 20);
    assert_int_equal(tk_count(&T, "vatAdmin.done."), 0);
    tk_close(&T);
}

static void test_vatadmin_wind_down(void **state)
{
    kern_termination t;
    bool found;
    swing_err e;
    (void)state;
    start();
    assert_string_equal(ask2("create", child1, "child"), "#\"marked v1\"");
    assert_string_equal(ask2("watch", NULL, NULL), "#\"watching\"");
    assert_string_equal(ask2("windDown", NULL, NULL), "#\"#undefined\"");
    tk_settle(&T, 50);
    assert_int_equal(kern_vat_termination(T.k, "child", &t, &found, &e), SWING_OK);
    assert_true(found);
    assert_int_equal(t.kind, KERN_TERM_EXIT);
    assert_string_equal(ask2("outcome", NULL, NULL), "#\"ok exited: #\\\"wound down\\\"\"");
    assert_int_equal(tk_count(&T, "v4."), 0);
    tk_close(&T);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vatadmin_create_and_upgrade),
        cmocka_unit_test(test_vatadmin_terminate_and_done),
        cmocka_unit_test(test_vatadmin_wind_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
