/*
 * vom_refcount_test.c - vdata reference counts against a model (issue 14,
 * reference/vom-collections.md §9): random writes of virtual objects,
 * imports and data into object state, a map store (values and keys) and a
 * weak store; after every one the vatstore's vom.rc.* must equal the
 * model's count of each object and import. Then everything is dropped and
 * BOYDs run until the vat is clean: no count, state, recognizer or entry
 * key is left, and every import was dropped and retired exactly once.
 */
#include "tests/lib/memhost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOBJ 24
#define NIMP 16
#define NKEY 32

static const char *VAT =
    "function buildRootObject(vatPowers, params, baggage)\n"
    "  local T = VatData.defineKind('t', function() return {} end, {\n"
    "    set = function(s, self, prop, v) s[prop] = v end })\n"
    "  local objs, imports = {}, {}\n"
    "  local map = VatData.makeScalarBigMapStore('m')\n"
    "  local weak = VatData.makeScalarBigWeakMapStore('w')\n"
    "  local function val(kind, j) if kind == 1 then return objs[j] elseif kind == 2 then return imports[j] end return j end\n"
    "  local function put(s, k, v) if s.has(k) then s.set(k, v) else s.init(k, v) end end\n"
    "  return Far('root', {\n"
    "    import = function(j, p) imports[j] = p end,\n"
    "    make = function(i) objs[i] = T() end,\n"
    "    prop = function(i, prop, kind, j) objs[i].set(prop, val(kind, j)) end,\n"
    "    put = function(key, kind, j) put(map, key, val(kind, j)) end,\n"
    "    del = function(key) if map.has(key) then map.delete(key) end end,\n"
    "    keyed = function(j) local k = imports[j] if map.has(k) then map.delete(k) else map.init(k, 'x') end end,\n"
    "    weak = function(i, kind, j) put(weak, objs[i], val(kind, j)) end,\n"
    "    unweak = function(i) if weak.has(objs[i]) then weak.delete(objs[i]) end end,\n"
    "    dropAll = function() map.clear() objs = {} imports = {} end,\n"
    "  })\n"
    "end\n";

typedef struct ref {
    int kind, id; /* 0 none or data, 1 object, 2 import */
} ref;

typedef struct model {
    ref prop[NOBJ + 1][2];
    ref map[NKEY];
    bool has_map[NKEY];
    bool keyed[NIMP + 1];
    ref weak[NOBJ + 1];
} model;

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void count_ref(ref r, int objs[], int imps[])
{
    if (r.kind == 1) objs[r.id]++;
    if (r.kind == 2) imps[r.id]++;
}

static void check(const model *m, const tm_host *h, int op)
{
    int objs[NOBJ + 1] = {0}, imps[NIMP + 1] = {0};
    for (int i = 1; i <= NOBJ; i++) {
        count_ref(m->prop[i][0], objs, imps);
        count_ref(m->prop[i][1], objs, imps);
        count_ref(m->weak[i], objs, imps);
    }
    for (int k = 0; k < NKEY; k++)
        if (m->has_map[k]) count_ref(m->map[k], objs, imps);
    for (int j = 1; j <= NIMP; j++) imps[j] += m->keyed[j];
    for (int i = 1; i <= NOBJ; i++) {
        char key[64];
        const char *v;
        snprintf(key, sizeof key, "vom.rc.o+v10/%d", i);
        v = tm_get(h, key);
        if ((v ? atoi(v) : 0) != objs[i]) fail_msg("op %d: %s is %s, model %d", op, key, v ? v : "absent", objs[i]);
    }
    for (int j = 1; j <= NIMP; j++) {
        char key[64];
        const char *v;
        snprintf(key, sizeof key, "vom.rc.o-%d", j);
        v = tm_get(h, key);
        if ((v ? atoi(v) : 0) != imps[j]) fail_msg("op %d: %s is %s, model %d", op, key, v ? v : "absent", imps[j]);
    }
}

static void send(ls_lua_vat *vat, tm_host *h, const char *method, const char *fmt, int a, int b, int c)
{
    char args[96];
    snprintf(args, sizeof args, fmt, a, b, c);
    tm_send(vat, h, method, args, NULL, 0, NULL);
}

