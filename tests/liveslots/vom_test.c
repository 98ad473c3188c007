/*
 * vom_test.c - virtual objects, collections and baggage in Lua vats under
 * the kernel (issue 14): kinds and their state, multi-facet kinds, durable
 * kinds, stores and their key order, durability errors, and the reference
 * counting scenarios: an import held only in virtualized data stays
 * reachable across BOYD and is dropped and retired once nothing holds it;
 * exported virtual objects are deleted after the importer drops them;
 * weak stores lose entries of retired keys; cycles inside a vat are
 * collected, cycles through another vat are not.
 */
#include "tests/lib/rawvat.h"
#include "tests/liveslots/gc_bundles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *BOOT =
    "local vats\n"
    "function buildRootObject()\n"
    "  return Far('boot', {\n"
    "    bootstrap = function(v) vats = v end,\n"
    "    holder = function(method, ...) return E(vats.holder)[method](...) end,\n"
    "    give = function(method) return E(vats.exporter).one():next(function(t) return E(vats.holder)[method](t) end) end,\n"
    "    fetchVO = function() return E(vats.holder).makeVO():next(function(vo) return E(vats.peer).keep(vo) end) end,\n"
    "    peer = function(method, ...) return E(vats.peer)[method](...) end,\n"
    "    crossCycle = function() return E(vats.peer).makeFar():next(function(f)\n"
    "      return E(vats.holder).crossCycle(f):next(function(x) return E(f).hold(x) end) end) end,\n"
    "  })\n"
    "end\n";

static const char *PEER =
    "local kept\n"
    "function buildRootObject()\n"
    "  return Far('peer', {\n"
    "    keep = function(vo) kept = vo return E(vo).name() end,\n"
    "    call = function() return E(kept).name() end,\n"
    "    drop = function() kept = nil return 'dropped' end,\n"
    "    makeFar = function() local held\n"
    "      return Far('f', { hold = function(x) held = x return E(x).name() end }) end,\n"
    "  })\n"
    "end\n";

