/*
 * utf8.c - UTF-8 checks, character-boundary cuts and in-place repair
 * (see utf8.h). Never allocates.
 */
#include "base/utf8.h"

size_t swing_utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t c = p[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0; /* overlong */
        if (c == 0xED) hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90; /* overlong */
        if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return len;
}

bool swing_utf8_valid(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = p[i] < 0x80 ? 1 : swing_utf8_seq(p + i, n - i);
        if (!k) return false;
        i += k;
    }
    return true;
}

size_t swing_utf8_cut(const uint8_t *p, size_t n)
{
    /* A sequence is at most 4 bytes: look back over up to 3 continuation
     * bytes for the lead byte of the last character. */
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        uint8_t c = p[n - back];
        size_t want;
        if (c < 0x80) return n;          /* ASCII: complete */
        if (c < 0xC0) continue;          /* continuation byte */
        want = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        return back < want ? n - back : n;
    }
    return n;
}

size_t swing_utf8_repair(uint8_t *p, size_t n)
{
    size_t fixed = 0;
    for (size_t i = 0; i < n;) {
        size_t k = p[i] < 0x80 ? 1 : swing_utf8_seq(p + i, n - i);
        if (!k) {
            p[i] = (uint8_t)SWING_UTF8_REPLACEMENT;
            fixed++;
            k = 1;
        }
        i += k;
    }
    return fixed;
}
