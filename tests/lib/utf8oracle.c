/*
 * utf8oracle.c - decodes each code point and checks it (see utf8oracle.h).
 */
#include "tests/lib/utf8oracle.h"

bool oracle_utf8_valid(const char *s, size_t n)
{
    static const unsigned long least[5] = {0, 0, 0x80, 0x800, 0x10000}; /* no overlongs */
    size_t i = 0;
    while (i < n) {
        unsigned c = (unsigned char)s[i];
        unsigned long cp;
        size_t len;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
        else return false;
        if (n - i < len) return false;
        for (size_t k = 1; k < len; k++) {
            unsigned d = (unsigned char)s[i + k];
            if ((d & 0xC0) != 0x80) return false;
            cp = cp << 6 | (d & 0x3F);
        }
        if (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}
