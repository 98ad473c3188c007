/*
 * upgrade_test.c - vat upgrade through the public ABI (abi/upgrade.c,
 * abi/bundle_name.c, the upgrade fields of abi/block.c and abi/query.c):
 * upgrade_vat and upgrade_all_vats only inside a block; bad requests
 * refused with INVALID and a clear message, changing nothing (the same
 * hashes as a node that never saw them); bundle names kept as consensus
 * state; end_block's upgrades and upgrades_left, the query's incarnation;
 * a replayed block answering its upgrade requests as the first run did.
 */
#include "tests/lib/abicall.h"
#include "tests/lib/testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swing/v1/swing.pb-c.h"


/* upgrade_vat; params NULL: keep the retained vatParameters. The caller
 * frees the response. */
static Swing__V1__Response *upgrade(swing_handle *h, const char *vat, const char *bundle_name, const char *bundle_id,
                                    const char *params, const char *message)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__UpgradeVatRequest u = SWING__V1__UPGRADE_VAT_REQUEST__INIT;
    u.vat = (char *)vat;
    u.bundle_name = (char *)(bundle_name ? bundle_name : "");
    u.bundle_id = (char *)(bundle_id ? bundle_id : "");
    u.has_vat_parameters = params != NULL;
    u.vat_parameters_json = (char *)(params ? params : "");
    u.upgrade_message = (char *)(message ? message : "");
    req.op_case = SWING__V1__REQUEST__OP_UPGRADE_VAT;
    req.upgrade_vat = &u;
    return tl_call(h, &req);
}

/* upgrade_all_vats with n (vat, bundle name) pairs. */
static Swing__V1__Response *upgrade_all(swing_handle *h, size_t n, const char *const *vats, const char *const *names)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__UpgradeAllVatsRequest u = SWING__V1__UPGRADE_ALL_VATS_REQUEST__INIT;
    Swing__V1__VatBundle b[4], *bp[4];
    Swing__V1__Response *r;
    assert_true(n <= 4);
    for (size_t i = 0; i < n; i++) {
        swing__v1__vat_bundle__init(&b[i]);
        b[i].vat = (char *)vats[i];
        b[i].bundle_name = (char *)(names[i] ? names[i] : "");
        bp[i] = &b[i];
    }
    u.n_bundles = n;
    u.bundles = bp;
    req.op_case = SWING__V1__REQUEST__OP_UPGRADE_ALL_VATS;
    req.upgrade_all_vats = &u;
    r = tl_call(h, &req);
    return r;
}

/* Frees r after checking that it is INVALID with `want` in its message. */
static void expect_invalid(Swing__V1__Response *r, const char *want)
{
    if (r->status != SWING__V1__STATUS__STATUS_INVALID || !strstr(r->error, want))
        fail_msg("status %d (%s), expected INVALID with \"%s\"", (int)r->status, r->error, want);
    swing__v1__response__free_unpacked(r, NULL);
}

static Swing__V1__Response *query_vats(swing_handle *h)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__QueryRequest q = SWING__V1__QUERY_REQUEST__INIT;
    Swing__V1__Response *r;
    q.query_case = SWING__V1__QUERY_REQUEST__QUERY_VATS;
    q.vats = true;
    req.op_case = SWING__V1__REQUEST__OP_QUERY;
    req.query = &q;
    r = tl_call(h, &req);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    return r;
}

/* The vat named `name` of a vats query. */
static const Swing__V1__VatInfo *vat_of(const Swing__V1__Response *r, const char *name)
{
    for (size_t i = 0; i < r->query->n_vats; i++)
        if (strcmp(r->query->vats[i]->name, name) == 0) return r->query->vats[i];
    fail_msg("no vat %s listed", name);
    return NULL;
}

/* install_bundle (with a name, or "" for none); id gets its bundle ID. */
static swing_status install(swing_handle *h, const char *src, const char *name, char id[80])
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__InstallBundleRequest ib = SWING__V1__INSTALL_BUNDLE_REQUEST__INIT;
    Swing__V1__Response *r;
    swing_status s;
    ib.source.data = (uint8_t *)src;
    ib.source.len = strlen(src);
    ib.name = (char *)name;
    req.op_case = SWING__V1__REQUEST__OP_INSTALL_BUNDLE;
    req.install_bundle = &ib;
    r = tl_call(h, &req);
    s = (swing_status)r->status;
    if (id) snprintf(id, 80, "%s", s == SWING_OK ? r->install_bundle->id : "");
    swing__v1__response__free_unpacked(r, NULL);
    return s;
}

