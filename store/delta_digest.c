/*
 * delta_digest.c - moves the state digest (digest.h) across one block's
 * export-data delta at commit: for each changed entry, the committed value
 * is read (oldval.h) and its vector subtracted, and the new entry's vector
 * added. The entries are independent and vector sums commute, so large
 * deltas are split into contiguous key ranges summed by worker threads
 * (the result does not depend on how the work is split: tested by
 * digest_test.c). Reads only; called before the commit's batch is written.
 */
#include "store/store_int.h"

#include <pthread.h>
#include <unistd.h>

#include "store/oldval.h"

#define WORKERS_MAX 4
#define ENTRIES_PER_WORKER 1024 /* below this, a thread costs more than it saves */

typedef struct worker {
    store *st;                          /* read only while workers run */
    const store_delta_entry *ents;      /* this worker's range */
    size_t n;
    store_digest part;                  /* sum of the range's changes */
    swing_err err;
    swing_status s;
    pthread_t thread;
    bool threaded;                      /* runs in its own thread */
} worker;

static swing_status apply(worker *w)
{
    store_oldval r;
    swing_status s = SWING_OK;
    store_oldval_init(&r, w->st->db, w->st->ropts);
    for (size_t i = 0; i < w->n && s == SWING_OK; i++) {
        const store_delta_entry *e = &w->ents[i];
        swing_bytes old, oexp;
        bool found;
        if ((s = store_oldval_get(&r, e->key, &old, &found, &w->err))) break;
        if (found) {
            if (!store_keys_exported(e->key, old, &oexp)) {
                s = swing_err_set(&w->err, SWING_ERR_INTERNAL, "an exported key's committed form is not export data");
                break;
            }
            if (!e->deleted && swing_bytes_cmp(oexp, e->value) == 0) continue; /* unchanged */
            store_digest_remove(&w->part, e->key, oexp);
        }
        if (!e->deleted) store_digest_add(&w->part, e->key, e->value);
    }
    store_oldval_free(&r);
    return s;
}

static void *run(void *arg)
{
    worker *w = arg;
    w->s = apply(w);
    return NULL;
}

static size_t worker_count(const store *st, size_t n)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = st->digest_threads ? st->digest_threads : cpus > 0 ? (size_t)cpus : 1;
    if (want > WORKERS_MAX) want = WORKERS_MAX;
    if (want > n / ENTRIES_PER_WORKER) want = n / ENTRIES_PER_WORKER;
    return want ? want : 1;
}

swing_status store_delta_digest(store *st, const store_delta *d, store_digest *dig, swing_err *err)
{
    worker w[WORKERS_MAX];
    size_t nw = worker_count(st, d->count), at = 0;
    swing_status s = SWING_OK;
    for (size_t i = 0; i < nw; i++) {
        size_t n = d->count / nw + (i < d->count % nw);
        memset(&w[i], 0, sizeof w[i]);
        w[i].st = st;
        w[i].ents = d->entries + at;
        w[i].n = n;
        store_digest_init(&w[i].part);
        at += n;
    }
    for (size_t i = 1; i < nw; i++) w[i].threaded = pthread_create(&w[i].thread, NULL, run, &w[i]) == 0;
    for (size_t i = 0; i < nw; i++)
        if (!w[i].threaded) w[i].s = apply(&w[i]); /* worker 0, and any thread that did not start */
    for (size_t i = 1; i < nw; i++)
        if (w[i].threaded) pthread_join(w[i].thread, NULL);
    for (size_t i = 0; i < nw && s == SWING_OK; i++) {
        if (w[i].s) {
            s = w[i].s;
            if (err) *err = w[i].err;
        }
    }
    if (s) return s;
    for (size_t i = 0; i < nw; i++)
        for (size_t l = 0; l < STORE_DIGEST_LANES; l++) dig->lane[l] = (uint16_t)(dig->lane[l] + w[i].part.lane[l]);
    return SWING_OK;
}
