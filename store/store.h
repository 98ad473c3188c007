/*
 * store.h - the contract of libswing's persistent store (DESIGN.md §4).
 *
 * An ordered byte-string kv store on LevelDB, seen through two in-memory
 * layers: a crank layer (discarded by store_crank_abort) over a block layer
 * (written by store_commit as one synced WriteBatch). Also per-vat
 * transcripts, content-addressed bundles, export data (the consensus shadow
 * handed to the host at each commit) and export/import for state sync.
 * Key schema and chunking: store/keys.h. The store knows nothing of vats'
 * meaning: a vat ID is only a name for a transcript.
 *
 * Threading: one thread owns a store handle; an exporter (export.h) may run
 * on another thread while the owner keeps committing.
 */
#ifndef LIBSWING_STORE_STORE_H
#define LIBSWING_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/err.h"
#include "base/sha256.h"

typedef struct store store;
typedef struct store_iter store_iter;

/* Limits, enforced on input (SWING_ERR_INVALID / SWING_ERR_LIMIT). */
#define STORE_KEY_MAX 2048u                   /* logical kv key bytes */
#define STORE_VALUE_MAX (64u * 1024u * 1024u) /* logical kv value bytes */
#define STORE_CHUNK_SIZE 16384u               /* largest stored kv value */
#define STORE_BUNDLE_MAX (64u * 1024u * 1024u)
#define STORE_VAT_ID_MAX 64u

/* Instrumentation: told of every kv set (deleted false, vlen = value bytes)
 * and delete, as it happens, aborted cranks included. For benchmarks and
 * diagnostics; must not touch the store. */
typedef void (*store_write_observer)(void *ctx, swing_bytes key, size_t vlen, bool deleted);

typedef struct store_options {
    bool create_if_missing;   /* create the directory and store if absent */
    bool sync;                /* fsync each commit (default true) */
    size_t write_buffer_size; /* LevelDB memtable bytes */
    size_t cache_size;        /* LevelDB block cache bytes */
    unsigned digest_threads;  /* threads summing the state digest at commit; 0: one per CPU, at most 4 */
    store_write_observer observer; /* may be NULL */
    void *observer_ctx;       /* passed to observer */
} store_options;

store_options store_options_default(void);

/* ===== lifecycle ===== */

/* Opens (or creates) the store in `dir`, taking an exclusive lock on it.
 * Errors: INVALID (path is not a directory, missing and not creatable),
 * BUSY (another handle holds the directory), CORRUPT (not a libswing store or
 * a different store format), IO, NOMEM. *out is NULL on failure. */
swing_status store_open(const char *dir, const store_options *opt, store **out,
                        swing_err *err);

/* Closes the handle, abandoning any uncommitted block. Accepts NULL. */
void store_close(store *st);

/* Height of the last committed block (0 before the first commit). */
uint64_t store_height(const store *st);

/* The running crank chain (lowercase hex, "" before the first crank):
 * every crank folds its hash in (store_crank_end). It is the consensus key
 * "activityhash", so export data carries it. */
const char *store_activity_hash(const store *st);

/* The committed activity hash of store_height() ("" before the first
 * commit): binds the height, the crank chain and the state digest of every
 * export-data entry (docs/store.md), so it commits to the whole state. It
 * is what the host commits and what an import is checked against. */
const char *store_committed_hash(const store *st);

/* SWING_OK, or the sticky error (a failed commit write, copied into err)
 * that every later call returns until the store is reopened. */
swing_status store_check_usable(store *st, swing_err *err);

/* ===== kv: reads see crank over block over disk ===== */

/* Key classes: "local." (not hashed, not exported), "host." (host-owned, not
 * hashed, not exported), anything else consensus. "activityhash" is written
 * only by the store. Consensus writes need an open crank (OUT_OF_ORDER). */

/* *found reports presence; on found, *val holds a copy (caller frees with
 * swing_buf_free) whose ptr, when not NULL, is followed by a NUL byte not
 * counted in len, so text values can be used as C strings in place.
 * Errors: INVALID (key too long), CORRUPT, IO, NOMEM. */
swing_status store_get(store *st, swing_bytes key, swing_buf *val, bool *found,
                       swing_err *err);
swing_status store_set(store *st, swing_bytes key, swing_bytes val, swing_err *err);
swing_status store_delete(store *st, swing_bytes key, swing_err *err);

