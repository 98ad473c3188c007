/*
 * admin_test.c - the ABI's admin operations (abi/admin.c, with the vat
 * listing and kv pages of abi/query.c): genesis errors, bundles installed,
 * vats created and terminated, and state sync (export, verified import).
 * Split from abi_test.c; helpers in tests/lib/abicall.h.
 */
#include "tests/lib/abicall.h"
#include "tests/lib/testlib.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "swing/v1/swing.pb-c.h"

/* Export at a height, import into an empty node; both run the next blocks
 * to the same hashes. Import refuses a non-empty node, an import without
 * the trusted height and hash, and one that does not match them, leaving
 * the tl_node empty; it never touches a <db>.pre-import beside the node, and
 * a data_dir with a trailing slash works (2025-06, hardening issue "state
 * sync imports must be verified": import moved the directory aside to
 * <db>.pre-import, removing an existing one, and failed on "db/"). */
static void test_abi_export_import(void **state)
{
    tl_node a, b, c;
    char hash[65], outdir[600], side[600], keep[700], bad[65];
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__ExportRequest ex = SWING__V1__EXPORT_REQUEST__INIT;
    Swing__V1__ImportRequest im = SWING__V1__IMPORT_REQUEST__INIT;
    Swing__V1__Response *r, *ra, *rb;
    FILE *f;
    (void)state;
    tl_node_new(&a, false);
    tl_node_new(&b, false);
    snprintf(side, sizeof side, "%s/db.pre-import", b.tmp);
    assert_int_equal(mkdir(side, 0755), 0);
    snprintf(keep, sizeof keep, "%s/keep", side);
    f = fopen(keep, "w");
    assert_non_null(f);
    fputs("not the import's", f);
    fclose(f);
    tl_abi_genesis(a.h, hash);
    snprintf(outdir, sizeof outdir, "%s/export", a.tmp);
    ex.out_dir = outdir;
    req.op_case = SWING__V1__REQUEST__OP_EXPORT;
    req.export = &ex;
    r = tl_call(a.h, &req);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    assert_int_equal(r->export->height, 1);
    assert_string_equal(r->export->activity_hash, hash);
    assert_true(r->export->artifacts >= 2); /* bundles at least */
    assert_true(r->export->export_data_entries > 0);
    swing__v1__response__free_unpacked(r, NULL);

    im.in_dir = outdir;
    req.op_case = SWING__V1__REQUEST__OP_IMPORT;
    req.import = &im;
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_call_status(b.h, &req)); /* unverified */
    im.expected_height = 1;
    im.expected_activity_hash = "";
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_call_status(b.h, &req));
    snprintf(bad, sizeof bad, "%s", hash);
    bad[10] = bad[10] == '0' ? '1' : '0';
    im.expected_activity_hash = bad;
    TL_EXPECT_STATUS(SWING_ERR_CORRUPT, tl_call_status(b.h, &req));
    im.expected_activity_hash = hash;
    im.expected_height = 2;
    TL_EXPECT_STATUS(SWING_ERR_CORRUPT, tl_call_status(b.h, &req));
    im.expected_height = 1;
    r = tl_abi_query_stats(b.h); /* refusals left the node empty */
    assert_int_equal(r->query->stats->committed_height, 0);
    assert_string_equal(r->query->stats->activity_hash, "");
    swing__v1__response__free_unpacked(r, NULL);
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_call_status(a.h, &req)); /* not empty */
    r = tl_call(b.h, &req);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    assert_int_equal(r->import->height, 1);
    assert_string_equal(r->import->activity_hash, hash);
    swing__v1__response__free_unpacked(r, NULL);
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_call_status(b.h, &req)); /* no second import */
    f = fopen(keep, "r");
    assert_non_null(f); /* the sibling was never the import's to remove */
    fclose(f);
    memset(&c, 0, sizeof c);
    c.tmp = tl_tmpdir();
    snprintf(c.dir, sizeof c.dir, "%s/db/", c.tmp);
    tl_node_open(&c, NULL);
    r = tl_call(c.h, &req);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    assert_string_equal(r->import->activity_hash, hash);
    swing__v1__response__free_unpacked(r, NULL);
    tl_node_free(&c);
    r = tl_abi_query_stats(b.h);
    assert_int_equal(r->query->stats->committed_height, 1);
    assert_string_equal(r->query->stats->activity_hash, hash);
    swing__v1__response__free_unpacked(r, NULL);
    /* An imported node has no record of block 1 to replay. */
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_begin(b.h, 1, NULL));
    for (uint64_t h = 2; h <= 4; h++) {
        char id[16];
        snprintf(id, sizeof id, "i%llu", (unsigned long long)h);
        TL_OK(tl_abi_begin(a.h, h, NULL));
        TL_OK(tl_abi_begin(b.h, h, NULL));
        TL_OK(tl_abi_inbound(a.h, id, "counter", "increment", "[3]"));
        TL_OK(tl_abi_inbound(b.h, id, "counter", "increment", "[3]"));
        TL_OK(tl_abi_end_block(a.h, 0, NULL));
        TL_OK(tl_abi_end_block(b.h, 0, NULL));
        TL_OK(tl_abi_commit(a.h, &ra));
        TL_OK(tl_abi_commit(b.h, &rb));
        assert_string_equal(ra->commit->activity_hash, rb->commit->activity_hash);
        swing__v1__response__free_unpacked(ra, NULL);
        swing__v1__response__free_unpacked(rb, NULL);
    }
    tl_node_free(&a);
    tl_node_free(&b);
}