/* The value of one kv key ("" when absent) into out. */
static void kv_value(swing_handle *h, const char *key, char *out, size_t cap)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__QueryRequest q = SWING__V1__QUERY_REQUEST__INIT;
    Swing__V1__Response *r;
    q.query_case = SWING__V1__QUERY_REQUEST__QUERY_KV_GET;
    q.kv_get = (char *)key;
    req.op_case = SWING__V1__REQUEST__OP_QUERY;
    req.query = &q;
    r = tl_call(h, &req);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    snprintf(out, cap, "%.*s", r->query->found ? (int)r->query->kv[0]->value.len : 0,
             r->query->found ? (const char *)r->query->kv[0]->value.data : "");
    swing__v1__response__free_unpacked(r, NULL);
}

static void commit_block(swing_handle *h, char hash[65])
{
    Swing__V1__Response *r;
    TL_OK(tl_abi_commit(h, &r));
    if (hash) snprintf(hash, 65, "%s", r->commit->activity_hash);
    swing__v1__response__free_unpacked(r, NULL);
}



/* Both operations are block operations: before begin_block and after
 * end_block they are OUT_OF_ORDER. */
static void test_upgrade_outside_a_block(void **state)
{
    tl_node nd;
    char hash[65];
    Swing__V1__Response *r;
    (void)state;
    tl_node_new(&nd, false);
    tl_abi_genesis(nd.h, hash);
    r = upgrade(nd.h, "counter", NULL, NULL, NULL, NULL);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OUT_OF_ORDER);
    assert_non_null(strstr(r->error, "upgrade_vat is allowed inside a block only"));
    swing__v1__response__free_unpacked(r, NULL);
    TL_OK(tl_abi_begin(nd.h, 2, NULL));
    TL_OK(tl_abi_end_block(nd.h, 0, NULL));
    r = upgrade_all(nd.h, 0, NULL, NULL);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OUT_OF_ORDER);
    assert_non_null(strstr(r->error, "upgrade_all_vats is allowed inside a block only"));
    swing__v1__response__free_unpacked(r, NULL);
    commit_block(nd.h, NULL);
    tl_node_free(&nd);
}

