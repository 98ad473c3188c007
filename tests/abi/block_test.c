/*
 * block_test.c - a block's life through the public ABI (abi/block.c):
 * begin, queue_inbound, end_block and commit, inbound results, the compute
 * budget carrying work over, every status a bad or out-of-order request can
 * earn (and that it changes nothing), replay of a committed height, and the
 * block-end clean-up budget and report; the hash end_block and init report.
 * Split from abi_test.c; helpers in tests/lib/abicall.h.
 */
#include "tests/lib/abicall.h"
#include "tests/lib/testlib.h"

#include <stdio.h>
#include <string.h>

#include "swing/v1/swing.pb-c.h"

static void test_abi_block_life_and_inbound_results(void **state)
{
    tl_node nd;
    char hash[65];
    Swing__V1__Response *r;
    const Swing__V1__InboundResult *ir;
    (void)state;
    tl_node_new(&nd, false);
    tl_abi_genesis(nd.h, hash);
    assert_int_equal(strlen(hash), 64);

    TL_OK(tl_abi_begin(nd.h, 2, NULL));
    TL_OK(tl_abi_inbound(nd.h, "tx1", "counter", "increment", "[5]"));
    TL_OK(tl_abi_inbound(nd.h, "tx2", "counter", "fail", "[]"));
    TL_OK(tl_abi_end_block(nd.h, 0, &r));
    assert_true(r->end_block->cranks > 0);
    assert_true(r->end_block->computrons > 0);
    assert_false(r->end_block->work_left);
    ir = tl_abi_result_of(r, "tx1");
    assert_non_null(ir);
    assert_false(ir->rejected);
    assert_non_null(strstr(ir->body, "105"));
    ir = tl_abi_result_of(r, "tx2");
    assert_non_null(ir);
    assert_true(ir->rejected);
    assert_non_null(strstr(ir->body, "counter refuses"));
    swing__v1__response__free_unpacked(r, NULL);
    TL_OK(tl_abi_commit(nd.h, &r));
    assert_int_equal(r->commit->height, 2);
    assert_string_not_equal(r->commit->activity_hash, hash);
    for (size_t i = 1; i < r->commit->n_export_data; i++)
        assert_true(strcmp(r->commit->export_data[i - 1]->key, r->commit->export_data[i]->key) < 0);
    for (size_t i = 0; i < r->commit->n_export_data; i++) /* host. keys never leave */
        assert_true(strncmp(r->commit->export_data[i]->key, "kv.host.", 8) != 0);
    swing__v1__response__free_unpacked(r, NULL);

    /* Results are reported once: nothing pending afterwards. */
    r = tl_abi_query_stats(nd.h);
    assert_int_equal(r->query->stats->pending_inbound, 0);
    assert_int_equal(r->query->stats->committed_height, 2);
    assert_int_equal(r->query->stats->vats, 2);
    swing__v1__response__free_unpacked(r, NULL);
    tl_node_free(&nd);
}

/* A small compute budget leaves work for the next block. */
static void test_abi_compute_budget_carries_work_over(void **state)
{
    tl_node nd;
    char hash[65], id[16];
    Swing__V1__Response *r;
    uint64_t h = 2;
    size_t got = 0;
    (void)state;
    tl_node_new(&nd, false);
    tl_abi_genesis(nd.h, hash);
    TL_OK(tl_abi_begin(nd.h, h, NULL));
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "m%02d", i);
        TL_OK(tl_abi_inbound(nd.h, id, "counter", "increment", "[1]"));
    }
    TL_OK(tl_abi_end_block(nd.h, 1, &r)); /* stops after the first crank with computrons */
    assert_true(r->end_block->work_left);
    got += r->end_block->n_results;
    swing__v1__response__free_unpacked(r, NULL);
    TL_OK(tl_abi_commit(nd.h, NULL));
    while (got < 20) {
        bool left;
        assert_true(++h < 200);
        TL_OK(tl_abi_begin(nd.h, h, NULL));
        TL_OK(tl_abi_end_block(nd.h, 2000, &r));
        got += r->end_block->n_results;
        left = r->end_block->work_left;
        swing__v1__response__free_unpacked(r, NULL);
        TL_OK(tl_abi_commit(nd.h, NULL));
        if (!left) break;
    }
    assert_int_equal(got, 20);
    assert_true(h > 3);
    tl_node_free(&nd);
}

