/*
 * luavat_test.c - Lua vats under the kernel, end to end: ping-pong, a
 * pipelined send, a promise resolved to a presence, errors crossing vats,
 * runaway vats terminated while others go on (each saying why), vats that
 * die before serving anything saying why, and a worker rebuilt by
 * transcript replay with its state intact.
 */
#include "tests/lib/rawvat.h"
#include "tests/liveslots/gc_bundles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    "    nothing = function() return E(vats.alice).nothing() end,\n"
    "    nothing2 = function() end,\n"
    "    unpassable = function() return E(vats.alice).unpassable():catch(function(e) return 'caught: ' .. tostring(e) end) end,\n"
    "    sendfn = function() local ok, e = pcall(function() return E(vats.alice).bump(function() end) end)\n"
    "      return ok and 'sent' or ('raised: ' .. tostring(e)) end,\n"
    "    fetch = function(n) return E(vats.importer).fetch(vats.exporter, n) end,\n"
    "    drop = function() return E(vats.importer).drop() end,\n"
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
    "    nothing = function() end,\n"
    "    unpassable = function() return { f = function() end } end,\n"
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

static void install(const char *src, char id[STORE_BUNDLE_ID_LEN + 1]) { tk_install(&T, src, id); }

static void start(void)
{
    char boot[80], alice[80], spinner[80], exporter[80], importer[80], config[1024];
    swing_err e;
    tk_open(&T, NULL, 0, NULL);
    install(BOOT, boot);
    install(ALICE, alice);
    install(SPINNER, spinner);
    install(GC_EXPORTER, exporter);
    install(GC_IMPORTER, importer);
    snprintf(config, sizeof config,
             "{\"bootstrap\":\"boot\",\"vats\":{\"boot\":{\"bundleID\":\"%s\"},\"alice\":{\"bundleID\":\"%s\"},"
             "\"spinner\":{\"bundleID\":\"%s\",\"computeLimit\":5000000,\"memoryLimit\":8388608},"
             "\"exporter\":{\"bundleID\":\"%s\"},\"importer\":{\"bundleID\":\"%s\"}}}",
             boot, alice, spinner, exporter, importer);
    if (kern_init(T.k, config, strlen(config), &e)) fail_msg("init: %s", e.msg);
    tk_run(&T);
}

static const char *ask_args(const char *method, const char *args) { return tk_ask(&T, "boot", method, args); }

static const char *ask(const char *method) { return ask_args(method, "[]"); }

static void test_luavat_ping_pong_and_promises(void **state)
{
    (void)state;
    start();
    assert_string_equal(ask("result"), "#\"pong 1\"");
    assert_string_equal(ask("nothing2"), "#\"#undefined\"");
    assert_string_equal(ask("nothing"), "#\"#undefined\"");
    assert_string_equal(ask("unpassable"), "#\"caught: Error: not passable: function\"");
    assert_string_equal(ask("sendfn"), "#\"raised: main:29: not passable: function\""); /* the line of E(...) */
    assert_string_equal(ask("count"), "#1"); /* alice is alive */
    assert_string_equal(ask("pipeline"), "#12");
    assert_string_equal(ask("presence"), "#203");
    assert_string_equal(ask("failing"), "#\"caught: Error: nope\"");
    tk_close(&T);
}

/* The vat's termination record holds kind and reason. */
static void expect_record(const char *name, kern_term_kind kind, const char *reason)
{
    kern_termination t;
    bool found;
    swing_err e;
    if (kern_vat_termination(T.k, name, &t, &found, &e)) fail_msg("record: %s", e.msg);
    assert_true(found);
    assert_int_equal(t.kind, kind);
    assert_string_equal(t.reason, reason);
}