/* Every kind of bad request, each refused with INVALID and its reason. */
static void send_bad_requests(swing_handle *h)
{
    static const char *const nobody[] = {"nobody"}, *const twice[] = {"counter", "counter"};
    static const char *const none2[] = {NULL, NULL}, *const nope[] = {"nope"}, *const counter[] = {"counter"};
    char longmsg[260];
    memset(longmsg, 'm', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    expect_invalid(upgrade(h, "nobody", NULL, NULL, NULL, NULL), "upgrade_vat: no vat named nobody");
    expect_invalid(upgrade(h, "bad name!", NULL, NULL, NULL, NULL), "upgrade_vat: bad vat name");
    expect_invalid(upgrade(h, "counter", "nope", NULL, NULL, NULL), "upgrade_vat: no bundle named nope");
    expect_invalid(upgrade(h, "counter", "a.b", NULL, NULL, NULL), "upgrade_vat: no bundle named a.b");
    expect_invalid(upgrade(h, "counter", "counter", "b1-00", NULL, NULL), "give bundle_name or bundle_id, not both");
    expect_invalid(upgrade(h, "counter", NULL, "xyz", NULL, NULL), "upgrade_vat: bad bundle_id");
    expect_invalid(upgrade(h, "counter", NULL, "b1-0000000000000000000000000000000000000000000000000000000000000000",
                           NULL, NULL),
                   "is not installed");
    expect_invalid(upgrade(h, "counter", NULL, NULL, "{\"start\":", NULL), "upgrade_vat: vat_parameters_json:");
    expect_invalid(upgrade(h, "counter", NULL, NULL, "{\"start\":1,\"start\":2}", NULL), "vat_parameters_json:");
    expect_invalid(upgrade(h, "counter", NULL, NULL, "{\"!x\":1}", NULL), "is not plain data");
    expect_invalid(upgrade(h, "counter", NULL, NULL, "", NULL), "has_vat_parameters without vat_parameters_json");
    expect_invalid(upgrade(h, "counter", NULL, NULL, NULL, longmsg), ""); /* the kernel's rule */
    {
        Swing__V1__Request req = SWING__V1__REQUEST__INIT;
        Swing__V1__UpgradeVatRequest u = SWING__V1__UPGRADE_VAT_REQUEST__INIT;
        u.vat = "counter";
        u.vat_parameters_json = "{\"start\":1}"; /* without has_vat_parameters */
        req.op_case = SWING__V1__REQUEST__OP_UPGRADE_VAT;
        req.upgrade_vat = &u;
        expect_invalid(tl_call(h, &req), "vat_parameters_json without has_vat_parameters");
    }
    expect_invalid(upgrade_all(h, 1, nobody, none2), "upgrade_all_vats: no vat named nobody");
    expect_invalid(upgrade_all(h, 2, twice, none2), "upgrade_all_vats: vat counter is given twice");
    expect_invalid(upgrade_all(h, 1, counter, nope), "upgrade_all_vats: no bundle named nope");
    TL_EXPECT_STATUS(SWING_ERR_INVALID, install(h, TL_ABI_COUNTER, "a.b", NULL)); /* a name with '.' */
}

/* A refused request changes nothing: a node that got every bad request
 * commits the same hashes as one that got none, and reports no upgrade. */
static void test_upgrade_refusals_change_nothing(void **state)
{
    tl_node a, b;
    char ha[65], hb[65];
    Swing__V1__Response *ra, *rb;
    (void)state;
    tl_node_new(&a, false);
    tl_node_new(&b, false);
    tl_abi_genesis(a.h, ha);
    tl_abi_genesis(b.h, hb);
    assert_string_equal(ha, hb);
    for (uint64_t h = 2; h <= 3; h++) {
        TL_OK(tl_abi_begin(a.h, h, NULL));
        TL_OK(tl_abi_begin(b.h, h, NULL));
        send_bad_requests(a.h);
        TL_OK(tl_abi_inbound(a.h, "i", "counter", "increment", "[1]"));
        TL_OK(tl_abi_inbound(b.h, "i", "counter", "increment", "[1]"));
        TL_OK(tl_abi_end_block(a.h, 0, &ra));
        TL_OK(tl_abi_end_block(b.h, 0, &rb));
        assert_string_equal(ra->end_block->activity_hash, rb->end_block->activity_hash);
        assert_int_equal(ra->end_block->n_upgrades, 0);
        assert_int_equal(ra->end_block->upgrades_left, 0);
        swing__v1__response__free_unpacked(ra, NULL);
        swing__v1__response__free_unpacked(rb, NULL);
        commit_block(a.h, ha);
        commit_block(b.h, hb);
        assert_string_equal(ha, hb);
    }
    tl_node_free(&a);
    tl_node_free(&b);
}

/* Bundle names are consensus state: init's, and install_bundle's (a later
 * one moves the name); a named bundle passes the host's checks. Every live
 * vat is listed with incarnation 0 before any upgrade. */
static void test_upgrade_bundle_names_and_shapes(void **state)
{
    tl_node nd;
    char hash[65], id[80], v[128];
    Swing__V1__Response *r;
    const Swing__V1__VatInfo *vi;
    (void)state;
    tl_node_new(&nd, false);
    tl_abi_genesis(nd.h, hash);
    kv_value(nd.h, "bundle.name.counter", v, sizeof v);
    assert_int_equal(strncmp(v, "b1-", 3), 0);
    kv_value(nd.h, "bundle.name.boot", v, sizeof v);
    assert_int_equal(strncmp(v, "b1-", 3), 0);
    TL_OK(tl_abi_begin(nd.h, 2, NULL));
    TL_OK(install(nd.h, TL_ABI_BOOT, "counter2", id));
    kv_value(nd.h, "bundle.name.counter2", v, sizeof v);
    assert_string_equal(v, id);
    TL_OK(install(nd.h, TL_ABI_COUNTER, "counter2", id)); /* moved to another bundle */
    kv_value(nd.h, "bundle.name.counter2", v, sizeof v);
    assert_string_equal(v, id);
    r = upgrade(nd.h, "counter", "counter2", NULL, "{\"start\":5}", "new code");
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK); /* past the host's checks */
    swing__v1__response__free_unpacked(r, NULL);
    TL_OK(tl_abi_end_block(nd.h, 0, &r));
    assert_int_equal(r->end_block->n_upgrades, 1);
    assert_int_equal(r->end_block->upgrades_left, 0);
    swing__v1__response__free_unpacked(r, NULL);
    commit_block(nd.h, NULL);
    r = query_vats(nd.h);
    assert_int_equal(r->query->n_vats, 2);
    vi = vat_of(r, "boot");
    assert_int_equal(vi->incarnation, 0);
    vi = vat_of(r, "counter");
    assert_int_equal(vi->incarnation, 1);
    swing__v1__response__free_unpacked(r, NULL);
    tl_node_free(&nd);
}