/* Smallest key strictly greater than `key`; safe to interleave with writes. */
swing_status store_next_key(store *st, swing_bytes key, swing_buf *next, bool *found,
                            swing_err *err);
/* The same, limited to keys starting with `prefix` (*found false past it).
 * Scans should use this: keys deleted in this block beyond the prefix are
 * never visited. */
swing_status store_next_key_in(store *st, swing_bytes key, swing_bytes prefix, swing_buf *next,
                               bool *found, swing_err *err);

/* Prefix iteration in key order. The iterator must not outlive a write to the
 * store: store_iter_next returns OUT_OF_ORDER if the store changed. */
swing_status store_iter_create(store *st, swing_bytes prefix, store_iter **out,
                               swing_err *err);
/* Moves a fresh iterator past `after`: the next key it yields is the first
 * key of its prefix that sorts after `after` (paging). */
swing_status store_iter_seek_after(store_iter *it, swing_bytes after, swing_err *err);
/* On *valid, key and val view iterator-owned bytes until the next call. */
swing_status store_iter_next(store_iter *it, swing_bytes *key, swing_bytes *val,
                             bool *valid, swing_err *err);
void store_iter_destroy(store_iter *it);

/* ===== cranks and blocks ===== */

/* Opens a crank (its writes become undoable). OUT_OF_ORDER if one is open. */
swing_status store_crank_begin(store *st, swing_err *err);
/* Keeps the crank's writes in the block and folds the crank hash into the activity
 * hash: activityhash = SHA256("activityhash\n" old "\n" crankhash "\n"). */
swing_status store_crank_end(store *st, swing_err *err);
/* Discards the crank's writes, their export data and hash contributions;
 * cannot fail for want of memory. */
swing_status store_crank_abort(store *st, swing_err *err);
bool store_in_crank(const store *st);

/* One export-data change: key with new value, or deleted. */
typedef struct store_delta_entry {
    swing_bytes key;   /* export-data key, see keys.h */
    swing_bytes value; /* empty when deleted */
    bool deleted;      /* true: the host deletes the key */
} store_delta_entry;

typedef struct store_delta {
    char activity_hash[SWING_SHA256_HEX_LEN + 1]; /* the block's committed activity hash */
    size_t count;               /* entries, sorted by key, no duplicates */
    store_delta_entry *entries; /* views into `arena` */
    uint8_t *arena;             /* owns all key and value bytes */
    size_t arena_len;
} store_delta;

/* Writes the block layer, host.height = height and the new state digest as
 * one synced WriteBatch; store_committed_hash() then gives the block's
 * activity hash. REQUIRES: no open crank; height > store_height(). On
 * success *delta (may be NULL if the caller does not want it) receives the
 * block's export-data delta and activity hash; free with
 * store_delta_destroy. A failed LevelDB write is sticky: every later call
 * returns it until the store is reopened. It does not say the block is
 * lost: if the log write succeeded and only its fsync failed, the reopened
 * store may find the batch (all of it, never part: the log record is
 * checksummed) and store_height() is then `height`. */
swing_status store_commit(store *st, uint64_t height, store_delta **delta, swing_err *err);
void store_delta_destroy(store_delta *d);

/* Called by store_commit_with once the block's delta is known, before the
 * batch is written: *value (owned by the store afterwards) is written under
 * the hook's host. key in the same batch. An error aborts the commit. */
typedef swing_status (*store_commit_hook)(void *ctx, const store_delta *delta, swing_buf *value,
                                          swing_err *err);
/* store_commit plus one host. key whose value depends on the delta (the
 * host ABI records its commit response there for replays). */
swing_status store_commit_with(store *st, uint64_t height, const char *hook_key,
                               store_commit_hook hook, void *hook_ctx, store_delta **delta,
                               swing_err *err);

/* The activity hash store_commit(height) would give now, computed without
 * writing anything: the host needs it before it commits (an ABCI
 * FinalizeBlock returns the block's app hash; Commit comes later), and a
 * genesis state that is never committed by itself (height 0) has one too.
 * The state digest it sums is kept, and the next commit reuses it if no
 * export-data change came in between (host. and local. writes may), so the
 * digest is summed once per block either way. REQUIRES: no open crank
 * (OUT_OF_ORDER). out: 64 lowercase hex digits and a NUL. */