static void test_luavat_runaways_are_terminated(void **state)
{
    char *v;
    (void)state;
    start();
    assert_string_equal(ask("spin"), "rejected #{\"#error\":\"vat spinner (v5) terminated: compute limit\",\"name\":\"Error\"}");
    v = tk_get(&T, "v5.terminated"); /* by name: alice v1, boot v2, exporter v3, importer v4, spinner v5 */
    assert_non_null(v);
    free(v);
    expect_record("spinner", KERN_TERM_COMPUTE_LIMIT, "compute limit");
    assert_string_equal(ask("count"), "#1"); /* others go on */
    tk_close(&T);
    start();
    assert_string_equal(ask("bomb"), "rejected #{\"#error\":\"vat spinner (v5) terminated: memory limit\",\"name\":\"Error\"}");
    expect_record("spinner", KERN_TERM_MEMORY_LIMIT, "memory limit");
    assert_string_equal(ask("count"), "#1");
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

static void test_luavat_boyd_releases_dropped_presences(void **state)
{
    swing_err e;
    size_t objects;
    (void)state;
    start();
    objects = tk_count(&T, "ko");
    assert_string_equal(ask_args("fetch", "[10000]"), "#10000");
    assert_true(tk_count(&T, "ko") > objects + 10000); /* 10k exported objects exist */
    assert_string_equal(ask("drop"), "#\"dropped\"");
    if (kern_bring_out_your_dead(T.k, "importer", 0, &e)) fail_msg("%s", e.msg);
    tk_run(&T);
    /* dropExports then retireExports reached the exporter; every object is gone. */
    assert_int_equal(tk_count(&T, "ko"), objects);
    assert_int_equal(tk_count(&T, "v3.c.o+"), 1); /* the exporter's root */
    assert_int_equal(tk_count(&T, "v4.c.o-"), 0);
    assert_int_equal(tk_count(&T, "gc."), 0);
    tk_close(&T);
}

static void test_luavat_replay_after_reopen(void **state)
{
    (void)state;
    start();
    assert_string_equal(ask("count"), "#1");
    assert_string_equal(ask("count"), "#2");
    kern_close(T.k);
    store_close(T.st);
    T.st = tl_open(T.dir);
    tk_kern_open(&T, NULL, 0);
    assert_string_equal(ask("count"), "#3");
    assert_string_equal(ask("result"), "#\"pong 1\"");
    tk_close(&T);
}

/* The same scenario in two processes (different Lua hash seeds and
 * addresses) ends with the same activity hash and charges the same
 * computrons crank by crank: metering decides where a block's compute
 * budget cuts, so it is consensus too. The scenario mixes inserts and
 * deletes in tables keyed by strings and by objects, whose internal
 * layout (and so their allocations) depends on the seed and addresses. */
static const char *CHURN =
    "function buildRootObject()\n"
    "  local byName, byObj, keep = {}, {}, {}\n"
    "  return Far('churn', {\n"
    "    churn = function(n)\n"
    "      for i = 1, n do\n"
    "        local o = {}\n"
    "        byName['k' .. i] = o\n"
    "        byObj[o] = i\n"
    "        if i % 3 == 0 then byName['k' .. (i - 1)] = nil end\n"
    "        if i % 5 == 0 then keep[#keep + 1] = o else byObj[o] = nil end\n"
    "      end\n"
    "      return #keep\n"
    "    end,\n"
    "  })\n"
    "end\n";

typedef struct run_trace {
    char hash[65];
    uint64_t computrons, trace;
} run_trace;

/* The child's side: runs the scenario in a freshly exec'd process and
 * writes its trace to fd. */
static int two_processes_child(int fd)
{
    char churn[80], config[256], kpid[24];
    run_trace r;
    swing_err e;
    start();
    ask("result");
    ask("pipeline");
    ask("presence");
    ask("failing");
    ask_args("fetch", "[300]");
    ask("drop");
    kern_bring_out_your_dead(T.k, "importer", 0, NULL);
    tk_run(&T);
    install(CHURN, churn);
    snprintf(config, sizeof config, "{\"bundleID\":\"%s\"}", churn);
    if (kern_create_vat(T.k, "churn", config, NULL, kpid, &e)) return 3;
    tk_run(&T);
    for (int round = 0; round < 8; round++) {
        if (kern_queue_to_vat(T.k, "churn", "churn", "[2000]", kpid, &e)) return 4;
        tk_run(&T);
    }
    memcpy(r.hash, store_activity_hash(T.st), 65);
    r.computrons = T.computrons;
    r.trace = T.meter_trace;
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r) return 2;
    tk_close(&T);
    return 0;
}

