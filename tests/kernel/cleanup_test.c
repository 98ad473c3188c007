/*
 * cleanup_test.c - block-end clean-up (DESIGN.md §6.4, §6.5): a vat holding
 * 100k vatstore keys, 10k exports, 10k imports, promises and retained
 * vatParameters is terminated and deleted over many blocks, each block's
 * clean-up within a fixed multiple of its budget in kv writes, other vats'
 * GC deliveries within gcBatch, and the kv back to its baseline; dirt
 * thresholds and the dirty list; the dirty-list order in two processes.
 */
#include <unistd.h>

#include "base/alloc.h"
#include "tests/lib/rawvat.h"
#include "tests/kernel/doomed_vats.h"

#define KEYS 100000u
#define EXPORTS 10000u
#define IMPORTS 10000u
#define KEEP 100u          /* exports of D that I still holds when D dies */
#define GC_BATCH 300u
#define WRITES_PER_UNIT 5u /* the fixed multiple asserted per block (3.4 measured) */

typedef struct counter {
    uint64_t writes;
} counter;

static void count_write(void *ctx, swing_bytes key, size_t vlen, bool deleted)
{
    (void)key;
    (void)vlen;
    (void)deleted;
    ((counter *)ctx)->writes++;
}

/* kv keys, minus the per-vat and kernel ID counters (*.nextID): those only
 * ever grow in number, as vats import their first object or promise. */
static size_t count_state(tk *t)
{
    store_iter *it;
    size_t n = 0;
    bool valid;
    swing_bytes k, v;
    if (store_iter_create(t->st, swing_str(""), &it, NULL)) fail_msg("iter");
    while (store_iter_next(it, &k, &v, &valid, NULL) == SWING_OK && valid)
        n += !(k.len >= 7 && memcmp(k.ptr + k.len - 7, ".nextID", 7) == 0);
    store_iter_destroy(it);
    return n;
}

static void to_vat(tk *t, const char *vat, const char *method, const char *args)
{
    char kpid[24];
    swing_err e;
    if (kern_queue_to_vat(t->k, vat, method, args, kpid, &e)) fail_msg("%s.%s: %s", vat, method, e.msg);
    tk_run(t);
    if (kern_release(t->k, kpid, &e)) fail_msg("release: %s", e.msg);
}

