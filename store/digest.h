/*
 * digest.h - the state digest: a lattice (LtHash-style) multiset hash over
 * the export data (DESIGN.md §4, docs/store.md "State digest"), updated per
 * commit from the block's export-data changes and bound into the committed
 * activity hash, so that an import can prove its data is the state at a
 * height.
 *
 * The digest of a set of entries is the lane-wise sum, mod 2^16, of one
 * vector of STORE_DIGEST_LANES 16-bit lanes per entry:
 *   seed(k, v)  = SHA-256("libswing lthash16 v1\n" || u32be(|k|) || k
 *                         || u32be(|v|) || v)
 *   vector(k,v) = AES-256-CTR keystream, key = seed, initial counter block
 *                 all zero, incremented as a 128-bit big-endian integer
 *                 (NIST SP 800-38A), 2048 bytes read as 1024 lanes u16le
 * Adding an entry adds its vector, removing it subtracts it, so the digest
 * depends on the set only, not on the order of changes. The empty set is
 * all zero. Encoded form: the 1024 lanes as u16le (2048 bytes); the digest
 * hash is SHA-256 of that encoding, as lowercase hex.
 */
#ifndef LIBSWING_STORE_DIGEST_H
#define LIBSWING_STORE_DIGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/sha256.h"

#define STORE_DIGEST_LANES 1024u
#define STORE_DIGEST_BYTES (2u * STORE_DIGEST_LANES)

typedef struct store_digest {
    uint16_t lane[STORE_DIGEST_LANES]; /* sum of entry vectors, mod 2^16 */
} store_digest;

/* The digest of the empty set. */
void store_digest_init(store_digest *d);

/* Adds / removes the entry (key, value). Removing an entry that was never
 * added leaves a digest no real set has: callers remove only what they
 * know is present (its old value). */
void store_digest_add(store_digest *d, swing_bytes key, swing_bytes value);
void store_digest_remove(store_digest *d, swing_bytes key, swing_bytes value);

bool store_digest_equal(const store_digest *a, const store_digest *b);

/* 2048-byte encoding (lanes u16le) and back; decode is false on a bad length. */
void store_digest_encode(const store_digest *d, uint8_t out[STORE_DIGEST_BYTES]);
bool store_digest_decode(swing_bytes enc, store_digest *d);

/* SHA-256 of the encoding, as lowercase hex. */
void store_digest_hex(const store_digest *d, char hex[SWING_SHA256_HEX_LEN + 1]);

/* The committed activity hash of a height, which binds the crank chain
 * (the "activityhash" value, "" if no crank ever ran) and the state digest:
 *   SHA256("libswing block\n" || decimal(height) || "\n" || chain || "\n"
 *          || store_digest_hex(d) || "\n"), as lowercase hex. */
void store_digest_activity_hash(uint64_t height, const char *chain, const store_digest *d,
                                char out[SWING_SHA256_HEX_LEN + 1]);

#endif /* LIBSWING_STORE_DIGEST_H */
