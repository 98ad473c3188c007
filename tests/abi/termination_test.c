/*
 * termination_test.c - vat terminations as a host sees them, through the
 * public ABI only: for each cause a Lua vat can meet (compute limit, memory
 * limit, a throwing buildRootObject, a transcript mismatch, host
 * termination) the kind and reason are in end_block's terminations, in the
 * query's VatInfo (before and after the vat's deletion) and in the
 * rejection of a pending inbound result; vats_failed counts failures of
 * clean-up cranks too; an inbound message to a deleted vat is refused as
 * terminated; an init bundle with a syntax error names the vat and module.
 * (Illegal syscalls cannot come from a Lua vat: tests/kernel/termination_test.c.)
 */
#include "tests/lib/abicall.h"
#include "tests/lib/testlib.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swing/v1/swing.pb-c.h"

static const char *COUNTER = "function buildRootObject(vatPowers, params)\n"
                             "  local count = 0\n"
                             "  return Far('counter', { increment = function(n) count = count + n return count end })\n"
                             "end\n";

static const char *RUNAWAY = "function buildRootObject()\n"
                             "  return Far('runaway', {\n"
                             "    spin = function() while true do end end,\n"
                             "    bomb = function() local t = {} while true do t[#t+1] = string.rep('x', 65536) .. #t end end,\n"
                             "  })\n"
                             "end\n";

static const char *THROWER = "function buildRootObject()\n"
                             "  error('no root for you')\n"
                             "end\n";

static const char *CONFIG = "{\"bootstrap\":\"boot\",\"vats\":{\"boot\":{\"bundleName\":\"boot\"},"
                            "\"counter\":{\"bundleName\":\"counter\"}}}";

typedef struct node {
    tl_node n;       /* scratch directory and handle (tests/lib/abicall.h) */
    uint64_t height; /* last committed */
} node;

/* Sends req; the response (caller frees) must have status want. */
static Swing__V1__Response *call(node *nd, Swing__V1__Request *req, swing_status want)
{
    Swing__V1__Response *r = tl_call(nd->n.h, req);
    swing_status s = (swing_status)r->status;
    if (s != want)
        fail_msg("%s -> %s (%s), expected %s", protobuf_c_message_descriptor_get_field(&swing__v1__request__descriptor,
                                                                                    req->op_case)->name,
                 swing_status_name(s), r->error, swing_status_name(want));
    return r;
}

static void call_ok(node *nd, Swing__V1__Request *req)
{
    swing__v1__response__free_unpacked(call(nd, req, SWING_OK), NULL);
}

static void begin(node *nd)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__BeginBlockRequest b = SWING__V1__BEGIN_BLOCK_REQUEST__INIT;
    b.height = nd->height + 1;
    b.time_unix = 1700000000 + (int64_t)b.height * 5;
    req.op_case = SWING__V1__REQUEST__OP_BEGIN_BLOCK;
    req.begin_block = &b;
    call_ok(nd, &req);
}

/* Queues an inbound message; returns the status and (error may be NULL)
 * the error text (static). */
static swing_status inbound(node *nd, const char *id, const char *vat, const char *method, const char *args,
                            const char **error)
{
    static char msg[512];
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__QueueInboundRequest q = SWING__V1__QUEUE_INBOUND_REQUEST__INIT;
    Swing__V1__Response *r;
    swing_status s;
    q.id = (char *)id;
    q.vat = (char *)vat;
    q.method = (char *)method;
    q.args_json = (char *)args;
    req.op_case = SWING__V1__REQUEST__OP_QUEUE_INBOUND;
    req.queue_inbound = &q;
    r = tl_call(nd->n.h, &req);
    s = (swing_status)r->status;
    snprintf(msg, sizeof msg, "%s", r->error);
    swing__v1__response__free_unpacked(r, NULL);
    if (error) *error = msg;
    return s;
}

/* end_block with the clean-up budget (NULL: the defaults); caller frees. */
static Swing__V1__Response *end_block(node *nd, Swing__V1__CleanupBudget *cleanup)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__EndBlockRequest e = SWING__V1__END_BLOCK_REQUEST__INIT;
    e.cleanup = cleanup;
    req.op_case = SWING__V1__REQUEST__OP_END_BLOCK;
    req.end_block = &e;
    return call(nd, &req, SWING_OK);
}

static void commit(node *nd)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__CommitRequest cr = SWING__V1__COMMIT_REQUEST__INIT;
    req.op_case = SWING__V1__REQUEST__OP_COMMIT;
    req.commit = &cr;
    call_ok(nd, &req);
    nd->height++;
}

static void block(node *nd, Swing__V1__CleanupBudget *cleanup)
{
    begin(nd);
    swing__v1__response__free_unpacked(end_block(nd, cleanup), NULL);
    commit(nd);
}

