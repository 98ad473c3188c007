/*
 * gc_test.c - distributed GC through the persistent chunked maybe-free set:
 * an importer drops and retires 2500 imports in one syscall each; the
 * exporter gets dropExports then retireExports in batches of at most
 * gcBatch krefs, and every object, c-list entry and kv key is gone after.
 */
#include "tests/lib/rawvat.h"
#include "tests/kernel/gc_vats.h"

static void host_go(tk *t, size_t n)
{
    char kpid[24], args[32];
    swing_err e;
    snprintf(args, sizeof args, "[%zu]", n);
    if (kern_queue_to_vat(t->k, "A", "go", args, kpid, &e)) fail_msg("go: %s", e.msg);
    tk_run(t);
    if (kern_release(t->k, kpid, &e)) fail_msg("release: %s", e.msg);
    tk_run(t);
}

static void test_gc_drop_and_retire_in_batches(void **state)
{
    static tk t;
    static gc_world w;
    kern_raw_vat vats[] = {{"A", gcw_a, &w}, {"B", gcw_b, &w}, {"boot", gcw_boot, &w}};
    char config[512];
    size_t baseline;
    (void)state;
    snprintf(config, sizeof config, GCW_CONFIG, 300u);
    tk_open(&t, vats, 3, config);
    tk_run(&t);
    /* Warm up: every counter key exists from now on (30 krefs pass the
     * gcKrefs threshold of 20, so the reapQueue has been used too). */
    host_go(&t, 30);
    tk_settle(&t, 10); /* no dirt or dirty-list keys in either count */
    baseline = tk_count(&t, "");
    assert_int_equal(w.drops, 30);
    assert_int_equal(w.retires, 30);

    host_go(&t, 2500);
    assert_int_equal(w.taken, 2530);
    assert_int_equal(w.drops, 2530);
    assert_int_equal(w.retires, 2530);
    assert_true(w.max_delivery <= 300);
    assert_int_equal(w.order_errors, 0);
    assert_int_equal(tk_count(&t, "v1.c.o+"), 1); /* A's root only */
    assert_int_equal(tk_count(&t, "v2.c.o-"), 1); /* B's import of A's root */
    assert_int_equal(tk_count(&t, "gc."), 0);
    tk_settle(&t, 10);
    assert_int_equal(tk_count(&t, ""), baseline);
    tk_close(&t);
    free(w.state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gc_drop_and_retire_in_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
