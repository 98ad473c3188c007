/*
 * upgrade_test.c - vat upgrade under the kernel (issue 15): a durable
 * counter and a durable collection survive; a virtual and a RAM export are
 * abandoned (their holder's sends reject); a promise the vat decided rejects
 * with the disconnection record; the incarnation number moves; messages
 * queued behind the upgrade reach the new incarnation; failed upgrades
 * (buildRootObject throws, a durable kind not defined again) leave the kv,
 * c-lists and transcript exactly as they were; retained vatParameters are
 * released at the next upgrade (incref new before decref old); bounded
 * replay restarts a vat once its span passes restartAfter.
 */
#include "tests/lib/rawvat.h"

#include "base/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *BOOT =
    "local vats, c, v, r, outcome\n"
    "function buildRootObject()\n"
    "  return Far('boot', {\n"
    "    bootstrap = function(vs) vats = vs end,\n"
    "    setup = function() return E(vats.svc).counter():next(function(x) c = x return E(c).incr() end) end,\n"
    "    incr = function() return E(c).incr() end,\n"
    "    put = function(k, val) return E(vats.svc).put(k, val) end,\n"
    "    get = function(k) return E(vats.svc).get(k) end,\n"
    "    version = function() return E(vats.svc).version() end,\n"
    "    exports = function() return E(vats.svc).virt():next(function(x) v = x return E(vats.svc).ram() end)\n"
    "      :next(function(y) r = y return E(v).hi() end)\n"
    "      :next(function(a) return E(r).hi():next(function(b) return a .. b end) end) end,\n"
    "    callVirt = function() return E(v).hi() end,\n"
    "    callRam = function() return E(r).hi() end,\n"
    "    hang = function() E(vats.svc).hang():next(function(x) outcome = 'fulfilled' end,\n"
    "      function(e) outcome = e end) return 'ok' end,\n"
    "    outcome = function() return outcome end,\n"
    "  })\n"
    "end\n";

/* The upgradable vat; %s is the rest of its root's methods. */
#define SVC_HEAD                                                                                              \
    "function buildRootObject(vatPowers, params, baggage)\n"                                                  \
    "  local kh = VatData.provide(baggage, 'kh', function() return VatData.makeKindHandle('counter') end)\n" \
    "  local Counter = VatData.defineDurableKind(kh, function() return { n = 0 } end, {\n"                    \
    "    incr = function(state) state.n = state.n + 1 return state.n end })\n"                                \
    "  local V = VatData.defineKind('virt', function() return {} end, { hi = function() return 'virt' end })\n" \
    "  local coll = VatData.provide(baggage, 'coll', function()\n"                                            \
    "    return VatData.makeScalarBigMapStore('coll', { durable = true }) end)\n"                             \
    "  local kit\n"
#define SVC_METHODS                                                                                           \
    "    counter = function() return VatData.provide(baggage, 'counter', function() return Counter() end) end,\n" \
    "    put = function(k, val) coll.init(k, val) return coll.getSize() end,\n"                               \
    "    get = function(k) return coll.get(k) end,\n"                                                         \
    "    virt = function() return V() end,\n"                                                                 \
    "    ram = function() return Far('ram', { hi = function() return 'ram' end }) end,\n"                     \
    "    hang = function() kit = makePromiseKit() return kit.promise end,\n"

static const char *SVC1 = SVC_HEAD "  return Far('svc', {\n" SVC_METHODS "    version = function() return 1 end,\n  })\nend\n";
static const char *SVC2 = SVC_HEAD "  return Far('svc', {\n" SVC_METHODS "    version = function() return 2 end,\n  })\nend\n";
static const char *SVC_THROWS =
    SVC_HEAD "  error('no root today')\nend\n";
static const char *SVC_LOOPS = /* passes its compute limit */
    "function buildRootObject(vatPowers, params, baggage)\n"
    "  local i = 0 while true do i = i + 1 end\n"
    "end\n";
static const char *SVC_NO_KIND = /* forgets the durable kind */
    "function buildRootObject(vatPowers, params, baggage)\n"
    "  return Far('svc', { version = function() return 3 end })\n"
    "end\n";

static const char *KEEPER =
    "local ka, kb\n"
    "function buildRootObject()\n"
    "  return Far('keeper', {\n"
    "    keep = function(a, b) ka, kb = a, b return 'ok' end,\n"
    "    drop = function() ka, kb = nil, nil return 'ok' end,\n"
    "  })\n"
    "end\n";

