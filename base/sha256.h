/*
 * sha256.h - SHA-256 over GNU Nettle (stack context, no allocation, uses the
 * CPU's SHA instructions where present), plus the lowercase hex form that
 * every hash in state and export data uses.
 */
#ifndef LIBSWING_BASE_SHA256_H
#define LIBSWING_BASE_SHA256_H

#include <nettle/sha2.h>
#include <stddef.h>
#include <stdint.h>

#define SWING_SHA256_HEX_LEN 64

typedef struct sha256_ctx swing_sha256;

void swing_sha256_init(swing_sha256 *h);
void swing_sha256_update(swing_sha256 *h, const void *p, size_t n);
/* Writes the digest as NUL-terminated lowercase hex and resets h. */
void swing_sha256_final_hex(swing_sha256 *h, char hex[SWING_SHA256_HEX_LEN + 1]);

/* One-shot hash of p[0..n) as NUL-terminated lowercase hex. */
void swing_sha256_hex(const void *p, size_t n, char hex[SWING_SHA256_HEX_LEN + 1]);

#endif /* LIBSWING_BASE_SHA256_H */