/* A broken genesis is refused with its reason and leaves the directory
 * empty, so a good init can follow. */
static void test_abi_init_errors(void **state)
{
    tl_node nd;
    char hash[65];
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__InitRequest init = SWING__V1__INIT_REQUEST__INIT;
    Swing__V1__Response *r;
    Swing__V1__Bundle b1 = SWING__V1__BUNDLE__INIT;
    Swing__V1__Bundle *bs[1] = {&b1};
    (void)state;
    tl_node_new(&nd, false);
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_init(nd.h, TL_ABI_CONFIG, "function buildRootObject(\n  return 1\nend\n"));
    b1.name = "counter";
    b1.source.data = (uint8_t *)"local x = = 1";
    b1.source.len = strlen("local x = = 1");
    init.config_json.data = (uint8_t *)TL_ABI_CONFIG;
    init.config_json.len = strlen(TL_ABI_CONFIG);
    init.n_bundles = 1;
    init.bundles = bs;
    req.op_case = SWING__V1__REQUEST__OP_INIT;
    req.init = &init;
    r = tl_call(nd.h, &req);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_INVALID);
    assert_non_null(strstr(r->error, ":1:")); /* module:line */
    swing__v1__response__free_unpacked(r, NULL);
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_abi_init(nd.h, "{\"bootstrap\":", TL_ABI_COUNTER));
    TL_EXPECT_STATUS(SWING_ERR_INVALID,
                  tl_abi_init(nd.h, "{\"bootstrap\":\"boot\",\"vats\":{\"boot\":{\"bundleName\":\"nope\"}}}", TL_ABI_COUNTER));
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_begin(nd.h, 1, NULL)); /* still not initialized */
    tl_abi_genesis(nd.h, hash);
    tl_node_free(&nd);
}