static const char *MARKER_BOOT =
    "local vats\n"
    "function buildRootObject()\n"
    "  return Far('boot', {\n"
    "    bootstrap = function(vs) vats = vs end,\n"
    "    markers = function() return E(vats.keeper).keep(Far('a', {}), Far('b', {})) end,\n"
    "    drop = function() return E(vats.keeper).drop() end,\n"
    "  })\n"
    "end\n";

static tk T;
static char svc1[80], svc2[80];

static void start(const char *svc_options)
{
    char boot[80], config[1024];
    swing_err e;
    tk_open(&T, NULL, 0, NULL);
    tk_install(&T, BOOT, boot);
    tk_install(&T, SVC1, svc1);
    tk_install(&T, SVC2, svc2);
    snprintf(config, sizeof config,
             "{\"bootstrap\":\"boot\",\"vats\":{\"boot\":{\"bundleID\":\"%s\"},\"svc\":{\"bundleID\":\"%s\"%s}}}", boot,
             svc1, svc_options ? svc_options : "");
    if (kern_init(T.k, config, strlen(config), &e)) fail_msg("init: %s", e.msg);
    tk_run(&T);
}

static const char *ask(const char *method) { return tk_ask(&T, "boot", method, "[]"); }

static void expect(const char *method, const char *want)
{
    const char *got = ask(method);
    if (strcmp(got, want) != 0) fail_msg("%s: got %s, want %s", method, got, want);
}

static uint64_t upgrade(const char *bundle, const char *message)
{
    kern_upgrade_request rq = {bundle, NULL, message};
    uint64_t id = 0;
    swing_err e;
    if (kern_upgrade_vat(T.k, "svc", &rq, &id, &e)) fail_msg("upgrade: %s", e.msg);
    tk_run(&T);
    return id;
}

/* The one finished upgrade since the last call. */
static kern_upgrade_result taken(void)
{
    kern_upgrade_result *list, r;
    size_t n;
    swing_err e;
    assert_int_equal(kern_upgrades_take(T.k, &list, &n, &e), SWING_OK);
    assert_int_equal(n, 1);
    r = list[0];
    swing_mfree(list);
    return r;
}

static uint64_t incarnation(void)
{
    uint64_t inc;
    bool found;
    swing_err e;
    assert_int_equal(kern_vat_incarnation(T.k, "svc", &inc, &found, &e), SWING_OK);
    assert_true(found);
    return inc;
}

static void test_upgrade_keeps_durable_state(void **state)
{
    kern_upgrade_result r;
    uint64_t id;
    (void)state;
    start(NULL);
    expect("setup", "#1");
    expect("incr", "#2");
    assert_string_equal(tk_ask(&T, "boot", "put", "[\"a\",\"alpha\"]"), "#1");
    assert_string_equal(tk_ask(&T, "boot", "put", "[\"b\",\"beta\"]"), "#2");
    expect("exports", "#\"virtram\"");
    expect("hang", "#\"ok\"");
    expect("version", "#1");
    assert_int_equal(incarnation(), 0);

    id = upgrade(svc2, "new code");
    r = taken();
    assert_true(r.ok);
    assert_int_equal(r.upgrade_id, id);
    assert_int_equal(r.incarnation, 1);
    assert_string_equal(r.name, "svc");
    assert_int_equal(incarnation(), 1);

    expect("version", "#2");
    expect("incr", "#3"); /* the durable counter kept its state and its kref */
    assert_string_equal(tk_ask(&T, "boot", "get", "[\"b\"]"), "#\"beta\"");
    assert_string_equal(tk_ask(&T, "boot", "put", "[\"c\",\"gamma\"]"), "#3");
    expect("callVirt", "rejected #{\"#error\":\"vat terminated\",\"name\":\"Error\"}");
    expect("callRam", "rejected #{\"#error\":\"vat terminated\",\"name\":\"Error\"}");
    expect("outcome", "#{\"incarnationNumber\":0,\"name\":\"vatUpgraded\",\"upgradeMessage\":\"new code\"}");
    tk_close(&T);
}

/* Every key but the run queue's and crank counters and the block's own
 * records (height, activity hash), as text. */
static char *kv_dump(void)
{
    static const char *const skip[] = {"crankNumber", "runQueue", "kernel.upgrades.nextID", "activityhash",
                                       "host.height", NULL};
    return tk_dump(&T, "", skip);
}