static const char *HOLDER =
    "function buildRootObject(vatPowers, params, baggage)\n"
    "  local Holder = VatData.defineKind('holder', function(name, ref) return { name = name, ref = ref, n = 0 } end, {\n"
    "    name = function(state) return state.name end,\n"
    "    ref = function(state) return state.ref end,\n"
    "    setRef = function(state, self, r) state.ref = r end,\n"
    "    bump = function(state, self, k) state.n = state.n + k return state.n end,\n"
    "    me = function(state, self) return self end,\n"
    "  })\n"
    "  local Counter = VatData.defineKindMulti('counter', function(n) return { n = n } end, {\n"
    "    up = { incr = function(state, facets) state.n = state.n + 1 return state.n end },\n"
    "    down = { decr = function(state, facets) state.n = state.n - 1 return state.n end,\n"
    "             peer = function(state, facets) return facets.up end },\n"
    "  })\n"
    "  local handle = VatData.provide(baggage, 'kindHandle', function() return VatData.makeKindHandle('dthing') end)\n"
    "  local DThing = VatData.defineDurableKind(handle, function(ref) return { ref = ref } end, {\n"
    "    ref = function(state) return state.ref end,\n"
    "  })\n"
    "  local vmap = VatData.makeScalarBigMapStore('vmap')\n"
    "  local weak = VatData.makeScalarBigWeakMapStore('weak')\n"
    "  local dmap = VatData.provide(baggage, 'dmap', function() return VatData.makeScalarBigMapStore('dmap', { durable = true }) end)\n"
    "  local ram = {}\n"
    "  local exported\n"
    "  local odd = 'q\"b\\\\s\\n\\t\\1\\u{e9}/\\u{7f}'\n"
    "  return Far('holder', {\n"
    "    inVO = function(p) vmap.init('vo', Holder('a', p)) return 'ok' end,\n"
    "    callVO = function() return E(vmap.get('vo').ref()).id() end,\n"
    "    dropVO = function() vmap.delete('vo') return 'ok' end,\n"
    "    inWeak = function(p) local key = Holder('key', nil) ram.key = key weak.init(key, p) return 'ok' end,\n"
    "    callWeak = function() return E(weak.get(ram.key)).id() end,\n"
    "    dropWeakKey = function() ram.key = nil return 'ok' end,\n"
    "    inDurable = function(p) dmap.init('p', p) return 'ok' end,\n"
    "    callDurable = function() return E(dmap.get('p')).id() end,\n"
    "    dropDurable = function() dmap.delete('p') return 'ok' end,\n"
    "    inDThing = function(p) dmap.init('dt', DThing(p)) return 'ok' end,\n"
    "    callDThing = function() return E(dmap.get('dt').ref()).id() end,\n"
    "    inWeakFar = function(p) ram.far = Far('key', {}) weak.init(ram.far, p) return 'ok' end,\n"
    "    callWeakFar = function() return E(weak.get(ram.far)).id() end,\n"
    "    dropWeakFar = function() ram.far = nil return 'ok' end,\n"
    "    weakByImport = function(p) ram.p = p weak.init(p, 'v') return weak.has(p) end,\n"
    "    dropImport = function() ram.p = nil return 'ok' end,\n"
    "    makeVO = function() return Holder('exported', nil) end,\n"
    "    putOdd = function() vmap.init('odd', odd) vmap.init('oddvo', Holder(odd, nil)) return 'ok' end,\n"
    "    getOdd = function() return vmap.get('odd') == odd and vmap.get('oddvo').name() == odd and #odd end,\n"
    "    counter = function() local c = Counter(5) return { c.up.incr(), c.down.decr(), c.down.decr(),\n"
    "      c.down.peer() == c.up } end,\n"
    "    state = function() local h = Holder('s', nil) h.bump(2) h.bump(3) vmap.init('s', h) return vmap.get('s').bump(1) end,\n"
    "    identity = function() local h = Holder('i', nil) vmap.init('i', h) return vmap.get('i') == h and h.me() == h end,\n"
    "    cycle = function() local a, b = Holder('a', nil), Holder('b', nil) a.setRef(b) b.setRef(a) return 'ok' end,\n"
    "    selfCycle = function() local a = Holder('self', nil) a.setRef(a) return 'ok' end,\n"
    "    crossCycle = function(p) return Holder('x', p) end,\n"
    "    manyDead = function(n) local s = VatData.makeScalarBigMapStore('many')\n"
    "      for i = 1, n do s.init(i, Holder('m', nil)) end s.clear() return s.getSize() end,\n"
    "    keepMany = function(n) for i = 1, n do vmap.init('k' .. i, Holder('k', nil)) end return vmap.getSize() end,\n"
    "    readMany = function(n) local t = 0 for i = 1, n do t = t + vmap.get('k' .. i).bump(1) end return t end,\n"
    "    notDurable = function(what)\n"
    "      local v = what == 'vo' and Holder('v', nil) or what == 'promise' and E(vatPowers).x() or Far('f', {})\n"
    "      local ok, e = pcall(function() dmap.init('bad', v) end)\n"
    "      return { ok, tostring(e), dmap.has('bad') }\n"
    "    end,\n"
    "    promiseInVirtual = function() local ok, e = pcall(function() vmap.init('pr', E(vatPowers).x()) end) return tostring(e) end,\n"
    "    order = function()\n"
    "      local s = VatData.makeScalarBigMapStore('order')\n"
    "      local keys = { 'b', 'a', 10, -1.5, 2, true, false, null, 'ab', 1e300, -1e300, 0 }\n"
    "      for i, k in ipairs(keys) do s.init(k, i) end\n"
    "      local out = {}\n"
    "      for k, v in s.entries() do out[#out + 1] = tostring(k) .. '=' .. v end\n"
    "      local range = {}\n"
    "      for k in s.keys(0, 'ab') do range[#range + 1] = tostring(k) end\n"
    "      local vals = {}\n"
    "      for v in s.values('a') do vals[#vals + 1] = v end\n"
    "      local ok, e = pcall(function() for k in s.keys() do s.init('zz', 1) end end)\n"
    "      return table.concat(out, ' ') .. ' | ' .. table.concat(range, ' ') .. ' | ' .. table.concat(vals, ' ')\n"
    "        .. ' | ' .. s.getSize() .. ' ' .. tostring(e):match('keys in store.*')\n"
    "    end,\n"
    "    storeOps = function()\n"
    "      local s = VatData.makeScalarBigMapStore('ops')\n"
    "      local set = VatData.makeScalarBigSetStore('set')\n"
    "      local o1, o2 = Far('o1', {}), Far('o2', {})\n"
    "      s.init(o2, 'two') s.init(o1, 'one') s.init('k', 'v')\n"
    "      local out = {}\n"
    "      for k, v in s.entries() do out[#out + 1] = v end\n"
    "      local dup = pcall(function() s.init('k', 'again') end)\n"
    "      s.set('k', 'w') s.delete(o2)\n"
    "      local missing = pcall(function() return s.get(o2) end)\n"
    "      set.add(3) set.add(1) set.add(3)\n"
    "      local members = {}\n"
    "      for k in set.keys() do members[#members + 1] = k end\n"
    "      s.clear()\n"
    "      s.init(o1, 'again')\n"
    "      return table.concat(out, ',') .. ' ' .. tostring(dup) .. ' ' .. s.get(o1) .. ' ' .. tostring(missing)\n"
    "        .. ' ' .. s.getSize() .. ' ' .. table.concat(members, ',') .. ' ' .. set.getSize()\n"
    "    end,\n"
    "  })\n"
    "end\n";

