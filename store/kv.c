/*
 * kv.c - the logical kv API: get/set/delete/next_key/prefix iteration over
 * the kv.<key> namespace, key classes, the crank hash feed, and reassembly
 * of chunked values from disk (scheme in keys.h).
 */
#include "store/store_int.h"

#include <stdio.h>

#include "base/alloc.h"

struct store_iter {
    store *st;          /* the store iterated; must outlive the iterator */
    uint64_t gen;       /* store generation at creation */
    swing_buf prefix;   /* physical prefix kv.<prefix> */
    swing_buf cur;      /* physical key of the current entry */
    swing_buf val;      /* value of the current entry */
    bool started;       /* cur is meaningful */
};

static swing_status check_key(swing_bytes key, swing_err *err)
{
    if (key.len == 0) return swing_err_set(err, SWING_ERR_INVALID, "empty kv key");
    if (key.len > STORE_KEY_MAX)
        return swing_err_set(err, SWING_ERR_INVALID, "kv key of %zu bytes exceeds %u", key.len,
                             STORE_KEY_MAX);
    return SWING_OK;
}

static size_t kv_pkey(uint8_t *pk, swing_bytes key)
{
    return store_keys_join(pk, STORE_PKEY_MAX, STORE_NS_KV, key);
}

static void chunk_key(uint8_t *pk, size_t *pl, swing_bytes key, uint32_t i)
{
    char suffix[STORE_CHUNK_SUFFIX_LEN + 1];
    snprintf(suffix, sizeof suffix, ".%08x", (unsigned)i);
    *pl = store_keys_join(pk, STORE_PKEY_MAX, STORE_NS_KVC, key);
    memcpy(pk + *pl, suffix, STORE_CHUNK_SUFFIX_LEN);
    *pl += STORE_CHUNK_SUFFIX_LEN;
}

static swing_status read_chunks(store *st, swing_bytes key, const store_chunk_info *info,
                                swing_buf *val, swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX];
    uint8_t *out = swing_malloc(info->size + 1); /* NUL after: see store_get */
    uint64_t off = 0;
    if (!out) return SWING_NOMEM(err);
    for (uint32_t i = 0; i < info->chunks; i++) {
        swing_buf c = {0};
        bool found;
        size_t pl;
        uint64_t want = info->size - off < STORE_CHUNK_SIZE ? info->size - off : STORE_CHUNK_SIZE;
        swing_status s;
        chunk_key(pk, &pl, key, i);
        s = store_layers_disk_get(st, swing_bytes_of(pk, pl), &c, &found, err);
        if (s == SWING_OK && (!found || c.len != want))
            s = SWING_CORRUPT(err, "chunk %u of a %llu-byte value is %s", (unsigned)i,
                              (unsigned long long)info->size, found ? "the wrong size" : "missing");
        if (s) {
            swing_buf_free(&c);
            swing_mfree(out);
            return s;
        }
        memcpy(out + off, c.ptr, c.len);
        off += c.len;
        swing_buf_free(&c);
    }
    out[off] = 0;
    val->ptr = out;
    val->len = info->size;
    return SWING_OK;
}

swing_status store_kv_disk_get(store *st, swing_bytes key, swing_buf *val, bool *found,
                               swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX];
    size_t pl = kv_pkey(pk, key);
    store_chunk_info info;
    *found = false;
    if (store_chunk_lookup(st, swing_bytes_of(pk, pl), &info)) {
        swing_status s = val ? read_chunks(st, key, &info, val, err) : SWING_OK;
        if (s == SWING_OK) *found = true;
        return s;
    }
    return store_layers_disk_get(st, swing_bytes_of(pk, pl), val, found, err);
}

swing_status store_get(store *st, swing_bytes key, swing_buf *val, bool *found,
                       swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX];
    size_t pl;
    store_ov_entry *e;
    swing_status s = store_check_usable(st, err);
    *found = false;
    if (val) val->ptr = NULL, val->len = 0;
    if (s || (s = check_key(key, err))) return s;
    pl = kv_pkey(pk, key);
    e = store_layers_find(st, swing_bytes_of(pk, pl));
    if (e) return store_layers_copy(e, val, found, err);
    return store_kv_disk_get(st, key, val, found, err);
}

static swing_status check_write(store *st, swing_bytes key, store_key_class *cls,
                                swing_err *err)
{
    swing_status s = store_check_usable(st, err);
    if (s || (s = check_key(key, err))) return s;
    if (swing_bytes_cmp(key, swing_str(STORE_KEY_ACTIVITY)) == 0)
        return swing_err_set(err, SWING_ERR_INVALID, "activityhash is written by the store only");
    *cls = store_keys_class(key);
    if (*cls == STORE_CLASS_CONSENSUS && !st->in_crank)
        return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "consensus write outside a crank");
    return SWING_OK;
}

swing_status store_set(store *st, swing_bytes key, swing_bytes val, swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX];
    store_key_class cls;
    swing_status s = check_write(st, key, &cls, err);
    if (s) return s;
    if (val.len > STORE_VALUE_MAX)
        return swing_err_set(err, SWING_ERR_LIMIT, "value of %zu bytes exceeds %u", val.len,
                             STORE_VALUE_MAX);
    s = store_layers_put(st, swing_bytes_of(pk, kv_pkey(pk, key)), val, false, err);
    if (s == SWING_OK && st->observer) st->observer(st->observer_ctx, key, val.len, false);
    if (s == SWING_OK && cls == STORE_CLASS_CONSENSUS) {
        swing_sha256_update(&st->crank_hash, "add\n", 4);
        swing_sha256_update(&st->crank_hash, key.ptr, key.len);
        swing_sha256_update(&st->crank_hash, "\n", 1);
        swing_sha256_update(&st->crank_hash, val.ptr, val.len);
        swing_sha256_update(&st->crank_hash, "\n", 1);
    }
    return s;
}

