/*
 * strings_test.c - strings at the host ABI (abi/wire.c, base/err.c), through
 * the public entry points only (issue: hardening, ABI edges, 2025):
 *   - a request string with a NUL byte ("counter\0x" used to be taken as
 *     "counter": protobuf-c hands strings on NUL-terminated) or with
 *     ill-formed UTF-8 is refused with INVALID and changes nothing;
 *   - every string of every response is well-formed UTF-8 (checked by an
 *     independent oracle in tl_call): long messages are cut at a character
 *     boundary (they used to be cut at 511 bytes inside one), and text of
 *     vats (a Lua syntax error quoting the source) is repaired.
 */
#include "tests/lib/testlib.h"
#include "tests/lib/abicall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char BOOT[] = "function buildRootObject()\n"
                           "  return Far('boot', { bootstrap = function() return 'booted' end })\n"
                           "end\n";
static const char COUNTER[] = "function buildRootObject()\n"
                              "  local n = 0\n"
                              "  return Far('counter', { increment = function(k) n = n + k return n end })\n"
                              "end\n";
static const char CONFIG[] = "{\"bootstrap\":\"boot\",\"vats\":{\"boot\":{\"bundleName\":\"boot\"},"
                             "\"counter\":{\"bundleName\":\"counter\"}}}";

/* init with the boot and counter bundles (the first named `first`). */
static Swing__V1__Response *init_call(swing_handle *h, const char *config, const char *first,
                                      const char *mark)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__InitRequest init = SWING__V1__INIT_REQUEST__INIT;
    Swing__V1__Bundle b[2] = {SWING__V1__BUNDLE__INIT, SWING__V1__BUNDLE__INIT};
    Swing__V1__Bundle *bp[2] = {&b[0], &b[1]};
    Swing__V1__Response *r;
    b[0].name = (char *)first;
    b[0].source.data = (uint8_t *)BOOT;
    b[0].source.len = sizeof BOOT - 1;
    b[1].name = "counter";
    b[1].source.data = (uint8_t *)COUNTER;
    b[1].source.len = sizeof COUNTER - 1;
    init.config_json.data = (uint8_t *)config;
    init.config_json.len = strlen(config);
    init.bundles = bp;
    init.n_bundles = 2;
    req.abi_version = SWING_ABI_VERSION;
    req.op_case = SWING__V1__REQUEST__OP_INIT;
    req.init = &init;
    if (mark) {
        size_t n;
        uint8_t *buf = tl_pack_patched(&req.base, mark, &n);
        r = tl_call_bytes(h, buf, n);
        free(buf);
    } else {
        r = tl_call(h, &req);
    }
    return r;
}

static void op(swing_handle *h, Swing__V1__Request__OpCase which, void *msg)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    req.op_case = which;
    req.init = msg; /* one pointer of the oneof's union */
    TL_OK(tl_call_status(h, &req));
}

static void begin(swing_handle *h, uint64_t height)
{
    Swing__V1__BeginBlockRequest b = SWING__V1__BEGIN_BLOCK_REQUEST__INIT;
    b.height = height;
    op(h, SWING__V1__REQUEST__OP_BEGIN_BLOCK, &b);
}

/* end_block and commit; the activity hash goes to hash. */
static void finish(swing_handle *h, char hash[65])
{
    Swing__V1__EndBlockRequest e = SWING__V1__END_BLOCK_REQUEST__INIT;
    Swing__V1__CommitRequest c = SWING__V1__COMMIT_REQUEST__INIT;
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__Response *r;
    op(h, SWING__V1__REQUEST__OP_END_BLOCK, &e);
    req.op_case = SWING__V1__REQUEST__OP_COMMIT;
    req.commit = &c;
    r = tl_call(h, &req);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    snprintf(hash, 65, "%s", r->commit->activity_hash);
    swing__v1__response__free_unpacked(r, NULL);
}

static void genesis(tl_node *nd)
{
    char hash[65];
    Swing__V1__Response *r = init_call(nd->h, CONFIG, "boot", NULL);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    swing__v1__response__free_unpacked(r, NULL);
    begin(nd->h, 1);
    finish(nd->h, hash);
}

/* Sends req (patched at mark when not NULL); asserts INVALID with a
 * message containing want. */
static void expect_refused(swing_handle *h, Swing__V1__Request *req, const char *mark, const char *want)
{
    Swing__V1__Response *r;
    req->abi_version = SWING_ABI_VERSION;
    if (mark) {
        size_t n;
        uint8_t *buf = tl_pack_patched(&req->base, mark, &n);
        r = tl_call_bytes(h, buf, n);
        free(buf);
    } else {
        r = tl_call(h, req);
    }
    if (r->status != SWING__V1__STATUS__STATUS_INVALID || !strstr(r->error, want))
        fail_msg("status %d, error \"%s\"; expected INVALID with \"%s\"", (int)r->status, r->error, want);
    swing__v1__response__free_unpacked(r, NULL);
}