/* Inside a block: installs src and creates vat name from it. */
static void create_vat(node *nd, const char *name, const char *src, const char *options)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__InstallBundleRequest ib = SWING__V1__INSTALL_BUNDLE_REQUEST__INIT;
    Swing__V1__CreateVatRequest cv = SWING__V1__CREATE_VAT_REQUEST__INIT;
    Swing__V1__Response *r;
    char id[80];
    ib.source.data = (uint8_t *)src;
    ib.source.len = strlen(src);
    req.op_case = SWING__V1__REQUEST__OP_INSTALL_BUNDLE;
    req.install_bundle = &ib;
    r = call(nd, &req, SWING_OK);
    snprintf(id, sizeof id, "%s", r->install_bundle->id);
    swing__v1__response__free_unpacked(r, NULL);
    cv.name = (char *)name;
    cv.bundle_id = id;
    cv.options_json = (char *)options;
    req.op_case = SWING__V1__REQUEST__OP_CREATE_VAT;
    req.create_vat = &cv;
    call_ok(nd, &req);
}

static void terminate(node *nd, const char *name, const char *reason)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__TerminateVatRequest tv = SWING__V1__TERMINATE_VAT_REQUEST__INIT;
    tv.name = (char *)name;
    tv.reason = (char *)reason;
    req.op_case = SWING__V1__REQUEST__OP_TERMINATE_VAT;
    req.terminate_vat = &tv;
    call_ok(nd, &req);
}

/* init with boot and counter, then block 1. */
static void node_new(node *nd)
{
    memset(nd, 0, sizeof *nd);
    tl_node_new(&nd->n, false);
    TL_OK(tl_abi_init(nd->n.h, CONFIG, COUNTER));
    block(nd, NULL);
}

static void node_free(node *nd) { tl_node_free(&nd->n); }

/* ---- what the host sees ---- */

typedef struct expect {
    const char *name, *id;
    Swing__V1__TerminationKind kind;
    const char *kind_name, *reason;
} expect;

static void expect_termination(const Swing__V1__VatTermination *t, const expect *x)
{
    assert_non_null(t);
    assert_string_equal(t->name, x->name);
    assert_string_equal(t->vat_id, x->id);
    assert_int_equal(t->kind, x->kind);
    assert_string_equal(t->kind_name, x->kind_name);
    assert_string_equal(t->reason, x->reason);
}

/* The text a rejection or refusal carries. */
static void message_of(const expect *x, char *out, size_t cap)
{
    snprintf(out, cap, "vat %s (%s) terminated%s: %s", x->name, x->id,
             x->kind == SWING__V1__TERMINATION_KIND__TERMINATION_HOST ? " by the host" : "", x->reason);
}

/* The inbound result id must be rejected with #{"#error":<message>,"name":"Error"}. */
static void expect_rejection(const Swing__V1__Response *r, const char *id, const expect *x)
{
    char msg[512], want[1024], *quoted;
    json_t *j;
    message_of(x, msg, sizeof msg);
    j = json_string(msg);
    quoted = json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    assert_non_null(quoted);
    snprintf(want, sizeof want, "#{\"#error\":%s,\"name\":\"Error\"}", quoted);
    free(quoted);
    for (size_t i = 0; i < r->end_block->n_results; i++) {
        const Swing__V1__InboundResult *ir = r->end_block->results[i];
        if (strcmp(ir->id, id) != 0) continue;
        assert_true(ir->rejected);
        assert_string_equal(ir->body, want);
        return;
    }
    fail_msg("no result %s", id);
}

/* The vat's entry in the vats query must say it was terminated (x) and
 * whether its state is deleted. */
static void expect_vat_info(node *nd, const expect *x, bool deleted)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__QueryRequest q = SWING__V1__QUERY_REQUEST__INIT;
    Swing__V1__Response *r;
    bool seen = false;
    q.query_case = SWING__V1__QUERY_REQUEST__QUERY_VATS;
    q.vats = true;
    req.op_case = SWING__V1__REQUEST__OP_QUERY;
    req.query = &q;
    r = call(nd, &req, SWING_OK);
    for (size_t i = 0; i < r->query->n_vats; i++) {
        const Swing__V1__VatInfo *v = r->query->vats[i];
        if (i > 0) assert_true(strcmp(r->query->vats[i - 1]->name, v->name) < 0); /* name order */
        if (strcmp(v->name, x->name) != 0) {
            if (!v->terminated) assert_null(v->termination);
            continue;
        }
        seen = true;
        assert_string_equal(v->id, x->id);
        assert_true(v->terminated);
        assert_int_equal(v->deleted, deleted);
        expect_termination(v->termination, x);
    }
    assert_true(seen);
    swing__v1__response__free_unpacked(r, NULL);
}