static void failed_upgrade_changes_nothing(const char *src, const char *why)
{
    char bad[80];
    char *before, *after;
    kern_upgrade_result r;
    start(NULL);
    expect("setup", "#1");
    expect("exports", "#\"virtram\"");
    expect("hang", "#\"ok\"");
    tk_install(&T, src, bad);
    tk_run(&T);
    before = kv_dump();
    upgrade(bad, NULL);
    r = taken();
    assert_false(r.ok);
    assert_int_equal(r.incarnation, 0);
    if (!strstr(r.reason, why)) fail_msg("reason %s lacks %s", r.reason, why);
    after = kv_dump();
    assert_string_equal(after, before);
    assert_int_equal(incarnation(), 0);
    expect("version", "#1"); /* the old incarnation goes on, rebuilt by replay */
    expect("incr", "#2");
    expect("callVirt", "#\"virt\"");
    expect("outcome", "#\"#undefined\""); /* still pending */
    free(before);
    free(after);
    tk_close(&T);
}

static void test_upgrade_failing_build_rolls_back(void **state)
{
    (void)state;
    failed_upgrade_changes_nothing(SVC_THROWS, "no root today");
}

static void test_upgrade_missing_kind_rolls_back(void **state)
{
    (void)state;
    failed_upgrade_changes_nothing(SVC_NO_KIND, "defineDurableKind not called for tags: [counter]");
}

static void test_upgrade_over_its_limit_rolls_back(void **state)
{
    char bad[80];
    kern_upgrade_result r;
    (void)state;
    start(",\"computeLimit\":2000000");
    expect("setup", "#1");
    tk_install(&T, SVC_LOOPS, bad);
    upgrade(bad, NULL);
    r = taken();
    assert_false(r.ok);
    if (!strstr(r.reason, "startVat failed")) fail_msg("reason: %s", r.reason);
    expect("incr", "#2");
    assert_int_equal(incarnation(), 0);
    tk_close(&T);
}

/* A node that stops after part of an upgrade-all resumes the rest: the
 * queued upgrades are consensus state. */
static bool stop_after_upgrade(void *ctx, const kern_crank_info *info)
{
    (void)ctx;
    return info->kind != KERN_CRANK_UPGRADE;
}

static void test_upgrade_all_resumes_after_restart(void **state)
{
    kern_upgrade_plan *plan;
    kern_upgrade_result *res;
    size_t n;
    uint64_t left;
    swing_err e;
    (void)state;
    start(NULL);
    expect("setup", "#1");
    assert_int_equal(kern_upgrade_all(T.k, NULL, NULL, 0, &plan, &n, &e), SWING_OK);
    swing_mfree(plan);
    assert_int_equal(kern_run(T.k, stop_after_upgrade, NULL, NULL, &e), SWING_OK);
    if (store_commit(T.st, ++T.height, NULL, &e)) fail_msg("commit: %s", e.msg);
    assert_int_equal(kern_upgrades_pending(T.k, &left, &e), SWING_OK);
    assert_int_equal(left, 1);
    kern_close(T.k); /* the node stops; a new process opens the same store */
    tk_kern_open(&T, NULL, 0);
    tk_run(&T);
    assert_int_equal(kern_upgrades_take(T.k, &res, &n, &e), SWING_OK);
    assert_int_equal(n, 1);
    assert_string_equal(res[0].name, "svc");
    assert_true(res[0].ok);
    swing_mfree(res);
    assert_int_equal(kern_upgrades_pending(T.k, &left, &e), SWING_OK);
    assert_int_equal(left, 0);
    assert_string_equal(tk_ask(&T, "svc", "version", "[]"), "#1");
    assert_int_equal(incarnation(), 1);
    tk_close(&T);
}

static void test_upgrade_refusals(void **state)
{
    kern_upgrade_request rq = {NULL, NULL, NULL};
    kern_upgrade_request bad_bundle = {"b1-0000000000000000000000000000000000000000000000000000000000000000", NULL, NULL};
    uint64_t id;
    swing_err e;
    (void)state;
    start(NULL);
    assert_int_equal(kern_upgrade_vat(T.k, "nobody", &rq, &id, &e), SWING_ERR_INVALID);
    assert_int_equal(kern_upgrade_vat(T.k, "svc", &bad_bundle, &id, &e), SWING_ERR_INVALID);
    assert_non_null(strstr(e.msg, "not installed"));
    assert_int_equal(kern_upgrade_vat(T.k, "svc", &rq, &id, &e), SWING_OK);
    assert_int_equal(kern_upgrade_vat(T.k, "svc", &rq, &id, &e), SWING_ERR_INVALID);
    assert_non_null(strstr(e.msg, "already queued"));
    tk_run(&T);
    assert_true(taken().ok);
    assert_int_equal(kern_upgrade_vat(T.k, "svc", &rq, &id, &e), SWING_OK); /* a null upgrade again */
    tk_run(&T);
    assert_int_equal(taken().incarnation, 2);
    tk_close(&T);
}

