/*
 * store_write_bench.c - write throughput of the store against raw LevelDB.
 *
 * Writes N random 32-byte printable keys with 100-byte values (fixed-seed
 * xorshift, so every run writes the same data) in blocks of 10,000: through
 * the store (one crank per block, then store_commit asking for the export
 * delta), and through the LevelDB C API with the options store.c's open_db
 * uses (one synced WriteBatch per block), each into a fresh temp directory.
 * Prints one JSON line; ratio = store rate / LevelDB rate (target >= 0.8).
 * Usage: store_write_bench [keys]   (default 1000000)
 */
#include <leveldb/c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "tests/bench/bench.h"
#include "tests/lib/scratch.h"

#define KEY_LEN 32
#define VAL_LEN 100
#define BLOCK 10000

typedef struct dataset {
    size_t n;       /* keys */
    char *keys;     /* n * KEY_LEN bytes */
    char *vals;     /* n * VAL_LEN bytes */
} dataset;

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Printable ASCII '!'..'~' (94 characters). */
static void fill_printable(uint64_t *seed, char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (char)('!' + xorshift64(seed) % 94u);
}

static int make_dataset(dataset *d, size_t n)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    d->n = n;
    d->keys = malloc(n * KEY_LEN);
    d->vals = malloc(n * VAL_LEN);
    if (!d->keys || !d->vals) return -1;
    for (size_t i = 0; i < n; i++) {
        fill_printable(&seed, d->keys + i * KEY_LEN, KEY_LEN);
        fill_printable(&seed, d->vals + i * VAL_LEN, VAL_LEN);
    }
    return 0;
}

/* Seconds to write the dataset through the store; negative on error. */
static double run_store(const char *dir, const dataset *d)
{
    store *st = NULL;
    swing_err e;
    double t0, t1;
    uint64_t height = 0;
    swing_err_clear(&e);
    if (store_open(dir, NULL, &st, &e) != SWING_OK) {
        fprintf(stderr, "store_open: %s\n", e.msg);
        return -1;
    }
    t0 = bench_now();
    for (size_t i = 0; i < d->n;) {
        size_t end = i + BLOCK < d->n ? i + BLOCK : d->n;
        store_delta *delta = NULL;
        if (store_crank_begin(st, &e)) goto fail;
        for (; i < end; i++) {
            if (store_set(st, swing_bytes_of(d->keys + i * KEY_LEN, KEY_LEN),
                          swing_bytes_of(d->vals + i * VAL_LEN, VAL_LEN), &e))
                goto fail;
        }
        if (store_crank_end(st, &e) || store_commit(st, ++height, &delta, &e)) goto fail;
        store_delta_destroy(delta);
    }
    t1 = bench_now();
    store_close(st);
    return t1 - t0;
fail:
    fprintf(stderr, "store write failed: %s\n", e.msg);
    store_close(st);
    return -1;
}

/* Seconds to write the dataset through raw LevelDB; negative on error. */
static double run_leveldb(const char *dir, const dataset *d)
{
    store_options so = store_options_default();
    leveldb_options_t *o = leveldb_options_create();
    leveldb_cache_t *cache = leveldb_cache_create_lru(so.cache_size);
    leveldb_filterpolicy_t *filter = leveldb_filterpolicy_create_bloom(10);
    leveldb_writeoptions_t *w = leveldb_writeoptions_create();
    leveldb_t *db;
    char *msg = NULL;
    double t0, t1 = 0;
    leveldb_options_set_create_if_missing(o, 1);
    leveldb_options_set_write_buffer_size(o, so.write_buffer_size);
    leveldb_options_set_cache(o, cache);
    leveldb_options_set_filter_policy(o, filter);
    leveldb_options_set_max_open_files(o, 512);
    leveldb_writeoptions_set_sync(w, 1);
    db = leveldb_open(o, dir, &msg);
    if (!msg) {
        t0 = bench_now();
        for (size_t i = 0; i < d->n && !msg;) {
            size_t end = i + BLOCK < d->n ? i + BLOCK : d->n;
            leveldb_writebatch_t *b = leveldb_writebatch_create();
            for (; i < end; i++)
                leveldb_writebatch_put(b, d->keys + i * KEY_LEN, KEY_LEN, d->vals + i * VAL_LEN,
                                       VAL_LEN);
            leveldb_write(db, w, b, &msg);
            leveldb_writebatch_destroy(b);
        }
        t1 = bench_now() - t0;
        leveldb_close(db);
    }
    leveldb_writeoptions_destroy(w);
    leveldb_options_destroy(o);
    leveldb_filterpolicy_destroy(filter);
    leveldb_cache_destroy(cache);
    if (msg) {
        fprintf(stderr, "leveldb: %s\n", msg);
        leveldb_free(msg);
        return -1;
    }
    return t1;
}

int main(int argc, char **argv)
{
    size_t n = 1000000;
    dataset d = {0};
    char *sdir, *ldir;
    double ts, tl;
    if (argc > 1) {
        char *end;
        unsigned long long v = strtoull(argv[1], &end, 10);
        if (*end || v == 0) {
            fprintf(stderr, "usage: %s [keys]\n", argv[0]);
            return 2;
        }
        n = (size_t)v;
    }
    if (make_dataset(&d, n) != 0) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    sdir = scratch_dir("swingbench-store");
    ldir = scratch_dir("swingbench-leveldb");
    if (!sdir || !ldir) {
        fprintf(stderr, "cannot create temp directories\n");
        return 1;
    }
    ts = run_store(sdir, &d);
    tl = ts < 0 ? -1 : run_leveldb(ldir, &d);
    scratch_remove(sdir);
    scratch_remove(ldir);
    free(d.keys);
    free(d.vals);
    if (ts <= 0 || tl <= 0) return 1;
    printf("{\"name\":\"store_write\",\"keys\":%zu,\"block\":%d,\"store_keys_per_sec\":%.0f,"
           "\"leveldb_keys_per_sec\":%.0f,\"ratio\":%.3f}\n",
           n, BLOCK, (double)n / ts, (double)n / tl, tl / ts);
    return 0;
}