/* Every bad or out-of-order request is refused with its status and changes
 * nothing: a node fed the bad requests too commits the same hashes. */
static void test_abi_bad_requests_change_nothing(void **state)
{
    tl_node a, b;
    char ha[65], hb[65];
    Swing__V1__Response *ra, *rb;
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    (void)state;
    tl_node_new(&a, false);
    tl_node_new(&b, false);
    /* Before init. */
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_begin(b.h, 1, NULL));
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_end_block(b.h, 0, NULL));
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_commit(b.h, NULL));
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_call_status(b.h, &req)); /* no operation */
    req.abi_version = SWING_ABI_VERSION + 1;
    req.op_case = SWING__V1__REQUEST__OP_COMMIT;
    {
        Swing__V1__CommitRequest cr = SWING__V1__COMMIT_REQUEST__INIT;
        req.commit = &cr;
        TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_call_status(b.h, &req)); /* ABI mismatch */
    }
    tl_abi_genesis(a.h, ha);
    tl_abi_genesis(b.h, hb);
    assert_string_equal(ha, hb);
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_init(b.h, TL_ABI_CONFIG, TL_ABI_COUNTER)); /* init twice */
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_commit(b.h, NULL));             /* commit twice */
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_begin(b.h, 3, NULL));           /* height gap */
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_begin(b.h, 0, NULL));
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_inbound(b.h, "x", "counter", "increment", "[]"));

    TL_OK(tl_abi_begin(a.h, 2, NULL));
    TL_OK(tl_abi_begin(b.h, 2, NULL));
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_begin(b.h, 2, NULL)); /* begin inside a block */
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_commit(b.h, NULL));   /* commit before end_block */
    TL_OK(tl_abi_inbound(a.h, "t1", "counter", "increment", "[2]"));
    TL_OK(tl_abi_inbound(b.h, "t1", "counter", "increment", "[2]"));
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_inbound(b.h, "t1", "counter", "increment", "[2]")); /* pending id */
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_inbound(b.h, "t2", "nobody", "increment", "[]"));   /* unknown vat */
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_inbound(b.h, "t3", "counter", "increment", "{"));   /* bad args */
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_inbound(b.h, "t4", "counter", "increment", "[{\"$x\":1}"));
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_inbound(b.h, "", "counter", "increment", "[]"));  /* empty id */
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_inbound(b.h, "a b", "counter", "increment", "[]")); /* bad id */
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_inbound(b.h, "t5", "counter", "", "[]"));          /* no method */
    {
        Swing__V1__Request t = SWING__V1__REQUEST__INIT;
        Swing__V1__TerminateVatRequest tv = SWING__V1__TERMINATE_VAT_REQUEST__INIT;
        Swing__V1__CreateVatRequest cv = SWING__V1__CREATE_VAT_REQUEST__INIT;
        tv.name = "ghost";
        t.op_case = SWING__V1__REQUEST__OP_TERMINATE_VAT;
        t.terminate_vat = &tv;
        TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_call_status(b.h, &t));
        cv.name = "dyn";
        cv.bundle_id = "b1-notahash";
        t.op_case = SWING__V1__REQUEST__OP_CREATE_VAT;
        t.create_vat = &cv;
        TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_call_status(b.h, &t));
        cv.bundle_id = "b1-0000000000000000000000000000000000000000000000000000000000000000";
        TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_call_status(b.h, &t)); /* not installed */
        cv.options_json = "[1]";
        TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_call_status(b.h, &t));
    }
    {
        Swing__V1__Request t = SWING__V1__REQUEST__INIT;
        Swing__V1__InstallBundleRequest ib = SWING__V1__INSTALL_BUNDLE_REQUEST__INIT;
        Swing__V1__ExportRequest ex = SWING__V1__EXPORT_REQUEST__INIT;
        ib.source.data = (uint8_t *)"function (";
        ib.source.len = 10;
        t.op_case = SWING__V1__REQUEST__OP_INSTALL_BUNDLE;
        t.install_bundle = &ib;
        TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_call_status(b.h, &t)); /* syntax error */
        ex.out_dir = "/tmp/never-written";
        t.op_case = SWING__V1__REQUEST__OP_EXPORT;
        t.export = &ex;
        TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_call_status(b.h, &t)); /* export inside a block */
    }
    TL_OK(tl_abi_end_block(a.h, 0, NULL));
    TL_OK(tl_abi_end_block(b.h, 0, NULL));
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_end_block(b.h, 0, NULL)); /* end twice */
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_inbound(b.h, "t9", "counter", "increment", "[]"));
    TL_OK(tl_abi_commit(a.h, &ra));
    TL_OK(tl_abi_commit(b.h, &rb));
    assert_string_equal(ra->commit->activity_hash, rb->commit->activity_hash);
    assert_int_equal(ra->commit->n_export_data, rb->commit->n_export_data);
    swing__v1__response__free_unpacked(ra, NULL);
    swing__v1__response__free_unpacked(rb, NULL);
    tl_node_free(&a);
    tl_node_free(&b);
}

