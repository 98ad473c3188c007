/*
 * vom_gc_timing_test.c - GC timing is never observable (issue 14, seed S2):
 * one Lua vat runs the same VOM-heavy script of deliveries (virtual objects
 * holding imports, stores, a durable store, weak keys, cycles, exports
 * dropped and retired by the "kernel", budgeted BOYDs) twice over an
 * in-memory vatstore: once with Lua's generational collector left alone,
 * once with an incremental collector that never pauses and a full
 * collection before every delivery. Every syscall (type, key, value,
 * vrefs, bodies), the computrons of every delivery and the final vatstore
 * must be the same. White-box: it reaches the vat's lua_State.
 */
#include "tests/lib/memhost.h"

#include <stdio.h>
#include <string.h>

static const char *VAT =
    "function buildRootObject(vatPowers, params, baggage)\n"
    "  local Thing = VatData.defineKind('thing', function(n, ref) return { n = n, ref = ref } end, {\n"
    "    n = function(s) return s.n end, ref = function(s) return s.ref end,\n"
    "    set = function(s, self, r) s.ref = r end })\n"
    "  local map = VatData.makeScalarBigMapStore('m')\n"
    "  local weak = VatData.makeScalarBigWeakMapStore('w')\n"
    "  local dur = VatData.provide(baggage, 'd', function() return VatData.makeScalarBigMapStore('d', { durable = true }) end)\n"
    "  local ram = {}\n"
    "  return Far('root', {\n"
    "    step = function(i, p)\n"
    "      local t = Thing(i, p)\n"
    "      if i % 2 == 0 then map.init(i, t) end\n"
    "      if i % 3 == 0 then dur.init(i, p) end\n"
    "      if i % 5 == 0 then weak.init(t, i) ram[#ram + 1] = t end\n"
    "      if i % 7 == 0 and map.has(i - 2) then map.delete(i - 2) end\n"
    "      if i % 9 == 0 and dur.has(i - 6) then dur.delete(i - 6) end\n"
    "      if i % 4 == 0 then local a, b = Thing(-i, nil), Thing(-i - 1, nil) a.set(b) b.set(a) end\n"
    "      if i % 11 == 0 then ram = {} end\n"
    "      local garbage = {} for j = 1, 200 do garbage[j] = { j, tostring(j) } end\n"
    "      if i % 6 == 0 then return t end\n"
    "      return i\n"
    "    end,\n"
    "    sum = function() local s = 0 for k, v in map.entries() do s = s + v.n() end return s end,\n"
    "  })\n"
    "end\n";

typedef struct run {
    uint64_t trace, computrons, kv;
    size_t seen_dead; /* finalizer records found before each BOYD: GC timing, not observable */
    size_t syscalls, nkeys, deliveries;
} run;

static void step(ls_lua_vat *vat, bool stress, run *out, uint64_t computrons)
{
    out->computrons += computrons;
    out->deliveries++;
    if (stress) lua_gc(ls_lua_vm_state(vat->vm), LUA_GCCOLLECT, 0); /* before the next one */
}

static void run_script(bool stress, run *out)
{
    tm_host *h = tm_host_new("v1");
    ls_lua_vat *vat = tm_vat(VAT);
    lua_State *L = ls_lua_vm_state(vat->vm);
    memset(out, 0, sizeof *out);
    if (stress) lua_gc(L, LUA_GCINC, 1, 1000, 0); /* a cycle starts as soon as one ends */
    else lua_gc(L, LUA_GCINC, 400, 100, 0);       /* rarely: a cycle waits for the heap to grow 4x */
    step(vat, stress, out, tm_start(vat, h));
    for (int i = 1; i <= 80; i++) {
        char args[64], import[16], result[16];
        const char *slots[1];
        snprintf(import, sizeof import, "o-%d", i);
        snprintf(result, sizeof result, "p-%d", i);
        snprintf(args, sizeof args, "[%d,\"$0.Alleged: thing\"]", i);
        slots[0] = import;
        step(vat, stress, out, tm_send(vat, h, "step", args, slots, 1, result));
        if (i % 10 == 0) {
            out->seen_dead += vat->ndead;
            step(vat, stress, out, tm_boyd(vat, h, i % 20 == 0 ? 0 : 7));
        }
        if (i % 25 == 0) { /* the importers drop and forget what the vat exported */
            step(vat, stress, out, tm_gc(vat, h, VP_D_DROP_EXPORTS, h->exported, h->nexported));
            step(vat, stress, out, tm_gc(vat, h, VP_D_RETIRE_EXPORTS, h->exported, h->nexported));
            h->nexported = 0;
            step(vat, stress, out, tm_gc(vat, h, VP_D_RETIRE_IMPORTS, h->dropped, h->ndropped));
            h->ndropped = 0;
        }
    }
    step(vat, stress, out, tm_send(vat, h, "sum", "[]", NULL, 0, "p-1000"));
    for (int i = 0; i < 3; i++) step(vat, stress, out, tm_boyd(vat, h, 0));
    out->trace = h->trace;
    out->syscalls = h->syscalls;
    out->nkeys = h->nkeys;
    out->kv = tm_kv_hash(h);
    ls_lua_vat_destroy(vat);
    tm_host_free(h);
}
static void test_gc_timing_changes_nothing(void **state)
{
    run a, b;
    (void)state;
    run_script(false, &a);
    run_script(true, &b);
    assert_true(a.syscalls > 2000); /* the script did real work */
    assert_true(a.nkeys > 50);
    assert_int_not_equal(a.seen_dead, b.seen_dead); /* the collectors did run at different times */
    assert_int_equal(a.deliveries, b.deliveries);
    assert_int_equal(a.syscalls, b.syscalls);
    assert_int_equal(a.computrons, b.computrons);
    assert_int_equal(a.nkeys, b.nkeys);
    assert_int_equal(a.kv, b.kv);
    assert_int_equal(a.trace, b.trace);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gc_timing_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
