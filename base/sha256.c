/*
 * sha256.c - SHA-256 helpers over libsodium (see sha256.h).
 */
#include "base/sha256.h"

void swing_sha256_init(swing_sha256 *h) { crypto_hash_sha256_init(h); }

void swing_sha256_update(swing_sha256 *h, const void *p, size_t n)
{
    if (n) crypto_hash_sha256_update(h, p, n);
}

void swing_sha256_final_hex(swing_sha256 *h, char hex[SWING_SHA256_HEX_LEN + 1])
{
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(h, d);
    sodium_bin2hex(hex, SWING_SHA256_HEX_LEN + 1, d, sizeof d);
}

void swing_sha256_hex(const void *p, size_t n, char hex[SWING_SHA256_HEX_LEN + 1])
{
    swing_sha256 h;
    swing_sha256_init(&h);
    swing_sha256_update(&h, p, n);
    swing_sha256_final_hex(&h, hex);
}
