/*
 * ovtree.h - the ordered index under an overlay (overlay.h): a B+tree of
 * entry pointers. Each node keeps, inline beside its slots, the prefix all
 * its keys share and the next 8 key bytes of every slot as an integer, so a
 * lookup reads a few contiguous lines per level and touches an entry only
 * to settle a tie or confirm a match (a red-black tree touched one entry,
 * and missed the cache once, per comparison).
 *
 * Entries stay where they were allocated (the crank journal and
 * iteration hold pointers to them); each knows its leaf. Removal never
 * merges nodes: a node goes when its last slot does, and an overlay lives
 * one block. Inserts allocate every node they need before they change
 * anything, so a failed insert leaves the tree as it was; removal and
 * replacement never allocate.
 */
#ifndef LIBSWING_STORE_OVTREE_H
#define LIBSWING_STORE_OVTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/err.h"

#define STORE_OVTREE_FAN 32      /* slots per node */
#define STORE_OVTREE_PREFIX 32   /* most shared-prefix bytes a node keeps */

struct store_ov_entry;
typedef struct store_ovtree_node store_ovtree_node;
struct store_ovtree_node {
    store_ovtree_node *parent;
    store_ovtree_node *prev, *next; /* leaves: neighbours in key order */
    uint16_t n;                  /* slots in use */
    uint16_t off;                /* every compared slot's key starts with prefix[0..off) */
    bool leaf;
    uint8_t prefix[STORE_OVTREE_PREFIX];
    uint64_t win[STORE_OVTREE_FAN]; /* key bytes [off, off+8), big-endian, zero-padded */
    /* Leaf: the entries. Internal: ent[i] (i >= 1) is the smallest entry
     * under kid[i], the separator; ent[0] is never read. */
    struct store_ov_entry *ent[STORE_OVTREE_FAN];
    store_ovtree_node *kid[];       /* internal nodes only */
};

typedef struct store_ovtree {
    store_ovtree_node *root;
    store_ovtree_node *head; /* leftmost leaf */
} store_ovtree;

void store_ovtree_init(store_ovtree *t);
/* Frees every node and every entry; the tree is empty afterwards. */
void store_ovtree_clear(store_ovtree *t);

struct store_ov_entry *store_ovtree_find(const store_ovtree *t, swing_bytes key);
/* Smallest entry with key > `key` (>= when inclusive); NULL if none. */
struct store_ov_entry *store_ovtree_seek(const store_ovtree *t, swing_bytes key, bool inclusive);
struct store_ov_entry *store_ovtree_first(const store_ovtree *t);
struct store_ov_entry *store_ovtree_next(const struct store_ov_entry *e);

/* Inserts e. If an entry with e's key is present, *existing is set to it
 * and nothing changes. SWING_ERR_NOMEM leaves the tree unchanged. */
swing_status store_ovtree_insert(store_ovtree *t, struct store_ov_entry *e,
                              struct store_ov_entry **existing, swing_err *err);
/* Takes e out of the tree (e is not freed). */
void store_ovtree_remove(store_ovtree *t, struct store_ov_entry *e);
/* Puts e, which has old's key, in old's place (old is not freed). */
void store_ovtree_replace(struct store_ov_entry *old, struct store_ov_entry *e);

/* Checks every invariant of the tree (order, windows, prefixes, separators,
 * links, no empty node); for tests. */
bool store_ovtree_valid(const store_ovtree *t);

#endif /* LIBSWING_STORE_OVTREE_H */