/* A committed height run again (the host crashed before its own commit)
 * replays the recorded outputs byte for byte; different inputs are refused. */
static void test_abi_replay_committed_height(void **state)
{
    tl_node nd;
    char hash[65];
    Swing__V1__Response *e1, *c1, *e2, *c2;
    bool replay;
    (void)state;
    tl_node_new(&nd, false);
    tl_abi_genesis(nd.h, hash);
    TL_OK(tl_abi_begin(nd.h, 2, &replay));
    assert_false(replay);
    TL_OK(tl_abi_inbound(nd.h, "r1", "counter", "increment", "[7]"));
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_inbound(nd.h, "r2", "nobody", "x", "[]")); /* refused, still an input */
    TL_OK(tl_abi_end_block(nd.h, 0, &e1));
    TL_OK(tl_abi_commit(nd.h, &c1));
    swing_close(nd.h);
    tl_node_open(&nd, NULL);

    /* Different inputs at the replayed height: refused at end_block. */
    TL_OK(tl_abi_begin(nd.h, 2, &replay));
    assert_true(replay);
    TL_OK(tl_abi_inbound(nd.h, "r1", "counter", "increment", "[8]"));
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_end_block(nd.h, 0, NULL));
    swing_close(nd.h);
    tl_node_open(&nd, NULL);

    TL_OK(tl_abi_begin(nd.h, 2, &replay));
    assert_true(replay);
    TL_OK(tl_abi_inbound(nd.h, "r1", "counter", "increment", "[7]"));
    /* Answered as the first run was (refusals.c), and folded into the input hash as then. */
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_inbound(nd.h, "r2", "nobody", "x", "[]"));
    TL_OK(tl_abi_end_block(nd.h, 0, &e2));
    TL_OK(tl_abi_commit(nd.h, &c2));
    tl_assert_same_encoding(&e1->end_block->base, &e2->end_block->base);
    tl_assert_same_encoding(&c1->commit->base, &c2->commit->base);
    swing__v1__response__free_unpacked(e1, NULL);
    swing__v1__response__free_unpacked(c1, NULL);
    swing__v1__response__free_unpacked(e2, NULL);
    swing__v1__response__free_unpacked(c2, NULL);
    /* The chain goes on normally after the replay. */
    TL_OK(tl_abi_begin(nd.h, 3, &replay));
    assert_false(replay);
    TL_OK(tl_abi_end_block(nd.h, 0, NULL));
    TL_OK(tl_abi_commit(nd.h, NULL));
    tl_node_free(&nd);
}