static const expect HOST = {"counter", "v2", SWING__V1__TERMINATION_KIND__TERMINATION_HOST, "host", "retired"};
static const expect COMPUTE = {"spinner", "v3", SWING__V1__TERMINATION_KIND__TERMINATION_COMPUTE_LIMIT,
                               "compute-limit", "compute limit"};
static const expect MEMORY = {"bomber", "v4", SWING__V1__TERMINATION_KIND__TERMINATION_MEMORY_LIMIT, "memory-limit",
                              "memory limit"};
static const expect START = {"thrower", "v5", SWING__V1__TERMINATION_KIND__TERMINATION_START_FAILED, "start-failed",
                             "buildRootObject failed: main:2: no root for you"};

static void test_termination_causes_are_visible(void **state)
{
    const expect *order[] = {&HOST, &COMPUTE, &MEMORY, &START};
    Swing__V1__CleanupBudget keep = SWING__V1__CLEANUP_BUDGET__INIT;
    Swing__V1__Response *r;
    const char *error;
    node nd;
    (void)state;
    node_new(&nd);
    begin(&nd);
    create_vat(&nd, "spinner", RUNAWAY, "{\"computeLimit\":5000000}");
    create_vat(&nd, "bomber", RUNAWAY, "{\"memoryLimit\":8388608}");
    swing__v1__response__free_unpacked(end_block(&nd, NULL), NULL);
    commit(&nd);

    /* One block: the host retires counter with a message pending, spinner
     * and bomber run away, thrower's buildRootObject throws with a message
     * queued behind its startVat. No deletion yet. */
    begin(&nd);
    TL_OK(inbound(&nd, "c1", "counter", "increment", "[1]", NULL));
    terminate(&nd, "counter", "retired");
    TL_OK(inbound(&nd, "s1", "spinner", "spin", "[]", NULL));
    TL_OK(inbound(&nd, "b1", "bomber", "bomb", "[]", NULL));
    create_vat(&nd, "thrower", THROWER, NULL);
    TL_OK(inbound(&nd, "t1", "thrower", "hello", "[]", NULL));
    keep.gc_krefs = nd.n.default_cleanup.gc_krefs;
    keep.boyds = nd.n.default_cleanup.boyds;
    r = end_block(&nd, &keep);
    assert_int_equal(r->end_block->n_terminations, 4);
    for (size_t i = 0; i < 4; i++) expect_termination(r->end_block->terminations[i], order[i]);
    assert_int_equal(r->end_block->vats_failed, 3); /* the host's is no failure */
    expect_rejection(r, "c1", &HOST);
    expect_rejection(r, "s1", &COMPUTE);
    expect_rejection(r, "b1", &MEMORY);
    expect_rejection(r, "t1", &START);
    swing__v1__response__free_unpacked(r, NULL);
    commit(&nd);
    for (size_t i = 0; i < 4; i++) expect_vat_info(&nd, order[i], false);

    /* The default clean-up deletes them; the records stay, and a message to
     * any of them is refused as terminated, not as an unknown vat. */
    begin(&nd);
    r = end_block(&nd, NULL);
    assert_int_equal(r->end_block->cleanup->vats_deleted, 4);
    assert_int_equal(r->end_block->n_terminations, 0);
    assert_int_equal(r->end_block->vats_failed, 0);
    swing__v1__response__free_unpacked(r, NULL);
    commit(&nd);
    begin(&nd);
    for (size_t i = 0; i < 4; i++) {
        char want[300];
        expect_vat_info(&nd, order[i], true);
        /* Regression (2026-12-02, failures-visible issue): "no vat named <name>" (INVALID). */
        assert_int_equal(inbound(&nd, "late", order[i]->name, "hello", "[]", &error), SWING_ERR_USER);
        message_of(order[i], want, sizeof want);
        assert_string_equal(error, want);
    }
    assert_int_equal(inbound(&nd, "late", "nobody", "hello", "[]", &error), SWING_ERR_INVALID);
    assert_string_equal(error, "no vat named nobody");
    swing__v1__response__free_unpacked(end_block(&nd, NULL), NULL);
    commit(&nd);
    node_free(&nd);
}

/* Regression (2026-12-02, failures-visible issue): vats_failed missed vats
 * failed by clean-up cranks, and they appeared nowhere in the block's
 * report. Two vats whose transcripts no longer replay: one fails on a
 * message in normal work, the other on its BOYD in the clean-up. */
