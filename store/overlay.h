/*
 * overlay.h - one in-memory ordered layer of the store (DESIGN.md §4).
 *
 * An overlay maps byte keys to a value or a tombstone, ordered by memcmp
 * (shorter prefix first). The store keeps the uncommitted block in one
 * (the open crank's writes too, undoable through journal.h) over LevelDB,
 * and reuses the type for its in-memory chunk index. Each entry is one
 * allocation holding key and value; a B+tree of entry pointers orders them
 * (ovtree.h), and entries never move while they are in the overlay.
 */
#ifndef LIBSWING_STORE_OVERLAY_H
#define LIBSWING_STORE_OVERLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/err.h"
#include "store/ovtree.h"

typedef struct store_ov_entry store_ov_entry;
struct store_ov_entry {
    store_ovtree_node *leaf;          /* the index leaf holding it, owned by the overlay */
    uint32_t klen;                 /* key bytes at data[0..klen) */
    uint32_t vlen;                 /* value bytes at data[klen..klen+vlen) */
    bool tomb;                     /* true: key deleted in this layer (vlen 0) */
    bool absent;                   /* key known absent on disk (a scan saw the gap);
                                    * a fact about the key, kept across rewrites */
    uint64_t mark;                 /* crank that journaled this key (journal.h); 0 none */
    uint8_t data[];                /* key then value */
};

typedef struct store_overlay {
    store_ovtree tree;            /* entries in key order */
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
/* Inserts e unless an entry with its key exists: then sets *existing to that
 * entry and leaves the overlay unchanged (*existing NULL when e went in).
 * SWING_ERR_NOMEM leaves the overlay unchanged. */
swing_status store_overlay_attach(store_overlay *ov, store_ov_entry *e, store_ov_entry **existing,
                                  swing_err *err);
/* Removes e from the overlay without freeing it. Never allocates. */
void store_overlay_detach(store_overlay *ov, store_ov_entry *e);
/* Puts e, which has old's key, in old's place; old leaves the overlay and is
 * not freed. Never allocates. */
void store_overlay_swap(store_overlay *ov, store_ov_entry *old, store_ov_entry *e);

/* Moves every entry of src into dst, replacing dst entries with equal keys;
 * src is empty afterwards. Into an empty dst it takes src's tree and cannot
 * fail; otherwise SWING_ERR_NOMEM can leave part of src moved: every entry
 * is then in exactly one of the two. */
swing_status store_overlay_merge(store_overlay *dst, store_overlay *src, swing_err *err);

#endif /* LIBSWING_STORE_OVERLAY_H */