static void test_upgrade_all_in_vat_order(void **state)
{
    kern_upgrade_plan *plan;
    kern_upgrade_result *res;
    size_t n, nres;
    swing_err e;
    const char *names[] = {"svc"};
    const char *ids[] = {svc2};
    (void)state;
    start(NULL);
    expect("setup", "#1");
    assert_int_equal(kern_upgrade_all(T.k, names, ids, 1, &plan, &n, &e), SWING_OK);
    assert_int_equal(n, 2);
    assert_string_equal(plan[0].name, "boot");
    assert_string_equal(plan[1].name, "svc");
    assert_true(plan[0].queued && plan[1].queued);
    assert_true(plan[0].upgrade_id < plan[1].upgrade_id);
    swing_mfree(plan);
    tk_run(&T);
    assert_int_equal(kern_upgrades_take(T.k, &res, &nres, &e), SWING_OK);
    assert_int_equal(nres, 2);
    assert_true(res[0].ok && res[1].ok);
    assert_string_equal(res[0].name, "boot");
    swing_mfree(res);
    /* boot's RAM (its vats record) is gone: a null upgrade sheds it */
    assert_true(strncmp(ask("version"), "rejected ", 9) == 0);
    tk_close(&T);
}

static void test_upgrade_bounded_replay(void **state)
{
    store_span sp;
    bool found;
    swing_err e;
    (void)state;
    start(",\"restartAfter\":20");
    expect("setup", "#1");
    for (int i = 0; i < 60; i++) ask("incr");
    assert_int_equal(store_transcript_current(T.st, "v2", &sp, &found, &e), SWING_OK);
    assert_true(found);
    assert_true(sp.incarnation >= 2);
    assert_true(sp.end - sp.start <= 21);
    expect("incr", "#62");
    tk_close(&T);
}

static bool object_alive(const char *kref)
{
    char key[48], *v;
    snprintf(key, sizeof key, "%s.refCount", kref);
    v = tk_get(&T, key);
    free(v);
    return v != NULL;
}

/* vatParameters are retained: an object only the old parameters named is
 * freed after an upgrade with new ones; one both name stays. */
static void test_upgrade_releases_old_parameters(void **state)
{
    char boot[80], keeper[80], config[512], vat[24], *ka, *kb;
    const char *slots[2];
    vp_capdata params;
    kern_upgrade_request rq;
    swing_err e;
    (void)state;
    tk_open(&T, NULL, 0, NULL);
    tk_install(&T, MARKER_BOOT, boot);
    tk_install(&T, KEEPER, keeper);
    tk_install(&T, SVC1, svc1);
    snprintf(config, sizeof config, "{\"bootstrap\":\"boot\",\"vats\":{\"boot\":{\"bundleID\":\"%s\"},"
             "\"keeper\":{\"bundleID\":\"%s\"}}}", boot, keeper);
    if (kern_init(T.k, config, strlen(config), &e)) fail_msg("init: %s", e.msg);
    tk_run(&T);
    assert_string_equal(tk_ask(&T, "boot", "markers", "[]"), "#\"ok\"");
    ka = tk_get(&T, "v2.c.o-1");
    kb = tk_get(&T, "v2.c.o-2");
    assert_non_null(ka);
    assert_non_null(kb);
    slots[0] = ka;
    slots[1] = kb;
    params.body = "#{\"a\":\"$0.Alleged: a\",\"b\":\"$1.Alleged: b\"}";
    params.slots = slots;
    params.nslots = 2;
    snprintf(config, sizeof config, "{\"bundleID\":\"%s\"}", svc1);
    if (kern_create_vat(T.k, "svc", config, &params, vat, &e)) fail_msg("create: %s", e.msg);
    assert_string_equal(tk_ask(&T, "boot", "drop", "[]"), "#\"ok\"");
    tk_settle(&T, 20);
    assert_true(object_alive(ka)); /* held by the retained copy alone */
    assert_true(object_alive(kb));

    slots[0] = kb;
    params.body = "#{\"b\":\"$0.Alleged: b\"}";
    params.nslots = 1;
    rq.bundle_id = svc2;
    rq.params = &params;
    rq.message = NULL;
    tk_install(&T, SVC2, svc2);
    if (kern_upgrade_vat(T.k, "svc", &rq, NULL, &e)) fail_msg("upgrade: %s", e.msg);
    tk_settle(&T, 20);
    assert_true(taken().ok);
    assert_false(object_alive(ka)); /* only the old parameters named it */
    assert_true(object_alive(kb));
    {
        char *vp = tk_get(&T, "v3.vatParameters"), want[128];
        snprintf(want, sizeof want, "{\"body\":\"#{\\\"b\\\":\\\"$0.Alleged: b\\\"}\",\"slots\":[\"%s\"]}", kb);
        assert_string_equal(vp, want);
        free(vp);
    }
    free(ka);
    free(kb);
    tk_close(&T);
}

