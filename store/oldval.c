/*
 * oldval.c - committed values of the keys a commit changes, read by
 * stepping an iterator through dense runs and by Gets elsewhere (oldval.h).
 */
#include "store/oldval.h"

#include <string.h>

#define STEP_MAX 4     /* iterator steps tried before a Get */
#define BACKOFF_MAX 64 /* most re-anchors skipped in a row */

void store_oldval_init(store_oldval *r, leveldb_t *db, leveldb_readoptions_t *ro)
{
    memset(r, 0, sizeof *r);
    r->db = db;
    r->ro = ro;
}

void store_oldval_free(store_oldval *r)
{
    if (r->it) leveldb_iter_destroy(r->it);
    if (r->got) leveldb_free(r->got);
    r->it = NULL;
    r->got = NULL;
}

static void set_anchor(store_oldval *r, swing_bytes key)
{
    if (key.len > sizeof r->anchor) {
        r->live = false;
        return;
    }
    memcpy(r->anchor, key.ptr, key.len);
    r->anchor_len = key.len;
}

static swing_status iter_error(store_oldval *r, swing_err *err)
{
    char *msg = NULL;
    leveldb_iter_get_error(r->it, &msg);
    if (!msg) return SWING_OK;
    r->live = false;
    swing_err_set(err, SWING_ERR_IO, "commit read failed: %s", msg);
    leveldb_free(msg);
    return SWING_ERR_IO;
}

/* Answers from the iterator if the key is at most STEP_MAX keys ahead:
 * *done then, else the iterator is no longer trusted. */
static swing_status step_to(store_oldval *r, swing_bytes key, swing_bytes *val, bool *found,
                            bool *done, swing_err *err)
{
    *done = false;
    for (int steps = 0;; steps++) {
        size_t kl;
        const char *k;
        int c;
        if (!leveldb_iter_valid(r->it)) {
            swing_status s = iter_error(r, err);
            if (s) return s;
            *done = true; /* past the last key: absent */
            break;
        }
        k = leveldb_iter_key(r->it, &kl);
        c = swing_bytes_cmp(swing_bytes_of(k, kl), key);
        if (c >= 0) {
            if (c == 0) {
                size_t vl;
                const char *v = leveldb_iter_value(r->it, &vl);
                *val = swing_bytes_of(v, vl);
                *found = true;
            }
            *done = true;
            break;
        }
        if (steps == STEP_MAX) break;
        leveldb_iter_next(r->it);
    }
    if (*done) {
        set_anchor(r, key);
        r->backoff = 0;
    } else {
        r->live = false;
        r->backoff = r->backoff * 2 + 1 > BACKOFF_MAX ? BACKOFF_MAX : r->backoff * 2 + 1;
        r->skip = r->backoff;
    }
    return SWING_OK;
}

static swing_status reanchor(store_oldval *r, swing_bytes key, swing_err *err)
{
    if (!r->it) r->it = leveldb_create_iterator(r->db, r->ro);
    leveldb_iter_seek(r->it, (const char *)key.ptr, key.len);
    r->live = true;
    set_anchor(r, key);
    return leveldb_iter_valid(r->it) ? SWING_OK : iter_error(r, err);
}

swing_status store_oldval_get(store_oldval *r, swing_bytes key, swing_bytes *val, bool *found,
                              swing_err *err)
{
    char *msg = NULL;
    size_t vl = 0;
    *found = false;
    *val = swing_bytes_of(NULL, 0);
    if (r->got) leveldb_free(r->got);
    r->got = NULL;
    if (r->live && swing_bytes_cmp(key, swing_bytes_of(r->anchor, r->anchor_len)) >= 0) {
        bool done;
        swing_status s = step_to(r, key, val, found, &done, err);
        if (s || done) return s;
    }
    r->got = leveldb_get(r->db, r->ro, (const char *)key.ptr, key.len, &vl, &msg);
    if (msg) {
        swing_err_set(err, SWING_ERR_IO, "commit read failed: %s", msg);
        leveldb_free(msg);
        return SWING_ERR_IO;
    }
    if (!r->got) return SWING_OK;
    *val = swing_bytes_of(r->got, vl);
    *found = true;
    if (r->live) return SWING_OK; /* behind the anchor: the run ahead stays readable */
    if (r->skip) {
        r->skip--;
        return SWING_OK;
    }
    return reanchor(r, key, err);
}
