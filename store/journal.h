/*
 * journal.h - the crank journal: crank writes go straight into the block
 * overlay, and the first write of each key in a crank saves that key's
 * prior overlay state here, so that crank_abort can put every key back
 * without allocating and crank_end is O(keys touched) frees with no tree
 * merge. Reads see one overlay instead of two.
 */
#ifndef LIBSWING_STORE_JOURNAL_H
#define LIBSWING_STORE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "store/overlay.h"

typedef struct store_undo {
    store_ov_entry *saved; /* the key's entry before the crank; NULL: absent */
    size_t koff;           /* when saved is NULL: the key at keys[koff..+klen) */
    uint32_t klen;
} store_undo;

typedef struct store_journal {
    uint64_t mark;     /* stamp of the open crank; 0 when none */
    uint64_t last;     /* last stamp handed out (monotonic, never reused) */
    store_undo *recs;  /* one record per key first written in the crank */
    size_t n, cap;
    uint8_t *keys;     /* keys of records whose key was absent */
    size_t klen, kcap;
} store_journal;

void store_journal_init(store_journal *j);
/* Frees the journal's buffers and any saved entries. */
void store_journal_free(store_journal *j);

/* Starts journaling a new crank. */
void store_journal_begin(store_journal *j);

/* Writes key = val (or a tombstone) into ov, journaling the key's prior
 * state if this is the crank's first write of it. On failure nothing
 * changed. */
swing_status store_journal_put(store_journal *j, store_overlay *ov, swing_bytes key,
                               swing_bytes val, bool tomb, swing_err *err);

/* Keeps the crank's writes: frees the saved entries. Never fails. */
void store_journal_commit(store_journal *j);
/* Puts every journaled key of ov back as it was before the crank. Never
 * allocates and never fails. */
void store_journal_rollback(store_journal *j, store_overlay *ov);

#endif /* LIBSWING_STORE_JOURNAL_H */