static tk T;

static void install(const char *src, char id[STORE_BUNDLE_ID_LEN + 1]) { tk_install(&T, src, id); }

/* vats by name: boot v1, exporter v2, holder v3, peer v4 */
static void start(void)
{
    char boot[80], exporter[80], holder[80], peer[80], config[1024];
    swing_err e;
    tk_open(&T, NULL, 0, NULL);
    install(BOOT, boot);
    install(VOM_EXPORTER, exporter);
    install(HOLDER, holder);
    install(PEER, peer);
    snprintf(config, sizeof config,
             "{\"bootstrap\":\"boot\",\"vats\":{\"boot\":{\"bundleID\":\"%s\"},\"exporter\":{\"bundleID\":\"%s\"},"
             "\"holder\":{\"bundleID\":\"%s\"},\"peer\":{\"bundleID\":\"%s\"}}}",
             boot, exporter, holder, peer);
    if (kern_init(T.k, config, strlen(config), &e)) fail_msg("init: %s", e.msg);
    tk_run(&T);
}

static const char *ask_args(const char *method, const char *args) { return tk_ask(&T, "boot", method, args); }

static const char *holder(const char *method) 
{
    char args[128];
    snprintf(args, sizeof args, "[\"%s\"]", method);
    return ask_args("holder", args);
}

static void boyd(const char *vat)
{
    swing_err e;
    if (kern_bring_out_your_dead(T.k, vat, 0, &e)) fail_msg("boyd: %s", e.msg);
    tk_run(&T);
}

static void test_vom_kinds_state_and_facets(void **state)
{
    (void)state;
    start();
    assert_string_equal(holder("state"), "#6");
    assert_string_equal(holder("identity"), "#true");
    assert_string_equal(holder("counter"), "#[6,5,4,true]");
    /* strings with escapes, read back in a later delivery (from the vatstore) */
    assert_string_equal(holder("putOdd"), "#\"ok\"");
    assert_string_equal(holder("getOdd"), "#12");
    tk_close(&T);
}

static void test_vom_store_order_and_ops(void **state)
{
    (void)state;
    start();
    assert_string_equal(holder("order"),
                        "#\"false=7 true=6 -1e+300=11 -1.5=4 0=12 2=5 10=3 1e+300=10 a=2 ab=9 b=1 null=8 | 0 2 10 1e+300 a | "
                        "2 9 1 8 | 13 keys in store cannot be added to during iteration\"");
    assert_string_equal(holder("storeOps"), "#\"two,one,v false again false 1 1,3 2\"");
    tk_close(&T);
}

/* The holder's imports, the exporter's exports, kernel objects. */
typedef struct counts {
    size_t imports, exports, objects;
} counts;

static counts now(void)
{
    counts c;
    c.imports = tk_count(&T, "v3.c.o-");
    c.exports = tk_count(&T, "v2.c.o+");
    c.objects = tk_count(&T, "ko") / 2; /* koNN.owner, koNN.refCount */
    return c;
}

static void expect_counts(counts base, size_t more)
{
    counts c = now();
    assert_int_equal(c.imports, base.imports + more);
    assert_int_equal(c.exports, base.exports + more);
    assert_int_equal(c.objects, base.objects + more);
}

