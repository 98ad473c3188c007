/*
 * stepread.h - point reads of committed LevelDB state that follow runs of
 * neighbouring keys with a few stepping iterators (cursors) instead of a Get
 * each. Two users: commit's digest workers read the old value of every key
 * a block changes, in ascending order (one cursor; delta_digest.c), and the
 * kernel's reads that reach disk (store_layers_disk_get), where a GC batch
 * walks several ascending runs at once (koN.*, vA.c.koN, vB.c.koN, ...).
 *
 * A read asks the live cursor standing nearest below the key to step up to
 * STORE_STEPREAD_STEPS keys; if that does not reach the key, it does a Get.
 * A Get that found its key re-anchors a cursor there (the one used least
 * recently), backing off exponentially while re-anchoring does not pay. Every
 * answer is the committed value: the cursors and the Gets read the database
 * as it stood when the cursors were made, so the owner must call
 * store_stepread_reset whenever the database is written (commit, import).
 */
#ifndef LIBSWING_STORE_STEPREAD_H
#define LIBSWING_STORE_STEPREAD_H

#include <leveldb/c.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/err.h"

#define STORE_STEPREAD_CURSORS 8u
#define STORE_STEPREAD_ANCHOR_MAX 2200u /* longest physical key (STORE_PKEY_MAX) and some */

typedef struct store_stepread_cursor {
    leveldb_iterator_t *it;  /* created at its first anchoring */
    bool live;               /* every disk key in [anchor, it) has been seen */
    uint64_t used;           /* tick of its last anchoring or hit */
    size_t anchor_len;
    uint8_t anchor[STORE_STEPREAD_ANCHOR_MAX];
} store_stepread_cursor;

typedef struct store_stepread {
    leveldb_t *db;                    /* borrowed */
    leveldb_readoptions_t *ro;        /* borrowed */
    unsigned ncur;                    /* cursors in use, 1..STORE_STEPREAD_CURSORS */
    uint64_t tick;
    unsigned backoff, skip;           /* re-anchors skipped after one that did not pay */
    char *got;                        /* the last Get's value (LevelDB-owned), freed on the next read */
    uint64_t steps_hit, gets;         /* reads answered by stepping, by a Get (statistics) */
    store_stepread_cursor cur[STORE_STEPREAD_CURSORS];
} store_stepread;

void store_stepread_init(store_stepread *r, leveldb_t *db, leveldb_readoptions_t *ro, unsigned ncur);

/* Drops the cursors (the database changed) and the last Get's value. */
void store_stepread_reset(store_stepread *r);
void store_stepread_free(store_stepread *r);

/* The committed value of key: *found, and *val viewing bytes valid until
 * the next call or reset. Errors: IO. */
swing_status store_stepread_get(store_stepread *r, swing_bytes key, swing_bytes *val, bool *found,
                                swing_err *err);

#endif /* LIBSWING_STORE_STEPREAD_H */