/* Terminated-vat deletion units of a clean-up report, all phases. */
static uint64_t units_of(const Swing__V1__CleanupReport *c)
{
    return c->exports + c->imports + c->promises + c->kv + c->transcripts;
}

/* The block-end clean-up: a terminated vat is deleted within the request's
 * budget (0 units: nothing; 1 unit a block: one at a time, the report saying
 * which phase is next), then at once under the defaults (no budget in the
 * request). Normal work leaves GC to the clean-up, so the block's GC krefs
 * are the clean-up's; the block's cranks include the clean-up's. */
static void test_abi_cleanup_budget_bounds_deletion(void **state)
{
    tl_node nd;
    char hash[65];
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__TerminateVatRequest tv = SWING__V1__TERMINATE_VAT_REQUEST__INIT;
    Swing__V1__CleanupBudget none = SWING__V1__CLEANUP_BUDGET__INIT, one = SWING__V1__CLEANUP_BUDGET__INIT;
    Swing__V1__Response *r;
    const Swing__V1__CleanupReport *c;
    uint64_t h = 2;
    (void)state;
    one.terminated_units = 1;
    tl_node_new(&nd, false);
    tl_abi_genesis(nd.h, hash);
    TL_OK(tl_abi_begin(nd.h, h, NULL));
    tv.name = "counter";
    tv.reason = "retired";
    req.op_case = SWING__V1__REQUEST__OP_TERMINATE_VAT;
    req.terminate_vat = &tv;
    TL_OK(tl_call_status(nd.h, &req));
    TL_OK(tl_abi_end_block_cleanup(nd.h, 0, &none, &r));
    c = r->end_block->cleanup;
    assert_non_null(c);
    assert_int_equal(units_of(c) + c->gc_krefs + c->boyds + c->cranks + c->vats_deleted, 0);
    assert_int_equal(c->terminated_vats, 1);
    assert_string_equal(c->phase, "exports");
    swing__v1__response__free_unpacked(r, NULL);
    TL_OK(tl_abi_commit(nd.h, NULL));

    for (int blocks = 0;; blocks++) {
        assert_true(blocks < 1000);
        TL_OK(tl_abi_begin(nd.h, ++h, NULL));
        TL_OK(tl_abi_end_block_cleanup(nd.h, 0, &one, &r));
        c = r->end_block->cleanup;
        assert_true(units_of(c) <= 1);
        assert_int_equal(r->end_block->gc_krefs, c->gc_krefs);
        assert_true(r->end_block->cranks >= c->cranks);
        if (c->vats_deleted) {
            assert_int_equal(c->terminated_vats, 0);
            assert_string_equal(c->phase, "");
            assert_true(blocks >= 2); /* a vat has more than one unit of state */
            swing__v1__response__free_unpacked(r, NULL);
            TL_OK(tl_abi_commit(nd.h, NULL));
            break;
        }
        assert_int_equal(units_of(c), 1);
        assert_int_equal(c->terminated_vats, 1);
        assert_true(strlen(c->phase) > 0);
        swing__v1__response__free_unpacked(r, NULL);
        TL_OK(tl_abi_commit(nd.h, NULL));
        if (blocks == 2) { /* the rest at once, under the default budget */
            TL_OK(tl_abi_begin(nd.h, ++h, NULL));
            TL_OK(tl_abi_end_block(nd.h, 0, &r));
            c = r->end_block->cleanup;
            assert_int_equal(c->vats_deleted, 1);
            assert_true(units_of(c) > 0 && units_of(c) <= nd.default_cleanup.terminated_units);
            assert_int_equal(c->terminated_vats, 0);
            assert_string_equal(c->phase, "");
            assert_true(r->end_block->cranks >= c->cranks && c->cranks > 0);
            swing__v1__response__free_unpacked(r, NULL);
            TL_OK(tl_abi_commit(nd.h, NULL));
            break;
        }
    }
    tl_node_free(&nd);
}