static void inbound_ok(swing_handle *h, const char *id)
{
    Swing__V1__QueueInboundRequest q = SWING__V1__QUEUE_INBOUND_REQUEST__INIT;
    q.id = (char *)id;
    q.vat = "counter";
    q.method = "increment";
    q.args_json = "[1]";
    op(h, SWING__V1__REQUEST__OP_QUEUE_INBOUND, &q);
}

/* Requests whose strings hold a NUL byte, on node b only; nodes a and b then
 * commit the same hash: nothing of them was taken. */
static void test_strings_nul_in_request_strings_refused(void **state)
{
    tl_node a, b;
    char ha[65], hb[65];
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__QueueInboundRequest q = SWING__V1__QUEUE_INBOUND_REQUEST__INIT;
    Swing__V1__TerminateVatRequest tv = SWING__V1__TERMINATE_VAT_REQUEST__INIT;
    Swing__V1__QueryRequest qr = SWING__V1__QUERY_REQUEST__INIT;
    Swing__V1__Response *r;
    (void)state;
    tl_node_new(&a, false);
    tl_node_new(&b, false);
    r = init_call(b.h, CONFIG, "boot\001x", "boot\001x");
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_INVALID);
    assert_non_null(strstr(r->error, "Bundle.name holds a NUL byte"));
    swing__v1__response__free_unpacked(r, NULL);
    genesis(&a);
    genesis(&b);
    begin(a.h, 2);
    begin(b.h, 2);
    inbound_ok(a.h, "t1");
    inbound_ok(b.h, "t1");

    q.id = "t2";
    q.vat = "counter\001x";
    q.method = "increment";
    q.args_json = "[1]";
    req.op_case = SWING__V1__REQUEST__OP_QUEUE_INBOUND;
    req.queue_inbound = &q;
    expect_refused(b.h, &req, "counter\001x", "QueueInboundRequest.vat holds a NUL byte");
    q.vat = "counter";
    q.id = "t3\001";
    expect_refused(b.h, &req, "t3\001", "QueueInboundRequest.id holds a NUL byte");
    q.id = "t4";
    q.method = "increment\001evil";
    expect_refused(b.h, &req, "increment\001evil", "QueueInboundRequest.method holds a NUL byte");
    q.method = "increment";
    q.args_json = "[1]\001[2]";
    expect_refused(b.h, &req, "[1]\001[2]", "QueueInboundRequest.args_json holds a NUL byte");

    tv.name = "counter\001x";
    req.op_case = SWING__V1__REQUEST__OP_TERMINATE_VAT;
    req.terminate_vat = &tv;
    expect_refused(b.h, &req, "counter\001x", "TerminateVatRequest.name holds a NUL byte");

    qr.query_case = SWING__V1__QUERY_REQUEST__QUERY_KV_GET;
    qr.kv_get = "vat.name.counter\001x";
    req.op_case = SWING__V1__REQUEST__OP_QUERY;
    req.query = &qr;
    expect_refused(b.h, &req, "counter\001x", "QueryRequest.kv_get holds a NUL byte");

    finish(a.h, ha);
    finish(b.h, hb);
    assert_string_equal(ha, hb);
    tl_node_free(&a);
    tl_node_free(&b);
}

/* An OpenRequest whose data_dir holds a NUL is refused; the directory the
 * NUL would have cut it to is not created. */
static void test_strings_open_data_dir_with_nul_refused(void **state)
{
    Swing__V1__OpenRequest req = SWING__V1__OPEN_REQUEST__INIT;
    Swing__V1__OpenResponse *r;
    char *tmp = tl_tmpdir(), dir[600], cut[600], mark[8] = "db\001x";
    struct stat sb;
    swing_handle *h = NULL;
    uint8_t *buf, *out = NULL;
    size_t n, out_len = 0;
    swing_status s;
    (void)state;
    snprintf(dir, sizeof dir, "%s/%s", tmp, mark);
    snprintf(cut, sizeof cut, "%s/db", tmp);
    req.abi_version = SWING_ABI_VERSION;
    req.data_dir = dir;
    req.no_sync = true;
    buf = tl_pack_patched(&req.base, mark, &n);
    s = swing_open(buf, n, &h, &out, &out_len);
    free(buf);
    assert_int_equal(s, SWING_ERR_INVALID);
    assert_null(h);
    r = swing__v1__open_response__unpack(NULL, out_len, out);
    swing_free(out);
    assert_non_null(r);
    assert_non_null(strstr(r->error, "OpenRequest.data_dir holds a NUL byte"));
    swing__v1__open_response__free_unpacked(r, NULL);
    assert_int_not_equal(stat(cut, &sb), 0);
    tl_rmtree(tmp);
}

