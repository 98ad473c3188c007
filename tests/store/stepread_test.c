/*
 * stepread_test.c - the stepping reader (store/stepread.c) against a model:
 * a LevelDB database holding keys shaped like the kernel's (koN.owner,
 * koN.refCount, vA.c.koN, with numbers of several digit counts so runs are
 * interleaved), with rewrites and deletions committed in rounds. In every
 * round each access pattern (ascending runs walked by several readers at
 * once, descending, random, keys never written) gets, from readers with one
 * and with all cursors, exactly what the model holds; a reader kept across
 * a write answers for the new state once reset.
 */
#include "tests/lib/testlib.h"

#include "store/stepread.h"
#include "tests/lib/scratch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOBJ 1500
#define NKIND 4 /* koN.owner, koN.refCount, v1.c.koN, v2.c.koN */

typedef struct model {
    int version[NOBJ][NKIND]; /* 0: absent */
} model;

typedef struct db {
    char *dir;
    leveldb_options_t *opts;
    leveldb_readoptions_t *ro;
    leveldb_writeoptions_t *wo;
    leveldb_t *db;
} db;

static uint64_t next_rand(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x >> 33;
}

static swing_bytes key_of(char buf[64], size_t obj, int kind)
{
    static const char *const fmt[NKIND] = {"kv.ko%zu.owner", "kv.ko%zu.refCount", "kv.v1.c.ko%zu",
                                           "kv.v2.c.ko%zu"};
    int n = snprintf(buf, 64, fmt[kind], obj);
    return swing_bytes_of(buf, (size_t)n);
}

static int value_of(char buf[32], size_t obj, int kind, int version)
{
    return snprintf(buf, 32, "%zu/%d/%d", obj, kind, version);
}

static void db_open(db *d)
{
    char *msg = NULL;
    memset(d, 0, sizeof *d);
    d->dir = scratch_dir("stepread");
    assert_non_null(d->dir);
    d->opts = leveldb_options_create();
    leveldb_options_set_create_if_missing(d->opts, 1);
    leveldb_options_set_write_buffer_size(d->opts, 64u << 10); /* small: tables, not only the memtable */
    d->ro = leveldb_readoptions_create();
    d->wo = leveldb_writeoptions_create();
    d->db = leveldb_open(d->opts, d->dir, &msg);
    assert_null(msg);
}

static void db_close(db *d)
{
    leveldb_close(d->db);
    leveldb_options_destroy(d->opts);
    leveldb_readoptions_destroy(d->ro);
    leveldb_writeoptions_destroy(d->wo);
    scratch_remove(d->dir);
}

/* One round of writes: about a third of the entries rewritten, deleted or
 * created, as one batch. */
static void write_round(db *d, model *m, uint64_t *rng, int round)
{
    leveldb_writebatch_t *b = leveldb_writebatch_create();
    char kb[64], vb[32];
    char *msg = NULL;
    for (size_t o = 0; o < NOBJ; o++)
        for (int k = 0; k < NKIND; k++) {
            uint64_t r = next_rand(rng) % 6;
            swing_bytes key = key_of(kb, o, k);
            if (r == 0 || (round == 0 && r < 5)) {
                int n = value_of(vb, o, k, round + 1);
                leveldb_writebatch_put(b, (const char *)key.ptr, key.len, vb, (size_t)n);
                m->version[o][k] = round + 1;
            } else if (r == 1) {
                leveldb_writebatch_delete(b, (const char *)key.ptr, key.len);
                m->version[o][k] = 0;
            }
        }
    leveldb_write(d->db, d->wo, b, &msg);
    assert_null(msg);
    leveldb_writebatch_destroy(b);
}

static void expect(store_stepread *r, const model *m, size_t obj, int kind)
{
    char kb[64], vb[32];
    swing_bytes key = key_of(kb, obj, kind), v;
    bool found;
    swing_err e = {0};
    assert_int_equal(store_stepread_get(r, key, &v, &found, &e), SWING_OK);
    if (obj >= NOBJ || m->version[obj][kind] == 0) {
        assert_false(found);
        return;
    }
    assert_true(found);
    assert_int_equal(v.len, (size_t)value_of(vb, obj, kind, m->version[obj][kind]));
    assert_memory_equal(v.ptr, vb, v.len);
}

/* The kernel's pattern: objects in key order, several keys of each. */
static int cmp_key_order(const void *a, const void *b)
{
    char x[32], y[32];
    snprintf(x, sizeof x, "%zu.", *(const size_t *)a);
    snprintf(y, sizeof y, "%zu.", *(const size_t *)b);
    return strcmp(x, y);
}

static void read_patterns(db *d, const model *m, uint64_t *rng, unsigned ncur)
{
    static size_t order[NOBJ];
    store_stepread r;
    store_stepread_init(&r, d->db, d->ro, ncur);
    for (size_t i = 0; i < NOBJ; i++) order[i] = i;
    qsort(order, NOBJ, sizeof *order, cmp_key_order);
    for (size_t i = 0; i < NOBJ; i++) /* interleaved ascending runs */
        for (int k = 0; k < NKIND; k++) expect(&r, m, order[i], k);
    for (size_t i = NOBJ; i-- > 0;) expect(&r, m, order[i], (int)(i % NKIND)); /* descending */
    for (size_t i = 0; i < 4 * NOBJ; i++) /* random, some never written */
        expect(&r, m, next_rand(rng) % (NOBJ + NOBJ / 4), (int)(next_rand(rng) % NKIND));
    for (size_t i = 0; i < NOBJ; i += 1 + next_rand(rng) % 9) expect(&r, m, order[i], 1); /* sparse run */
    if (ncur > 1) assert_true(r.steps_hit > 0); /* the runs were stepped, not only read by Gets */
    store_stepread_free(&r);
}

static void test_stepread_agrees_with_a_model_across_rounds(void **state)
{
    static model m;
    db d;
    uint64_t rng = 7;
    (void)state;
    memset(&m, 0, sizeof m);
    db_open(&d);
    for (int round = 0; round < 6; round++) {
        write_round(&d, &m, &rng, round);
        read_patterns(&d, &m, &rng, 1);
        read_patterns(&d, &m, &rng, STORE_STEPREAD_CURSORS);
    }
    db_close(&d);
}

static void test_stepread_reset_sees_the_next_write(void **state)
{
    static model m;
    db d;
    store_stepread r;
    uint64_t rng = 11;
    (void)state;
    memset(&m, 0, sizeof m);
    db_open(&d);
    write_round(&d, &m, &rng, 0);
    store_stepread_init(&r, d.db, d.ro, STORE_STEPREAD_CURSORS);
    for (size_t o = 0; o < NOBJ; o++) expect(&r, &m, o, 1); /* anchors cursors in the old state */
    write_round(&d, &m, &rng, 1);
    store_stepread_reset(&r);
    for (size_t o = 0; o < NOBJ; o++) expect(&r, &m, o, 1);
    store_stepread_free(&r);
    db_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stepread_agrees_with_a_model_across_rounds),
        cmocka_unit_test(test_stepread_reset_sees_the_next_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
