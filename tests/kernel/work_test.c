/*
 * work_test.c - the crank engine (kernel/work.c): kern_work_block is a
 * block's normal work under the compute budget followed by its clean-up,
 * crank for crank. Two kernels take the same inputs; one runs each block
 * with kern_work_block, its twin with the two parts called one after the
 * other (kern_run_flags with KERN_RUN_NO_GC under a policy that stops at
 * the compute budget, then kern_cleanup). Every block must commit the same
 * activity hash in both, and the report must count each crank once: its
 * parts add up to its total, and they equal what the twin's parts did.
 */
#include "tests/lib/rawvat.h"
#include "tests/kernel/gc_vats.h"

#define COMPUTRONS 40u /* what each delivery to A, B and boot reports */
#define COMPUTE 1000u  /* a block's compute budget: about 25 deliveries */

static swing_status metered(swing_status s, vp_delivery_result *r)
{
    r->computrons = COMPUTRONS;
    return s;
}

static swing_status a_vat(void *u, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    return metered(gcw_a(u, io, d, r), r);
}

static swing_status b_vat(void *u, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    return metered(gcw_b(u, io, d, r), r);
}

static swing_status boot_vat(void *u, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    return metered(gcw_boot(u, io, d, r), r);
}

typedef struct meter {
    uint64_t budget, spent, cranks, boyds;
    bool stopped;
} meter;

static bool meter_policy(void *ctx, const kern_crank_info *info)
{
    meter *m = ctx;
    m->spent += info->computrons;
    m->cranks++;
    m->boyds += info->kind == KERN_CRANK_BOYD;
    m->stopped = m->spent >= m->budget;
    return !m->stopped;
}

static void assert_counts_equal(const kern_work_counts *a, const kern_work_counts *b)
{
    assert_int_equal(a->cranks, b->cranks);
    assert_int_equal(a->computrons, b->computrons);
    assert_int_equal(a->gc_krefs, b->gc_krefs);
    assert_int_equal(a->gc_deliveries, b->gc_deliveries);
    assert_int_equal(a->boyds, b->boyds);
    assert_int_equal(a->vats_deleted, b->vats_deleted);
    for (int i = 0; i < KERN_PHASES; i++) assert_int_equal(a->units[i], b->units[i]);
}

/* The total is the sum of the parts, field by field. */
static void assert_total_is_sum(const kern_work_report *r)
{
    kern_work_counts sum = r->normal;
    sum.cranks += r->cleanup.cranks;
    sum.computrons += r->cleanup.computrons;
    sum.gc_krefs += r->cleanup.gc_krefs;
    sum.gc_deliveries += r->cleanup.gc_deliveries;
    sum.boyds += r->cleanup.boyds;
    sum.vats_deleted += r->cleanup.vats_deleted;
    for (int i = 0; i < KERN_PHASES; i++) sum.units[i] += r->cleanup.units[i];
    assert_counts_equal(&sum, &r->total);
}

static void queue_go(tk *t, unsigned n)
{
    char args[32], kpid[24];
    swing_err e;
    snprintf(args, sizeof args, "[%u]", n);
    if (kern_queue_to_vat(t->k, "A", "go", args, kpid, &e)) fail_msg("go: %s", e.msg);
    if (kern_release(t->k, kpid, &e)) fail_msg("release: %s", e.msg);
}

static void commit(tk *t)
{
    swing_err e;
    if (store_commit(t->st, ++t->height, NULL, &e)) fail_msg("commit: %s", e.msg);
}

