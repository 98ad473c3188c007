/*
 * keys.c - key classes and physical key construction (schema in keys.h).
 */
#include "store/keys.h"

#include <stdio.h>
#include <string.h>

#include "store/store.h"

store_key_class store_keys_class(swing_bytes key)
{
    if (swing_bytes_has_prefix(key, swing_str("local."))) return STORE_CLASS_LOCAL;
    if (swing_bytes_has_prefix(key, swing_str("host."))) return STORE_CLASS_HOST;
    return STORE_CLASS_CONSENSUS;
}

bool store_keys_vat_valid(const char *vat)
{
    size_t n = 0;
    if (!vat) return false;
    for (; vat[n]; n++) {
        char c = vat[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok || n >= STORE_VAT_ID_MAX) return false;
    }
    return n > 0;
}

size_t store_keys_join(uint8_t *buf, size_t cap, const char *prefix, swing_bytes body)
{
    size_t pl = strlen(prefix);
    if (pl + body.len > cap) return 0;
    memcpy(buf, prefix, pl);
    if (body.len) memcpy(buf + pl, body.ptr, body.len);
    return pl + body.len;
}

void store_keys_pos(char out[21], uint64_t v)
{
    snprintf(out, 21, "%020llu", (unsigned long long)v);
}

bool store_keys_parse_u64(const uint8_t *p, size_t n, uint64_t *v)
{
    uint64_t r = 0;
    if (n == 0 || n > 20) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned d;
        if (p[i] < '0' || p[i] > '9') return false;
        d = (unsigned)(p[i] - '0');
        if (r > (UINT64_MAX - d) / 10) return false;
        r = r * 10 + d;
    }
    *v = r;
    return true;
}

bool store_keys_parse_pos(const uint8_t *p, size_t n, uint64_t *v)
{
    return n == 20 && store_keys_parse_u64(p, n, v);
}

bool store_keys_parse_chunk(swing_bytes body, swing_bytes *key, uint32_t *index)
{
    uint32_t r = 0;
    const uint8_t *s;
    if (body.len < STORE_CHUNK_SUFFIX_LEN) return false;
    s = body.ptr + body.len - STORE_CHUNK_SUFFIX_LEN;
    if (s[0] != '.') return false;
    for (int i = 1; i < STORE_CHUNK_SUFFIX_LEN; i++) {
        uint8_t c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
        else return false;
        r = (r << 4) | d;
    }
    *key = swing_bytes_of(body.ptr, body.len - STORE_CHUNK_SUFFIX_LEN);
    *index = r;
    return true;
}

static bool consensus_body(swing_bytes key, const char *ns)
{
    size_t n = strlen(ns);
    return store_keys_class(swing_bytes_of(key.ptr + n, key.len - n)) == STORE_CLASS_CONSENSUS;
}

bool store_keys_exported(swing_bytes key, swing_bytes value, swing_bytes *exp)
{
    swing_bytes body, logical;
    uint32_t idx;
    *exp = value;
    if (swing_bytes_has_prefix(key, swing_str(STORE_NS_BUNDLE))) {
        size_t n = strlen(STORE_NS_BUNDLE);
        *exp = swing_bytes_of(key.ptr + n, key.len - n);
        return true;
    }
    if (swing_bytes_has_prefix(key, swing_str(STORE_NS_SPAN))) return true;
    if (swing_bytes_has_prefix(key, swing_str(STORE_NS_KV))) return consensus_body(key, STORE_NS_KV);
    if (swing_bytes_has_prefix(key, swing_str(STORE_NS_KVH))) return consensus_body(key, STORE_NS_KVH);
    if (swing_bytes_has_prefix(key, swing_str(STORE_NS_KVC))) {
        size_t n = strlen(STORE_NS_KVC);
        body = swing_bytes_of(key.ptr + n, key.len - n);
        return store_keys_parse_chunk(body, &logical, &idx) &&
               store_keys_class(logical) == STORE_CLASS_CONSENSUS;
    }
    return false;
}
