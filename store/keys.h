/*
 * keys.h - the store's physical key schema (one namespace per concern).
 *
 * Every LevelDB key of a store, and every export-data key (which are the
 * same names), has one of these forms. <key> is a logical kv key (any bytes,
 * at most STORE_KEY_MAX), <vat> a vat ID ([A-Za-z0-9_-]{1,64}), <pos> and
 * <start> positions as 20-digit zero-padded decimal (so byte order is
 * numeric order), <i> a chunk index as 8 lowercase hex digits.
 *
 *   key                        value                         exported
 *   meta.format                "libswing-store-1"            no
 *   meta.digest                state digest (digest.h)       no (derived)
 *   meta.import                "incomplete" while an import   no
 *                              writes (store_open refuses it)
 *   kv.<key>                   value (<= 16 KiB)             if consensus
 *   kvh.<key>                  {"chunks":N,"size":L}         if consensus
 *   kvc.<key>.<i>              bytes [i*16K, (i+1)*16K)      if consensus
 *   transcript.<vat>.current   span JSON (below)             yes
 *   transcript.<vat>.<start>   span JSON of a closed span    yes
 *   titem.<vat>.<pos>          transcript item bytes         no (artifact)
 *   bundle.<id>                bundle bytes                  yes, value = id
 *
 * Chunking: a kv value longer than STORE_CHUNK_SIZE is stored as a header
 * kvh.<key> plus N = ceil(L / 16K) chunks, and kv.<key> is absent; a value
 * of at most 16 KiB is kv.<key> alone. A key is never in both forms. The
 * chunk key is parsed from its end (fixed ".<8 hex>" suffix), so it is
 * unambiguous whatever bytes <key> holds. The overlays hold whole logical
 * values under kv.<key>; chunking happens at commit, and reads reassemble.
 *
 * Span JSON (canonical: sorted keys, no whitespace):
 *   {"endPos":E,"hash":"<hex>","incarnation":I,"startPos":S,"vatID":"<vat>"}
 */
#ifndef LIBSWING_STORE_KEYS_H
#define LIBSWING_STORE_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/bytes.h"

#define STORE_FORMAT "libswing-store-1"
#define STORE_KEY_FORMAT "meta.format"
#define STORE_KEY_DIGEST "meta.digest"
#define STORE_KEY_IMPORT "meta.import"
#define STORE_NS_KV "kv."
#define STORE_NS_KVH "kvh."
#define STORE_NS_KVC "kvc."
#define STORE_NS_SPAN "transcript."
#define STORE_NS_ITEM "titem."
#define STORE_NS_BUNDLE "bundle."
#define STORE_KEY_HEIGHT "host.height"
#define STORE_KEY_ACTIVITY "activityhash"
#define STORE_CHUNK_SUFFIX_LEN 9 /* ".<8 hex>" */

typedef enum store_key_class {
    STORE_CLASS_CONSENSUS = 0, /* hashed and exported */
    STORE_CLASS_LOCAL = 1,     /* "local.*": node-local */
    STORE_CLASS_HOST = 2       /* "host.*": host-owned */
} store_key_class;

store_key_class store_keys_class(swing_bytes key);

/* True for [A-Za-z0-9_-]{1,STORE_VAT_ID_MAX}. */
bool store_keys_vat_valid(const char *vat);

/* Builds prefix + body into buf (size cap); returns the length, or 0 if it
 * does not fit. */
size_t store_keys_join(uint8_t *buf, size_t cap, const char *prefix, swing_bytes body);

/* Writes the 20-digit zero-padded decimal form of v plus NUL (21 bytes). */
void store_keys_pos(char out[21], uint64_t v);

/* Parses 1 to 20 decimal digits (leading zeros allowed), overflow-checked. */
bool store_keys_parse_u64(const uint8_t *p, size_t n, uint64_t *v);

/* Parses exactly 20 decimal digits; false on anything else. */
bool store_keys_parse_pos(const uint8_t *p, size_t n, uint64_t *v);

/* Parses a chunk key body "<key>.<8 hex>" (the part after "kvc."). */
bool store_keys_parse_chunk(swing_bytes body, swing_bytes *key, uint32_t *index);

/* True if the physical entry (key, stored value) is export data; *exp is
 * then its export-data value: the stored value, or for bundle.<id> the ID
 * (the bytes travel as an artifact). A view into key or value. */
bool store_keys_exported(swing_bytes key, swing_bytes value, swing_bytes *exp);

#endif /* LIBSWING_STORE_KEYS_H */
