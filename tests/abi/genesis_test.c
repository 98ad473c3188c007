/*
 * genesis_test.c - init (genesis) with many bundles through the public ABI
 * (abi/admin.c; issue: hardening, ABI edges, 2025: genesis compared every
 * bundle name with every earlier one, so 100k bundles took 20 s; names now
 * go through a sorted index). 20k tiny bundles: every one is installed
 * under its content hash and reported in request order, vats name bundles
 * anywhere in the list, and a repeated or unknown name is still found.
 * No timing here: tests/bench/genesis_bench.c measures N against 4N.
 */
#include "tests/lib/testlib.h"
#include "tests/lib/abicall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NB 20000
#define SRC_MAX 96

typedef struct many {
    Swing__V1__Bundle b[NB];
    Swing__V1__Bundle *bp[NB];
    char names[NB][16];
    char srcs[NB][SRC_MAX];
} many;

/* NB distinct bundles named n0..n<NB-1>, in a scrambled name order. */
static many *make_many(void)
{
    many *m = calloc(1, sizeof *m);
    assert_non_null(m);
    for (size_t i = 0; i < NB; i++) {
        size_t k = (i * 7919) % NB; /* 7919 is prime, so this permutes 0..NB-1 */
        swing__v1__bundle__init(&m->b[i]);
        snprintf(m->names[i], sizeof m->names[i], "n%zu", k);
        m->b[i].name = m->names[i];
        m->b[i].source.len = (size_t)snprintf(m->srcs[i], SRC_MAX,
                                              "function buildRootObject() return Far('v%zu', {}) end\n", k);
        m->b[i].source.data = (uint8_t *)m->srcs[i];
        m->bp[i] = &m->b[i];
    }
    return m;
}

static Swing__V1__Response *init_many(swing_handle *h, many *m, const char *config)
{
    Swing__V1__Request req = SWING__V1__REQUEST__INIT;
    Swing__V1__InitRequest init = SWING__V1__INIT_REQUEST__INIT;
    init.config_json.data = (uint8_t *)config;
    init.config_json.len = strlen(config);
    init.bundles = m->bp;
    init.n_bundles = NB;
    req.op_case = SWING__V1__REQUEST__OP_INIT;
    req.init = &init;
    return tl_call(h, &req);
}

/* The kv value of key (asserts it exists); the caller frees the response. */
static Swing__V1__Response *kv_get(swing_handle *h, const char *key)
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
    if (!r->query->found) fail_msg("no key %s", key);
    return r;
}

/* The bundle ID vat `name` was created from (its vNN.source record). */
static void expect_vat_bundle(swing_handle *h, const char *name, const char *want_id)
{
    char key[64], want[128];
    Swing__V1__Response *r = kv_get(h, (snprintf(key, sizeof key, "vat.name.%s", name), key));
    snprintf(key, sizeof key, "%.*s.source", (int)r->query->kv[0]->value.len,
             (const char *)r->query->kv[0]->value.data);
    swing__v1__response__free_unpacked(r, NULL);
    r = kv_get(h, key);
    snprintf(want, sizeof want, "\"bundleID\":\"%s\"", want_id);
    if (!memmem(r->query->kv[0]->value.data, r->query->kv[0]->value.len, want, strlen(want)))
        fail_msg("vat %s: source %.*s, expected %s", name, (int)r->query->kv[0]->value.len,
                 (const char *)r->query->kv[0]->value.data, want_id);
    swing__v1__response__free_unpacked(r, NULL);
}

static void test_genesis_many_bundles(void **state)
{
    tl_node nd;
    many *m = make_many();
    char config[256], hex[65], id[68];
    Swing__V1__Response *r;
    const Swing__V1__InitResponse *ir;
    (void)state;
    tl_node_new(&nd, false);
    /* Vats name the first, a middle and the last bundle of the request. */
    snprintf(config, sizeof config,
             "{\"vats\":{\"first\":{\"bundleName\":\"%s\"},\"mid\":{\"bundleName\":\"%s\"},"
             "\"last\":{\"bundleName\":\"%s\"}}}",
             m->names[0], m->names[NB / 2], m->names[NB - 1]);
    r = init_many(nd.h, m, config);
    if (r->status != SWING__V1__STATUS__STATUS_OK) fail_msg("init: %s", r->error);
    ir = r->init;
    assert_int_equal(ir->n_bundles, NB);
    for (size_t i = 0; i < NB; i++) {
        assert_string_equal(ir->bundles[i]->name, m->names[i]);
        tl_sha256_hex(m->srcs[i], m->b[i].source.len, hex);
        snprintf(id, sizeof id, "b1-%s", hex);
        assert_string_equal(ir->bundles[i]->id, id);
    }
    expect_vat_bundle(nd.h, "first", ir->bundles[0]->id);
    expect_vat_bundle(nd.h, "mid", ir->bundles[NB / 2]->id);
    expect_vat_bundle(nd.h, "last", ir->bundles[NB - 1]->id);
    swing__v1__response__free_unpacked(r, NULL);
    tl_node_free(&nd);
    free(m);
}

/* A repeated name far apart in the request, and a name no bundle has, are
 * refused; the directory stays empty, so a good init follows. */
static void test_genesis_many_bundles_bad_names(void **state)
{
    tl_node nd;
    many *m = make_many();
    char config[128], want[64];
    Swing__V1__Response *r;
    (void)state;
    tl_node_new(&nd, false);
    snprintf(config, sizeof config, "{\"vats\":{\"v\":{\"bundleName\":\"%s\"}}}", m->names[NB - 1]);
    m->b[NB - 2].name = m->names[3];
    r = init_many(nd.h, m, config);
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_INVALID);
    snprintf(want, sizeof want, "two bundles named %s", m->names[3]);
    assert_string_equal(r->error, want);
    swing__v1__response__free_unpacked(r, NULL);
    m->b[NB - 2].name = m->names[NB - 2];
    r = init_many(nd.h, m, "{\"vats\":{\"v\":{\"bundleName\":\"nobody\"}}}");
    assert_int_equal(r->status, SWING__V1__STATUS__STATUS_INVALID);
    assert_non_null(strstr(r->error, "no bundle named nobody"));
    swing__v1__response__free_unpacked(r, NULL);
    r = init_many(nd.h, m, config);
    if (r->status != SWING__V1__STATUS__STATUS_OK) fail_msg("init: %s", r->error);
    swing__v1__response__free_unpacked(r, NULL);
    tl_node_free(&nd);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genesis_many_bundles),
        cmocka_unit_test(test_genesis_many_bundles_bad_names),
    };
    return cmocka_run_group_tests(tests, tl_setup_sodium, NULL);
}
