/*
 * layers.c - reads and writes through the two layers (the block overlay,
 * which holds the open crank's journaled writes too, and LevelDB) and the layered "next key" merge used by next_key,
 * transcript and bundle scans. Chunk reassembly lives in kv.c.
 */
#include "store/store_int.h"

#include "base/alloc.h"
#include "base/check.h"

static swing_status copy_value(const void *p, size_t n, swing_buf *val, swing_err *err)
{
    val->ptr = NULL;
    val->len = n;
    if (!n) return SWING_OK;
    val->ptr = swing_malloc(n + 1); /* NUL after the value: see store_get */
    if (!val->ptr) {
        val->len = 0;
        return SWING_NOMEM(err);
    }
    memcpy(val->ptr, p, n);
    val->ptr[n] = 0;
    return SWING_OK;
}

void store_layers_disk_changed(store *st)
{
    if (st->probe) leveldb_iter_destroy(st->probe); /* it reads the disk as it was */
    st->probe = NULL;
    store_seen_clear(&st->seen);
    store_readahead_clear(st);
}

/* What RAM knows of pkey's committed value, without LevelDB: seen.h's
 * answer, or absent inside a range read whole (readahead.c). */
static store_seen_state committed(const store *st, swing_bytes pkey, swing_bytes *val)
{
    store_seen_state k = store_seen_get(&st->seen, pkey, val);
    if (k == STORE_SEEN_UNKNOWN && store_readahead_covers(st, pkey)) k = STORE_SEEN_ABSENT;
    return k;
}

swing_status store_layers_disk_get(store *st, swing_bytes pkey, swing_buf *val,
                                   bool *found, swing_err *err)
{
    char *msg = NULL;
    size_t n = 0;
    swing_bytes kept;
    char *v;
    swing_status s = SWING_OK;
    store_seen_state known = committed(st, pkey, &kept);
    *found = false;
    if (known == STORE_SEEN_ABSENT) return SWING_OK;
    if (known == STORE_SEEN_PRESENT) { /* read from disk before in this block */
        *found = true;
        return val ? copy_value(kept.ptr, kept.len, val, err) : SWING_OK;
    }
    v = leveldb_get(st->db, st->ropts, (const char *)pkey.ptr, pkey.len, &n, &msg);
    if (msg) {
        swing_err_set(err, SWING_ERR_IO, "LevelDB read failed: %s", msg);
        leveldb_free(msg);
        return SWING_ERR_IO;
    }
    if (!v) {
        store_seen_put_absent(&st->seen, pkey);
        return SWING_OK;
    }
    if (val) s = copy_value(v, n, val, err);
    if (s == SWING_OK) {
        *found = true;
        store_seen_put(&st->seen, pkey, swing_bytes_of(v, n));
    }
    leveldb_free(v);
    return s;
}

store_ov_entry *store_layers_find(store *st, swing_bytes pkey)
{
    return store_overlay_find(&st->block, pkey);
}

swing_status store_layers_copy(const store_ov_entry *e, swing_buf *val, bool *found, swing_err *err)
{
    swing_status s;
    *found = false;
    if (e->tomb) return SWING_OK;
    if (val && (s = copy_value(e->data + e->klen, e->vlen, val, err))) return s;
    *found = true;
    return SWING_OK;
}

swing_status store_layers_get(store *st, swing_bytes pkey, swing_buf *val, bool *found,
                              swing_err *err)
{
    store_ov_entry *e = store_layers_find(st, pkey);
    if (e) return store_layers_copy(e, val, found, err);
    return store_layers_disk_get(st, pkey, val, found, err);
}

/* A kv write under host. or local.: never in the export-data delta. */
bool store_layers_host_only(swing_bytes pkey)
{
    size_t nl = strlen(STORE_NS_KV);
    swing_bytes key;
    if (!swing_bytes_has_prefix(pkey, swing_str(STORE_NS_KV))) return false;
    key = swing_bytes_of(pkey.ptr + nl, pkey.len - nl);
    return store_keys_class(key) != STORE_CLASS_CONSENSUS;
}

swing_status store_layers_put(store *st, swing_bytes pkey, swing_bytes val, bool tomb,
                              swing_err *err)
{
    swing_status s = st->in_crank ? store_journal_put(&st->journal, &st->block, pkey, val, tomb, err)
                                  : store_overlay_put(&st->block, pkey, val, tomb, err);
    if (s == SWING_OK) {
        st->gen++;
        if (!store_layers_host_only(pkey)) st->xgen++;
    }
    return s;
}

static void set_lo(store *st, swing_bytes lo, bool incl)
{
    st->probe_lo_set = lo.len <= sizeof st->probe_lo;
    if (!st->probe_lo_set) return;
    memcpy(st->probe_lo, lo.ptr, lo.len);
    st->probe_lo_len = lo.len;
    st->probe_lo_incl = incl;
}

/* True when the gap recorded in probe_lo covers every key the query
 * (after, inclusive) could match below the probe's position. */
static bool in_gap(const store *st, swing_bytes after, bool inclusive)
{
    int c;
    if (!st->probe_lo_set) return false;
    c = swing_bytes_cmp(after, swing_bytes_of(st->probe_lo, st->probe_lo_len));
    return c > 0 || (c == 0 && (st->probe_lo_incl || !inclusive));
}

/* Positions the cached disk iterator at the first key > after (>= if
 * inclusive) within ns; returns its key view or an empty view if none.
 * The disk changes only at commit, load or import, and each resets the
 * iterator (store_layers_disk_changed), so the gap
 * before the iterator's position stays valid until then. */
