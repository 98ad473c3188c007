/*
 * abicall.c - public-ABI test helpers (see abicall.h).
 */
#include "tests/lib/abicall.h"
#include "tests/lib/testlib.h"
#include "tests/lib/utf8oracle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tl_node_open(tl_node *nd, Swing__V1__OpenResponse **resp)
{
    Swing__V1__OpenRequest req = SWING__V1__OPEN_REQUEST__INIT;
    Swing__V1__OpenResponse *r;
    uint8_t buf[1024], *out = NULL;
    size_t n, out_len = 0;
    swing_status s;
    req.abi_version = SWING_ABI_VERSION;
    req.data_dir = nd->dir;
    req.no_sync = !nd->sync;
    n = swing__v1__open_request__pack(&req, buf);
    s = swing_open(buf, n, &nd->h, &out, &out_len);
    assert_non_null(out);
    r = swing__v1__open_response__unpack(NULL, out_len, out);
    swing_free(out);
    assert_non_null(r);
    tl_check_strings(&r->base);
    if (s != SWING_OK) fail_msg("open %s: %s", nd->dir, r->error);
    assert_non_null(nd->h);
    assert_non_null(r->default_cleanup);
    nd->default_cleanup.gc_krefs = r->default_cleanup->gc_krefs;
    nd->default_cleanup.boyds = r->default_cleanup->boyds;
    nd->default_cleanup.terminated_units = r->default_cleanup->terminated_units;
    if (resp) *resp = r;
    else swing__v1__open_response__free_unpacked(r, NULL);
}

void tl_node_new(tl_node *nd, bool sync)
{
    memset(nd, 0, sizeof *nd);
    nd->tmp = tl_tmpdir();
    nd->sync = sync;
    snprintf(nd->dir, sizeof nd->dir, "%s/db", nd->tmp);
    tl_node_open(nd, NULL);
}

void tl_node_free(tl_node *nd)
{
    swing_close(nd->h);
    nd->h = NULL;
    tl_rmtree(nd->tmp);
    nd->tmp = NULL;
}

void tl_check_strings(const ProtobufCMessage *m)
{
    const char *bad = oracle_bad_string(m);
    if (bad) fail_msg("%s: field %s is not well-formed UTF-8", m->descriptor->short_name, bad);
}

Swing__V1__Response *tl_call_bytes(swing_handle *h, const uint8_t *buf, size_t n)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    swing_status s = swing_call(h, buf, n, &out, &out_len);
    Swing__V1__Response *r;
    assert_non_null(out);
    r = swing__v1__response__unpack(NULL, out_len, out);
    swing_free(out);
    assert_non_null(r);
    assert_int_equal((int)r->status, (int)s);
    if (s == SWING_OK) assert_string_equal(r->error, "");
    else assert_true(strlen(r->error) > 0);
    tl_check_strings(&r->base);
    return r;
}

Swing__V1__Response *tl_call(swing_handle *h, Swing__V1__Request *req)
{
    size_t n;
    uint8_t *buf;
    Swing__V1__Response *r;
    req->abi_version = req->abi_version ? req->abi_version : SWING_ABI_VERSION;
    n = swing__v1__request__get_packed_size(req);
    buf = malloc(n ? n : 1);
    assert_non_null(buf);
    swing__v1__request__pack(req, buf);
    r = tl_call_bytes(h, buf, n);
    free(buf);
    return r;
}

swing_status tl_call_status(swing_handle *h, Swing__V1__Request *req)
{
    Swing__V1__Response *r = tl_call(h, req);
    swing_status s = (swing_status)r->status;
    swing__v1__response__free_unpacked(r, NULL);
    return s;
}

uint8_t *tl_pack_patched(const ProtobufCMessage *m, const char *mark, size_t *n)
{
    size_t len = protobuf_c_message_get_packed_size(m), ml = strlen(mark);
    uint8_t *buf = malloc(len ? len : 1), *at;
    assert_non_null(buf);
    protobuf_c_message_pack(m, buf);
    at = memmem(buf, len, mark, ml);
    if (!at) fail_msg("mark not found in the packed message");
    for (size_t i = 0; i < ml; i++)
        if (at[i] == 1) at[i] = 0;
    *n = len;
    return buf;
}

