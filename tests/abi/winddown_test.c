/*
 * winddown_test.c - wind_down_vat through the public ABI: only inside a
 * block; an unknown vat INVALID, a terminated one USER, each refusal
 * changing nothing (the same hashes as a node that never saw it); a bundle
 * vat with virtual objects wound down over blocks, end_block's clean-up
 * report showing the items deleted and the vats winding down, until the
 * vat is reported terminated with kind exit.
 */
#include "tests/lib/abicall.h"
#include "tests/lib/testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swing/v1/swing.pb-c.h"

/* "counter": 400 virtual objects in a virtual store, made in startVat. */
static const char *const HOARD =
    "function buildRootObject(vatPowers, params, baggage)\n"
    "  local Thing = VatData.defineKind('thing', function(i) return { i = i } end, { i = function(s) return s.i end })\n"
    "  local things = VatData.provide(baggage, 'things', function()\n"
    "    return VatData.makeScalarBigMapStore('things', { durable = true }) end)\n"
    "  local ram = VatData.makeScalarBigMapStore('ram')\n"
    "  for i = 1, 200 do ram.init(i, Thing(i)) things.init(i, i) end\n"
    "  return Far('hoard', { size = function() return ram.getSize() end })\n"
    "end\n";

static Swing__V1__Response *wind_down(swing_handle *h, const char *vat)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__WindDownVatRequest w = SWING__V1__WIND_DOWN_VAT_REQUEST__INIT;
    w.name = (char *)vat;
    req.op_case = SWING__V1__REQUEST__OP_WIND_DOWN_VAT;
    req.wind_down_vat = &w;
    return tl_call(h, &req);
}

static void expect_status(Swing__V1__Response *r, Swing__V1__Status want)
{
    if (r->status != want) fail_msg("status %d (%s), want %d", (int)r->status, r->error, (int)want);
    swing__v1__response__free_unpacked(r, NULL);
}

static void commit(swing_handle *h, char hash[65])
{
    Swing__V1__Response *r;
    TL_OK(tl_abi_commit(h, &r));
    if (hash) snprintf(hash, 65, "%s", r->commit->activity_hash);
    swing__v1__response__free_unpacked(r, NULL);
}

/* init, then block 1 (genesis is run by the first block). */
static void genesis(swing_handle *h, const char *config)
{
    TL_OK(tl_abi_init(h, config, HOARD));
    TL_OK(tl_abi_begin(h, 1, NULL));
    TL_OK(tl_abi_end_block(h, 0, NULL));
    commit(h, NULL);
}

static void test_wind_down_refusals(void **state)
{
    tl_node a, b;
    char ha[65], hb[65];
    Swing__V1__Response *r;
    (void)state;
    tl_node_new(&a, false);
    tl_node_new(&b, false);
    genesis(a.h, TL_ABI_CONFIG);
    genesis(b.h, TL_ABI_CONFIG);
    expect_status(wind_down(a.h, "counter"), SWING__V1__STATUS__STATUS_OUT_OF_ORDER); /* between blocks */
    TL_OK(tl_abi_begin(a.h, 2, NULL));
    TL_OK(tl_abi_begin(b.h, 2, NULL));
    expect_status(wind_down(a.h, "nobody"), SWING__V1__STATUS__STATUS_INVALID);
    expect_status(wind_down(a.h, "bad name!"), SWING__V1__STATUS__STATUS_INVALID);
    TL_OK(tl_abi_end_block(a.h, 0, &r));
    swing__v1__response__free_unpacked(r, NULL);
    TL_OK(tl_abi_end_block(b.h, 0, &r));
    swing__v1__response__free_unpacked(r, NULL);
    commit(a.h, ha);
    commit(b.h, hb);
    assert_string_equal(ha, hb);
    tl_node_free(&a);
    tl_node_free(&b);
}

static void test_wind_down_over_blocks(void **state)
{
    tl_node nd;
    Swing__V1__Response *r;
    Swing__V1__CleanupBudget cb = SWING__V1__CLEANUP_BUDGET__INIT;
    uint64_t items = 0, h = 2;
    bool exited = false, seen_winding = false, left_seen = false;
    (void)state;
    tl_node_new(&nd, false);
    genesis(nd.h, "{\"bootstrap\":\"boot\",\"reapBudget\":50,\"vats\":{\"boot\":{\"bundleName\":\"boot\"},"
                  "\"counter\":{\"bundleName\":\"counter\"}}}");
    TL_OK(tl_abi_begin(nd.h, h, NULL));
    expect_status(wind_down(nd.h, "counter"), SWING__V1__STATUS__STATUS_OK);
    expect_status(wind_down(nd.h, "counter"), SWING__V1__STATUS__STATUS_INVALID); /* already queued */
    cb.gc_krefs = 500;
    cb.boyds = 1;
    cb.terminated_units = 100;
    for (; !exited && h < 100; h++) {
        if (h > 2) TL_OK(tl_abi_begin(nd.h, h, NULL));
        TL_OK(tl_abi_end_block_cleanup(nd.h, 0, &cb, &r));
        assert_true(r->end_block->cleanup->wind_down_items <= 50);
        items += r->end_block->cleanup->wind_down_items;
        if (r->end_block->cleanup->wind_down_items && !r->end_block->cleanup->wind_down_counting)
            left_seen = left_seen || r->end_block->cleanup->wind_down_left > 0;
        seen_winding = seen_winding || r->end_block->cleanup->winding_down == 1;
        for (size_t i = 0; i < r->end_block->n_terminations; i++) {
            const Swing__V1__VatTermination *t = r->end_block->terminations[i];
            if (strcmp(t->name, "counter") == 0) {
                assert_int_equal(t->kind, SWING__V1__TERMINATION_KIND__TERMINATION_EXIT);
                assert_int_equal(r->end_block->cleanup->winding_down, 0);
                exited = true;
            }
        }
        swing__v1__response__free_unpacked(r, NULL);
        commit(nd.h, NULL);
    }
    assert_true(exited);
    assert_true(seen_winding);
    assert_true(left_seen); /* blocks said how much was left */
    assert_true(items > 400); /* the objects, their store entries and the durable ones */
    assert_true(h > 10);      /* over many blocks */
    TL_OK(tl_abi_begin(nd.h, h, NULL));
    expect_status(wind_down(nd.h, "counter"), SWING__V1__STATUS__STATUS_USER); /* terminated */
    tl_node_free(&nd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wind_down_refusals),
        cmocka_unit_test(test_wind_down_over_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
