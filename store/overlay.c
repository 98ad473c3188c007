/*
 * overlay.c - one in-memory ordered layer of the store (see overlay.h).
 * Red-black tree of single-allocation entries; lookups compare raw bytes,
 * through a hash index once the overlay is not tiny.
 */
#include "store/overlay.h"

#include "base/alloc.h"
#include "base/check.h"

int store_ov_entry_cmp(store_ov_entry *a, store_ov_entry *b);

int store_ov_entry_cmp(store_ov_entry *a, store_ov_entry *b)
{
    return swing_bytes_cmp(store_ov_key(a), store_ov_key(b));
}

RB_GENERATE(store_ov_tree, store_ov_entry, link, store_ov_entry_cmp)

/* ===== the hash index ===== */

#define HASH_MIN_ENTRIES 16u /* smaller overlays: the tree alone */
#define HASH_MIN_SLOTS 64u

/* FNV-1a, 32 bits: keys are short, and only this process sees the values. */
static uint32_t key_hash(swing_bytes key)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < key.len; i++) h = (h ^ key.ptr[i]) * 16777619u;
    return h;
}

static void table_free(store_overlay *ov)
{
    swing_mfree(ov->slots);
    ov->slots = NULL;
    ov->nslots = 0;
}

static void slot_put(store_overlay *ov, store_ov_entry *e)
{
    size_t m = ov->nslots - 1, i = e->hash & m;
    while (ov->slots[i]) i = (i + 1) & m;
    ov->slots[i] = e;
}

/* A table of n slots holding every entry; false (no table) without memory. */
static bool table_build(store_overlay *ov, size_t n)
{
    store_ov_entry **slots = swing_calloc(n, sizeof *slots), *e;
    swing_mfree(ov->slots);
    ov->slots = slots;
    ov->nslots = slots ? n : 0;
    if (!slots) {
        ov->hash_off = true;
        return false;
    }
    RB_FOREACH(e, store_ov_tree, &ov->root) slot_put(ov, e);
    return true;
}

/* Room for one more entry at a load of at most one half. */
static void table_reserve(store_overlay *ov)
{
    size_t n = ov->nslots ? ov->nslots : HASH_MIN_SLOTS;
    if (ov->hash_off || ov->count + 1 < HASH_MIN_ENTRIES) return;
    while ((ov->count + 1) * 2 > n) n *= 2;
    if (n != ov->nslots) table_build(ov, n);
}

static store_ov_entry *table_find(const store_overlay *ov, swing_bytes key, uint32_t h)
{
    size_t m = ov->nslots - 1, i = h & m;
    for (store_ov_entry *e; (e = ov->slots[i]); i = (i + 1) & m)
        if (e->hash == h && e->klen == key.len && (key.len == 0 || memcmp(e->data, key.ptr, key.len) == 0))
            return e;
    return NULL;
}

/* Removes e's slot, shifting later entries of its probe run back. */
static void table_remove(store_overlay *ov, const store_ov_entry *e)
{
    size_t m = ov->nslots - 1, i = e->hash & m, j;
    while (ov->slots[i] != e) {
        SWING_ASSERT(ov->slots[i] != NULL);
        i = (i + 1) & m;
    }
    ov->slots[i] = NULL;
    for (j = (i + 1) & m; ov->slots[j]; j = (j + 1) & m) {
        size_t home = ov->slots[j]->hash & m;
        /* slot j's entry may move to the hole at i unless its home lies in (i, j] */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            ov->slots[i] = ov->slots[j];
            ov->slots[j] = NULL;
            i = j;
        }
    }
}

/* ===== entries ===== */

void store_overlay_init(store_overlay *ov)
{
    RB_INIT(&ov->root);
    ov->count = 0;
    ov->bytes = 0;
    ov->slots = NULL;
    ov->nslots = 0;
    ov->hash_off = false;
}

void store_overlay_clear(store_overlay *ov)
{
    store_ov_entry *e, *next;
    for (e = RB_MIN(store_ov_tree, &ov->root); e; e = next) {
        next = RB_NEXT(store_ov_tree, &ov->root, e);
        RB_REMOVE(store_ov_tree, &ov->root, e);
        swing_mfree(e);
    }
    table_free(ov);
    store_overlay_init(ov);
}

static void drop_entry(store_overlay *ov, store_ov_entry *e)
{
    RB_REMOVE(store_ov_tree, &ov->root, e);
    if (ov->slots) table_remove(ov, e);
    ov->count--;
    ov->bytes -= (size_t)e->klen + e->vlen;
}

/* The entry with key (hash h), or NULL. */
static store_ov_entry *find_hashed(const store_overlay *ov, swing_bytes key, uint32_t h)
{
    store_ov_entry *e = RB_ROOT(&ov->root);
    if (ov->slots) return table_find(ov, key, h);
    while (e) {
        int c = swing_bytes_cmp(key, store_ov_key(e));
        if (c == 0) return e;
        e = c < 0 ? RB_LEFT(e, link) : RB_RIGHT(e, link);
    }
    return NULL;
}