static void test_counts_follow_the_model_and_nothing_leaks(void **state)
{
    tm_host *h = tm_host_new("v1");
    ls_lua_vat *vat = tm_vat(VAT);
    model m;
    uint64_t seed = 12345;
    size_t baseline;
    (void)state;
    memset(&m, 0, sizeof m);
    tm_start(vat, h);
    baseline = h->nkeys;
    for (int j = 1; j <= NIMP; j++) {
        char vref[16], args[64];
        const char *slots[1] = {vref};
        snprintf(vref, sizeof vref, "o-%d", j);
        snprintf(args, sizeof args, "[%d,\"$0.Alleged: p\"]", j);
        tm_send(vat, h, "import", args, slots, 1, NULL);
    }
    for (int i = 1; i <= NOBJ; i++) send(vat, h, "make", "[%d]", i, 0, 0);
    for (int op = 0; op < 1500; op++) {
        int what = (int)(lcg(&seed) % 6), i = 1 + (int)(lcg(&seed) % NOBJ), k = (int)(lcg(&seed) % NKEY);
        int kind = (int)(lcg(&seed) % 3), j = kind == 1 ? 1 + (int)(lcg(&seed) % NOBJ) : 1 + (int)(lcg(&seed) % NIMP);
        ref r = {kind, j};
        switch (what) {
        case 0:
        case 1:
            send(vat, h, "prop", what ? "[%d,\"b\",%d,%d]" : "[%d,\"a\",%d,%d]", i, kind, j);
            m.prop[i][what] = r;
            break;
        case 2:
            send(vat, h, "put", "[%d,%d,%d]", k, kind, j);
            m.map[k] = r;
            m.has_map[k] = true;
            break;
        case 3:
            send(vat, h, "del", "[%d]", k, 0, 0);
            m.has_map[k] = false;
            break;
        case 4:
            send(vat, h, "keyed", "[%d]", 1 + (j - 1) % NIMP, 0, 0);
            m.keyed[1 + (j - 1) % NIMP] = !m.keyed[1 + (j - 1) % NIMP];
            break;
        default:
            if (kind == 0 && j % 2) {
                send(vat, h, "unweak", "[%d]", i, 0, 0);
                m.weak[i].kind = 0;
            } else {
                send(vat, h, "weak", "[%d,%d,%d]", i, kind, j);
                m.weak[i] = r;
            }
            break;
        }
        check(&m, h, op);
        if (op % 300 == 299) tm_boyd(vat, h, 50); /* everything is held in RAM: nothing may go */
        check(&m, h, op);
    }
    assert_int_equal(h->ndropped, 0);
    tm_send(vat, h, "dropAll", "[]", NULL, 0, NULL);
    for (int round = 0; round < 40 && (tm_count(h, "vom.rc.") > 1 || tm_count(h, "vom.o+") || h->nretired < NIMP);
         round++)
        tm_boyd(vat, h, 25);
    assert_int_equal(tm_count(h, "vom.rc."), 1); /* the baggage's own, for the vat's life */
    assert_string_equal(tm_get(h, "vom.rc.o+d6/1"), "1");
    assert_int_equal(tm_count(h, "vom.o+"), 0);
    assert_int_equal(tm_count(h, "vom.es."), 0);
    assert_int_equal(tm_count(h, "vom.ir."), 0);
    assert_int_equal(tm_count(h, "vc.2.r"), 0);   /* map entries keyed by objects */
    assert_int_equal(tm_count(h, "vc.2.|o"), 0);  /* and their ordinals */
    assert_int_equal(tm_count(h, "vc.3."), 2);    /* the weak store: nextOrdinal, schemata */
    assert_int_equal(h->ndropped, NIMP); /* each dropped, and retired, exactly once */
    assert_int_equal(h->nretired, NIMP);
    assert_int_equal(h->duplicates, 0);
    assert_true(h->nkeys <= baseline + NOBJ + 8); /* what is left is metadata and descriptors */
    ls_lua_vat_destroy(vat);
    tm_host_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_follow_the_model_and_nothing_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