static void test_terminated_vat_is_deleted_over_many_blocks(void **state)
{
    static tk t;
    static dw_world w;
    static counter c;
    kern_raw_vat vats[] = {{"E", dw_e, &w}, {"I", dw_i, &w}, {"boot", dw_boot, &w}, {"D", dw_d, &w}};
    const kern_budget budget = {.gc_krefs = 2000, .boyds = 1, .units = 1000};
    char config[512], kpid[24], vat_d[24], args[64];
    char *giver, *inbox;
    const char *slots[2];
    vp_capdata params;
    size_t baseline, blocks = 0, max_writes = 0, units[KERN_PHASES] = {0};
    kern_work_report r;
    swing_err e;
    bool found;
    store_span span;
    (void)state;
    w.keep = KEEP;
    t.observer = count_write;
    t.observer_ctx = &c;
    snprintf(config, sizeof config, DW_CONFIG, GC_BATCH);
    tk_open(&t, vats, 4, config);
    tk_run(&t);
    /* Warm up (E and I take deliveries, a BOYD is due), then settle. */
    for (int i = 0; i < 6; i++) to_vat(&t, "I", "dropRest", "[]");
    tk_settle(&t, 20);
    baseline = count_state(&t);
    {
        char *rq = tk_get(&t, "reapQueue"); /* a BOYD was due: the header exists */
        assert_non_null(rq);
        free(rq);
    }

    /* D, created with vatParameters naming E's giver and I's root. */
    if (kern_queue_to_vat(t.k, "E", "makeGiver", "[]", kpid, &e)) fail_msg("makeGiver: %s", e.msg);
    tk_run(&t);
    giver = tk_get(&t, "v1.c.o+1");
    inbox = tk_get(&t, "v2.c.o+0");
    assert_non_null(giver);
    assert_non_null(inbox);
    slots[0] = giver;
    slots[1] = inbox;
    params.body = DW_PARAMS_BODY;
    params.slots = slots;
    params.nslots = 2;
    if (kern_create_vat(t.k, "D", DW_D_CONFIG, &params, vat_d, &e)) fail_msg("create D: %s", e.msg);
    if (kern_release(t.k, kpid, &e)) fail_msg("release: %s", e.msg);
    free(giver);
    free(inbox);
    tk_run(&t);
    for (unsigned i = 0; i < KEYS; i += 20000) {
        snprintf(args, sizeof args, "[%u,%u]", i, i + 20000);
        to_vat(&t, "D", "fill", args);
    }
    snprintf(args, sizeof args, "[%u]", EXPORTS);
    to_vat(&t, "D", "export", args);
    snprintf(args, sizeof args, "[%u]", IMPORTS);
    to_vat(&t, "D", "ask", args);
    to_vat(&t, "D", "promises", "[]");
    to_vat(&t, "I", "dropMost", "[]");
    tk_settle(&t, 50);
    {
        char p[64];
        snprintf(p, sizeof p, "%s.vs.", vat_d);
        assert_int_equal(tk_count(&t, p), KEYS);
        snprintf(p, sizeof p, "%s.c.o+", vat_d);
        assert_int_equal(tk_count(&t, p), EXPORTS + 1); /* + its root */
        snprintf(p, sizeof p, "%s.c.o-", vat_d);
        assert_int_equal(tk_count(&t, p), IMPORTS + 2); /* + giver, inbox */
    }
    assert_int_equal(w.i_n, EXPORTS);
    assert_int_equal(w.failures, 0);

    /* Logical death now; deletion over the blocks that follow. */
    if (kern_terminate_vat(t.k, "D", "the test kills it", &e)) fail_msg("terminate: %s", e.msg);
    assert_int_equal(kern_queue_to_vat(t.k, "D", "fill", "[0,1]", kpid, &e), SWING_ERR_USER);
    w.max_gc_delivery = 0;
    for (;;) {
        uint64_t before;
        swing_err_clear(&e);
        if (kern_run_flags(t.k, KERN_RUN_NO_GC, NULL, NULL, NULL, &e)) fail_msg("run: %s", e.msg);
        before = c.writes;
        if (kern_cleanup(t.k, &budget, &r, &e)) fail_msg("cleanup: %s", e.msg);
        if (c.writes - before > max_writes) max_writes = (size_t)(c.writes - before);
        for (int i = 0; i < KERN_PHASES; i++) units[i] += r.cleanup.units[i];
        assert_true(r.cleanup.gc_krefs <= budget.gc_krefs);
        assert_true(r.cleanup.boyds <= budget.boyds);
        assert_true(r.cleanup.units[0] + r.cleanup.units[1] + r.cleanup.units[2] + r.cleanup.units[3] + r.cleanup.units[4] <= budget.units);
        if (store_commit(t.st, ++t.height, NULL, &e)) fail_msg("commit: %s", e.msg);
        blocks++;
        if (!r.terminated_vats && !r.gc_krefs_left && !r.dirty_vats) break;
        assert_true(blocks < 1000);
    }
    printf("# deleted in %zu blocks; at most %zu kv writes in one block's clean-up\n", blocks, max_writes);
    /* Many blocks, each bounded by its budget. */
    assert_true(blocks >= (KEYS + EXPORTS + IMPORTS) / budget.units);
    assert_true(max_writes <= WRITES_PER_UNIT * (budget.units + budget.gc_krefs + budget.boyds));
    assert_true(w.max_gc_delivery <= GC_BATCH);
    assert_int_equal(units[KERN_PHASE_EXPORTS], EXPORTS + 1);
    assert_int_equal(units[KERN_PHASE_IMPORTS], IMPORTS + 2);
    assert_true(units[KERN_PHASE_PROMISES] >= 2);
    assert_true(units[KERN_PHASE_KV] >= KEYS);
    assert_true(units[KERN_PHASE_TRANSCRIPTS] > 0);
    /* Orphans that nobody holds reachable were retired from I; D's imports
     * and the giver (its vatParameters) were dropped and retired at E. */
    assert_int_equal(w.i_retired, EXPORTS - KEEP);
    assert_int_equal(w.e_retired, IMPORTS + 1);
    assert_true(w.giver_retired);
    if (store_transcript_current(t.st, vat_d, &span, &found, &e)) fail_msg("transcript: %s", e.msg);
    assert_false(found);

    /* The rest goes too: I drops the zombies it held, E settles its promise. */
    to_vat(&t, "I", "dropRest", "[]");
    to_vat(&t, "E", "resolveHeld", "[]");
    tk_settle(&t, 20);
    assert_int_equal(w.i_retired, EXPORTS);
    assert_int_equal(w.failures, 0);
    {
        char p[32];
        snprintf(p, sizeof p, "%s.", vat_d);
        assert_int_equal(tk_count(&t, p), 0);
    }
    /* All that is left of D is its termination record (2026-12-02, failures must
     * be visible: the reason outlives the vat). */
    {
        char *rec = tk_get(&t, "vat.terminated.D"), want[96];
        snprintf(want, sizeof want, "{\"id\":\"%s\",\"kind\":\"host\",\"reason\":\"the test kills it\"}", vat_d);
        assert_non_null(rec);
        assert_string_equal(rec, want);
        free(rec);
    }
    assert_int_equal(count_state(&t), baseline + 1);
    tk_close(&t);
    free(w.i_imports);
}

