/*
 * chunk.c - the chunked-value scheme of keys.h: header text, the in-memory
 * index of which kv keys are chunked on disk (loaded at open from kvh.*,
 * updated at commit), so that writes never read LevelDB to learn a key's
 * stored shape.
 */
#include "store/store_int.h"

#include <inttypes.h>
#include <stdio.h>

#include "base/alloc.h"

void store_chunk_encode_info(const store_chunk_info *info, uint8_t out[12])
{
    for (int i = 0; i < 4; i++) out[i] = (uint8_t)(info->chunks >> (8 * i));
    for (int i = 0; i < 8; i++) out[4 + i] = (uint8_t)(info->size >> (8 * i));
}

bool store_chunk_decode_info(swing_bytes v, store_chunk_info *info)
{
    if (v.len != 12) return false;
    info->chunks = 0;
    info->size = 0;
    for (int i = 0; i < 4; i++) info->chunks |= (uint32_t)v.ptr[i] << (8 * i);
    for (int i = 0; i < 8; i++) info->size |= (uint64_t)v.ptr[4 + i] << (8 * i);
    return true;
}

bool store_chunk_lookup(const store *st, swing_bytes pkey, store_chunk_info *info)
{
    store_ov_entry *e = store_overlay_find(&st->chunks, pkey);
    return e && store_chunk_decode_info(store_ov_val(e), info);
}

size_t store_chunk_header(const store_chunk_info *info, char *out, size_t cap)
{
    int n = snprintf(out, cap, "{\"chunks\":%" PRIu32 ",\"size\":%" PRIu64 "}", info->chunks,
                     info->size);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

bool store_chunk_parse_header(swing_bytes v, store_chunk_info *info)
{
    char text[96], again[96];
    unsigned long long size;
    unsigned chunks;
    int used = -1;
    uint64_t want;
    if (v.len == 0 || v.len >= sizeof text) return false;
    memcpy(text, v.ptr, v.len);
    text[v.len] = '\0';
    if (sscanf(text, "{\"chunks\":%u,\"size\":%llu}%n", &chunks, &size, &used) != 2) return false;
    if (used != (int)v.len) return false;
    info->chunks = chunks;
    info->size = size;
    /* Canonical form only (no leading zeros or signs), and consistent sizes. */
    if (store_chunk_header(info, again, sizeof again) != v.len) return false;
    if (memcmp(again, text, v.len) != 0) return false;
    if (size <= STORE_CHUNK_SIZE || size > STORE_VALUE_MAX) return false;
    want = (size + STORE_CHUNK_SIZE - 1) / STORE_CHUNK_SIZE;
    return want == chunks;
}

swing_status store_chunk_index_load(store *st, swing_err *err)
{
    leveldb_iterator_t *it = leveldb_create_iterator(st->db, st->ropts);
    const size_t nslen = strlen(STORE_NS_KVH);
    swing_status s = SWING_OK;
    leveldb_iter_seek(it, STORE_NS_KVH, nslen);
    for (; leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kl, vl;
        const char *k = leveldb_iter_key(it, &kl);
        const char *v = leveldb_iter_value(it, &vl);
        store_chunk_info info;
        uint8_t enc[12], pk[STORE_PKEY_MAX];
        size_t pl;
        if (kl < nslen || memcmp(k, STORE_NS_KVH, nslen) != 0) break;
        if (!store_chunk_parse_header(swing_bytes_of(v, vl), &info)) {
            s = SWING_CORRUPT(err, "bad chunk header at %.*s", (int)(kl > 200 ? 200 : kl), k);
            break;
        }
        pl = store_keys_join(pk, sizeof pk, STORE_NS_KV, swing_bytes_of(k + nslen, kl - nslen));
        if (pl == 0) {
            s = SWING_CORRUPT(err, "chunk header key too long");
            break;
        }
        store_chunk_encode_info(&info, enc);
        s = store_overlay_put(&st->chunks, swing_bytes_of(pk, pl), swing_bytes_of(enc, 12),
                              false, err);
        if (s) break;
    }
    leveldb_iter_destroy(it);
    return s;
}