static void test_block_is_normal_work_then_cleanup(void **state)
{
    static tk one, two;
    static gc_world w1, w2;
    kern_raw_vat v1[] = {{"A", a_vat, &w1}, {"B", b_vat, &w1}, {"boot", boot_vat, &w1}};
    kern_raw_vat v2[] = {{"A", a_vat, &w2}, {"B", b_vat, &w2}, {"boot", boot_vat, &w2}};
    kern_budget b;
    char config[512];
    bool cut = false, cleaned = false, deleted = false;
    int block;
    (void)state;
    kern_budget_default(&b);
    b.compute = COMPUTE;
    b.gc_krefs = 700; /* GC work over several blocks */
    b.boyds = 1;
    b.units = 3;      /* B's deletion over a few blocks */
    snprintf(config, sizeof config, GCW_CONFIG, 200u);
    tk_open(&one, v1, 3, config);
    tk_open(&two, v2, 3, config);
    for (block = 1; block <= 200; block++) {
        kern_work_report r, c;
        meter m = {COMPUTE, 0, 0, 0, false};
        swing_err e;
        for (int i = 0; block == 2 && i < 50; i++) { /* about 100 deliveries, 3000 krefs of GC work */
            queue_go(&one, 60);
            queue_go(&two, 60);
        }
        if (block == 4) {
            if (kern_terminate_vat(one.k, "B", "retired", &e)) fail_msg("terminate: %s", e.msg);
            if (kern_terminate_vat(two.k, "B", "retired", &e)) fail_msg("terminate: %s", e.msg);
        }
        if (kern_work_block(one.k, &b, &r, &e)) fail_msg("block %d: %s", block, e.msg);
        if (kern_run_flags(two.k, KERN_RUN_NO_GC, meter_policy, &m, NULL, &e)) fail_msg("run: %s", e.msg);
        if (kern_cleanup(two.k, &b, &c, &e)) fail_msg("cleanup: %s", e.msg);
        commit(&one);
        commit(&two);
        assert_string_equal(store_committed_hash(one.st), store_committed_hash(two.st));
        /* the parts are the twin's parts */
        assert_int_equal(r.normal.cranks, m.cranks);
        assert_int_equal(r.normal.computrons, m.spent);
        assert_int_equal(r.normal.boyds, m.boyds);
        assert_int_equal(r.work_left, m.stopped);
        assert_counts_equal(&r.cleanup, &c.cleanup);
        assert_int_equal(r.gc_krefs_left, c.gc_krefs_left);
        assert_int_equal(r.dirty_vats, c.dirty_vats);
        assert_int_equal(r.terminated_vats, c.terminated_vats);
        assert_int_equal(r.phase, c.phase);
        assert_total_is_sum(&r);
        /* within the budget */
        assert_true(r.normal.computrons < COMPUTE + COMPUTRONS);
        assert_true(r.cleanup.gc_krefs <= b.gc_krefs);
        assert_true(r.cleanup.boyds <= b.boyds);
        assert_true(r.cleanup.units[0] + r.cleanup.units[1] + r.cleanup.units[2] + r.cleanup.units[3] +
                        r.cleanup.units[4] <= b.units);
        cut |= r.work_left;
        cleaned |= r.cleanup.gc_krefs == b.gc_krefs;
        deleted |= r.cleanup.vats_deleted > 0;
        if (block > 4 && r.total.cranks == 0 && !r.gc_krefs_left && !r.dirty_vats && !r.terminated_vats) break;
    }
    assert_true(block <= 200); /* it settled */
    assert_true(cut);          /* the compute budget cut some block */
    assert_true(cleaned);      /* the GC budget was used up in some block */
    assert_true(deleted);      /* B's state went */
    assert_int_equal(w1.order_errors, 0);
    tk_close(&one);
    tk_close(&two);
    free(w1.state);
    free(w2.state);
}

/* A clean-up budget of nothing runs no clean-up crank; a compute budget of
 * one computron stops normal work after its first delivery. */
static void test_empty_budget_runs_nothing(void **state)
{
    static tk t;
    static gc_world w;
    kern_raw_vat v[] = {{"A", a_vat, &w}, {"B", b_vat, &w}, {"boot", boot_vat, &w}};
    kern_budget none = {.compute = 1, .gc_krefs = 0, .boyds = 0, .units = 0};
    kern_work_report r;
    char config[512];
    swing_err e;
    (void)state;
    snprintf(config, sizeof config, GCW_CONFIG, 200u);
    tk_open(&t, v, 3, config);
    if (kern_work_block(t.k, &none, &r, &e)) fail_msg("block: %s", e.msg);
    assert_int_equal(r.normal.computrons, COMPUTRONS); /* routing cranks cost nothing */
    assert_true(r.normal.cranks >= 1);
    assert_true(r.work_left);
    assert_int_equal(r.cleanup.cranks, 0);
    tk_close(&t);
    free(w.state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_is_normal_work_then_cleanup),
        cmocka_unit_test(test_empty_budget_runs_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