/* ---- a block at a time (the tests under tests/abi/) ---- */

const char *const TL_ABI_BOOT = "function buildRootObject()\n"
                                "  return Far('boot', { bootstrap = function(vats) return 'booted' end })\n"
                                "end\n";

const char *const TL_ABI_COUNTER = "function buildRootObject(vatPowers, params)\n"
                                   "  local count = (params and params.start) or 0\n"
                                   "  return Far('counter', {\n"
                                   "    increment = function(n) count = count + (n or 1) return count end,\n"
                                   "    fail = function() error('counter refuses') end,\n"
                                   "  })\n"
                                   "end\n";

const char *const TL_ABI_CONFIG = "{\"bootstrap\":\"boot\",\"vats\":{"
                                  "\"boot\":{\"bundleName\":\"boot\"},"
                                  "\"counter\":{\"bundleName\":\"counter\",\"parameters\":{\"start\":100}}}}";


swing_status tl_abi_open_sized(const char *dir, uint32_t abi, uint64_t cache, uint64_t wbuf,
                               swing_handle **h, Swing__V1__OpenResponse **resp)
{
    Swing__V1__OpenRequest req = SWING__V1__OPEN_REQUEST__INIT;
    req.cache_bytes = cache;
    req.write_buffer_bytes = wbuf;
    uint8_t buf[1024], *out = NULL;
    size_t n, out_len = 0;
    swing_status s;
    req.abi_version = abi;
    req.data_dir = (char *)dir;
    req.no_sync = true;
    n = swing__v1__open_request__pack(&req, buf);
    s = swing_open(buf, n, h, &out, &out_len);
    assert_non_null(out);
    *resp = swing__v1__open_response__unpack(NULL, out_len, out);
    swing_free(out);
    assert_non_null(*resp);
    assert_int_equal((int)(*resp)->status, (int)s);
    return s;
}

swing_status tl_abi_open_dir(const char *dir, uint32_t abi, swing_handle **h,
                             Swing__V1__OpenResponse **resp)
{
    return tl_abi_open_sized(dir, abi, 0, 0, h, resp);
}

swing_status tl_abi_init(swing_handle *h, const char *config, const char *counter_src)
{
    return tl_abi_init_hash(h, config, counter_src, NULL);
}

swing_status tl_abi_init_hash(swing_handle *h, const char *config, const char *counter_src, char hash[65])
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__InitRequest init = SWING__V1__INIT_REQUEST__INIT;
    Swing__V1__Bundle b1 = SWING__V1__BUNDLE__INIT, b2 = SWING__V1__BUNDLE__INIT;
    Swing__V1__Bundle *bs[2] = {&b1, &b2};
    b1.name = "boot";
    b1.source.data = (uint8_t *)TL_ABI_BOOT;
    b1.source.len = strlen(TL_ABI_BOOT);
    b2.name = "counter";
    b2.source.data = (uint8_t *)counter_src;
    b2.source.len = strlen(counter_src);
    init.config_json.data = (uint8_t *)config;
    init.config_json.len = strlen(config);
    init.n_bundles = 2;
    init.bundles = bs;
    req.op_case = SWING__V1__REQUEST__OP_INIT;
    req.init = &init;
    if (hash) {
        Swing__V1__Response *r = tl_call(h, &req);
        swing_status s = (swing_status)r->status;
        hash[0] = '\0';
        if (s == SWING_OK) {
            assert_int_equal(strlen(r->init->activity_hash), 64);
            strcpy(hash, r->init->activity_hash);
        }
        swing__v1__response__free_unpacked(r, NULL);
        return s;
    }
    return tl_call_status(h, &req);
}

swing_status tl_abi_begin(swing_handle *h, uint64_t height, bool *replay)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__BeginBlockRequest b = SWING__V1__BEGIN_BLOCK_REQUEST__INIT;
    Swing__V1__Response *r;
    swing_status s;
    b.height = height;
    b.time_unix = 1700000000 + (int64_t)height * 5;
    req.op_case = SWING__V1__REQUEST__OP_BEGIN_BLOCK;
    req.begin_block = &b;
    r = tl_call(h, &req);
    s = (swing_status)r->status;
    if (replay) *replay = s == SWING_OK && r->begin_block->replay;
    swing__v1__response__free_unpacked(r, NULL);
    return s;
}