/* end_block says the hash the commit will give (2026-12, issue 17: an ABCI
 * FinalizeBlock returns the app hash before Commit), init the genesis hash
 * (height 0); both are the same on two nodes, a query or a crash between
 * end_block and commit changes nothing, and a replay reports the recorded
 * hash. */
static void test_abi_end_block_knows_the_commit_hash(void **state)
{
    tl_node a, b;
    char ga[65], gb[65], id[16];
    Swing__V1__Response *ea, *eb, *ca, *r;
    bool replay;
    (void)state;
    tl_node_new(&a, false);
    tl_node_new(&b, false);
    TL_OK(tl_abi_init_hash(a.h, TL_ABI_CONFIG, TL_ABI_COUNTER, ga));
    TL_OK(tl_abi_init_hash(b.h, TL_ABI_CONFIG, TL_ABI_COUNTER, gb));
    assert_string_equal(ga, gb);
    for (uint64_t h = 1; h <= 6; h++) {
        TL_OK(tl_abi_begin(a.h, h, NULL));
        TL_OK(tl_abi_begin(b.h, h, NULL));
        snprintf(id, sizeof id, "i%llu", (unsigned long long)h);
        TL_OK(tl_abi_inbound(a.h, id, "counter", "increment", "[2]"));
        TL_OK(tl_abi_inbound(b.h, id, "counter", "increment", "[2]"));
        TL_OK(tl_abi_end_block(a.h, h % 2 ? 0 : 1, &ea));
        TL_OK(tl_abi_end_block(b.h, h % 2 ? 0 : 1, &eb));
        assert_int_equal(strlen(ea->end_block->activity_hash), 64);
        assert_string_equal(ea->end_block->activity_hash, eb->end_block->activity_hash);
        assert_string_not_equal(ea->end_block->activity_hash, ga);
        if (h == 3) { /* b dies before its commit and runs the block again */
            swing_close(b.h);
            tl_node_open(&b, NULL);
            swing__v1__response__free_unpacked(eb, NULL);
            TL_OK(tl_abi_begin(b.h, h, &replay));
            assert_false(replay);
            TL_OK(tl_abi_inbound(b.h, id, "counter", "increment", "[2]"));
            TL_OK(tl_abi_end_block(b.h, 0, &eb));
            assert_string_equal(ea->end_block->activity_hash, eb->end_block->activity_hash);
        }
        r = tl_abi_query_stats(a.h); /* reads between end_block and commit */
        swing__v1__response__free_unpacked(r, NULL);
        TL_OK(tl_abi_commit(a.h, &ca));
        TL_OK(tl_abi_commit(b.h, NULL));
        assert_string_equal(ca->commit->activity_hash, ea->end_block->activity_hash);
        swing__v1__response__free_unpacked(ca, NULL);
        swing__v1__response__free_unpacked(eb, NULL);
        if (h < 6) swing__v1__response__free_unpacked(ea, NULL);
    }
    /* A replay of the committed height reports the same hash. */
    swing_close(a.h);
    tl_node_open(&a, NULL);
    TL_OK(tl_abi_begin(a.h, 6, &replay));
    assert_true(replay);
    TL_OK(tl_abi_inbound(a.h, "i6", "counter", "increment", "[2]"));
    TL_OK(tl_abi_end_block(a.h, 1, &r));
    assert_string_equal(r->end_block->activity_hash, ea->end_block->activity_hash);
    swing__v1__response__free_unpacked(r, NULL);
    swing__v1__response__free_unpacked(ea, NULL);
    TL_OK(tl_abi_commit(a.h, NULL));
    tl_node_free(&a);
    tl_node_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abi_block_life_and_inbound_results),
        cmocka_unit_test(test_abi_compute_budget_carries_work_over),
        cmocka_unit_test(test_abi_bad_requests_change_nothing),
        cmocka_unit_test(test_abi_replay_committed_height),
        cmocka_unit_test(test_abi_cleanup_budget_bounds_deletion),
        cmocka_unit_test(test_abi_end_block_knows_the_commit_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