static void test_luavat_same_hash_in_two_processes(void **state)
{
    run_trace runs[2];
    (void)state;
    for (int i = 0; i < 2; i++) tl_run_self("LUAVAT_TEST_CHILD_FD", &runs[i], sizeof runs[i]);
    assert_string_equal(runs[0].hash, runs[1].hash);
    assert_true(runs[0].computrons > 100000); /* the churn rounds ran */
    assert_int_equal(runs[0].computrons, runs[1].computrons);
    assert_int_equal(runs[0].trace, runs[1].trace);
}

static void test_luavat_replay_mismatch_is_vat_fatal(void **state)
{
    swing_err e;
    char *v;
    (void)state;
    start();
    assert_string_equal(ask("result"), "#\"pong 1\"");
    kern_close(T.k);
    store_close(T.st);
    /* boot (v2) recorded a send of "ping"; make the record say "pong". */
    assert_true(tl_tamper_transcript(T.dir, "v2", "\\\"ping\\\"", "\\\"pong\\\"") > 0);
    T.st = tl_open(T.dir);
    tk_kern_open(&T, NULL, 0);
    {
        /* The rejection says why: the recorded send of "pong" and the "ping" it got. */
        const char *got = ask("result");
        const char *want = "rejected #{\"#error\":\"vat boot (v2) terminated: transcript mismatch at item 1 syscall 0: "
                           "recorded {\\\"methargs\\\":{\\\"body\\\":\\\"#[\\\\\\\"pong\\\\\\\",[1]]";
        assert_int_equal(strncmp(got, want, strlen(want)), 0);
        assert_non_null(strstr(got, ", got {\\\"methargs\\\":{\\\"body\\\":\\\"#[\\\\\\\"ping\\\\\\\",[1]]"));
    }
    v = tk_get(&T, "v2.terminated");
    assert_non_null(v);
    free(v);
    {
        kern_termination t;
        bool found;
        TL_OK(kern_vat_termination(T.k, "boot", &t, &found, &e));
        assert_true(found);
        assert_int_equal(t.kind, KERN_TERM_TRANSCRIPT_MISMATCH);
        assert_int_equal(strncmp(t.reason, "transcript mismatch at item 1 syscall 0: recorded ", 50), 0);
    }
    tk_close(&T);
}

/* Creates a vat named name from bundle source src (stored unchecked when
 * raw, as a restored node may hold it), sends it hello behind its startVat,
 * runs, and returns the rejection (static buffer). */
static const char *doomed_vat(const char *name, const char *src, bool raw)
{
    static char out[512];
    char id[STORE_BUNDLE_ID_LEN + 1], cfg[160], vat[24], kpid[24];
    kern_promise_state st;
    swing_buf body = {0};
    swing_err e;
    if (raw) {
        TL_OK(store_crank_begin(T.st, &e));
        TL_OK(store_bundle_put(T.st, swing_str(src), id, &e));
        TL_OK(store_crank_end(T.st, &e));
    } else {
        install(src, id);
    }
    snprintf(cfg, sizeof cfg, "{\"bundleID\":\"%s\",\"computeLimit\":2000000}", id);
    if (kern_create_vat(T.k, name, cfg, NULL, vat, &e)) fail_msg("create %s: %s", name, e.msg);
    if (kern_queue_to_vat(T.k, name, "hello", "[]", kpid, &e)) fail_msg("hello: %s", e.msg);
    tk_run(&T);
    TL_OK(kern_promise_status(T.k, kpid, &st, &body, &e));
    assert_int_equal(st, KERN_PROMISE_REJECTED);
    snprintf(out, sizeof out, "%.*s", (int)body.len, (const char *)body.ptr);
    swing_buf_free(&body);
    return out;
}

