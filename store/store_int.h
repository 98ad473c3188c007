/*
 * store_int.h - the store handle's layout and the layered access helpers
 * shared by the files of store/ only. Nothing outside store/ includes it.
 */
#ifndef LIBSWING_STORE_STORE_INT_H
#define LIBSWING_STORE_STORE_INT_H

#include <leveldb/c.h>

#include "store/digest.h"
#include "store/journal.h"
#include "store/keys.h"
#include "store/overlay.h"
#include "store/seen.h"
#include "store/store.h"

typedef struct store_readahead store_readahead;
#define STORE_READAHEAD_RANGES 16 /* ranges remembered at once */

/* Room for a namespace prefix, a logical key and a chunk suffix. */
#define STORE_PKEY_MAX (STORE_KEY_MAX + 64u)

/* Chunk index value: u32 chunk count then u64 total size, little endian. */
typedef struct store_chunk_info {
    uint32_t chunks; /* N = ceil(size / STORE_CHUNK_SIZE) */
    uint64_t size;   /* logical value bytes */
} store_chunk_info;

struct store {
    char *dir;                      /* owned copy of the directory path */
    int lock_fd;                    /* flock'ed swing.lock, -1 if none */
    leveldb_t *db;                  /* the database */
    leveldb_options_t *opts;        /* owned LevelDB options */
    leveldb_cache_t *cache;         /* block cache, owned */
    leveldb_filterpolicy_t *filter; /* bloom filter, owned */
    leveldb_readoptions_t *ropts;   /* default reads */
    leveldb_writeoptions_t *wopts;  /* commit writes (sync per options) */
    leveldb_iterator_t *probe;      /* cached disk iterator; reset when the disk changes */
    /* No disk key k with probe_lo <= k (< when !probe_lo_incl) lies before
     * the probe's position: later seeks into that gap need no LevelDB seek. */
    bool probe_lo_set, probe_lo_incl;
    size_t probe_lo_len;
    uint8_t probe_lo[STORE_KEY_MAX + 64u];
    store_overlay block;            /* uncommitted writes, open crank included */
    store_seen seen;                /* values read from disk since it last changed (seen.h) */
    store_readahead *readahead;     /* key ranges read whole into seen (readahead.c); NULL until used */
    store_journal journal;          /* undo records of the open crank */
    bool in_crank;                  /* a crank is open */
    store_overlay chunks;           /* disk chunk index: "kv.<key>" -> info */
    swing_sha256 crank_hash;        /* consensus writes of the open crank */
    char activity[SWING_SHA256_HEX_LEN + 1]; /* running crank chain (kv activityhash) */
    store_digest digest;            /* state digest of the committed export data */
    char committed[SWING_SHA256_HEX_LEN + 1]; /* activity hash of the last commit, "" if none */
    uint64_t height;                /* last committed height */
    uint64_t gen;                   /* bumped by every change (iterators) */
    uint64_t xgen;                  /* bumped by every change that can alter the export-data
                                       delta: all but host. and local. kv writes */
    bool pending_ok;                /* pending_digest is the digest after the open block */
    uint64_t pending_xgen;          /* xgen when pending_digest was summed */
    store_digest pending_digest;    /* by store_pending_hash; commit reuses it while valid */
    swing_err sticky;               /* first fatal error; code OK if none */
    unsigned digest_threads;        /* commit digest workers; 0: one per CPU (delta_digest.c) */
    store_write_observer observer;  /* instrumentation hook, may be NULL */
    void *observer_ctx;
};

/* (Re)loads height, crank chain, state digest, committed hash and chunk
 * index from disk (store.c; open and import). */
swing_status store_load(store *st, swing_err *err);

/* Moves *dig across a block's export-data delta, reading each changed
 * entry's committed value (delta_digest.c). REQUIRES: the batch that
 * writes the delta is not written yet. */
swing_status store_delta_digest(store *st, const store_delta *d, store_digest *dig, swing_err *err);

/* Recomputes the state digest from the committed data on disk (store.c). */
swing_status store_digest_scan(store *st, store_digest *out, swing_err *err);

/* Raw LevelDB read of a physical key (no overlays; values already read
 * since the disk last changed come from RAM). store_layers_disk_changed
 * forgets them, the ranges read ahead and the cached disk iterator: every
 * write to LevelDB must call it. */
void store_layers_disk_changed(store *st);
/* Ranges read whole (readahead.c): forgotten when the disk changes. */
void store_readahead_clear(store *st);
void store_readahead_free(store *st);
bool store_readahead_covers(const store *st, swing_bytes pkey);
/* Raw LevelDB read of a physical key (no overlays). */
swing_status store_layers_disk_get(store *st, swing_bytes pkey, swing_buf *val, bool *found,
                            swing_err *err);

/* The overlay entry for pkey, or NULL (then disk decides). */
store_ov_entry *store_layers_find(store *st, swing_bytes pkey);

/* The value of an overlay entry (tombstone: *found false), copied. */
swing_status store_layers_copy(const store_ov_entry *e, swing_buf *val, bool *found, swing_err *err);

/* Read through the overlay and disk; no chunk logic (non-kv namespaces). */
swing_status store_layers_get(store *st, swing_bytes pkey, swing_buf *val, bool *found,
                              swing_err *err);

/* True for a physical kv key of class host. or local. (layers.c). */
bool store_layers_host_only(swing_bytes pkey);

/* Writes pkey into the overlay, journaled when a crank is open. */
swing_status store_layers_put(store *st, swing_bytes pkey, swing_bytes val, bool tomb,
                              swing_err *err);

/* Smallest live physical key in namespace `ns` that is > after (>= when
 * inclusive), merging the overlay, disk and (for kv.) the chunk index.
 * *found false when none; the key is copied into *out. */
swing_status store_layers_next(store *st, swing_bytes ns, swing_bytes after,
                               bool inclusive, swing_buf *out, bool *found,
                               swing_err *err);

/* Reads a logical kv value from disk, reassembling chunks (kv.c). */
swing_status store_kv_disk_get(store *st, swing_bytes key, swing_buf *val, bool *found,
                               swing_err *err);

/* Chunk index helpers (chunk.c). */
bool store_chunk_lookup(const store *st, swing_bytes pkey, store_chunk_info *info);
swing_status store_chunk_index_load(store *st, swing_err *err);
void store_chunk_encode_info(const store_chunk_info *info, uint8_t out[12]);
bool store_chunk_decode_info(swing_bytes v, store_chunk_info *info);
/* Header value text for export: {"chunks":N,"size":L}; returns length. */
size_t store_chunk_header(const store_chunk_info *info, char *out, size_t cap);
bool store_chunk_parse_header(swing_bytes v, store_chunk_info *info);

#endif /* LIBSWING_STORE_STORE_INT_H */