/* Inserts e (e->hash set), whose key is not in ov. */
static void insert_new(store_overlay *ov, store_ov_entry *e)
{
    store_ov_entry *clash;
    table_reserve(ov); /* before e is in the tree: a new table holds the others */
    clash = RB_INSERT(store_ov_tree, &ov->root, e);
    SWING_ASSERT(clash == NULL);
    (void)clash;
    ov->count++;
    ov->bytes += (size_t)e->klen + e->vlen;
    if (ov->slots) slot_put(ov, e);
}

static void add_entry(store_overlay *ov, store_ov_entry *e)
{
    store_ov_entry *old;
    e->hash = key_hash(store_ov_key(e));
    old = find_hashed(ov, store_ov_key(e), e->hash);
    if (old && old->vlen == e->vlen) {
        /* Same-size rewrite (refcounts, flags): update in place, no rebalancing. */
        old->tomb = e->tomb;
        old->mark = e->mark;
        if (e->vlen) memcpy(old->data + old->klen, e->data + e->klen, e->vlen);
        swing_mfree(e);
        return;
    }
    if (old) {
        e->absent = old->absent;
        drop_entry(ov, old);
        swing_mfree(old);
    }
    insert_new(ov, e);
}

swing_status store_overlay_entry_new(swing_bytes key, swing_bytes val, bool tomb,
                                     store_ov_entry **out, swing_err *err)
{
    size_t vlen = tomb ? 0 : val.len;
    store_ov_entry *e;
    *out = NULL;
    if (key.len > UINT32_MAX || vlen > UINT32_MAX)
        return swing_err_set(err, SWING_ERR_LIMIT, "overlay entry too large");
    e = swing_malloc(sizeof *e + key.len + vlen);
    if (!e) return SWING_NOMEM(err);
    e->klen = (uint32_t)key.len;
    e->vlen = (uint32_t)vlen;
    e->tomb = tomb;
    e->absent = false;
    e->mark = 0;
    if (key.len) memcpy(e->data, key.ptr, key.len);
    if (vlen) memcpy(e->data + key.len, val.ptr, vlen);
    *out = e;
    return SWING_OK;
}

store_ov_entry *store_overlay_attach(store_overlay *ov, store_ov_entry *e)
{
    store_ov_entry *old;
    e->hash = key_hash(store_ov_key(e));
    if ((old = find_hashed(ov, store_ov_key(e), e->hash))) return old;
    insert_new(ov, e);
    return NULL;
}

void store_overlay_detach(store_overlay *ov, store_ov_entry *e)
{
    drop_entry(ov, e);
}

swing_status store_overlay_put(store_overlay *ov, swing_bytes key, swing_bytes val,
                               bool tomb, swing_err *err)
{
    store_ov_entry *e;
    swing_status s = store_overlay_entry_new(key, val, tomb, &e, err);
    if (s) return s;
    add_entry(ov, e);
    return SWING_OK;
}

bool store_overlay_remove(store_overlay *ov, swing_bytes key)
{
    store_ov_entry *e = store_overlay_find(ov, key);
    if (!e) return false;
    drop_entry(ov, e);
    swing_mfree(e);
    return true;
}

store_ov_entry *store_overlay_find(const store_overlay *ov, swing_bytes key)
{
    return find_hashed(ov, key, ov->slots ? key_hash(key) : 0);
}

store_ov_entry *store_overlay_seek(const store_overlay *ov, swing_bytes key, bool inclusive)
{
    store_ov_entry *e = RB_ROOT(&ov->root), *best = NULL;
    while (e) {
        int c = swing_bytes_cmp(key, store_ov_key(e));
        if (c < 0 || (c == 0 && inclusive)) {
            best = e;
            if (c == 0) break;
            e = RB_LEFT(e, link);
        } else {
            e = RB_RIGHT(e, link);
        }
    }
    return best;
}

store_ov_entry *store_overlay_first(const store_overlay *ov)
{
    return RB_MIN(store_ov_tree, (struct store_ov_tree *)&ov->root);
}

store_ov_entry *store_overlay_next(store_ov_entry *e)
{
    return RB_NEXT(store_ov_tree, NULL, e);
}

void store_overlay_merge(store_overlay *dst, store_overlay *src)
{
    store_ov_entry *e, *next;
    if (dst->count == 0) { /* nothing to merge into: take the tree and table, O(1) */
        table_free(dst);
        *dst = *src;
        store_overlay_init(src);
        return;
    }
    for (e = RB_MIN(store_ov_tree, &src->root); e; e = next) {
        next = RB_NEXT(store_ov_tree, &src->root, e);
        drop_entry(src, e);
        add_entry(dst, e);
    }
    SWING_ASSERT(src->count == 0);
}