/* A vat that dies before it serves anything says why: buildRootObject
 * threw (with its error), its top level raised or ran out of compute, or a
 * module of its bundle does not compile (named with the vat). */
static void test_luavat_early_deaths_say_why(void **state)
{
    (void)state;
    start();
    assert_string_equal(doomed_vat("thrower", "function buildRootObject()\n  error('no root for you')\nend\n", false),
                        "#{\"#error\":\"vat thrower (v6) terminated: buildRootObject failed: main:2: no root for you\","
                        "\"name\":\"Error\"}");
    expect_record("thrower", KERN_TERM_START_FAILED, "buildRootObject failed: main:2: no root for you");
    assert_string_equal(doomed_vat("raiser", "error('top level broke')\n", false),
                        "#{\"#error\":\"vat raiser (v7) terminated: its code failed to load: main:1: top level broke\","
                        "\"name\":\"Error\"}");
    expect_record("raiser", KERN_TERM_LOAD_FAILED, "its code failed to load: main:1: top level broke");
    assert_string_equal(doomed_vat("looper", "while true do end\n", false),
                        "#{\"#error\":\"vat looper (v8) terminated: compute limit\",\"name\":\"Error\"}");
    expect_record("looper", KERN_TERM_COMPUTE_LIMIT, "compute limit");
    /* A syntax error in a module other than main: the vat and the module are named. */
    assert_string_equal(
        doomed_vat("broken",
                   "{\"format\":\"swing-lua-bundle-1\",\"entry\":\"main\",\"modules\":{"
                   "\"main\":\"local u = require('util')\\nfunction buildRootObject() return Far('x', {}) end\","
                   "\"util\":\"local x = = 1\\nreturn {}\"}}",
                   true),
        "#{\"#error\":\"vat broken (v9) terminated: its code failed to load: util:1: unexpected symbol near '='\","
        "\"name\":\"Error\"}");
    expect_record("broken", KERN_TERM_LOAD_FAILED, "its code failed to load: util:1: unexpected symbol near '='");
    assert_string_equal(ask("count"), "#1"); /* the others go on */
    tk_close(&T);
}

static void test_luavat_install_rejects_syntax_errors(void **state)
{
    char id[STORE_BUNDLE_ID_LEN + 1];
    swing_err e;
    const char *bad = "local ok = 1\nlocal x = = 2\n";
    (void)state;
    tk_open(&T, NULL, 0, NULL);
    assert_int_equal(kern_install_bundle(T.k, bad, strlen(bad), id, &e), SWING_ERR_INVALID);
    assert_non_null(strstr(e.msg, "main:2:"));
    assert_string_equal(id, "");
    {
        char hex[65], want[80];
        bool found = true;
        tl_sha256_hex(bad, strlen(bad), hex);
        snprintf(want, sizeof want, "b1-%s", hex);
        TL_OK(store_bundle_has(T.st, want, &found, NULL));
        assert_false(found); /* nothing stored */
    }
    tk_close(&T);
}

int main(void)
{
    const char *child_fd = getenv("LUAVAT_TEST_CHILD_FD");
    if (child_fd) return two_processes_child(atoi(child_fd));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_luavat_ping_pong_and_promises),
        cmocka_unit_test(test_luavat_runaways_are_terminated),
        cmocka_unit_test(test_luavat_worker_rebuilt_by_replay),
        cmocka_unit_test(test_luavat_boyd_releases_dropped_presences),
        cmocka_unit_test(test_luavat_replay_after_reopen),
        cmocka_unit_test(test_luavat_same_hash_in_two_processes),
        cmocka_unit_test(test_luavat_replay_mismatch_is_vat_fatal),
        cmocka_unit_test(test_luavat_install_rejects_syntax_errors),
        cmocka_unit_test(test_luavat_early_deaths_say_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