/* A vat terminated and deleted is refused as terminated, and listed with
 * incarnation 0. */
static void test_upgrade_terminated_vat(void **state)
{
    tl_node nd;
    char hash[65];
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__TerminateVatRequest tv = SWING__V1__TERMINATE_VAT_REQUEST__INIT;
    Swing__V1__Response *r;
    (void)state;
    tl_node_new(&nd, false);
    tl_abi_genesis(nd.h, hash);
    TL_OK(tl_abi_begin(nd.h, 2, NULL));
    tv.name = "counter";
    tv.reason = "retired";
    req.op_case = SWING__V1__REQUEST__OP_TERMINATE_VAT;
    req.terminate_vat = &tv;
    TL_OK(tl_call_status(nd.h, &req));
    TL_OK(tl_abi_end_block(nd.h, 0, NULL)); /* the default budget deletes it */
    commit_block(nd.h, NULL);
    r = query_vats(nd.h);
    assert_true(vat_of(r, "counter")->deleted);
    assert_int_equal(vat_of(r, "counter")->incarnation, 0);
    swing__v1__response__free_unpacked(r, NULL);
    TL_OK(tl_abi_begin(nd.h, 3, NULL));
    expect_invalid(upgrade(nd.h, "counter", NULL, NULL, NULL, NULL), "terminated by the host: retired");
    TL_OK(tl_abi_end_block(nd.h, 0, NULL));
    commit_block(nd.h, NULL);
    tl_node_free(&nd);
}

/* Packs r into a malloc'd buffer (*n bytes). */
static uint8_t *packed(const Swing__V1__Response *r, size_t *n)
{
    uint8_t *p = malloc((*n = swing__v1__response__get_packed_size(r)) + 1);
    assert_non_null(p);
    swing__v1__response__pack(r, p);
    return p;
}

/* The block's three upgrade requests, their responses packed into out[]. */
static void upgrade_requests(swing_handle *h, uint8_t *out[3], size_t n[3])
{
    Swing__V1__Response *r[3];
    r[0] = upgrade(h, "nobody", NULL, NULL, NULL, NULL);
    r[1] = upgrade(h, "counter", NULL, NULL, "{\"start\":7}", NULL);
    r[2] = upgrade_all(h, 0, NULL, NULL);
    for (int i = 0; i < 3; i++) {
        out[i] = packed(r[i], &n[i]);
        swing__v1__response__free_unpacked(r[i], NULL);
    }
}

/* A committed block offered again is replayed: its upgrade requests answer
 * exactly what they answered the first time (refusals included), nothing
 * runs, and end_block and commit return the recorded outputs. */
