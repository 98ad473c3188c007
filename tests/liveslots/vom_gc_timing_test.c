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
#include "tests/lib/testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "liveslots/lua/vat_int.h"

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

#define MAX_KEYS 4096
#define MAX_VREFS 256

typedef struct host {
    vp_channel ch;
    char *keys[MAX_KEYS], *vals[MAX_KEYS];
    size_t nkeys;
    uint64_t trace;     /* FNV-1a over every syscall */
    size_t syscalls;
    char exported[MAX_VREFS][32]; /* virtual objects the vat sent out */
    size_t nexported;
    char dropped[MAX_VREFS][32];  /* imports the vat dropped */
    size_t ndropped;
} host;

static void mix(host *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h->trace = (h->trace ^ b[i]) * 1099511628211ull;
    h->trace = (h->trace ^ 0xff) * 1099511628211ull;
}

static void mix_str(host *h, const char *s) { mix(h, s ? s : "", s ? strlen(s) : 0); }

static size_t find(host *h, const char *key, size_t klen, bool *found)
{
    size_t lo = 0, hi = h->nkeys;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        size_t ml = strlen(h->keys[mid]);
        int c = memcmp(h->keys[mid], key, ml < klen ? ml : klen);
        if (c == 0) c = ml < klen ? -1 : ml > klen ? 1 : 0;
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = false;
    return lo;
}

static void put_buf(swing_buf *b, const char *s)
{
    b->len = strlen(s);
    b->ptr = swing_malloc(b->len + 1);
    assert_non_null(b->ptr);
    memcpy(b->ptr, s, b->len + 1);
}

static void remember(char list[][32], size_t *n, const char *vref)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], vref) == 0) return;
    assert_true(*n < MAX_VREFS);
    snprintf(list[(*n)++], 32, "%s", vref);
}

static swing_status host_syscall(vp_channel *ch, const vp_syscall *sc, vp_syscall_result *res)
{
    host *h = (host *)ch;
    bool found;
    size_t at;
    if (res) memset(res, 0, sizeof *res);
    h->syscalls++;
    mix(h, &sc->type, sizeof sc->type);
    mix(h, sc->key.ptr, sc->key.len);
    mix(h, sc->value.ptr, sc->value.len);
    mix_str(h, sc->target);
    mix_str(h, sc->methargs.body);
    for (size_t i = 0; i < sc->nvrefs; i++) mix_str(h, sc->vrefs[i]);
    for (size_t i = 0; i < sc->nresolutions; i++) {
        mix_str(h, sc->resolutions[i].data.body);
        for (size_t j = 0; j < sc->resolutions[i].data.nslots; j++) {
            const char *s = sc->resolutions[i].data.slots[j];
            mix_str(h, s);
            if (strncmp(s, "o+v", 3) == 0) remember(h->exported, &h->nexported, s);
        }
    }
    if (sc->type == VP_S_DROP_IMPORTS)
        for (size_t i = 0; i < sc->nvrefs; i++) remember(h->dropped, &h->ndropped, sc->vrefs[i]);
    switch (sc->type) {
    case VP_S_VATSTORE_GET:
        at = find(h, (const char *)sc->key.ptr, sc->key.len, &found);
        res->found = found;
        if (found) put_buf(&res->value, h->vals[at]);
        break;
    case VP_S_VATSTORE_SET:
        at = find(h, (const char *)sc->key.ptr, sc->key.len, &found);
        if (found) {
            swing_mfree(h->vals[at]);
        } else {
            assert_true(h->nkeys < MAX_KEYS);
            memmove(h->keys + at + 1, h->keys + at, (h->nkeys - at) * sizeof *h->keys);
            memmove(h->vals + at + 1, h->vals + at, (h->nkeys - at) * sizeof *h->vals);
            h->nkeys++;
            h->keys[at] = swing_malloc(sc->key.len + 1);
            assert_non_null(h->keys[at]);
            memcpy(h->keys[at], sc->key.ptr, sc->key.len);
            h->keys[at][sc->key.len] = '\0';
        }
        h->vals[at] = swing_malloc(sc->value.len + 1);
        assert_non_null(h->vals[at]);
        memcpy(h->vals[at], sc->value.ptr, sc->value.len);
        h->vals[at][sc->value.len] = '\0';
        break;
    case VP_S_VATSTORE_DELETE:
        at = find(h, (const char *)sc->key.ptr, sc->key.len, &found);
        if (found) {
            swing_mfree(h->keys[at]);
            swing_mfree(h->vals[at]);
            memmove(h->keys + at, h->keys + at + 1, (h->nkeys - at - 1) * sizeof *h->keys);
            memmove(h->vals + at, h->vals + at + 1, (h->nkeys - at - 1) * sizeof *h->vals);
            h->nkeys--;
        }
        break;
    case VP_S_VATSTORE_NEXT:
        at = find(h, (const char *)sc->key.ptr, sc->key.len, &found);
        if (found) at++;
        res->found = at < h->nkeys;
        if (res->found) put_buf(&res->value, h->keys[at]);
        break;
    default: break;
    }
    return SWING_OK;
}

