/*
 * scan.h - prefix scans that may write between steps: a cursor on the
 * caller's stack that remembers the last key it yielded and asks the store
 * for the next one under the prefix (store_next_key_in) each step, so keys
 * written or deleted between steps are seen as the store now is. Owns only
 * the cursor's copy of the last key. For scans that do not write, a
 * store_iter (store.h) also hands out values.
 *
 * A fresh scan's first step is store_next_key_in(prefix, prefix): a key
 * equal to the prefix itself is not visited. Keys come in byte order, each
 * at most once, and a key deleted (or added) behind the cursor is not
 * revisited.
 */
#ifndef LIBSWING_STORE_SCAN_H
#define LIBSWING_STORE_SCAN_H

#include <stdbool.h>

#include "store/store.h"

typedef struct store_scan {
    store *st;          /* borrowed */
    swing_bytes prefix; /* borrowed: outlives the scan */
    swing_buf last;     /* the key yielded last, or the resume point (owned) */
    bool started;       /* last holds a key: steps go past it */
    bool at;            /* resumed inclusive: the next step may yield last itself */
    bool done;          /* a step found nothing: later steps find nothing */
} store_scan;

/* Starts a scan of the keys under `prefix` (borrowed until
 * store_scan_free). Cannot fail; allocates nothing. */
void store_scan_init(store_scan *sc, store *st, swing_bytes prefix);

/* Frees the cursor's key; sc may be reused after store_scan_init. Accepts
 * a scan that never stepped. */
void store_scan_free(store_scan *sc);

/* Moves a scan that has not stepped to `key` (copied): the next step
 * yields the first key under the prefix after it, or key itself first
 * when `inclusive` and it is present (one store_get). For scans resumed
 * from a saved cursor. Errors: OUT_OF_ORDER (the scan already stepped),
 * NOMEM. */
swing_status store_scan_resume(store_scan *sc, swing_bytes key, bool inclusive, swing_err *err);

/* Steps: on *found, *key views the next key under the prefix (owned by the
 * scan, valid until the next step or store_scan_free); past the last one
 * *found is false and stays so. The store may be written between steps
 * (deleting *key included). Errors: those of store_next_key_in and, for
 * an inclusive resume, store_get. */
swing_status store_scan_next(store_scan *sc, swing_bytes *key, bool *found, swing_err *err);

/* The value of the key the last step yielded (store_get: *found false if
 * it was deleted since). REQUIRES: the last step found a key. */
swing_status store_scan_value(store_scan *sc, swing_buf *val, bool *found, swing_err *err);

#endif /* LIBSWING_STORE_SCAN_H */