static bool disk_seek(store *st, swing_bytes ns, swing_bytes after, bool inclusive,
                      swing_bytes *key)
{
    size_t klen = 0;
    const char *k;
    if (!st->probe) {
        st->probe = leveldb_create_iterator(st->db, st->ropts);
        st->probe_lo_set = false;
    }
    if (in_gap(st, after, inclusive)) {
        int c;
        if (!leveldb_iter_valid(st->probe)) return false; /* nothing at or after lo */
        k = leveldb_iter_key(st->probe, &klen);
        c = swing_bytes_cmp(swing_bytes_of(k, klen), after);
        if (c > 0 || (c == 0 && inclusive)) {
            *key = swing_bytes_of(k, klen);
            return swing_bytes_has_prefix(*key, ns);
        }
        if (c == 0) { /* scans ask for the key after the one they just got */
            set_lo(st, after, false);
            leveldb_iter_next(st->probe);
            if (!leveldb_iter_valid(st->probe)) return false;
            k = leveldb_iter_key(st->probe, &klen);
            *key = swing_bytes_of(k, klen);
            return swing_bytes_has_prefix(*key, ns);
        }
    }
    leveldb_iter_seek(st->probe, (const char *)after.ptr, after.len);
    set_lo(st, after, true);
    if (!leveldb_iter_valid(st->probe)) return false;
    k = leveldb_iter_key(st->probe, &klen);
    if (!inclusive && swing_bytes_cmp(swing_bytes_of(k, klen), after) == 0) {
        set_lo(st, after, false);
        leveldb_iter_next(st->probe);
        if (!leveldb_iter_valid(st->probe)) return false;
        k = leveldb_iter_key(st->probe, &klen);
    }
    *key = swing_bytes_of(k, klen);
    return swing_bytes_has_prefix(*key, ns);
}

static bool ov_seek(const store_overlay *ov, swing_bytes ns, swing_bytes after,
                    bool inclusive, store_ov_entry **out)
{
    store_ov_entry *e = store_overlay_seek(ov, after, inclusive);
    *out = e;
    return e && swing_bytes_has_prefix(store_ov_key(e), ns);
}

static swing_status copy_key(swing_buf *out, swing_bytes k, swing_err *err)
{
    out->ptr = swing_malloc(k.len);
    if (!out->ptr) return SWING_NOMEM(err);
    memcpy(out->ptr, k.ptr, k.len);
    out->len = k.len;
    return SWING_OK;
}

swing_status store_layers_next(store *st, swing_bytes ns, swing_bytes after,
                               bool inclusive, swing_buf *out, bool *found,
                               swing_err *err)
{
    bool with_chunks = swing_bytes_has_prefix(ns, swing_str(STORE_NS_KV));
    uint8_t cur_buf[STORE_PKEY_MAX];
    swing_bytes cur = after;
    store_ov_entry *after_tomb = NULL; /* the block entry after the tombstone just passed */
    bool stepped = false;
    *found = false;
    out->ptr = NULL;
    out->len = 0;
    if (swing_bytes_cmp(cur, ns) < 0) {
        cur = ns;
        inclusive = true;
    }
    for (;;) {
        store_ov_entry *be = NULL, *xe = NULL;
        swing_bytes dk = {0}, best = {0};
        bool have = false, has_b, has_d, has_x;
        store_ov_entry *top;
        if (stepped) { /* past a block tombstone: its successor, without a seek */
            be = after_tomb;
            has_b = be && swing_bytes_has_prefix(store_ov_key(be), ns);
        } else {
            has_b = ov_seek(&st->block, ns, cur, inclusive, &be);
        }
        has_d = disk_seek(st, ns, cur, inclusive, &dk);
        has_x = with_chunks && ov_seek(&st->chunks, ns, cur, inclusive, &xe);
#define CONSIDER(flag, k)                                        \
    if ((flag) && (!have || swing_bytes_cmp((k), best) < 0)) { \
        best = (k);                                              \
        have = true;                                             \
    }
        CONSIDER(has_b, has_b ? store_ov_key(be) : best)
        CONSIDER(has_d, dk)
        CONSIDER(has_x, has_x ? store_ov_key(xe) : best)
#undef CONSIDER
        if (!have) return SWING_OK;
        top = NULL;
        if (has_b && swing_bytes_cmp(store_ov_key(be), best) == 0) top = be;
        /* The disk probe stands past a block key it does not hold: the key
         * is absent on disk (and not chunked), which lets commit drop its
         * tombstone. Disk changes only at commit, so the fact holds. */
        if (top && !(has_d && swing_bytes_cmp(dk, best) == 0) &&
            !(has_x && swing_bytes_cmp(store_ov_key(xe), best) == 0) &&
            (with_chunks || !swing_bytes_has_prefix(best, swing_str(STORE_NS_KV))))
            top->absent = true;
        if (!top || !top->tomb) {
            *found = true;
            return copy_key(out, best, err);
        }
        /* Deleted in an overlay: continue strictly after it. */
        if (SWING_NEVER(best.len > sizeof cur_buf))
            return swing_err_set(err, SWING_ERR_INTERNAL, "overlay key too long");
        memcpy(cur_buf, best.ptr, best.len);
        cur = swing_bytes_of(cur_buf, best.len);
        inclusive = false;
        after_tomb = store_overlay_next(top); /* nothing writes between the steps */
        stepped = true;
    }
}
