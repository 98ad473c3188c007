/*
 * seen.h - committed values the open block has already read from LevelDB,
 * and keys it found absent there, kept in RAM until the disk changes
 * (layers.c reads through it, readahead.c fills it; every commit, load and
 * import clears it).
 *
 * A block often reads a committed key again before its commit: a GC
 * decision and the deliveries it leads to read the same refcounts and
 * c-list entries a few cranks apart, and a LevelDB Get of a large store
 * costs about a microsecond. An ordered tree does not pay here (its insert
 * costs as much as the Get saved), so this is an open-addressing hash table
 * over entries bump-allocated in 1 MiB chunks: a clear is a generation
 * bump. It is a cache only: nothing is ever iterated, so its order cannot
 * reach state. Best effort: past STORE_SEEN_MAX_BYTES, or out of memory,
 * it stops keeping values and reads go to LevelDB as before.
 */
#ifndef LIBSWING_STORE_SEEN_H
#define LIBSWING_STORE_SEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"

#define STORE_SEEN_MAX_BYTES (32u << 20)

typedef struct store_seen_slot {
    const uint8_t *entry; /* [u32 klen][u32 vlen][key][value] in a chunk */
    uint64_t hash;
    uint32_t gen;         /* valid when equal to the cache's (never 0) */
} store_seen_slot;

typedef struct store_seen {
    store_seen_slot *slots; /* cap entries, cap a power of two; NULL until the first put */
    size_t cap, count;
    uint32_t gen;
    uint8_t **chunks;       /* 1 MiB each; chunks[nchunks-1] is being filled */
    size_t nchunks, chunk_cap, used; /* used: bytes of the last chunk */
    size_t bytes;           /* entry bytes kept since the last clear */
} store_seen;

void store_seen_init(store_seen *c);
void store_seen_free(store_seen *c);
/* Forgets every value (O(1) but for chunks beyond the first, freed). */
void store_seen_clear(store_seen *c);
typedef enum store_seen_state {
    STORE_SEEN_UNKNOWN, /* not kept */
    STORE_SEEN_PRESENT, /* *val is the committed value (valid until the next clear or put) */
    STORE_SEEN_ABSENT   /* the key is not on disk */
} store_seen_state;

/* What is kept for key. Reads only: several threads may call it while no
 * one puts or clears. */
store_seen_state store_seen_get(const store_seen *c, swing_bytes key, swing_bytes *val);
/* Keeps key = val if there is room (best effort: false when not kept). */
bool store_seen_put(store_seen *c, swing_bytes key, swing_bytes val);
/* Keeps "key is absent on disk" if there is room (false when not kept). */
bool store_seen_put_absent(store_seen *c, swing_bytes key);

#endif /* LIBSWING_STORE_SEEN_H */
