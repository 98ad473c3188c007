/*
 * oldval.h - reads the committed value of keys a commit is about to change
 * (the state digest removes each changed entry's old value; digest.h), in
 * the commit's mostly ascending key order. Used by commit.c only.
 *
 * A point read costs a LevelDB Get; a run of neighbouring keys (a range
 * being deleted, objects created side by side) is cheaper read by stepping
 * one iterator. The reader steps a few keys from where it stands when the
 * key asked for lies ahead, falls back to a Get otherwise, and re-anchors
 * the iterator after a Get that found its key, backing off exponentially
 * while re-anchoring does not pay. Every answer is the committed value: the
 * iterator and the Gets read the database as the last commit left it, and
 * nothing is written before the commit's batch.
 */
#ifndef LIBSWING_STORE_OLDVAL_H
#define LIBSWING_STORE_OLDVAL_H

#include <leveldb/c.h>
#include <stdbool.h>

#include "base/bytes.h"
#include "base/err.h"

#define STORE_OLDVAL_ANCHOR_MAX 2200u /* longest physical key (STORE_PKEY_MAX) and some */

typedef struct store_oldval {
    leveldb_t *db;                    /* borrowed */
    leveldb_readoptions_t *ro;        /* borrowed */
    leveldb_iterator_t *it;           /* created at the first re-anchor */
    bool live;                        /* every disk key in [anchor, it) has been seen */
    uint8_t anchor[STORE_OLDVAL_ANCHOR_MAX];
    size_t anchor_len;
    unsigned backoff, skip;           /* re-anchors skipped after one that did not pay */
    char *got;                        /* the last Get's value (LevelDB-owned), freed on the next read */
} store_oldval;

void store_oldval_init(store_oldval *r, leveldb_t *db, leveldb_readoptions_t *ro);
void store_oldval_free(store_oldval *r);

/* The committed value of key: *found, and *val viewing bytes valid until
 * the next call. Errors: IO. */
swing_status store_oldval_get(store_oldval *r, swing_bytes key, swing_bytes *val, bool *found,
                              swing_err *err);

#endif /* LIBSWING_STORE_OLDVAL_H */