/* Gives the holder a fresh thing through `method`; boot forgets it. */
static void give(const char *method, const char *want)
{
    char args[128];
    snprintf(args, sizeof args, "[\"%s\"]", method);
    assert_string_equal(ask_args("give", args), want);
    boyd("boot");
}

/* An import held only in virtualized data (keep) stays reachable across
 * BOYD and answers (call); once released (drop) it is dropped and retired. */
static void held_only_in_vdata(const char *keep, const char *call, const char *drop)
{
    counts base;
    start();
    base = now();
    give(keep, "#\"ok\"");
    expect_counts(base, 1);
    boyd("holder");
    expect_counts(base, 1); /* no dropImports: the vdata count holds it */
    assert_string_equal(holder(call), "#1");
    boyd("holder");
    expect_counts(base, 1);
    assert_string_equal(holder(drop), "#\"ok\"");
    boyd("holder");
    boyd("exporter");
    expect_counts(base, 0); /* dropped, retired, and gone from the exporter */
    assert_int_equal(tk_count(&T, "v3.vs.vom.rc.o-"), 0);
    assert_int_equal(tk_count(&T, "v3.vs.vom.ir."), 0);
    tk_close(&T);
}

static void test_vom_import_in_virtual_state(void **state)
{
    (void)state;
    held_only_in_vdata("inVO", "callVO", "dropVO");
}

static void test_vom_import_as_weak_store_value(void **state)
{
    (void)state;
    held_only_in_vdata("inWeak", "callWeak", "dropWeakKey");
}

/* A Far object keying a weak store does not keep the value alive (#9956). */
static void test_vom_import_in_weak_store_keyed_by_far(void **state)
{
    (void)state;
    held_only_in_vdata("inWeakFar", "callWeakFar", "dropWeakFar");
}

static void test_vom_import_in_durable_store(void **state)
{
    (void)state;
    held_only_in_vdata("inDurable", "callDurable", "dropDurable");
}

static size_t holder_objects(void) { return tk_count(&T, "v3.vs.vom.o+v10/"); } /* kind 10: holder */

static void test_vom_cycles_in_one_vat_are_collected(void **state)
{
    size_t base;
    (void)state;
    start();
    boyd("holder");
    base = holder_objects();
    assert_string_equal(holder("cycle"), "#\"ok\"");
    assert_string_equal(holder("selfCycle"), "#\"ok\"");
    assert_int_equal(holder_objects(), base + 3);
    boyd("holder");
    assert_int_equal(holder_objects(), base); /* a <-> b and self -> self */
    assert_int_equal(tk_count(&T, "v3.vs.vom.rc.o+v10/"), 0);
    tk_close(&T);
}

static void test_vom_exported_objects_deleted_after_importer_drops(void **state)
{
    size_t base;
    (void)state;
    start();
    boyd("holder");
    base = holder_objects();
    assert_string_equal(ask_args("fetchVO", "[]"), "#\"exported\"");
    boyd("boot");
    boyd("holder");
    assert_int_equal(holder_objects(), base + 1); /* exported: the peer reaches it */
    assert_string_equal(ask_args("peer", "[\"call\"]"), "#\"exported\"");
    assert_string_equal(ask_args("peer", "[\"drop\"]"), "#\"dropped\"");
    boyd("peer");
    boyd("holder");
    assert_int_equal(holder_objects(), base);
    assert_int_equal(tk_count(&T, "v3.vs.vom.es."), 0);
    assert_int_equal(tk_count(&T, "v4.c.o-"), 0); /* the peer's import went */
    tk_close(&T);
}

static void test_vom_weak_key_import_retired(void **state)
{
    counts base;
    (void)state;
    start();
    base = now();
    give("weakByImport", "#true");
    expect_counts(base, 1);
    assert_int_equal(tk_count(&T, "v3.vs.vom.ir."), 1);
    assert_string_equal(holder("dropImport"), "#\"ok\"");
    boyd("holder"); /* dropImports only: the weak store still recognizes it */
    assert_int_equal(tk_count(&T, "v3.vs.vom.ir."), 1);
    boyd("exporter"); /* the exporter retires its Far; the kernel retires the import */
    expect_counts(base, 0);
    assert_int_equal(tk_count(&T, "v3.vs.vom.ir."), 0);
    assert_int_equal(tk_count(&T, "v3.vs.vc.3.r"), 0); /* the entry went with it */
    tk_close(&T);
}

