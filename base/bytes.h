/*
 * bytes.h - byte views and owned buffers.
 *
 * swing_bytes is borrowed (valid for the call only unless a comment says
 * otherwise); swing_buf is owned and released with swing_buf_free. A NULL
 * pointer with length 0 is "empty"; absence is reported separately (found).
 */
#ifndef LIBSWING_BASE_BYTES_H
#define LIBSWING_BASE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct swing_bytes {
    const uint8_t *ptr; /* borrowed; may be NULL when len == 0 */
    size_t len;         /* bytes */
} swing_bytes;

typedef struct swing_buf {
    uint8_t *ptr; /* owned, from swing_malloc; NULL when empty */
    size_t len;   /* bytes */
} swing_buf;

static inline swing_bytes swing_bytes_of(const void *p, size_t n)
{
    swing_bytes b = {(const uint8_t *)p, n};
    return b;
}

static inline swing_bytes swing_str(const char *s)
{
    return swing_bytes_of(s, strlen(s));
}

static inline swing_bytes swing_buf_view(const swing_buf *b)
{
    return swing_bytes_of(b->ptr, b->len);
}

/* memcmp order, shorter prefix first: the one order of every sorted set.
 * Compares 8 bytes at a time inline: keys are short and share long
 * prefixes, so a library memcmp call costs more than the comparison. */
static inline int swing_bytes_cmp(swing_bytes a, swing_bytes b)
{
    size_t n = a.len < b.len ? a.len : b.len, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a.ptr + i, 8);
        memcpy(&y, b.ptr + i, 8);
        if (x != y) {
            x = __builtin_bswap64(x); /* big-endian order = byte order */
            y = __builtin_bswap64(y);
            return x < y ? -1 : 1;
        }
    }
    for (; i < n; i++)
        if (a.ptr[i] != b.ptr[i]) return a.ptr[i] < b.ptr[i] ? -1 : 1;
    return (a.len > b.len) - (a.len < b.len);
}

static inline int swing_bytes_has_prefix(swing_bytes s, swing_bytes prefix)
{
    return s.len >= prefix.len && (prefix.len == 0 || memcmp(s.ptr, prefix.ptr, prefix.len) == 0);
}

/* Big-endian u32, the length and header fields of every record format. */
static inline void swing_put_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t swing_get_u32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Frees b->ptr and resets *b to empty. Accepts NULL. */
void swing_buf_free(swing_buf *b);

#endif /* LIBSWING_BASE_BYTES_H */