/* Messages already queued behind an upgrade reach the new incarnation. */
static void test_upgrade_messages_behind_it(void **state)
{
    kern_upgrade_request rq = {NULL, NULL, NULL};
    char kpid[24];
    kern_promise_state st;
    swing_buf body = {0};
    swing_err e;
    (void)state;
    start(NULL);
    expect("setup", "#1");
    rq.bundle_id = svc2;
    if (kern_upgrade_vat(T.k, "svc", &rq, NULL, &e)) fail_msg("upgrade: %s", e.msg);
    if (kern_queue_to_vat(T.k, "svc", "version", "[]", kpid, &e)) fail_msg("queue: %s", e.msg);
    tk_run(&T);
    assert_true(taken().ok);
    assert_int_equal(kern_promise_status(T.k, kpid, &st, &body, &e), SWING_OK);
    assert_int_equal(st, KERN_PROMISE_FULFILLED);
    assert_memory_equal(body.ptr, "#2", 2);
    swing_buf_free(&body);
    tk_close(&T);
}

/* Upgrades, a failed one and an upgrade-all, in two exec'd processes with
 * different address layouts: the same activity hash after every step and
 * the same computrons, crank by crank. */
typedef struct up_trace {
    uint64_t steps, computrons, meter;
} up_trace;

static void fold(uint64_t *h, const char *s)
{
    for (; *s; s++) *h = (*h ^ (unsigned char)*s) * 1099511628211ull;
}

static int two_processes_child(int fd)
{
    up_trace r;
    char bad[80];
    kern_upgrade_plan *plan;
    size_t n;
    swing_err e;
    const char *steps[] = {"setup", "incr", "exports", "hang", "version"};
    memset(&r, 0, sizeof r);
    r.steps = 1469598103934665603ull;
    start(",\"restartAfter\":7");
    tk_install(&T, SVC_NO_KIND, bad);
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        fold(&r.steps, ask(steps[i]));
        fold(&r.steps, store_activity_hash(T.st));
    }
    upgrade(svc2, "two");
    upgrade(bad, NULL);
    fold(&r.steps, store_activity_hash(T.st));
    if (kern_upgrade_all(T.k, NULL, NULL, 0, &plan, &n, &e)) return 3;
    swing_mfree(plan);
    tk_run(&T);
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        fold(&r.steps, ask(steps[i]));
        fold(&r.steps, store_activity_hash(T.st));
    }
    r.computrons = T.computrons;
    r.meter = T.meter_trace;
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r) return 2;
    tk_close(&T);
    return 0;
}

static void test_upgrade_same_in_two_processes(void **state)
{
    up_trace runs[2];
    (void)state;
    tl_run_self_layout("UPGRADE_TEST_CHILD_FD", &runs[0], sizeof runs[0], false);
    tl_run_self_layout("UPGRADE_TEST_CHILD_FD", &runs[1], sizeof runs[1], true);
    assert_true(runs[0].computrons > 10000);
    assert_int_equal(runs[0].steps, runs[1].steps);
    assert_int_equal(runs[0].computrons, runs[1].computrons);
    assert_int_equal(runs[0].meter, runs[1].meter);
}

int main(void)
{
    const char *child_fd = getenv("UPGRADE_TEST_CHILD_FD");
    if (child_fd) return two_processes_child(atoi(child_fd));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upgrade_keeps_durable_state),
        cmocka_unit_test(test_upgrade_failing_build_rolls_back),
        cmocka_unit_test(test_upgrade_missing_kind_rolls_back),
        cmocka_unit_test(test_upgrade_over_its_limit_rolls_back),
        cmocka_unit_test(test_upgrade_all_resumes_after_restart),
        cmocka_unit_test(test_upgrade_refusals),
        cmocka_unit_test(test_upgrade_all_in_vat_order),
        cmocka_unit_test(test_upgrade_bounded_replay),
        cmocka_unit_test(test_upgrade_releases_old_parameters),
        cmocka_unit_test(test_upgrade_messages_behind_it),
        cmocka_unit_test(test_upgrade_same_in_two_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
