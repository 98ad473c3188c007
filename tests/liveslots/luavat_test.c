/*
 * luavat_test.c - Lua vats under the kernel, end to end: ping-pong, a
 * pipelined send, a promise resolved to a presence, errors crossing vats,
 * runaway vats terminated while others go on, and a worker rebuilt by
 * transcript replay with its state intact.
 */
#include "tests/lib/rawvat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *BOOT =
    "local result = 'none'\n"
    "function buildRootObject(vatPowers, params)\n"
    "  local vats\n"
    "  return Far('boot', {\n"
    "    bootstrap = function(v) vats = v\n"
    "      E(vats.alice).ping(1):next(function(r) result = r end)\n"
    "    end,\n"
    "    result = function() return result end,\n"
    "    pipeline = function()\n"
    "      local counter = E(vats.alice).makeCounter(10)\n"
    "      E(counter).incr()\n"
    "      return E(counter).incr()\n"
    "    end,\n"
    "    presence = function()\n"
    "      return async(function()\n"
    "        local c = await(E(vats.alice).makeCounter(100))\n"
    "        return await(E(c).incr()) + await(E(c).incr())\n"
    "      end)()\n"
    "    end,\n"
    "    failing = function()\n"
    "      return E(vats.alice).fail():catch(function(e) return 'caught: ' .. tostring(e) end)\n"
    "    end,\n"
    "    spin = function() return E(vats.spinner).spin() end,\n"
    "    bomb = function() return E(vats.spinner).bomb() end,\n"
    "    count = function() return E(vats.alice).bump() end,\n"
    "  })\n"
    "end\n";

static const char *ALICE =
    "local bumps = 0\n"
    "return { buildRootObject = function()\n"
    "  return Far('alice', {\n"
    "    ping = function(n) return 'pong ' .. n end,\n"
    "    makeCounter = function(start)\n"
    "      local n = start\n"
    "      return Far('counter', { incr = function() n = n + 1 return n end })\n"
    "    end,\n"
    "    fail = function() error('nope', 0) end,\n"
    "    bump = function() bumps = bumps + 1 return bumps end,\n"
    "  })\n"
    "end }\n";

static const char *SPINNER =
    "function buildRootObject()\n"
    "  return Far('spinner', {\n"
    "    spin = function() while true do end end,\n"
    "    bomb = function() local t = {} while true do t[#t+1] = string.rep('x', 65536) .. #t end end,\n"
    "  })\n"
    "end\n";

static tk T;

static void install(const char *src, char id[STORE_BUNDLE_ID_LEN + 1])
{
    swing_err e;
    if (kern_install_bundle(T.k, src, strlen(src), id, &e)) fail_msg("install: %s", e.msg);
}

static void start(void)
{
    char boot[80], alice[80], spinner[80], config[1024];
    swing_err e;
    tk_open(&T, NULL, 0, NULL);
    install(BOOT, boot);
    install(ALICE, alice);
    install(SPINNER, spinner);
    snprintf(config, sizeof config,
             "{\"bootstrap\":\"boot\",\"vats\":{\"boot\":{\"bundleID\":\"%s\"},\"alice\":{\"bundleID\":\"%s\"},"
             "\"spinner\":{\"bundleID\":\"%s\",\"computeLimit\":2000000,\"memoryLimit\":16777216}}}",
             boot, alice, spinner);
    if (kern_init(T.k, config, strlen(config), &e)) fail_msg("init: %s", e.msg);
    tk_run(&T);
}

/* Sends method to boot, runs, returns the result body (static buffer). */
static const char *ask(const char *method)
{
    static char out[512];
    char kpid[24];
    kern_promise_state st;
    swing_buf body = {0};
    swing_err e;
    if (kern_queue_to_vat(T.k, "boot", method, "[]", kpid, &e)) fail_msg("%s: %s", method, e.msg);
    tk_run(&T);
    if (kern_promise_status(T.k, kpid, &st, &body, &e)) fail_msg("status: %s", e.msg);
    snprintf(out, sizeof out, "%s%.*s", st == KERN_PROMISE_REJECTED ? "rejected " : st == KERN_PROMISE_UNRESOLVED ? "unresolved" : "",
             (int)body.len, body.ptr ? (const char *)body.ptr : "");
    swing_buf_free(&body);
    if (kern_release(T.k, kpid, &e)) fail_msg("release: %s", e.msg);
    tk_run(&T);
    return out;
}

static void test_luavat_ping_pong_and_promises(void **state)
{
    (void)state;
    start();
    assert_string_equal(ask("result"), "#\"pong 1\"");
    assert_string_equal(ask("pipeline"), "#12");
    assert_string_equal(ask("presence"), "#203");
    assert_string_equal(ask("failing"), "#\"caught: Error: nope\"");
    tk_close(&T);
}

static void test_luavat_runaways_are_terminated(void **state)
{
    char *v;
    (void)state;
    start();
    assert_string_equal(ask("spin"), "rejected #{\"#error\":\"vat terminated\",\"name\":\"Error\"}");
    v = tk_get(&T, "v3.terminated"); /* boot v2? names sorted: alice v1, boot v2, spinner v3 */
    assert_non_null(v);
    free(v);
    assert_string_equal(ask("count"), "#1"); /* others go on */
    tk_close(&T);
}

static void test_luavat_worker_rebuilt_by_replay(void **state)
{
    swing_err e;
    (void)state;
    start();
    assert_string_equal(ask("count"), "#1");
    assert_string_equal(ask("count"), "#2");
    if (kern_evict_worker(T.k, "alice", &e)) fail_msg("%s", e.msg);
    assert_string_equal(ask("count"), "#3"); /* state came back through replay */
    tk_close(&T);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_luavat_ping_pong_and_promises),
        cmocka_unit_test(test_luavat_runaways_are_terminated),
        cmocka_unit_test(test_luavat_worker_rebuilt_by_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