static void test_upgrade_replay_answers_the_same(void **state)
{
    tl_node nd;
    char hash[65];
    uint8_t *first[3], *again[3], *e1, *e2;
    size_t n1[3], n2[3], l1, l2;
    bool replay;
    Swing__V1__Response *r;
    (void)state;
    tl_node_new(&nd, false);
    tl_abi_genesis(nd.h, hash);
    TL_OK(tl_abi_begin(nd.h, 2, NULL));
    upgrade_requests(nd.h, first, n1);
    TL_OK(tl_abi_end_block(nd.h, 0, &r));
    e1 = packed(r, &l1);
    swing__v1__response__free_unpacked(r, NULL);
    commit_block(nd.h, hash);
    swing_close(nd.h);
    tl_node_open(&nd, NULL);
    TL_OK(tl_abi_begin(nd.h, 2, &replay));
    assert_true(replay);
    upgrade_requests(nd.h, again, n2);
    TL_OK(tl_abi_end_block(nd.h, 0, &r));
    e2 = packed(r, &l2);
    swing__v1__response__free_unpacked(r, NULL);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(n1[i], n2[i]);
        assert_memory_equal(first[i], again[i], n1[i]);
        free(first[i]);
        free(again[i]);
    }
    assert_int_equal(l1, l2);
    assert_memory_equal(e1, e2, l1);
    free(e1);
    free(e2);
    TL_OK(tl_abi_commit(nd.h, &r));
    assert_string_equal(r->commit->activity_hash, hash);
    swing__v1__response__free_unpacked(r, NULL);
    tl_node_free(&nd);
}

/* A replay whose requests differ from the block's: an upgrade request the
 * block never had answers OK with an empty result, and end_block refuses the
 * replay. (This path, with no recorded answers, offset a NULL pointer: the
 * envelope fuzzer's clang UBSan found it; gcc's UBSan, which the C tests run
 * under, does not flag a zero offset.) */
static void test_upgrade_replay_of_other_requests(void **state)
{
    tl_node nd;
    char hash[65];
    bool replay;
    Swing__V1__Response *r;
    (void)state;
    tl_node_new(&nd, false);
    tl_abi_genesis(nd.h, hash);
    TL_OK(tl_abi_begin(nd.h, 2, NULL));
    TL_OK(tl_abi_end_block(nd.h, 0, NULL));
    commit_block(nd.h, hash);
    swing_close(nd.h);
    tl_node_open(&nd, NULL);
    TL_OK(tl_abi_begin(nd.h, 2, &replay));
    assert_true(replay);
    r = upgrade_all(nd.h, 0, NULL, NULL);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    assert_int_equal(r->upgrade_all_vats->n_vats, 0);
    swing__v1__response__free_unpacked(r, NULL);
    r = upgrade(nd.h, "counter", NULL, NULL, NULL, NULL);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    assert_int_equal(r->upgrade_vat->upgrade_id, 0);
    swing__v1__response__free_unpacked(r, NULL);
    TL_EXPECT_STATUS(SWING_ERR_OUT_OF_ORDER, tl_abi_end_block(nd.h, 0, NULL));
    tl_node_free(&nd);
}

/* A null upgrade, then one with a new bundle (by name) and new
 * vatParameters: each is reported once done with its ID and the new
 * incarnation, the query lists it, and the vat runs its new code with the
 * parameters it was given (or the retained ones). */