/* ---- dirt, thresholds and the dirty list ---- */

typedef struct dl_world {
    size_t boyds[3];   /* BOYDs per vat (A, B, C) */
} dl_world;

static swing_status dl_vat(dl_world *w, int i, vp_channel *io, const vp_delivery *d)
{
    (void)io;
    if (d->type == VP_D_BRING_OUT_YOUR_DEAD) w->boyds[i]++;
    return SWING_OK;
}
static swing_status dl_a(void *u, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    (void)r;
    return dl_vat(u, 0, io, d);
}
static swing_status dl_b(void *u, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    (void)r;
    return dl_vat(u, 1, io, d);
}
static swing_status dl_c(void *u, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    dl_world *w = u;
    /* C claims more garbage than its budget for two BOYDs. */
    if (d->type == VP_D_BRING_OUT_YOUR_DEAD && w->boyds[2] < 2) r->more = true;
    return dl_vat(u, 2, io, d);
}

#define DL_CONFIG                                                                                           \
    "{\"defaultReapDirtThreshold\":{\"deliveries\":3},\"vats\":{\"A\":{\"source\":\"raw:A\"},"             \
    "\"B\":{\"source\":\"raw:B\",\"reapDirtThreshold\":{\"never\":true}},\"C\":{\"source\":\"raw:C\"}}}"

/* The same vats with no threshold BOYDs: only clean-up takes vats off. */
#define DL_CHILD_CONFIG                                                                                     \
    "{\"defaultReapDirtThreshold\":{\"deliveries\":100},\"vats\":{\"A\":{\"source\":\"raw:A\"},"           \
    "\"B\":{\"source\":\"raw:B\",\"reapDirtThreshold\":{\"never\":true}},\"C\":{\"source\":\"raw:C\"}}}"

static const char *dl_list(tk *t, char *out, size_t cap)
{
    char(*v)[24] = NULL;
    size_t n = 0, len = 0;
    swing_err e;
    if (kern_dirty_vats(t->k, &v, &n, &e)) fail_msg("dirty: %s", e.msg);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", v[i]);
    swing_mfree(v);
    return out;
}

static void dl_send(tk *t, const char *vat)
{
    char kpid[24];
    swing_err e;
    if (kern_queue_to_vat(t->k, vat, "poke", "[]", kpid, &e)) fail_msg("poke: %s", e.msg);
    if (kern_run_flags(t->k, KERN_RUN_NO_GC, NULL, NULL, NULL, &e)) fail_msg("run: %s", e.msg);
}

