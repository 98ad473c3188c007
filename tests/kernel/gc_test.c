/*
 * gc_test.c - distributed GC through the persistent chunked maybe-free set:
 * an importer drops and retires 2500 imports in one syscall each; the
 * exporter gets dropExports then retireExports in batches of at most
 * gcBatch krefs, and every object, c-list entry and kv key is gone after;
 * the same in blocks of a few cranks with the kernel reopened after each
 * (its RAM knowledge of the pending actions lost while actions are
 * committed and pending), and with a GC delivery that fails
 * (its crank rolled back, the actions it took live again).
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

static bool few_cranks(void *ctx, const kern_crank_info *info)
{
    unsigned *left = ctx;
    (void)info;
    return --*left > 0;
}

/* Runs until quiet in blocks of `per` cranks, reopening the kernel every
 * `reopen` blocks (after every one, a kernel that trusted RAM it has not
 * rebuilt would leave actions behind: tested by breaking it so). */
static void run_in_blocks(tk *t, const kern_raw_vat *vats, size_t nvats, unsigned per, int reopen)
{
    for (int block = 1;; block++) {
        unsigned left = per;
        uint64_t cranks = 0;
        swing_err e;
        if (kern_run(t->k, few_cranks, &left, &cranks, &e)) fail_msg("kern_run: %s", e.msg);
        if (store_commit(t->st, ++t->height, NULL, &e)) fail_msg("commit: %s", e.msg);
        if (cranks == 0) return;
        if (block % reopen == 0) {
            kern_close(t->k);
            tk_kern_open(t, vats, nvats);
        }
    }
}

static void test_gc_in_short_blocks_across_restarts(void **state)
{
    static tk t;
    static gc_world w;
    kern_raw_vat vats[] = {{"A", gcw_a, &w}, {"B", gcw_b, &w}, {"boot", gcw_boot, &w}};
    char config[512], kpid[24];
    size_t baseline;
    swing_err e;
    (void)state;
    snprintf(config, sizeof config, GCW_CONFIG, 70u);
    tk_open(&t, vats, 3, config);
    tk_run(&t);
    host_go(&t, 30);
    tk_settle(&t, 10);
    baseline = tk_count(&t, "");
    if (kern_queue_to_vat(t.k, "A", "go", "[2500]", kpid, &e)) fail_msg("go: %s", e.msg);
    run_in_blocks(&t, vats, 3, 7, 1);
    if (kern_release(t.k, kpid, &e)) fail_msg("release: %s", e.msg);
    run_in_blocks(&t, vats, 3, 7, 1);
    assert_int_equal(w.drops, 2530);
    assert_int_equal(w.retires, 2530);
    assert_true(w.max_delivery <= 70);
    assert_int_equal(w.order_errors, 0);
    assert_int_equal(tk_count(&t, "gc."), 0);
    tk_settle(&t, 10);
    assert_int_equal(tk_count(&t, ""), baseline);
    tk_close(&t);
    free(w.state);
}

static void test_gc_actions_of_a_failed_delivery_are_not_lost(void **state)
{
    static tk t;
    static gc_world w;
    kern_raw_vat vats[] = {{"A", gcw_a, &w}, {"B", gcw_b, &w}, {"boot", gcw_boot, &w}};
    char config[512];
    (void)state;
    snprintf(config, sizeof config, GCW_CONFIG, 100u);
    tk_open(&t, vats, 3, config);
    tk_run(&t);
    w.fail_gc_delivery = 4; /* A's 4th GC delivery fails: A is terminated */
    host_go(&t, 2000);
    assert_int_equal(w.order_errors, 0);
    tk_settle(&t, 20);
    assert_int_equal(tk_count(&t, "gc."), 0); /* every action taken, the rolled-back ones too */
    assert_int_equal(tk_count(&t, "v1.c."), 0); /* A is gone */
    tk_close(&t);
    free(w.state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gc_drop_and_retire_in_batches),
        cmocka_unit_test(test_gc_in_short_blocks_across_restarts),
        cmocka_unit_test(test_gc_actions_of_a_failed_delivery_are_not_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