/* Ill-formed UTF-8 in request strings (bytes protobuf-c packs as given). */
static void test_strings_ill_formed_utf8_refused(void **state)
{
    tl_node a, b;
    char ha[65], hb[65];
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__QueueInboundRequest q = SWING__V1__QUEUE_INBOUND_REQUEST__INIT;
    Swing__V1__TerminateVatRequest tv = SWING__V1__TERMINATE_VAT_REQUEST__INIT;
    (void)state;
    tl_node_new(&a, false);
    tl_node_new(&b, false);
    genesis(&a);
    genesis(&b);
    begin(a.h, 2);
    begin(b.h, 2);
    q.id = "t1";
    q.vat = "counter";
    q.method = "increment\xff";
    q.args_json = "[1]";
    req.op_case = SWING__V1__REQUEST__OP_QUEUE_INBOUND;
    req.queue_inbound = &q;
    expect_refused(b.h, &req, NULL, "QueueInboundRequest.method is not valid UTF-8");
    q.method = "increment\xc3"; /* truncated sequence */
    expect_refused(b.h, &req, NULL, "QueueInboundRequest.method is not valid UTF-8");
    q.method = "increment";
    q.args_json = "[\"\xc0\x80\"]"; /* overlong NUL */
    expect_refused(b.h, &req, NULL, "QueueInboundRequest.args_json is not valid UTF-8");
    tv.name = "counter";
    tv.reason = "retired \xed\xa0\x80"; /* a surrogate */
    req.op_case = SWING__V1__REQUEST__OP_TERMINATE_VAT;
    req.terminate_vat = &tv;
    expect_refused(b.h, &req, NULL, "TerminateVatRequest.reason is not valid UTF-8");
    inbound_ok(a.h, "t1");
    inbound_ok(b.h, "t1");
    finish(a.h, ha);
    finish(b.h, hb);
    assert_string_equal(ha, hb);
    tl_node_free(&a);
    tl_node_free(&b);
}

/* A message longer than the error buffer, made of 3-byte characters at each
 * alignment: it ends at a character boundary (tl_call's oracle checks the
 * whole response). */
static void test_strings_long_error_cut_at_character(void **state)
{
    tl_node nd;
    char config[2400], name[400];
    (void)state;
    tl_node_new(&nd, false);
    for (size_t i = 0; i + 3 < sizeof name; i += 3) memcpy(name + i, "\xe2\x82\xac", 3);
    name[sizeof name - 1 - (sizeof name - 1) % 3] = '\0';
    for (int lead = 1; lead <= 4; lead++) {
        Swing__V1__Response *r;
        size_t len;
        snprintf(config, sizeof config, "{\"vats\":{\"%.*s\":{\"bundleName\":\"%s%s\"}}}", lead, "vvvv", name,
                 name);
        r = init_call(nd.h, config, "boot", NULL);
        assert_int_equal(r->status, SWING__V1__STATUS__STATUS_INVALID);
        assert_non_null(strstr(r->error, "no bundle named"));
        len = strlen(r->error);
        assert_true(len <= 511 && len >= 508);
        swing__v1__response__free_unpacked(r, NULL);
    }
    tl_node_free(&nd);
}

/* A Lua syntax error quotes the bundle's bytes (here not UTF-8): the
 * message reaches the host repaired, the rest of it intact. */
static void test_strings_vat_text_repaired(void **state)
{
    static const char bad[] = "local x = \"caf\xe9 \xff\n";
    tl_node nd;
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__InstallBundleRequest ib = SWING__V1__INSTALL_BUNDLE_REQUEST__INIT;
    Swing__V1__Response *r;
    (void)state;
    tl_node_new(&nd, false);
    genesis(&nd);
    begin(nd.h, 2);
    ib.source.data = (uint8_t *)bad;
    ib.source.len = sizeof bad - 1;
    req.op_case = SWING__V1__REQUEST__OP_INSTALL_BUNDLE;
    req.install_bundle = &ib;
    r = tl_call(nd.h, &req);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_INVALID);
    if (!strstr(r->error, "unfinished string") || !strstr(r->error, "caf? ?"))
        fail_msg("error: %s", r->error);
    swing__v1__response__free_unpacked(r, NULL);
    tl_node_free(&nd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_nul_in_request_strings_refused),
        cmocka_unit_test(test_strings_open_data_dir_with_nul_refused),
        cmocka_unit_test(test_strings_ill_formed_utf8_refused),
        cmocka_unit_test(test_strings_long_error_cut_at_character),
        cmocka_unit_test(test_strings_vat_text_repaired),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