swing_status tl_abi_inbound(swing_handle *h, const char *id, const char *vat, const char *method,
                            const char *args)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__QueueInboundRequest q = SWING__V1__QUEUE_INBOUND_REQUEST__INIT;
    q.id = (char *)id;
    q.vat = (char *)vat;
    q.method = (char *)method;
    q.args_json = (char *)args;
    req.op_case = SWING__V1__REQUEST__OP_QUEUE_INBOUND;
    req.queue_inbound = &q;
    return tl_call_status(h, &req);
}

/* end_block with a clean-up budget (NULL: none, the defaults); *out (may be
 * NULL) keeps the response. */
swing_status tl_abi_end_block_cleanup(swing_handle *h, uint64_t budget, Swing__V1__CleanupBudget *cleanup,
                                      Swing__V1__Response **out)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__EndBlockRequest e = SWING__V1__END_BLOCK_REQUEST__INIT;
    Swing__V1__Response *r;
    swing_status s;
    e.compute_budget = budget;
    e.cleanup = cleanup;
    req.op_case = SWING__V1__REQUEST__OP_END_BLOCK;
    req.end_block = &e;
    r = tl_call(h, &req);
    s = (swing_status)r->status;
    if (out) *out = r;
    else swing__v1__response__free_unpacked(r, NULL);
    return s;
}

swing_status tl_abi_commit(swing_handle *h, Swing__V1__Response **out)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__CommitRequest cr = SWING__V1__COMMIT_REQUEST__INIT;
    Swing__V1__Response *r;
    swing_status s;
    req.op_case = SWING__V1__REQUEST__OP_COMMIT;
    req.commit = &cr;
    r = tl_call(h, &req);
    s = (swing_status)r->status;
    if (out) *out = r;
    else swing__v1__response__free_unpacked(r, NULL);
    return s;
}

swing_status tl_abi_end_block(swing_handle *h, uint64_t budget, Swing__V1__Response **out)
{
    return tl_abi_end_block_cleanup(h, budget, NULL, out);
}

/* The result with this id in an end_block response, or NULL. */
const Swing__V1__InboundResult *tl_abi_result_of(const Swing__V1__Response *r, const char *id)
{
    for (size_t i = 0; i < r->end_block->n_results; i++)
        if (strcmp(r->end_block->results[i]->id, id) == 0) return r->end_block->results[i];
    return NULL;
}

/* Genesis block 1: init, then a block that runs the bootstrap. */
void tl_abi_genesis(swing_handle *h, char hash[65])
{
    Swing__V1__Response *r;
    TL_OK(tl_abi_init(h, TL_ABI_CONFIG, TL_ABI_COUNTER));
    TL_OK(tl_abi_begin(h, 1, NULL));
    TL_OK(tl_abi_end_block(h, 0, NULL));
    TL_OK(tl_abi_commit(h, &r));
    assert_int_equal(r->commit->height, 1);
    assert_true(r->commit->n_export_data > 0);
    strcpy(hash, r->commit->activity_hash);
    swing__v1__response__free_unpacked(r, NULL);
}

Swing__V1__Response *tl_abi_query_stats(swing_handle *h)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__QueryRequest q = SWING__V1__QUERY_REQUEST__INIT;
    Swing__V1__Response *r;
    q.query_case = SWING__V1__QUERY_REQUEST__QUERY_STATS;
    q.stats = true;
    req.op_case = SWING__V1__REQUEST__OP_QUERY;
    req.query = &q;
    r = tl_call(h, &req);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_OK);
    return r;
}

/* Two messages encode to the same bytes. */
void tl_assert_same_encoding(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t n1 = protobuf_c_message_get_packed_size(a), n2 = protobuf_c_message_get_packed_size(b);
    uint8_t *p1, *p2;
    assert_int_equal(n1, n2);
    p1 = malloc(n1 + 1);
    p2 = malloc(n2 + 1);
    assert_non_null(p1);
    assert_non_null(p2);
    protobuf_c_message_pack(a, p1);
    protobuf_c_message_pack(b, p2);
    assert_memory_equal(p1, p2, n1);
    free(p1);
    free(p2);
}
