/*
 * digest.c - the state digest of digest.h: per-entry vectors (SHA-256 seed
 * expanded by AES-256-CTR) summed lane-wise mod 2^16, and the committed
 * activity hash that binds it. Pure functions of their inputs; no
 * allocation. AES rather than SHAKE256 for the expansion:
 * it costs about a tenth per entry with AES instructions (docs/store.md).
 */
#include "store/digest.h"

#include <inttypes.h>
#include <nettle/aes.h>
#include <stdio.h>
#include <string.h>

#define SEED_TAG "libswing lthash16 v1\n"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "digest.c reads the keystream as u16le lanes in place: add a byte swap for this host"
#endif

/* The CTR counter blocks 0..127 (128-bit big-endian): encrypting them is the
 * keystream, without ctr_crypt's copying and XOR. */
typedef struct counters {
    uint8_t block[STORE_DIGEST_BYTES / AES_BLOCK_SIZE][AES_BLOCK_SIZE];
} counters;

#define BLK(i) {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (i)}
#define BLK8(i) BLK(i), BLK(i + 1), BLK(i + 2), BLK(i + 3), BLK(i + 4), BLK(i + 5), BLK(i + 6), BLK(i + 7)
static const counters CTR = {{BLK8(0), BLK8(8), BLK8(16), BLK8(24), BLK8(32), BLK8(40), BLK8(48), BLK8(56),
                              BLK8(64), BLK8(72), BLK8(80), BLK8(88), BLK8(96), BLK8(104), BLK8(112), BLK8(120)}};
#undef BLK8
#undef BLK

/* The entry's vector; lanes are u16le, so on this (little-endian) host the
 * keystream bytes are the lanes. */
static void vector(swing_bytes key, swing_bytes value, uint16_t out[STORE_DIGEST_LANES])
{
    uint8_t seed[SHA256_DIGEST_SIZE], len[4];
    struct sha256_ctx h;
    struct aes256_ctx aes;
    sha256_init(&h);
    sha256_update(&h, sizeof SEED_TAG - 1, (const uint8_t *)SEED_TAG);
    swing_put_u32be(len, (uint32_t)key.len);
    sha256_update(&h, 4, len);
    if (key.len) sha256_update(&h, key.len, key.ptr);
    swing_put_u32be(len, (uint32_t)value.len);
    sha256_update(&h, 4, len);
    if (value.len) sha256_update(&h, value.len, value.ptr);
    sha256_digest(&h, sizeof seed, seed);
    aes256_set_encrypt_key(&aes, seed);
    aes256_encrypt(&aes, STORE_DIGEST_BYTES, (uint8_t *)out, &CTR.block[0][0]);
}

void store_digest_init(store_digest *d) { memset(d, 0, sizeof *d); }

void store_digest_add(store_digest *d, swing_bytes key, swing_bytes value)
{
    uint16_t v[STORE_DIGEST_LANES];
    vector(key, value, v);
    for (size_t i = 0; i < STORE_DIGEST_LANES; i++) d->lane[i] = (uint16_t)(d->lane[i] + v[i]);
}

void store_digest_remove(store_digest *d, swing_bytes key, swing_bytes value)
{
    uint16_t v[STORE_DIGEST_LANES];
    vector(key, value, v);
    for (size_t i = 0; i < STORE_DIGEST_LANES; i++) d->lane[i] = (uint16_t)(d->lane[i] - v[i]);
}

bool store_digest_equal(const store_digest *a, const store_digest *b)
{
    return memcmp(a->lane, b->lane, sizeof a->lane) == 0;
}

void store_digest_encode(const store_digest *d, uint8_t out[STORE_DIGEST_BYTES])
{
    for (size_t i = 0; i < STORE_DIGEST_LANES; i++) {
        out[2 * i] = (uint8_t)d->lane[i];
        out[2 * i + 1] = (uint8_t)(d->lane[i] >> 8);
    }
}

bool store_digest_decode(swing_bytes enc, store_digest *d)
{
    if (enc.len != STORE_DIGEST_BYTES) return false;
    for (size_t i = 0; i < STORE_DIGEST_LANES; i++)
        d->lane[i] = (uint16_t)(enc.ptr[2 * i] | (enc.ptr[2 * i + 1] << 8));
    return true;
}

void store_digest_hex(const store_digest *d, char hex[SWING_SHA256_HEX_LEN + 1])
{
    uint8_t enc[STORE_DIGEST_BYTES];
    store_digest_encode(d, enc);
    swing_sha256_hex(enc, sizeof enc, hex);
}

void store_digest_activity_hash(uint64_t height, const char *chain, const store_digest *d,
                                char out[SWING_SHA256_HEX_LEN + 1])
{
    char dh[SWING_SHA256_HEX_LEN + 1], hb[24];
    swing_sha256 h;
    int n = snprintf(hb, sizeof hb, "%" PRIu64, height);
    store_digest_hex(d, dh);
    swing_sha256_init(&h);
    swing_sha256_update(&h, "libswing block\n", 15);
    swing_sha256_update(&h, hb, (size_t)n);
    swing_sha256_update(&h, "\n", 1);
    swing_sha256_update(&h, chain, strlen(chain));
    swing_sha256_update(&h, "\n", 1);
    swing_sha256_update(&h, dh, SWING_SHA256_HEX_LEN);
    swing_sha256_update(&h, "\n", 1);
    swing_sha256_final_hex(&h, out);
}
