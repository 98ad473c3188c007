/*
 * json.c - canonical JSON numbers and strings (see json.h).
 */
#include "base/json.h"

#include "base/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t swing_json_integer(long long i, char out[SWING_JSON_NUMBER_MAX])
{
    int n = snprintf(out, SWING_JSON_NUMBER_MAX, "%lld", i);
    return n > 0 ? (size_t)n : 0;
}

/* The shortest %e text of d that reads back as d; its digits go to dig (no
 * point) and the decimal exponent n of 0.dig * 10^n is returned. The
 * locale's decimal point is skipped, whatever it is. */
static int shortest_digits(double d, char dig[24], int *k, bool *negative)
{
    char tmp[48];
    const char *p;
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d) break;
    }
    p = tmp;
    *negative = *p == '-';
    if (*negative) p++;
    for (*k = 0; *p && *p != 'e' && *k < 20; p++)
        if (*p >= '0' && *p <= '9') dig[(*k)++] = *p;
    return *p == 'e' ? atoi(p + 1) + 1 : 1;
}

size_t swing_json_float(double d, char out[SWING_JSON_NUMBER_MAX])
{
    char dig[24];
    int k, n, i;
    size_t len = 0;
    bool negative;
    n = shortest_digits(d, dig, &k, &negative);
    if (negative) out[len++] = '-';
    if (k <= n && n <= 21) { /* an integer: digits, zeros, ".0" */
        for (i = 0; i < n; i++) out[len++] = i < k ? dig[i] : '0';
        out[len++] = '.';
        out[len++] = '0';
    } else if (n > 0 && n <= 21) { /* a point inside the digits */
        for (i = 0; i < k; i++) {
            if (i == n) out[len++] = '.';
            out[len++] = dig[i];
        }
    } else if (n > -6 && n <= 0) { /* 0.000ddd */
        out[len++] = '0';
        out[len++] = '.';
        for (i = 0; i < -n; i++) out[len++] = '0';
        for (i = 0; i < k; i++) out[len++] = dig[i];
    } else { /* d.ddde+x */
        out[len++] = dig[0];
        if (k > 1) out[len++] = '.';
        for (i = 1; i < k; i++) out[len++] = dig[i];
        len += (size_t)snprintf(out + len, SWING_JSON_NUMBER_MAX - len, "e%c%d", n - 1 >= 0 ? '+' : '-',
                                abs(n - 1));
    }
    out[len] = '\0';
    return len;
}

static void put_escape(swing_json_put put, void *ctx, unsigned char c)
{
    static const char named[] = "\"\\\b\f\n\r\t", letter[] = "\"\\bfnrt", hex[] = "0123456789abcdef";
    const char *p = c ? memchr(named, c, sizeof named - 1) : NULL;
    char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    if (p) {
        u[1] = letter[p - named];
        put(ctx, u, 2);
    } else {
        put(ctx, u, sizeof u);
    }
}

bool swing_json_escaped(swing_json_put put, void *ctx, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0, k;
    while (i < n) {
        if (p[i] >= 0x20 && p[i] != '"' && p[i] != '\\') {
            k = swing_utf8_seq(p + i, n - i);
            if (!k) {
                put(ctx, s + run, i - run);
                return false;
            }
            i += k;
            continue;
        }
        put(ctx, s + run, i - run);
        put_escape(put, ctx, p[i]);
        run = ++i;
    }
    put(ctx, s + run, n - run);
    return true;
}
