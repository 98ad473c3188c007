/*
 * overlay.h - one in-memory ordered layer of the store (DESIGN.md §4).
 *
 * An overlay maps byte keys to a value or a tombstone, ordered by memcmp
 * (shorter prefix first). The store keeps the uncommitted block in one
 * (the open crank's writes too, undoable through journal.h) over LevelDB,
 * and reuses the type for its in-memory chunk index. Entries
 * are red-black tree nodes from libbsd's <sys/tree.h>; each node is one
 * allocation holding key and value.
 */
#ifndef LIBSWING_STORE_OVERLAY_H
#define LIBSWING_STORE_OVERLAY_H

#include <bsd/sys/tree.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/err.h"

typedef struct store_ov_entry store_ov_entry;
struct store_ov_entry {
    RB_ENTRY(store_ov_entry) link; /* tree linkage, owned by the overlay */
    uint32_t klen;                 /* key bytes at data[0..klen) */
    uint32_t vlen;                 /* value bytes at data[klen..klen+vlen) */
    bool tomb;                     /* true: key deleted in this layer (vlen 0) */
    bool absent;                   /* key known absent on disk (a scan saw the gap);
                                    * a fact about the key, kept across rewrites */
    uint64_t mark;                 /* crank that journaled this key (journal.h); 0 none */
    uint8_t data[];                /* key then value */
};

RB_HEAD(store_ov_tree, store_ov_entry);
RB_PROTOTYPE(store_ov_tree, store_ov_entry, link, store_ov_entry_cmp)

typedef struct store_overlay {
    struct store_ov_tree root; /* entries in key order */
    size_t count;              /* number of entries, tombstones included */
    size_t bytes;              /* key + value bytes held */
} store_overlay;

static inline swing_bytes store_ov_key(const store_ov_entry *e)
{
    return swing_bytes_of(e->data, e->klen);
}

static inline swing_bytes store_ov_val(const store_ov_entry *e)
{
    return swing_bytes_of(e->data + e->klen, e->vlen);
}

void store_overlay_init(store_overlay *ov);
/* Frees every entry; the overlay is empty and reusable afterwards. */
void store_overlay_clear(store_overlay *ov);

/* Sets key to val (tomb false) or to a tombstone (tomb true, val ignored).
 * Returns SWING_OK or SWING_ERR_NOMEM (overlay unchanged). */
swing_status store_overlay_put(store_overlay *ov, swing_bytes key, swing_bytes val,
                               bool tomb, swing_err *err);

/* Removes key entirely (no tombstone). Returns true if it was present. */
bool store_overlay_remove(store_overlay *ov, swing_bytes key);

/* Exact lookup; NULL if absent. */
store_ov_entry *store_overlay_find(const store_overlay *ov, swing_bytes key);
/* Smallest entry with key > `key` (or >= when `inclusive`); NULL if none. */
store_ov_entry *store_overlay_seek(const store_overlay *ov, swing_bytes key, bool inclusive);
store_ov_entry *store_overlay_first(const store_overlay *ov);
store_ov_entry *store_overlay_next(store_ov_entry *e);

/* Low-level entry handling for the crank journal (journal.c). */
/* Allocates a detached entry for key = val (or a tombstone) into *out. */
swing_status store_overlay_entry_new(swing_bytes key, swing_bytes val, bool tomb,
                                     store_ov_entry **out, swing_err *err);
/* Inserts e unless an entry with its key exists: then returns that entry and
 * leaves the overlay unchanged. NULL when e was inserted. */
store_ov_entry *store_overlay_attach(store_overlay *ov, store_ov_entry *e);
/* Removes e from the overlay without freeing it. */
void store_overlay_detach(store_overlay *ov, store_ov_entry *e);

/* Moves every entry of src into dst, replacing dst entries with equal keys.
 * Never allocates; src is empty afterwards. */
void store_overlay_merge(store_overlay *dst, store_overlay *src);

#endif /* LIBSWING_STORE_OVERLAY_H */