typedef struct run {
    uint64_t trace, computrons, kv;
    size_t seen_dead; /* finalizer records found before each BOYD: GC timing, not observable */
    size_t syscalls, nkeys, deliveries;
} run;

static void deliver(ls_lua_vat *vat, host *h, vp_delivery *d, bool stress, run *out)
{
    vp_delivery_result r;
    memset(&r, 0, sizeof r);
    r.ok = true;
    if (stress) lua_gc(ls_lua_vm_state(vat->vm), LUA_GCCOLLECT, 0);
    if (d->type == VP_D_BRING_OUT_YOUR_DEAD) out->seen_dead += vat->ndead;
    assert_int_equal(ls_lua_vat_ops.deliver(vat, &h->ch, d, &r), SWING_OK);
    if (!r.ok) fail_msg("delivery failed: %s", r.message);
    mix(h, &r.computrons, sizeof r.computrons);
    mix(h, &r.more, sizeof r.more);
    out->computrons += r.computrons;
    out->deliveries++;
}

static void gc_delivery(ls_lua_vat *vat, host *h, vp_dtype type, char list[][32], size_t n, bool stress, run *out)
{
    const char *vrefs[MAX_VREFS];
    vp_delivery d;
    if (n == 0) return;
    for (size_t i = 0; i < n; i++) vrefs[i] = list[i];
    memset(&d, 0, sizeof d);
    d.type = type;
    d.vrefs = vrefs;
    d.nvrefs = n;
    deliver(vat, h, &d, stress, out);
}

static void run_script(bool stress, run *out)
{
    host *h = swing_calloc(1, sizeof *h);
    ls_lua_vat *vat;
    ls_lua_vat_options opt;
    swing_err e;
    vp_delivery d;
    lua_State *L;
    assert_non_null(h);
    memset(out, 0, sizeof *out);
    memset(&opt, 0, sizeof opt);
    opt.limits.compute = 50000000;
    opt.limits.memory_cap = 64u << 20;
    h->ch.syscall = host_syscall;
    h->ch.vat_id = "v1";
    h->trace = 1469598103934665603ull;
    if (ls_lua_vat_create("v1", swing_bytes_of(VAT, strlen(VAT)), &opt, &vat, &e)) fail_msg("create: %s", e.msg);
    L = ls_lua_vm_state(vat->vm);
    if (stress) lua_gc(L, LUA_GCINC, 1, 1000, 0); /* a cycle starts as soon as one ends */
    else lua_gc(L, LUA_GCINC, 400, 100, 0); /* rarely: a cycle waits for the heap to grow 4x */
    memset(&d, 0, sizeof d);
    d.type = VP_D_START_VAT;
    d.vat_parameters.body = "#{}";
    deliver(vat, h, &d, stress, out);
    for (int i = 1; i <= 80; i++) {
        char body[96], import[16], result[16];
        const char *slots[1];
        snprintf(import, sizeof import, "o-%d", i);
        snprintf(result, sizeof result, "p-%d", i);
        snprintf(body, sizeof body, "#[\"step\",[%d,\"$0.Alleged: thing\"]]", i);
        slots[0] = import;
        memset(&d, 0, sizeof d);
        d.type = VP_D_MESSAGE;
        d.target = "o+0";
        d.methargs.body = body;
        d.methargs.slots = slots;
        d.methargs.nslots = 1;
        d.result = result;
        deliver(vat, h, &d, stress, out);
        if (i % 10 == 0) {
            memset(&d, 0, sizeof d);
            d.type = VP_D_BRING_OUT_YOUR_DEAD;
            d.budget = i % 20 == 0 ? 0 : 7;
            deliver(vat, h, &d, stress, out);
        }
        if (i % 25 == 0) { /* the importers drop and forget what the vat exported */
            gc_delivery(vat, h, VP_D_DROP_EXPORTS, h->exported, h->nexported, stress, out);
            gc_delivery(vat, h, VP_D_RETIRE_EXPORTS, h->exported, h->nexported, stress, out);
            h->nexported = 0;
            gc_delivery(vat, h, VP_D_RETIRE_IMPORTS, h->dropped, h->ndropped, stress, out);
            h->ndropped = 0;
        }
    }
    memset(&d, 0, sizeof d);
    d.type = VP_D_MESSAGE;
    d.target = "o+0";
    d.methargs.body = "#[\"sum\",[]]";
    d.result = "p-1000";
    deliver(vat, h, &d, stress, out);
    for (int i = 0; i < 3; i++) {
        memset(&d, 0, sizeof d);
        d.type = VP_D_BRING_OUT_YOUR_DEAD;
        deliver(vat, h, &d, stress, out);
    }
    out->trace = h->trace;
    out->syscalls = h->syscalls;
    out->nkeys = h->nkeys;
    h->trace = 1469598103934665603ull;
    for (size_t i = 0; i < h->nkeys; i++) {
        mix_str(h, h->keys[i]);
        mix_str(h, h->vals[i]);
        swing_mfree(h->keys[i]);
        swing_mfree(h->vals[i]);
    }
    out->kv = h->trace;
    ls_lua_vat_destroy(vat);
    swing_mfree(h);
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