/* holder's object x holds the peer's Far f, and f holds x: each vat sees a
 * hold from the other (x is a reachable export, f an export the kernel
 * counts as reachable from the holder), so neither can tell it is a cycle
 * and both stay. Collecting it would need a distributed cycle search. */
static void test_vom_cycles_through_another_vat_stay(void **state)
{
    size_t base, peer_exports;
    (void)state;
    start();
    boyd("holder");
    base = holder_objects();
    peer_exports = tk_count(&T, "v4.c.o+");
    assert_string_equal(ask_args("crossCycle", "[]"), "#\"x\"");
    for (int i = 0; i < 2; i++) {
        boyd("boot");
        boyd("peer");
        boyd("holder");
    }
    assert_int_equal(holder_objects(), base + 1);
    assert_int_equal(tk_count(&T, "v4.c.o+"), peer_exports + 1);
    tk_close(&T);
}

/* A million dead objects would not fit one BOYD: each one deletes at most
 * its budget and says more, which puts the vat back on the dirty list. */
static void test_vom_boyd_keeps_its_budget(void **state)
{
    size_t base, last, boyds = 0;
    (void)state;
    start();
    boyd("holder");
    base = holder_objects();
    assert_string_equal(ask_args("holder", "[\"manyDead\",3000]"), "#0");
    assert_int_equal(holder_objects(), base + 3000);
    last = holder_objects();
    while (holder_objects() > base) {
        swing_err e;
        if (kern_bring_out_your_dead(T.k, "holder", 1000, &e)) fail_msg("boyd: %s", e.msg);
        tk_run(&T);
        boyds++;
        {
            char *dirt = tk_get(&T, "v3.reapDirt"); /* <deliveries>,<gcKrefs>,<computrons>,<seq>,<due> */
            unsigned long long d1, d2, d3, seq = 0;
            if (!dirt) fail_msg("no reapDirt after BOYD %zu, objects %zu over base", boyds, holder_objects() - base);
            assert_int_equal(sscanf(dirt, "%llu,%llu,%llu,%llu", &d1, &d2, &d3, &seq), 4);
            assert_true(seq > 0); /* it said more: back on the dirty list */
            free(dirt);
        }
        assert_true(holder_objects() < last);        /* progress */
        assert_true(last - holder_objects() <= 1000); /* within the budget */
        last = holder_objects();
        assert_true(boyds <= 4);
    }
    assert_int_equal(boyds, 3);
    assert_int_equal(tk_count(&T, "v3.vs.vom.rc.o+v10/"), 0);
    /* the store (collection 5) sorts after its objects: the third BOYD's
     * budget ran out first, so it said more and the fourth deletes it */
    assert_int_equal(tk_count(&T, "v3.vs.vc.5."), 3);
    boyd("holder");
    assert_int_equal(tk_count(&T, "v3.vs.vc.5."), 0);
    tk_close(&T);
}

/* Objects kept in a store, read back after the worker was rebuilt from
 * its transcript, and after a restart. */
static void test_vom_state_survives_replay_and_restart(void **state)
{
    swing_err e;
    (void)state;
    start();
    assert_string_equal(ask_args("holder", "[\"keepMany\",50]"), "#50");
    assert_string_equal(ask_args("holder", "[\"readMany\",50]"), "#50");
    if (kern_evict_worker(T.k, "holder", &e)) fail_msg("%s", e.msg);
    assert_string_equal(ask_args("holder", "[\"readMany\",50]"), "#100");
    kern_close(T.k);
    store_close(T.st);
    T.st = tl_open(T.dir);
    tk_kern_open(&T, NULL, 0);
    assert_string_equal(ask_args("holder", "[\"readMany\",50]"), "#150");
    boyd("holder");
    assert_string_equal(ask_args("holder", "[\"readMany\",50]"), "#200");
    tk_close(&T);
}

static void test_vom_durability_rules(void **state)
{
    (void)state;
    start();
    assert_string_equal(holder("notDurable"), "#[false,\"not durable: a Far object (only durable objects, imports and data may be stored durably)\",false]");
    assert_string_equal(ask_args("holder", "[\"notDurable\",\"vo\"]"),
                        "#[false,\"not durable: o+v10/1 is a virtual object (only durable objects, imports and data may be "
                        "stored durably)\",false]");
    assert_string_equal(ask_args("holder", "[\"notDurable\",\"promise\"]"),
                        "#[false,\"promises cannot be stored in virtualized data\",false]");
    assert_string_equal(holder("promiseInVirtual"), "#\"promises cannot be stored in virtualized data\"");
    tk_close(&T);
}

