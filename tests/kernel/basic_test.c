/*
 * basic_test.c - the kernel end to end with raw C vats: genesis, startVat,
 * bootstrap with the vats' roots, a send with a result promise, resolution,
 * subscribe and notify; bad configs change nothing.
 */
#include "tests/lib/rawvat.h"

#include <stdlib.h>
#include <string.h>

static swing_status boot_dispatch(void *user, kern_vat_io *io, const kern_delivery *d,
                                  kern_delivery_result *r)
{
    tk *t = user;
    char m[64];
    (void)r;
    tk_log_delivery(t, io, d);
    if (d->type == KERN_D_MESSAGE && strcmp(tv_method(d, m, sizeof m), "bootstrap") == 0) {
        if (tv_send(io, d->methargs.slots[0], "#[\"hello\",[]]", NULL, 0, "p+1")) return SWING_ERR_VAT;
        if (tv_subscribe(io, "p+1")) return SWING_ERR_VAT;
    }
    return SWING_OK;
}

static swing_status alice_dispatch(void *user, kern_vat_io *io, const kern_delivery *d,
                                   kern_delivery_result *r)
{
    tk *t = user;
    char m[64];
    (void)r;
    tk_log_delivery(t, io, d);
    if (d->type == KERN_D_MESSAGE && strcmp(tv_method(d, m, sizeof m), "hello") == 0)
        return tv_resolve(io, d->result, false, "#\"hi\"", NULL, 0);
    return SWING_OK;
}

static const char *CONFIG =
    "{\"bootstrap\":\"boot\",\"vats\":{\"boot\":{\"source\":\"raw:boot\"},"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_bootstrap_and_ping_pong),
        cmocka_unit_test(test_kernel_bad_config_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