swing_status store_delete(store *st, swing_bytes key, swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX];
    store_key_class cls;
    swing_status s = check_write(st, key, &cls, err);
    if (s) return s;
    s = store_layers_put(st, swing_bytes_of(pk, kv_pkey(pk, key)), swing_bytes_of(NULL, 0),
                         true, err);
    if (s == SWING_OK && st->observer) st->observer(st->observer_ctx, key, 0, true);
    if (s == SWING_OK && cls == STORE_CLASS_CONSENSUS) {
        swing_sha256_update(&st->crank_hash, "delete\n", 7);
        swing_sha256_update(&st->crank_hash, key.ptr, key.len);
        swing_sha256_update(&st->crank_hash, "\n", 1);
    }
    return s;
}

swing_status store_next_key_in(store *st, swing_bytes key, swing_bytes prefix, swing_buf *next,
                               bool *found, swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX], ns[STORE_PKEY_MAX + 1];
    swing_buf raw = {0};
    size_t nslen = strlen(STORE_NS_KV), pl;
    swing_status s = store_check_usable(st, err);
    *found = false;
    next->ptr = NULL;
    next->len = 0;
    if (s) return s;
    if (key.len > STORE_KEY_MAX || prefix.len > STORE_KEY_MAX)
        return swing_err_set(err, SWING_ERR_INVALID, "kv key too long");
    pl = kv_pkey(ns, prefix);
    s = store_layers_next(st, swing_bytes_of(ns, pl), swing_bytes_of(pk, kv_pkey(pk, key)), false, &raw, found, err);
    if (s || !*found) return s;
    memmove(raw.ptr, raw.ptr + nslen, raw.len - nslen);
    raw.len -= nslen;
    *next = raw;
    return SWING_OK;
}

swing_status store_next_key(store *st, swing_bytes key, swing_buf *next, bool *found,
                            swing_err *err)
{
    return store_next_key_in(st, key, swing_bytes_of(NULL, 0), next, found, err);
}

swing_status store_iter_create(store *st, swing_bytes prefix, store_iter **out,
                               swing_err *err)
{
    store_iter *it;
    uint8_t pk[STORE_PKEY_MAX];
    size_t pl;
    swing_status s = store_check_usable(st, err);
    *out = NULL;
    if (s) return s;
    if (prefix.len > STORE_KEY_MAX) return swing_err_set(err, SWING_ERR_INVALID, "prefix too long");
    it = swing_calloc(1, sizeof *it);
    if (!it) return SWING_NOMEM(err);
    pl = kv_pkey(pk, prefix);
    it->prefix.ptr = swing_malloc(pl);
    if (!it->prefix.ptr) {
        swing_mfree(it);
        return SWING_NOMEM(err);
    }
    memcpy(it->prefix.ptr, pk, pl);

    it->prefix.len = pl;
    it->st = st;
    it->gen = st->gen;
    *out = it;
    return SWING_OK;
}

swing_status store_iter_seek_after(store_iter *it, swing_bytes after, swing_err *err)
{
    uint8_t pk[STORE_PKEY_MAX];
    size_t pl;
    if (it->started) return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "iterator already moved");
    if (after.len > STORE_KEY_MAX) return swing_err_set(err, SWING_ERR_INVALID, "kv key too long");
    pl = kv_pkey(pk, after);
    /* A key before the prefix changes nothing: the scan starts at the prefix anyway. */
    if (swing_bytes_cmp(swing_bytes_of(pk, pl), swing_buf_view(&it->prefix)) <= 0) return SWING_OK;
    it->cur.ptr = swing_malloc(pl);
    if (!it->cur.ptr) return SWING_NOMEM(err);
    memcpy(it->cur.ptr, pk, pl);
    it->cur.len = pl;
    it->started = true;
    return SWING_OK;
}

swing_status store_iter_next(store_iter *it, swing_bytes *key, swing_bytes *val, bool *valid,
                             swing_err *err)
{
    size_t nslen = strlen(STORE_NS_KV);
    swing_buf nk = {0};
    bool found;
    swing_status s = store_check_usable(it->st, err);
    *valid = false;
    if (s) return s;
    if (it->gen != it->st->gen)
        return swing_err_set(err, SWING_ERR_OUT_OF_ORDER, "store changed during iteration");
    s = store_layers_next(it->st, swing_buf_view(&it->prefix),
                          it->started ? swing_buf_view(&it->cur) : swing_buf_view(&it->prefix),
                          !it->started, &nk, &found, err);
    if (s) return s;
    if (!found || !swing_bytes_has_prefix(swing_buf_view(&nk), swing_buf_view(&it->prefix))) {
        swing_buf_free(&nk);
        return SWING_OK;
    }
    swing_buf_free(&it->cur);
    swing_buf_free(&it->val);
    it->cur = nk;
    it->started = true;
    s = store_get(it->st, swing_bytes_of(nk.ptr + nslen, nk.len - nslen), &it->val, &found, err);
    if (s) return s;
    if (!found) return swing_err_set(err, SWING_ERR_INTERNAL, "iterated key vanished");
    *key = swing_bytes_of(nk.ptr + nslen, nk.len - nslen);
    *val = swing_buf_view(&it->val);
    *valid = true;
    return SWING_OK;
}

void store_iter_destroy(store_iter *it)
{
    if (!it) return;
    swing_buf_free(&it->prefix);
    swing_buf_free(&it->cur);
    swing_buf_free(&it->val);
    swing_mfree(it);
}