/* The same VOM-heavy scenario in freshly exec'd processes (one without
 * address randomization) gives the same activity hash, computrons and
 * crank-by-crank meter trace after every step. */
typedef struct vom_trace {
    uint64_t steps; /* fold of every step's activity hash */
    uint64_t computrons, meter;
    size_t holder_keys;
} vom_trace;

static void fold(uint64_t *h, const char *s)
{
    for (; *s; s++) *h = (*h ^ (unsigned char)*s) * 1099511628211ull;
}

static int two_processes_child(int fd)
{
    vom_trace r;
    const char *steps[][2] = {{"holder", "[\"state\"]"},         {"holder", "[\"counter\"]"},
                              {"holder", "[\"order\"]"},         {"holder", "[\"storeOps\"]"},
                              {"give", "[\"inVO\"]"},            {"give", "[\"inWeak\"]"},
                              {"give", "[\"inDurable\"]"},       {"give", "[\"inDThing\"]"},
                              {"holder", "[\"cycle\"]"},         {"holder", "[\"keepMany\",300]"},
                              {"holder", "[\"readMany\",300]"},  {"fetchVO", "[]"},
                              {"holder", "[\"dropVO\"]"},        {"holder", "[\"dropWeakKey\"]"},
                              {"holder", "[\"manyDead\",500]"},  {"peer", "[\"drop\"]"},
                              {"holder", "[\"callDThing\"]"},    {"holder", "[\"dropDurable\"]"}};
    memset(&r, 0, sizeof r);
    r.steps = 1469598103934665603ull;
    start();
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        fold(&r.steps, ask_args(steps[i][0], steps[i][1]));
        fold(&r.steps, store_activity_hash(T.st));
        if (i % 3 == 2) {
            boyd("boot");
            boyd("peer");
            boyd("holder");
            fold(&r.steps, store_activity_hash(T.st));
        }
    }
    r.computrons = T.computrons;
    r.meter = T.meter_trace;
    r.holder_keys = tk_count(&T, "v3.vs.");
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r) return 2;
    tk_close(&T);
    return 0;
}

static void test_vom_same_in_two_processes(void **state)
{
    vom_trace runs[2];
    (void)state;
    tl_run_self_layout("VOM_TEST_CHILD_FD", &runs[0], sizeof runs[0], false);
    tl_run_self_layout("VOM_TEST_CHILD_FD", &runs[1], sizeof runs[1], true);
    assert_true(runs[0].computrons > 1000000);
    assert_true(runs[0].holder_keys > 300);
    assert_int_equal(runs[0].steps, runs[1].steps);
    assert_int_equal(runs[0].computrons, runs[1].computrons);
    assert_int_equal(runs[0].meter, runs[1].meter);
    assert_int_equal(runs[0].holder_keys, runs[1].holder_keys);
}

int main(void)
{
    const char *child_fd = getenv("VOM_TEST_CHILD_FD");
    if (child_fd) return two_processes_child(atoi(child_fd));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vom_same_in_two_processes),
        cmocka_unit_test(test_vom_import_in_virtual_state),
        cmocka_unit_test(test_vom_import_as_weak_store_value),
        cmocka_unit_test(test_vom_import_in_durable_store),
        cmocka_unit_test(test_vom_import_in_weak_store_keyed_by_far),
        cmocka_unit_test(test_vom_kinds_state_and_facets),
        cmocka_unit_test(test_vom_cycles_in_one_vat_are_collected),
        cmocka_unit_test(test_vom_exported_objects_deleted_after_importer_drops),
        cmocka_unit_test(test_vom_weak_key_import_retired),
        cmocka_unit_test(test_vom_durability_rules),
        cmocka_unit_test(test_vom_cycles_through_another_vat_stay),
        cmocka_unit_test(test_vom_boyd_keeps_its_budget),
        cmocka_unit_test(test_vom_state_survives_replay_and_restart),
        cmocka_unit_test(test_vom_store_order_and_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