swing_status store_pending_hash(store *st, uint64_t height, char out[SWING_SHA256_HEX_LEN + 1],
                                swing_err *err);

/* Bytes and entries held in the uncommitted block layer (for budgets). */
size_t store_pending_bytes(const store *st);

/* ===== transcripts (per vat, per incarnation spans) ===== */

typedef struct store_span {
    uint64_t incarnation;                  /* bumped by rollover */
    uint64_t start;                        /* first position, inclusive */
    uint64_t end;                          /* one past the last position */
    char hash[SWING_SHA256_HEX_LEN + 1];   /* chained item hash */
} store_span;

/* Appends one item to the vat's current span (created at incarnation 0 on
 * first use); *pos (may be NULL) gets the item's position. */
swing_status store_transcript_append(store *st, const char *vat, swing_bytes item,
                                     uint64_t *pos, swing_err *err);
swing_status store_transcript_current(store *st, const char *vat, store_span *span,
                                      bool *found, swing_err *err);
/* Closes the current span and opens an empty one at incarnation + 1. */
swing_status store_transcript_rollover(store *st, const char *vat, swing_err *err);

typedef swing_status (*store_item_fn)(void *ctx, uint64_t pos, swing_bytes item,
                                      swing_err *err);
/* Calls fn for every item in [start, end) in order (a replay). CORRUPT if an
 * item is missing; any non-OK status from fn stops and is returned. */
swing_status store_transcript_read(store *st, const char *vat, uint64_t start,
                                   uint64_t end, store_item_fn fn, void *ctx,
                                   swing_err *err);
/* Deletes the vat's transcript, at most `budget` spans per call, oldest
 * first (the current span last); a span goes with all its items. Spans, not
 * items, are counted so that nodes restored from an operational export (old
 * items absent) do the same amount of work. *done when no span is left;
 * *used (may be NULL) = spans deleted by this call. */
swing_status store_transcript_delete(store *st, const char *vat, uint64_t budget,
                                     uint64_t *used, bool *done, swing_err *err);

/* Stops a vat's transcript (a terminated vat): deletes its span records, so
 * it drops out of exports at once, and returns the item positions
 * [*start, *end) left behind (0,0 if none) for store_transcript_delete_items.
 * Work is one delete per span (incarnation). */
swing_status store_transcript_stop(store *st, const char *vat, uint64_t *start, uint64_t *end,
                                   swing_err *err);
/* Deletes items at positions [from, to) of a stopped transcript, blind (a
 * node restored from an operational export lacks old items, and must do the
 * same work), so callers can bound the work per call. */
swing_status store_transcript_delete_items(store *st, const char *vat, uint64_t from, uint64_t to,
                                           swing_err *err);

/* Span hash chain: seed, and the step for one item. */
void store_transcript_seed(char hash[SWING_SHA256_HEX_LEN + 1]);
void store_transcript_step(char hash[SWING_SHA256_HEX_LEN + 1], swing_bytes item);

/* Reads the committed kv entries with lo <= key < hi, at most max of them,
 * in one pass, so that reads of keys in that range (present or absent)
 * until the next commit need no LevelDB lookup. A hint for reads in key
 * order: it changes no state and no result (readahead.c). */
swing_status store_prefetch(store *st, swing_bytes lo, swing_bytes hi, size_t max, swing_err *err);

/* ===== bundles (content addressed) ===== */

#define STORE_BUNDLE_ID_LEN (3 + SWING_SHA256_HEX_LEN) /* "b1-" + hex */

/* The ID a bundle is stored under: "b1-<sha256 hex>" of its bytes. */
void store_bundle_id_of(swing_bytes bundle, char id[STORE_BUNDLE_ID_LEN + 1]);
/* Stores the bundle; id receives store_bundle_id_of(bundle). Idempotent. */
swing_status store_bundle_put(store *st, swing_bytes bundle,
                              char id[STORE_BUNDLE_ID_LEN + 1], swing_err *err);
swing_status store_bundle_get(store *st, const char *id, swing_buf *bundle, bool *found,
                              swing_err *err);
swing_status store_bundle_has(store *st, const char *id, bool *found, swing_err *err);
swing_status store_bundle_delete(store *st, const char *id, swing_err *err);
/* True if id has the form b1-<64 lowercase hex>. */
bool store_bundle_id_valid(const char *id);

#endif /* LIBSWING_STORE_STORE_H */
