/*
 * keyenc.h - the order-preserving encoding of collection keys (issue 14,
 * reference/vom-collections.md §4.2, endo's "legacyOrdered" passable
 * encoding): a scalar key becomes a byte string whose bytewise order (the
 * store's) is the key order, so a store's iteration order is a pure
 * function of its keys. Part of the vatstore layout: changing it changes
 * consensus state.
 *
 *   null       "v"
 *   undefined  "z"                  (Lua nil as a key is refused by the caller)
 *   boolean    "bfalse" / "btrue"
 *   number     "f" + 16 lowercase hex digits of the IEEE-754 double's bits:
 *              negative numbers with every bit flipped, others with the sign
 *              bit flipped; -0 is 0; every NaN is 0x7ff8000000000000 (last)
 *   string     "s" + the bytes (well-formed UTF-8 without NUL: vatstore keys
 *              are text)
 *   remotable  "r" + the ordinal the collection gave the object, 10 digits,
 *              + ":" + its vref (insertion order)
 *
 * Lua numbers are always doubles here: 1 and 1.0 are one key; an integer a
 * double cannot hold exactly is refused. Types sort by their letter
 * (b < f < r < s < v < z). An encoded key is at most KEYENC_MAX bytes.
 * Pure functions: no Lua, no store.
 */
#ifndef LIBSWING_LIVESLOTS_LUA_KEYENC_H
#define LIBSWING_LIVESLOTS_LUA_KEYENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/err.h"

#define LS_LUA_KEYENC_MAX 219              /* bytes: SwingSet's "key too large" bound (< 220) */
#define LS_LUA_KEYENC_ORDINAL_MAX 9999999999ull /* ten digits */

typedef enum ls_lua_key_type {
    LS_LUA_KEY_BOOL,
    LS_LUA_KEY_NUMBER,
    LS_LUA_KEY_REMOTABLE,
    LS_LUA_KEY_STRING,
    LS_LUA_KEY_NULL,
    LS_LUA_KEY_UNDEFINED
} ls_lua_key_type;

/* A scalar key. Views (str, vref) are borrowed. */
typedef struct ls_lua_key {
    ls_lua_key_type type;
    bool boolean;        /* BOOL */
    double number;       /* NUMBER */
    swing_bytes str;     /* STRING: the bytes; REMOTABLE: the vref */
    uint64_t ordinal;    /* REMOTABLE: 1..LS_LUA_KEYENC_ORDINAL_MAX */
} ls_lua_key;

/* Encodes k into out (LS_LUA_KEYENC_MAX + 1 bytes; NUL-terminated), *len
 * its length. INVALID for a string that is not UTF-8 text without NUL, a
 * vref that is not printable ASCII, an ordinal out of range; LIMIT "key too
 * large" past LS_LUA_KEYENC_MAX. */
swing_status ls_lua_keyenc_encode(const ls_lua_key *k, char out[LS_LUA_KEYENC_MAX + 1], size_t *len,
                                  swing_err *err);

/* The number key of a Lua integer: INVALID when no double holds it exactly. */
swing_status ls_lua_keyenc_integer(int64_t i, ls_lua_key *k, swing_err *err);

/* Decodes an encoded key (views into enc). Refuses anything
 * ls_lua_keyenc_encode would not have written (CORRUPT): a decoded key
 * encodes back to the same bytes. */
swing_status ls_lua_keyenc_decode(swing_bytes enc, ls_lua_key *k, swing_err *err);

/* The range [lo, hi) of encoded keys holding every key of one type (for
 * range scans): one-byte strings, NUL-terminated. */
void ls_lua_keyenc_cover(ls_lua_key_type type, char lo[2], char hi[2]);

#endif /* LIBSWING_LIVESLOTS_LUA_KEYENC_H */