/* Dynamic vats: install, create with parameters, use, terminate. */
static void test_abi_create_and_terminate_vats(void **state)
{
    tl_node nd;
    char hash[65], bid[80];
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__InstallBundleRequest ib = SWING__V1__INSTALL_BUNDLE_REQUEST__INIT;
    Swing__V1__CreateVatRequest cv = SWING__V1__CREATE_VAT_REQUEST__INIT;
    Swing__V1__TerminateVatRequest tv = SWING__V1__TERMINATE_VAT_REQUEST__INIT;
    Swing__V1__QueryRequest q = SWING__V1__QUERY_REQUEST__INIT;
    Swing__V1__CleanupBudget keep = SWING__V1__CLEANUP_BUDGET__INIT;
    Swing__V1__Response *r;
    const Swing__V1__InboundResult *ir;
    (void)state;
    tl_node_new(&nd, false);
    tl_abi_genesis(nd.h, hash);
    TL_OK(tl_abi_begin(nd.h, 2, NULL));
    ib.source.data = (uint8_t *)TL_ABI_COUNTER;
    ib.source.len = strlen(TL_ABI_COUNTER);
    req.op_case = SWING__V1__REQUEST__OP_INSTALL_BUNDLE;
    req.install_bundle = &ib;
    r = tl_call(nd.h, &req);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    assert_int_equal(strncmp(r->install_bundle->id, "b1-", 3), 0);
    snprintf(bid, sizeof bid, "%s", r->install_bundle->id);
    swing__v1__response__free_unpacked(r, NULL);
    cv.name = "counter2";
    cv.bundle_id = bid;
    cv.parameters_json = "{\"start\":1000}";
    req.op_case = SWING__V1__REQUEST__OP_CREATE_VAT;
    req.create_vat = &cv;
    r = tl_call(nd.h, &req);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    assert_true(strlen(r->create_vat->vat_id) > 1);
    swing__v1__response__free_unpacked(r, NULL);
    TL_EXPECT_STATUS(SWING_ERR_INVALID, tl_call_status(nd.h, &req)); /* the name is taken */
    TL_OK(tl_abi_end_block(nd.h, 0, NULL)); /* startVat runs */
    TL_OK(tl_abi_commit(nd.h, NULL));

    TL_OK(tl_abi_begin(nd.h, 3, NULL));
    TL_OK(tl_abi_inbound(nd.h, "d1", "counter2", "increment", "[1]"));
    TL_OK(tl_abi_end_block(nd.h, 0, &r));
    ir = tl_abi_result_of(r, "d1");
    assert_non_null(ir);
    assert_non_null(strstr(ir->body, "1001"));
    swing__v1__response__free_unpacked(r, NULL);
    tv.name = "counter2";
    tv.reason = "retired";
    req.op_case = SWING__V1__REQUEST__OP_TERMINATE_VAT;
    req.terminate_vat = &tv;
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_call_status(nd.h, &req)); /* after end_block */
    TL_OK(tl_abi_commit(nd.h, NULL));
    TL_OK(tl_abi_begin(nd.h, 4, NULL));
    TL_OK(tl_call_status(nd.h, &req));
    TL_EXPECT_STATUS(SWING_ERR_USER, tl_abi_inbound(nd.h, "d2", "counter2", "increment", "[1]")); /* a dead vat */
    /* No deletion units: the terminated vat stays listed (the default budget would delete it). */
    keep.gc_krefs = nd.default_cleanup.gc_krefs;
    keep.boyds = nd.default_cleanup.boyds;
    TL_OK(tl_abi_end_block_cleanup(nd.h, 0, &keep, &r));
    assert_int_equal(r->end_block->cleanup->terminated_vats, 1);
    swing__v1__response__free_unpacked(r, NULL);
    TL_OK(tl_abi_commit(nd.h, NULL));

    q.query_case = SWING__V1__QUERY_REQUEST__QUERY_VATS;
    q.vats = true;
    req.op_case = SWING__V1__REQUEST__OP_QUERY;
    req.query = &q;
    r = tl_call(nd.h, &req);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    assert_int_equal(r->query->n_vats, 3);
    for (size_t i = 0; i < r->query->n_vats; i++)
        assert_int_equal(r->query->vats[i]->terminated, strcmp(r->query->vats[i]->name, "counter2") == 0);
    swing__v1__response__free_unpacked(r, NULL);

    q.query_case = SWING__V1__QUERY_REQUEST__QUERY_KV_PREFIX;
    q.kv_prefix = "vat.name.";
    q.limit = 2;
    r = tl_call(nd.h, &req);
    assert_int_equal(r->query->n_kv, 2);
    assert_true(r->query->truncated);
    assert_string_equal(r->query->kv[0]->key, "vat.name.boot");
    assert_string_equal(r->query->kv[1]->key, "vat.name.counter");
    swing__v1__response__free_unpacked(r, NULL);
    q.kv_after = "vat.name.counter"; /* the next page: the one name left */
    r = tl_call(nd.h, &req);
    assert_int_equal(r->query->n_kv, 1);
    assert_false(r->query->truncated);
    assert_string_equal(r->query->kv[0]->key, "vat.name.counter2");
    swing__v1__response__free_unpacked(r, NULL);
    q.kv_after = "a"; /* before the prefix: the whole prefix again */
    r = tl_call(nd.h, &req);
    assert_int_equal(r->query->n_kv, 2);
    assert_string_equal(r->query->kv[0]->key, "vat.name.boot");
    swing__v1__response__free_unpacked(r, NULL);
    q.kv_after = "zzz"; /* past the prefix: nothing */
    r = tl_call(nd.h, &req);
    assert_int_equal(r->query->n_kv, 0);
    swing__v1__response__free_unpacked(r, NULL);
    q.kv_after = "";
    q.query_case = SWING__V1__QUERY_REQUEST__QUERY_KV_GET;
    q.kv_get = "vat.name.counter";
    r = tl_call(nd.h, &req);
    assert_true(r->query->found);
    assert_int_equal(r->query->n_kv, 1);
    swing__v1__response__free_unpacked(r, NULL);
    tl_node_free(&nd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abi_export_import),
        cmocka_unit_test(test_abi_init_errors),
        cmocka_unit_test(test_abi_create_and_terminate_vats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
