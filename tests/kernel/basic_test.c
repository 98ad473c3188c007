/*
 * basic_test.c - the kernel end to end with raw C vats: genesis, startVat,
 * bootstrap with the vats' roots, a send with a result promise, resolution,
 * subscribe and notify; bad configs change nothing.
 */
#include "tests/lib/rawvat.h"

#include <stdlib.h>
#include <string.h>

static swing_status boot_dispatch(void *user, vp_channel *io, const vp_delivery *d,
                                  vp_delivery_result *r)
{
    tk *t = user;
    char m[64];
    (void)r;
    tk_log_delivery(t, io, d);
    if (d->type == VP_D_MESSAGE && strcmp(tv_method(d, m, sizeof m), "bootstrap") == 0) {
        if (tv_send(io, d->methargs.slots[0], "#[\"hello\",[]]", NULL, 0, "p+1")) return SWING_ERR_VAT;
        if (tv_subscribe(io, "p+1")) return SWING_ERR_VAT;
    }
    return SWING_OK;
}

static swing_status alice_dispatch(void *user, vp_channel *io, const vp_delivery *d,
                                   vp_delivery_result *r)
{
    tk *t = user;
    char m[64];
    (void)r;
    tk_log_delivery(t, io, d);
    if (d->type == VP_D_MESSAGE && strcmp(tv_method(d, m, sizeof m), "hello") == 0)
        return tv_resolve(io, d->result, false, "#\"hi\"", NULL, 0);
    return SWING_OK;
}

static const char *CONFIG =
    "{\"bootstrap\":\"boot\",\"vats\":{\"boot\":{\"source\":\"raw:boot\","
    "\"reapDirtThreshold\":{\"deliveries\":1000,\"computrons\":\"never\"}},"
    "\"alice\":{\"source\":\"raw:alice\",\"parameters\":{\"greeting\":\"#hi\"}}}}";

static void test_kernel_bootstrap_and_ping_pong(void **state)
{
    static tk t;
    kern_raw_vat vats[] = {{"boot", boot_dispatch, &t}, {"alice", alice_dispatch, &t}};
    char *v;
    (void)state;
    tk_open(&t, vats, 2, CONFIG);
    tk_run(&t);
    tk_expect_line(&t, "v2 startVat #{} []");
    tk_expect_line(&t, "v1 startVat #{\"greeting\":\"!#hi\"} []");
    tk_expect_line(&t, "v2 message o+0 #[\"bootstrap\",[{\"alice\":\"$0.Alleged: root\","
                       "\"boot\":\"$1.Alleged: root\"}]] [o-1,o+0] result=p-1");
    tk_expect_line(&t, "v1 message o+0 #[\"hello\",[]] [] result=p-1");
    tk_expect_line(&t, "v2 notify p+1 fulfilled #\"hi\" []");
    v = tk_get(&t, "v2.options");
    assert_string_equal(v, "{\"critical\":false,\"enablePipelining\":false,\"name\":\"boot\","
                           "\"reapDirtThreshold\":{\"computrons\":\"never\",\"deliveries\":1000}}");
    free(v);
    /* The resolved, notified promise is gone from every c-list and the kernel. */
    v = tk_get(&t, "kp2.state");
    assert_null(v);
    assert_int_equal(tk_count(&t, "v2.c.kp"), 1); /* only the bootstrap result remains */
    tk_close(&t);
}

static void test_kernel_bad_config_changes_nothing(void **state)
{
    static tk t;
    kern_raw_vat vats[] = {{"boot", boot_dispatch, &t}};
    static const char *bad[] = {
        "", "[]", "{\"vats\":{}}", "{\"vats\":{\"a b\":{\"source\":\"raw:boot\"}}}",
        "{\"vats\":{\"a\":{\"source\":\"raw:boot\",\"critical\":1}}}",
        "{\"vats\":{\"a\":{\"source\":\"raw:boot\"}},\"bootstrap\":\"zed\"}",
        "{\"vats\":{\"a\":{\"source\":\"raw:boot\"}},\"extra\":1}",
        "{\"vats\":{\"a\":{\"source\":\"raw:boot\"}},\"gcBatch\":0}",
        "{\"vats\":{\"a\":{\"source\":\"raw:boot\",\"reapDirtThreshold\":{\"deliveries\":0}}}}",
        "{\"vats\":{\"a\":{\"source\":\"raw:boot\",\"reapDirtThreshold\":{\"often\":1}}}}",
    };
    swing_err e;
    (void)state;
    tk_open(&t, vats, 1, NULL);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(kern_init(t.k, bad[i], strlen(bad[i]), &e), SWING_ERR_INVALID);
        assert_false(kern_initialized(t.k));
        assert_int_equal(tk_count(&t, ""), 0);
    }
    tk_close(&t);
}

