/*
 * sha256.c - SHA-256 helpers over Nettle (see sha256.h).
 */
#include "base/sha256.h"

#include <nettle/base16.h>

void swing_sha256_init(swing_sha256 *h) { sha256_init(h); }

void swing_sha256_update(swing_sha256 *h, const void *p, size_t n)
{
    if (n) sha256_update(h, n, p);
}

void swing_sha256_final_hex(swing_sha256 *h, char hex[SWING_SHA256_HEX_LEN + 1])
{
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(h, sizeof d, d);
    base16_encode_update(hex, sizeof d, d);
    hex[SWING_SHA256_HEX_LEN] = '\0';
}

void swing_sha256_hex(const void *p, size_t n, char hex[SWING_SHA256_HEX_LEN + 1])
{
    swing_sha256 h;
    swing_sha256_init(&h);
    swing_sha256_update(&h, p, n);
    swing_sha256_final_hex(&h, hex);
}