static void test_upgrade_vat_completes(void **state)
{
    tl_node nd;
    char hash[65], id[80];
    Swing__V1__Response *r;
    const Swing__V1__UpgradeResult *u;
    const Swing__V1__InboundResult *ir;
    (void)state;
    tl_node_new(&nd, false);
    tl_abi_genesis(nd.h, hash);
    TL_OK(tl_abi_begin(nd.h, 2, NULL));
    r = upgrade(nd.h, "counter", NULL, NULL, NULL, NULL);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    assert_int_equal(r->result_case, SWING__V1__RESPONSE__RESULT_UPGRADE_VAT);
    assert_int_equal(r->upgrade_vat->upgrade_id, 1);
    swing__v1__response__free_unpacked(r, NULL);
    expect_invalid(upgrade(nd.h, "counter", NULL, NULL, NULL, NULL), "already queued");
    TL_OK(tl_abi_end_block(nd.h, 0, &r));
    assert_int_equal(r->end_block->n_upgrades, 1);
    u = r->end_block->upgrades[0];
    assert_int_equal(u->upgrade_id, 1);
    assert_string_equal(u->name, "counter");
    assert_int_equal(strncmp(u->vat_id, "v", 1), 0);
    assert_true(u->ok);
    assert_int_equal(u->incarnation, 1);
    assert_string_equal(u->reason, "");
    assert_int_equal(r->end_block->upgrades_left, 0);
    swing__v1__response__free_unpacked(r, NULL);
    commit_block(nd.h, NULL);
    r = query_vats(nd.h);
    assert_int_equal(vat_of(r, "counter")->incarnation, 1);
    assert_int_equal(vat_of(r, "boot")->incarnation, 0);
    swing__v1__response__free_unpacked(r, NULL);

    TL_OK(tl_abi_begin(nd.h, 3, NULL));
    TL_OK(tl_abi_inbound(nd.h, "a", "counter", "increment", "[1]"));
    TL_OK(tl_abi_end_block(nd.h, 0, &r));
    assert_non_null(ir = tl_abi_result_of(r, "a"));
    assert_string_equal(ir->body, "#101"); /* fresh code, the retained {"start":100} */
    swing__v1__response__free_unpacked(r, NULL);
    commit_block(nd.h, NULL);

    TL_OK(tl_abi_begin(nd.h, 4, NULL));
    TL_OK(install(nd.h, TL_ABI_COUNTER, "counter3", id));
    r = upgrade(nd.h, "counter", "counter3", NULL, "{\"start\":7}", "to v3");
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    assert_int_equal(r->upgrade_vat->upgrade_id, 2);
    swing__v1__response__free_unpacked(r, NULL);
    TL_OK(tl_abi_end_block(nd.h, 0, &r));
    assert_int_equal(r->end_block->n_upgrades, 1);
    assert_int_equal(r->end_block->upgrades[0]->upgrade_id, 2);
    assert_true(r->end_block->upgrades[0]->ok);
    assert_int_equal(r->end_block->upgrades[0]->incarnation, 2);
    swing__v1__response__free_unpacked(r, NULL);
    commit_block(nd.h, NULL);
    TL_OK(tl_abi_begin(nd.h, 5, NULL));
    TL_OK(tl_abi_inbound(nd.h, "b", "counter", "increment", "[1]"));
    TL_OK(tl_abi_end_block(nd.h, 0, &r));
    assert_non_null(ir = tl_abi_result_of(r, "b"));
    assert_string_equal(ir->body, "#8"); /* the new {"start":7} */
    swing__v1__response__free_unpacked(r, NULL);
    commit_block(nd.h, NULL);
    tl_node_free(&nd);
}

/* upgrade_all_vats lists every live vat in vat-ID order, each
 * queued with its ID (counter with the bundle given), and end_block reports
 * them all done at incarnation 1. */
static void test_upgrade_all_completes(void **state)
{
    static const char *const vats[] = {"counter"}, *const names[] = {"counter2"};
    tl_node nd;
    char hash[65];
    Swing__V1__Response *r;
    const Swing__V1__UpgradeAllVatsResponse *p;
    (void)state;
    tl_node_new(&nd, false);
    tl_abi_genesis(nd.h, hash);
    TL_OK(tl_abi_begin(nd.h, 2, NULL));
    TL_OK(install(nd.h, TL_ABI_COUNTER, "counter2", NULL));
    r = upgrade_all(nd.h, 1, vats, names);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    p = r->upgrade_all_vats;
    assert_int_equal(p->n_vats, 2);
    assert_string_equal(p->vats[0]->name, "boot");
    assert_string_equal(p->vats[1]->name, "counter");
    for (size_t i = 0; i < 2; i++) {
        assert_true(p->vats[i]->queued);
        assert_int_equal(p->vats[i]->upgrade_id, i + 1);
        assert_string_equal(p->vats[i]->skipped, "");
    }
    swing__v1__response__free_unpacked(r, NULL);
    TL_OK(tl_abi_end_block(nd.h, 0, &r));
    assert_int_equal(r->end_block->n_upgrades, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_true(r->end_block->upgrades[i]->ok);
        assert_int_equal(r->end_block->upgrades[i]->incarnation, 1);
    }
    assert_int_equal(r->end_block->upgrades_left, 0);
    swing__v1__response__free_unpacked(r, NULL);
    commit_block(nd.h, NULL);
    tl_node_free(&nd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upgrade_outside_a_block),
        cmocka_unit_test(test_upgrade_refusals_change_nothing),
        cmocka_unit_test(test_upgrade_bundle_names_and_shapes),
        cmocka_unit_test(test_upgrade_terminated_vat),
        cmocka_unit_test(test_upgrade_replay_answers_the_same),
        cmocka_unit_test(test_upgrade_replay_of_other_requests),
        cmocka_unit_test(test_upgrade_vat_completes),
        cmocka_unit_test(test_upgrade_all_completes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
