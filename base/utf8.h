/*
 * utf8.h - UTF-8 well-formedness (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), cutting text at character boundaries, and
 * length-preserving repair. Used where text leaves the library (the ABI's
 * protobuf string fields, error records). Pure functions, no state.
 */
#ifndef LIBSWING_BASE_UTF8_H
#define LIBSWING_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The character that replaces each byte of an ill-formed sequence: ASCII,
 * so a repair never changes a length (and never needs memory). */
#define SWING_UTF8_REPLACEMENT '?'

/* Length (1-4) of the well-formed sequence at p (n > 0 bytes left), or 0
 * when the bytes there do not start one. */
size_t swing_utf8_seq(const uint8_t *p, size_t n);

/* Whether the n bytes at p are well-formed UTF-8 (NUL is allowed). */
bool swing_utf8_valid(const uint8_t *p, size_t n);

/* The length of p[0..n) without a trailing incomplete sequence (a lead byte
 * followed by fewer continuation bytes than it announces): where to end
 * text that a byte count cut blindly, so that no character is split. To cut
 * text to at most max bytes, take swing_utf8_cut(p, max). */
size_t swing_utf8_cut(const uint8_t *p, size_t n);

/* Replaces, in place, every byte of p[0..n) that is not part of a
 * well-formed sequence with SWING_UTF8_REPLACEMENT; returns how many. */
size_t swing_utf8_repair(uint8_t *p, size_t n);

#endif /* LIBSWING_BASE_UTF8_H */
