/*
 * replay_test.c - a replayed block answers its requests as the first run
 * did, refusals included. A host that crashed after the kernel committed
 * replays the block and turns the answers into transaction results, so a
 * refusal that depended on the state before the block (a vat terminated in
 * an earlier block, an inbound id the block itself used first) must come
 * back as the same refusal, not as the success that recomputing it from
 * the committed state would give; the successes stay successes.
 */
#include "tests/lib/abicall.h"
#include "tests/lib/testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swing/v1/swing.pb-c.h"

typedef struct answer {
    Swing__V1__Status status;
    char error[256];
} answer;

static answer call(swing_handle *h, Swing__V1__Request *req)
{
    Swing__V1__Response *r = tl_call(h, req);
    answer a;
    a.status = r->status;
    snprintf(a.error, sizeof a.error, "%s", r->error ? r->error : "");
    swing__v1__response__free_unpacked(r, NULL);
    return a;
}

static answer terminate(swing_handle *h, const char *vat)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__TerminateVatRequest t = SWING__V1__TERMINATE_VAT_REQUEST__INIT;
    t.name = (char *)vat;
    t.reason = "retired";
    req.op_case = SWING__V1__REQUEST__OP_TERMINATE_VAT;
    req.terminate_vat = &t;
    return call(h, &req);
}

static answer wind_down(swing_handle *h, const char *vat)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__WindDownVatRequest w = SWING__V1__WIND_DOWN_VAT_REQUEST__INIT;
    w.name = (char *)vat;
    req.op_case = SWING__V1__REQUEST__OP_WIND_DOWN_VAT;
    req.wind_down_vat = &w;
    return call(h, &req);
}

static answer inbound(swing_handle *h, const char *id)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__QueueInboundRequest q = SWING__V1__QUEUE_INBOUND_REQUEST__INIT;
    q.id = (char *)id;
    q.vat = "boot";
    q.method = "bootstrap";
    q.args_json = "[]";
    req.op_case = SWING__V1__REQUEST__OP_QUEUE_INBOUND;
    req.queue_inbound = &q;
    return call(h, &req);
}

#define NREQ 6

/* Block 3's requests, in order: successes, and refusals that depend on
 * state (counter died in block 2; tx-1 is this block's own). */
static void block3(swing_handle *h, answer out[NREQ])
{
    out[0] = inbound(h, "tx-1");
    out[1] = terminate(h, "counter");
    out[2] = inbound(h, "tx-1");
    out[3] = wind_down(h, "counter");
    out[4] = inbound(h, "tx-2");
    out[5] = terminate(h, "nobody");
}

static void test_replay_answers_refusals_as_the_first_run(void **state)
{
    tl_node nd;
    char hash[65];
    answer first[NREQ], again[NREQ];
    bool replay;
    (void)state;
    tl_node_new(&nd, false);
    tl_abi_genesis(nd.h, hash);
    TL_OK(tl_abi_begin(nd.h, 2, NULL));
    assert_int_equal(terminate(nd.h, "counter").status, SWING__V1__STATUS__STATUS_OK);
    TL_OK(tl_abi_end_block(nd.h, 0, NULL));
    TL_OK(tl_abi_commit(nd.h, NULL));
    TL_OK(tl_abi_begin(nd.h, 3, NULL));
    block3(nd.h, first);
    TL_OK(tl_abi_end_block(nd.h, 0, NULL));
    TL_OK(tl_abi_commit(nd.h, NULL));
    assert_int_equal(first[0].status, SWING__V1__STATUS__STATUS_OK);
    assert_int_equal(first[1].status, SWING__V1__STATUS__STATUS_OK); /* terminating a dead vat: a no-op */
    assert_int_equal(first[2].status, SWING__V1__STATUS__STATUS_INVALID); /* tx-1 is pending */
    assert_int_equal(first[3].status, SWING__V1__STATUS__STATUS_USER); /* counter died in block 2 */
    assert_int_equal(first[4].status, SWING__V1__STATUS__STATUS_OK);
    assert_int_equal(first[5].status, SWING__V1__STATUS__STATUS_INVALID);
    /* The host lost its commit: it reopens and runs block 3 again. */
    swing_close(nd.h);
    tl_node_open(&nd, NULL);
    TL_OK(tl_abi_begin(nd.h, 3, &replay));
    assert_true(replay);
    block3(nd.h, again);
    for (int i = 0; i < NREQ; i++) {
        if (again[i].status != first[i].status || strcmp(again[i].error, first[i].error) != 0)
            fail_msg("request %d: replay answered %d \"%s\", the first run %d \"%s\"", i, (int)again[i].status,
                     again[i].error, (int)first[i].status, first[i].error);
    }
    TL_OK(tl_abi_end_block(nd.h, 0, NULL)); /* the same requests: the replay is accepted */
    TL_OK(tl_abi_commit(nd.h, NULL));
    /* The next block runs normally and records nothing stale: a replay of
     * it answers its one success as a success. */
    TL_OK(tl_abi_begin(nd.h, 4, NULL));
    assert_int_equal(inbound(nd.h, "tx-3").status, SWING__V1__STATUS__STATUS_OK);
    TL_OK(tl_abi_end_block(nd.h, 0, NULL));
    TL_OK(tl_abi_commit(nd.h, NULL));
    swing_close(nd.h);
    tl_node_open(&nd, NULL);
    TL_OK(tl_abi_begin(nd.h, 4, &replay));
    assert_true(replay);
    assert_int_equal(inbound(nd.h, "tx-3").status, SWING__V1__STATUS__STATUS_OK);
    TL_OK(tl_abi_end_block(nd.h, 0, NULL));
    tl_node_free(&nd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_answers_refusals_as_the_first_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
