/*
 * overlay.c - one in-memory ordered layer of the store (see overlay.h):
 * entries, their counts and bytes, and rewrites; the order is ovtree.c's.
 */
#include "store/overlay.h"

#include "base/alloc.h"
#include "base/check.h"

void store_overlay_init(store_overlay *ov)
{
    store_ovtree_init(&ov->tree);
    ov->count = 0;
    ov->bytes = 0;
}

void store_overlay_clear(store_overlay *ov)
{
    store_ovtree_clear(&ov->tree);
    store_overlay_init(ov);
}

static void account(store_overlay *ov, const store_ov_entry *e, bool in)
{
    size_t b = (size_t)e->klen + e->vlen;
    if (in) {
        ov->count++;
        ov->bytes += b;
    } else {
        ov->count--;
        ov->bytes -= b;
    }
}

/* e replaces old (same key) in the overlay; old is freed. */
static void rewrite(store_overlay *ov, store_ov_entry *old, store_ov_entry *e)
{
    if (old->vlen == e->vlen) {
        /* Same-size rewrite (refcounts, flags): in place. */
        old->tomb = e->tomb;
        old->mark = e->mark;
        if (e->vlen) memcpy(old->data + old->klen, e->data + e->klen, e->vlen);
        swing_mfree(e);
        return;
    }
    e->absent = old->absent;
    store_overlay_swap(ov, old, e);
    swing_mfree(old);
}

static swing_status add_entry(store_overlay *ov, store_ov_entry *e, swing_err *err)
{
    store_ov_entry *old;
    swing_status s = store_ovtree_insert(&ov->tree, e, &old, err);
    if (s) return s;
    if (old) rewrite(ov, old, e);
    else account(ov, e, true);
    return SWING_OK;
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
    e->leaf = NULL;
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

swing_status store_overlay_attach(store_overlay *ov, store_ov_entry *e, store_ov_entry **existing,
                                  swing_err *err)
{
    swing_status s = store_ovtree_insert(&ov->tree, e, existing, err);
    if (s == SWING_OK && !*existing) account(ov, e, true);
    return s;
}

void store_overlay_detach(store_overlay *ov, store_ov_entry *e)
{
    store_ovtree_remove(&ov->tree, e);
    account(ov, e, false);
}

void store_overlay_swap(store_overlay *ov, store_ov_entry *old, store_ov_entry *e)
{
    store_ovtree_replace(old, e);
    account(ov, old, false);
    account(ov, e, true);
}

swing_status store_overlay_put(store_overlay *ov, swing_bytes key, swing_bytes val,
                               bool tomb, swing_err *err)
{
    store_ov_entry *e;
    swing_status s = store_overlay_entry_new(key, val, tomb, &e, err);
    if (s) return s;
    if ((s = add_entry(ov, e, err))) swing_mfree(e);
    return s;
}

bool store_overlay_remove(store_overlay *ov, swing_bytes key)
{
    store_ov_entry *e = store_overlay_find(ov, key);
    if (!e) return false;
    store_overlay_detach(ov, e);
    swing_mfree(e);
    return true;
}

store_ov_entry *store_overlay_find(const store_overlay *ov, swing_bytes key)
{
    return store_ovtree_find(&ov->tree, key);
}

store_ov_entry *store_overlay_seek(const store_overlay *ov, swing_bytes key, bool inclusive)
{
    return store_ovtree_seek(&ov->tree, key, inclusive);
}

store_ov_entry *store_overlay_first(const store_overlay *ov) { return store_ovtree_first(&ov->tree); }

store_ov_entry *store_overlay_next(store_ov_entry *e) { return store_ovtree_next(e); }

swing_status store_overlay_merge(store_overlay *dst, store_overlay *src, swing_err *err)
{
    store_ov_entry *e;
    if (dst->count == 0) { /* nothing to merge into: take the tree, O(1) */
        store_ovtree_clear(&dst->tree);
        *dst = *src;
        store_overlay_init(src);
        return SWING_OK;
    }
    while ((e = store_overlay_first(src))) { /* a copy goes in first: a failure moves nothing more */
        store_ov_entry *copy;
        swing_status s = store_overlay_entry_new(store_ov_key(e), store_ov_val(e), e->tomb, &copy, err);
        if (s) return s;
        copy->absent = e->absent;
        copy->mark = e->mark;
        if ((s = add_entry(dst, copy, err))) {
            swing_mfree(copy);
            return s;
        }
        store_overlay_detach(src, e);
        swing_mfree(e);
    }
    SWING_ASSERT(src->count == 0);
    return SWING_OK;
}