typedef struct stopper {
    int left;         /* cranks still allowed */
    uint64_t seen;    /* cranks the policy saw */
    uint64_t computrons;
} stopper;

static bool stop_after(void *ctx, const kern_crank_info *info)
{
    stopper *p = ctx;
    p->seen++;
    p->computrons += info->computrons;
    return --p->left > 0;
}

static swing_status metered_dispatch(void *user, vp_channel *io, const vp_delivery *d,
                                     vp_delivery_result *r)
{
    r->computrons = 1000;
    return boot_dispatch(user, io, d, r);
}

static void test_kernel_policy_stops_the_run(void **state)
{
    static tk t;
    kern_raw_vat vats[] = {{"boot", metered_dispatch, &t}, {"alice", alice_dispatch, &t}};
    stopper p = {3, 0, 0};
    uint64_t cranks = 0, more = 0;
    swing_err e;
    (void)state;
    tk_open(&t, vats, 2, CONFIG);
    if (kern_run(t.k, stop_after, &p, &cranks, &e)) fail_msg("%s", e.msg);
    assert_int_equal(cranks, 3); /* the crank that said stop is complete */
    assert_int_equal(p.seen, 3);
    if (kern_run(t.k, NULL, NULL, &more, &e)) fail_msg("%s", e.msg);
    assert_true(more > 0);
    tk_expect_line(&t, "v2 notify p+1 fulfilled #\"hi\" []");
    tk_close(&t);
}

static swing_status rejecting_boot(void *user, vp_channel *io, const vp_delivery *d,
                                   vp_delivery_result *r)
{
    char m[64];
    (void)user;
    (void)r;
    if (d->type == VP_D_MESSAGE && strcmp(tv_method(d, m, sizeof m), "bootstrap") == 0)
        return tv_resolve(io, d->result, true, "#{\"#error\":\"no\",\"name\":\"Error\"}", NULL, 0);
    return SWING_OK;
}

static void test_kernel_bootstrap_rejection_panics(void **state)
{
    static tk t;
    kern_raw_vat vats[] = {{"boot", rejecting_boot, &t}, {"alice", alice_dispatch, &t}};
    swing_err e;
    (void)state;
    tk_open(&t, vats, 2, CONFIG);
    assert_int_equal(kern_run(t.k, NULL, NULL, NULL, &e), SWING_ERR_PANIC);
    assert_non_null(strstr(e.msg, "policy panic"));
    assert_int_equal(kern_panicked(t.k, NULL), SWING_ERR_PANIC);
    tk_close(&t);
}

/* A kernel opened with no vat runtime refuses bundles and bundle vats
 * with a clear error; raw vats still run. */
static void test_kernel_without_runtime_refuses_bundles(void **state)
{
    static const char lua[] = "function buildRootObject() return Far('x', {}) end\n";
    char *dir = tl_tmpdir();
    store *st = tl_open(dir);
    kern_raw_vat vats[] = {{"boot", boot_dispatch, NULL}};
    kern_options o = {vats, 1, 0, NULL, 0};
    kern *k;
    char id[STORE_BUNDLE_ID_LEN + 1];
    swing_err e;
    (void)state;
    if (kern_open(st, &o, &k, &e)) fail_msg("open: %s", e.msg);
    assert_int_equal(kern_install_bundle(k, lua, strlen(lua), id, &e), SWING_ERR_INVALID);
    assert_non_null(strstr(e.msg, "no vat runtime"));
    assert_string_equal(id, "");
    kern_close(k);
    store_close(st);
    tl_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_bootstrap_and_ping_pong),
        cmocka_unit_test(test_kernel_bad_config_changes_nothing),
        cmocka_unit_test(test_kernel_policy_stops_the_run),
        cmocka_unit_test(test_kernel_bootstrap_rejection_panics),
        cmocka_unit_test(test_kernel_without_runtime_refuses_bundles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
