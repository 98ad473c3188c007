/*
 * stepread.c - committed values read by stepping a few iterators through
 * runs of neighbouring keys and by Gets elsewhere (stepread.h).
 */
#include "store/stepread.h"

#include <string.h>

#define STEP_MAX 24    /* iterator steps tried before a Get (krefs of fewer digits
                          have the longer ones between them: ko1234 < ko12340 < ko1235) */
#define BACKOFF_MAX 64 /* most re-anchors skipped in a row */

void store_stepread_init(store_stepread *r, leveldb_t *db, leveldb_readoptions_t *ro, unsigned ncur)
{
    memset(r, 0, sizeof *r);
    r->db = db;
    r->ro = ro;
    r->ncur = ncur < 1 ? 1 : ncur > STORE_STEPREAD_CURSORS ? STORE_STEPREAD_CURSORS : ncur;
}

void store_stepread_reset(store_stepread *r)
{
    for (unsigned i = 0; i < r->ncur; i++) {
        store_stepread_cursor *c = &r->cur[i];
        if (c->it) leveldb_iter_destroy(c->it);
        c->it = NULL;
        c->live = false;
    }
    if (r->got) leveldb_free(r->got);
    r->got = NULL;
    r->backoff = r->skip = 0;
}

void store_stepread_free(store_stepread *r) { store_stepread_reset(r); }

static void set_anchor(store_stepread_cursor *c, swing_bytes key)
{
    if (key.len > sizeof c->anchor) {
        c->live = false;
        return;
    }
    memcpy(c->anchor, key.ptr, key.len);
    c->anchor_len = key.len;
}

static swing_status iter_error(store_stepread_cursor *c, swing_err *err)
{
    char *msg = NULL;
    leveldb_iter_get_error(c->it, &msg);
    if (!msg) return SWING_OK;
    c->live = false;
    swing_err_set(err, SWING_ERR_IO, "LevelDB read failed: %s", msg);
    leveldb_free(msg);
    return SWING_ERR_IO;
}

/* The live cursor whose anchor is the greatest at or below key, or NULL. */
static store_stepread_cursor *nearest_below(store_stepread *r, swing_bytes key)
{
    store_stepread_cursor *best = NULL;
    for (unsigned i = 0; i < r->ncur; i++) {
        store_stepread_cursor *c = &r->cur[i];
        swing_bytes a = swing_bytes_of(c->anchor, c->anchor_len);
        if (!c->live || swing_bytes_cmp(a, key) > 0) continue;
        if (!best || swing_bytes_cmp(a, swing_bytes_of(best->anchor, best->anchor_len)) > 0) best = c;
    }
    return best;
}

/* Answers from cursor c if the key is at most STEP_MAX keys ahead: *done
 * then, else c is no longer trusted. */
static swing_status step_to(store_stepread *r, store_stepread_cursor *c, swing_bytes key,
                            swing_bytes *val, bool *found, bool *done, swing_err *err)
{
    *done = false;
    for (int steps = 0;; steps++) {
        size_t kl;
        const char *k;
        int cmp;
        if (!leveldb_iter_valid(c->it)) {
            swing_status s = iter_error(c, err);
            if (s) return s;
            *done = true; /* past the last key: absent */
            break;
        }
        k = leveldb_iter_key(c->it, &kl);
        cmp = swing_bytes_cmp(swing_bytes_of(k, kl), key);
        if (cmp >= 0) {
            if (cmp == 0) {
                size_t vl;
                const char *v = leveldb_iter_value(c->it, &vl);
                *val = swing_bytes_of(v, vl);
                *found = true;
            }
            *done = true;
            break;
        }
        if (steps == STEP_MAX) break;
        leveldb_iter_next(c->it);
    }
    if (*done) {
        set_anchor(c, key);
        c->used = ++r->tick;
        r->backoff = 0;
        r->steps_hit++;
    } else {
        c->live = false;
        r->backoff = r->backoff * 2 + 1 > BACKOFF_MAX ? BACKOFF_MAX : r->backoff * 2 + 1;
        r->skip = r->backoff;
    }
    return SWING_OK;
}

/* A dead cursor if there is one, else the one used least recently. */
static store_stepread_cursor *victim(store_stepread *r)
{
    store_stepread_cursor *v = &r->cur[0];
    for (unsigned i = 0; i < r->ncur; i++) {
        store_stepread_cursor *c = &r->cur[i];
        if (!c->live) return c;
        if (c->used < v->used) v = c;
    }
    return v;
}

static swing_status reanchor(store_stepread *r, swing_bytes key, swing_err *err)
{
    store_stepread_cursor *c = victim(r);
    if (!c->it && !(c->it = leveldb_create_iterator(r->db, r->ro)))
        return swing_err_set(err, SWING_ERR_NOMEM, "out of memory (LevelDB iterator)");
    leveldb_iter_seek(c->it, (const char *)key.ptr, key.len);
    c->live = true;
    c->used = ++r->tick;
    set_anchor(c, key);
    return leveldb_iter_valid(c->it) ? SWING_OK : iter_error(c, err);
}

swing_status store_stepread_get(store_stepread *r, swing_bytes key, swing_bytes *val, bool *found,
                                swing_err *err)
{
    char *msg = NULL;
    size_t vl = 0;
    store_stepread_cursor *c;
    *found = false;
    *val = swing_bytes_of(NULL, 0);
    if (r->got) leveldb_free(r->got);
    r->got = NULL;
    if ((c = nearest_below(r, key))) {
        bool done;
        swing_status s = step_to(r, c, key, val, found, &done, err);
        if (s || done) return s;
    }
    r->gets++;
    r->got = leveldb_get(r->db, r->ro, (const char *)key.ptr, key.len, &vl, &msg);
    if (msg) {
        swing_err_set(err, SWING_ERR_IO, "LevelDB read failed: %s", msg);
        leveldb_free(msg);
        return SWING_ERR_IO;
    }
    if (!r->got) return SWING_OK; /* absent: seeking there could walk a long run of deletions */
    *val = swing_bytes_of(r->got, vl);
    *found = true;
    if (r->skip) {
        r->skip--;
        return SWING_OK;
    }
    return reanchor(r, key, err);
}