static void test_dirt_thresholds_and_dirty_list(void **state)
{
    static tk t;
    static dl_world w;
    kern_raw_vat vats[] = {{"A", dl_a, &w}, {"B", dl_b, &w}, {"C", dl_c, &w}};
    const kern_budget one = {.gc_krefs = 0, .boyds = 1, .units = 0};
    char list[256];
    kern_work_report r;
    swing_err e;
    (void)state;
    tk_open(&t, vats, 3, DL_CONFIG);
    tk_run(&t); /* startVat: A (v1), B (v2), C (v3) */
    /* startVat made A and C dirty (B says never), in creation order. */
    assert_string_equal(dl_list(&t, list, sizeof list), "v1,v3");
    dl_send(&t, "C");
    dl_send(&t, "A");
    assert_string_equal(dl_list(&t, list, sizeof list), "v1,v3"); /* positions kept */
    /* A's third delivery passes deliveries:3: a BOYD in the normal run. */
    dl_send(&t, "A");
    assert_int_equal(w.boyds[0], 1);
    assert_string_equal(dl_list(&t, list, sizeof list), "v3"); /* found nothing: off the list */
    dl_send(&t, "B");
    dl_send(&t, "B");
    dl_send(&t, "B");
    assert_int_equal(w.boyds[1], 0); /* never */
    /* Clean-up BOYDs the head: C's budget stops it, it goes round. */
    dl_send(&t, "A");
    assert_string_equal(dl_list(&t, list, sizeof list), "v3,v1");
    if (kern_cleanup(t.k, &one, &r, &e)) fail_msg("cleanup: %s", e.msg);
    assert_int_equal(r.cleanup.boyds, 1);
    assert_int_equal(w.boyds[2], 1);
    assert_string_equal(dl_list(&t, list, sizeof list), "v1,v3");
    assert_int_equal(r.dirty_vats, 2);
    if (kern_cleanup(t.k, &one, &r, &e)) fail_msg("cleanup: %s", e.msg);
    assert_string_equal(dl_list(&t, list, sizeof list), "v3"); /* A had nothing */
    if (kern_cleanup(t.k, &one, &r, &e)) fail_msg("cleanup: %s", e.msg);
    assert_string_equal(dl_list(&t, list, sizeof list), "v3"); /* still more */
    if (kern_cleanup(t.k, &one, &r, &e)) fail_msg("cleanup: %s", e.msg);
    assert_string_equal(dl_list(&t, list, sizeof list), "");
    assert_int_equal(r.dirty_vats, 0);
    assert_int_equal(w.boyds[2], 3);
    /* A zero budget does nothing. */
    {
        const kern_budget none = {.gc_krefs = 0, .boyds = 0, .units = 0};
        dl_send(&t, "C");
        if (kern_cleanup(t.k, &none, &r, &e)) fail_msg("cleanup: %s", e.msg);
        assert_int_equal(r.cleanup.cranks, 0);
        assert_int_equal(r.dirty_vats, 1);
    }
    tk_close(&t);
}

/* ---- the dirty list is the same in two processes ---- */

typedef struct dl_result {
    char list[128];
    char hash[65];
} dl_result;

static int dl_child(int fd)
{
    static tk t;
    static dl_world w;
    kern_raw_vat vats[] = {{"A", dl_a, &w}, {"B", dl_b, &w}, {"C", dl_c, &w}};
    const kern_budget one = {.gc_krefs = 100, .boyds = 1, .units = 100};
    dl_result res;
    swing_err e;
    memset(&res, 0, sizeof res);
    tk_open(&t, vats, 3, DL_CHILD_CONFIG);
    tk_run(&t);
    for (int i = 0; i < 14; i++) {
        dl_send(&t, i % 3 == 0 ? "C" : i % 3 == 1 ? "A" : "B");
        if (i % 4 == 3 && kern_cleanup(t.k, &one, NULL, &e)) return 3;
    }
    dl_list(&t, res.list, sizeof res.list);
    if (store_commit(t.st, ++t.height, NULL, &e)) return 4;
    memcpy(res.hash, store_activity_hash(t.st), 65);
    if (write(fd, &res, sizeof res) != (ssize_t)sizeof res) return 2;
    tk_close(&t);
    return 0;
}

static void test_dirty_list_same_in_two_processes(void **state)
{
    dl_result runs[2];
    (void)state;
    for (int i = 0; i < 2; i++) tl_run_self("CLEANUP_TEST_CHILD_FD", &runs[i], sizeof runs[i]);
    assert_true(runs[0].list[0] != '\0');
    assert_string_equal(runs[0].list, runs[1].list);
    assert_string_equal(runs[0].hash, runs[1].hash);
}

int main(void)
{
    const char *child = getenv("CLEANUP_TEST_CHILD_FD");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dirt_thresholds_and_dirty_list),
        cmocka_unit_test(test_dirty_list_same_in_two_processes),
        cmocka_unit_test(test_terminated_vat_is_deleted_over_many_blocks),
    };
    if (child) return dl_child(atoi(child));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