static void test_termination_in_cleanup_crank_is_reported(void **state)
{
    Swing__V1__CleanupBudget no_boyds = SWING__V1__CLEANUP_BUDGET__INIT, boyds = SWING__V1__CLEANUP_BUDGET__INIT;
    Swing__V1__Response *r;
    const char *mismatch = "transcript mismatch at item ";
    node nd;
    (void)state;
    node_new(&nd);
    begin(&nd);
    create_vat(&nd, "busy", COUNTER, NULL); /* v3 */
    create_vat(&nd, "idle", COUNTER, NULL); /* v4 */
    swing__v1__response__free_unpacked(end_block(&nd, NULL), NULL);
    commit(&nd);
    /* A message each, and no BOYD: both stay on the dirty list. */
    no_boyds.gc_krefs = nd.n.default_cleanup.gc_krefs;
    no_boyds.terminated_units = nd.n.default_cleanup.terminated_units;
    begin(&nd);
    TL_OK(inbound(&nd, "i1", "busy", "increment", "[1]", NULL));
    TL_OK(inbound(&nd, "i2", "idle", "increment", "[1]", NULL));
    swing__v1__response__free_unpacked(end_block(&nd, &no_boyds), NULL);
    commit(&nd);
    swing_close(nd.n.h);
    nd.n.h = NULL;
    assert_true(tl_tamper_transcript(nd.n.dir, "v3", "increment", "incremenX") > 0);
    assert_true(tl_tamper_transcript(nd.n.dir, "v4", "increment", "incremenX") > 0);
    tl_node_open(&nd.n, NULL);

    boyds.gc_krefs = nd.n.default_cleanup.gc_krefs;
    boyds.boyds = 10;
    begin(&nd);
    TL_OK(inbound(&nd, "i3", "busy", "increment", "[1]", NULL));
    r = end_block(&nd, &boyds);
    assert_int_equal(r->end_block->n_terminations, 2);
    assert_int_equal(r->end_block->vats_failed, 2);
    assert_string_equal(r->end_block->terminations[0]->name, "busy"); /* normal work */
    assert_string_equal(r->end_block->terminations[1]->name, "idle"); /* its clean-up BOYD */
    for (size_t i = 0; i < 2; i++) {
        const Swing__V1__VatTermination *t = r->end_block->terminations[i];
        assert_int_equal(t->kind, SWING__V1__TERMINATION_KIND__TERMINATION_TRANSCRIPT_MISMATCH);
        assert_string_equal(t->kind_name, "transcript-mismatch");
        assert_int_equal(strncmp(t->reason, mismatch, strlen(mismatch)), 0);
        assert_true(strlen(t->reason) <= 200);
    }
    {
        expect busy = {"busy", "v3", SWING__V1__TERMINATION_KIND__TERMINATION_TRANSCRIPT_MISMATCH,
                       "transcript-mismatch", r->end_block->terminations[0]->reason};
        expect idle = {"idle", "v4", SWING__V1__TERMINATION_KIND__TERMINATION_TRANSCRIPT_MISMATCH,
                       "transcript-mismatch", r->end_block->terminations[1]->reason};
        expect_rejection(r, "i3", &busy);
        commit(&nd);
        expect_vat_info(&nd, &busy, false);
        expect_vat_info(&nd, &idle, false);
    }
    swing__v1__response__free_unpacked(r, NULL);
    node_free(&nd);
}

/* A bundle whose non-main module does not compile: init's error names the
 * vat that uses it, the bundle and the module. */
static void test_init_syntax_error_names_vat_and_module(void **state)
{
    const char *bad = "{\"format\":\"swing-lua-bundle-1\",\"entry\":\"main\",\"modules\":{"
                      "\"main\":\"local u = require('util')\\nfunction buildRootObject() return Far('x', {}) end\","
                      "\"util\":\"local x = = 1\\nreturn {}\"}}";
    const char *config = "{\"vats\":{\"alice\":{\"bundleName\":\"shared\"},\"bob\":{\"bundleName\":\"shared\"}}}";
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__InitRequest init = SWING__V1__INIT_REQUEST__INIT;
    Swing__V1__Bundle b = SWING__V1__BUNDLE__INIT;
    Swing__V1__Bundle *bs[1] = {&b};
    Swing__V1__Response *r;
    node nd;
    (void)state;
    memset(&nd, 0, sizeof nd);
    tl_node_new(&nd.n, false);
    b.name = "shared";
    b.source.data = (uint8_t *)bad;
    b.source.len = strlen(bad);
    init.config_json.data = (uint8_t *)config;
    init.config_json.len = strlen(config);
    init.n_bundles = 1;
    init.bundles = bs;
    req.op_case = SWING__V1__REQUEST__OP_INIT;
    req.init = &init;
    r = call(&nd, &req, SWING_ERR_INVALID);
    assert_string_equal(r->error, "vat alice, vat bob: bundle shared: util:1: unexpected symbol near '='");
    swing__v1__response__free_unpacked(r, NULL);
    node_free(&nd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_termination_causes_are_visible),
        cmocka_unit_test(test_termination_in_cleanup_crank_is_reported),
        cmocka_unit_test(test_init_syntax_error_names_vat_and_module),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
