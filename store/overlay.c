/*
 * overlay.c - one in-memory ordered layer of the store (see overlay.h).
 * Red-black tree of single-allocation entries; lookups compare raw bytes.
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

void store_overlay_init(store_overlay *ov)
{
    RB_INIT(&ov->root);
    ov->count = 0;
    ov->bytes = 0;
}

void store_overlay_clear(store_overlay *ov)
{
    store_ov_entry *e, *next;
    for (e = RB_MIN(store_ov_tree, &ov->root); e; e = next) {
        next = RB_NEXT(store_ov_tree, &ov->root, e);
        RB_REMOVE(store_ov_tree, &ov->root, e);
        swing_mfree(e);
    }
    store_overlay_init(ov);
}

static void drop_entry(store_overlay *ov, store_ov_entry *e)
{
    RB_REMOVE(store_ov_tree, &ov->root, e);
    ov->count--;
    ov->bytes -= (size_t)e->klen + e->vlen;
}

static void add_entry(store_overlay *ov, store_ov_entry *e)
{
    store_ov_entry *old = RB_INSERT(store_ov_tree, &ov->root, e);
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
        old = RB_INSERT(store_ov_tree, &ov->root, e);
        SWING_ASSERT(old == NULL);
    }
    ov->count++;
    ov->bytes += (size_t)e->klen + e->vlen;
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
    store_ov_entry *old = RB_INSERT(store_ov_tree, &ov->root, e);
    if (old) return old;
    ov->count++;
    ov->bytes += (size_t)e->klen + e->vlen;
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
    store_ov_entry *e = RB_ROOT(&ov->root);
    while (e) {
        int c = swing_bytes_cmp(key, store_ov_key(e));
        if (c == 0) return e;
        e = c < 0 ? RB_LEFT(e, link) : RB_RIGHT(e, link);
    }
    return NULL;
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
    if (dst->count == 0) { /* nothing to merge into: take the tree, O(1) */
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
