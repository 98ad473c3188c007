/*
 * kv.c - typed access to the kernel's keys in the store: strings and
 * decimals under printf-formatted keys, prefix deletion, id counters.
 */
#include "kernel/kernel_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/vec.h"
#include "store/scan.h"

#define KEY_MAX 512

/* Appends the decimal form of v. */
static size_t put_u(char *out, size_t at, size_t cap, unsigned long long v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n && at < cap) out[at++] = tmp[--n];
    return n ? cap : at; /* cap: did not fit */
}

/* Key formatting for the few conversions kernel keys use (%s, %d, %u with
 * l/ll/z); anything else falls back to vsnprintf. Keys are formatted on
 * every state access, so this avoids the general printf machinery. */
static int fast_format(char *out, size_t cap, const char *fmt, va_list ap)
{
    size_t at = 0;
    va_list fallback;
    va_copy(fallback, ap);
    for (const char *f = fmt; *f; f++) {
        int lmod = 0, zmod = 0;
        if (*f != '%') {
            if (at >= cap) goto toolong;
            out[at++] = *f;
            continue;
        }
        f++;
        while (*f == 'l') lmod++, f++;
        if (*f == 'z') zmod = 1, f++;
        if (*f == 's') {
            const char *sv = va_arg(ap, const char *);
            size_t n = strlen(sv);
            if (at + n >= cap) goto toolong;
            memcpy(out + at, sv, n);
            at += n;
        } else if (*f == 'd' && !lmod && !zmod) {
            int d = va_arg(ap, int);
            if (d < 0) {
                if (at >= cap) goto toolong;
                out[at++] = '-';
                d = -d;
            }
            at = put_u(out, at, cap, (unsigned long long)d);
        } else if (*f == 'u') {
            unsigned long long u = zmod ? va_arg(ap, size_t)
                                 : lmod == 2 ? va_arg(ap, unsigned long long)
                                 : lmod == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
            at = put_u(out, at, cap, u);
        } else {
            int n = vsnprintf(out, cap, fmt, fallback);
            va_end(fallback);
            return n;
        }
        if (at >= cap) goto toolong;
    }
    va_end(fallback);
    if (at >= cap) return (int)cap;
    out[at] = '\0';
    return (int)at;
toolong:
    va_end(fallback);
    return (int)cap;
}

int kern_kv_format(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = fast_format(out, cap, fmt, ap);
    va_end(ap);
    return n;
}

static swing_status fmt_key(char *key, swing_err *err, const char *fmt, va_list ap)
{
    int n = fast_format(key, KEY_MAX, fmt, ap);
    if (n < 0 || n >= KEY_MAX) return swing_err_set(err, SWING_ERR_INVALID, "kernel key too long");
    return SWING_OK;
}

/* Formats the calling variadic function's key arguments into key. */
#define KEY_FROM_ARGS(key, s, err, fmt)          \
    do {                                         \
        va_list ap_;                             \
        va_start(ap_, fmt);                      \
        (s) = fmt_key((key), (err), (fmt), ap_); \
        va_end(ap_);                             \
    } while (0)

static swing_status get_raw(kern *k, const char *key, char **val, bool *found, swing_err *err)
{
    swing_buf b = {0};
    swing_status s = store_get(k->st, swing_str(key), &b, found, err);
    *val = NULL;
    if (s || !*found) return s;
    if (b.ptr) { /* the store NUL-terminates values: take the buffer */
        *val = (char *)b.ptr;
        return SWING_OK;
    }
    *val = swing_malloc(1);
    if (!*val) return SWING_NOMEM(err);
    (*val)[0] = '\0';
    return SWING_OK;
}

swing_status kern_kv_get(kern *k, char **val, bool *found, swing_err *err, const char *fmt, ...)
{
    char key[KEY_MAX];
    swing_status s;
    KEY_FROM_ARGS(key, s, err, fmt);
    *val = NULL;
    *found = false;
    return s ? s : get_raw(k, key, val, found, err);
}

static bool parse_u64(const char *s, uint64_t *v)
{
    return store_keys_parse_u64((const uint8_t *)s, strlen(s), v);
}

bool kern_kv_parse_u64s(const char *v, uint64_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(v, ",");
        out[i] = 0;
        if (!store_keys_parse_u64((const uint8_t *)v, len, &out[i])) return false;
        v += len;
        if (i + 1 < n && *v++ != ',') return false;
    }
    return *v == '\0';
}

bool kern_kv_parse_pair(const char *v, uint64_t *a, uint64_t *b)
{
    uint64_t x[2];
    bool ok = kern_kv_parse_u64s(v, x, 2) && x[0] <= x[1];
    *a = ok ? x[0] : 0;
    *b = ok ? x[1] : 0;
    return ok;
}

swing_status kern_kv_getu(kern *k, uint64_t *v, bool *found, swing_err *err, const char *fmt, ...)
{
    char key[KEY_MAX], *val = NULL;
    swing_status s;
    KEY_FROM_ARGS(key, s, err, fmt);
    *v = 0;
    *found = false;
    if (s || (s = get_raw(k, key, &val, found, err)) || !*found) return s;
    if (!parse_u64(val, v)) s = SWING_CORRUPT(err, "kernel key %s is not a number", key);
    swing_mfree(val);
    return s;
}

swing_status kern_kv_set(kern *k, const char *val, swing_err *err, const char *fmt, ...)
{
    char key[KEY_MAX];
    swing_status s;
    KEY_FROM_ARGS(key, s, err, fmt);
    return s ? s : store_set(k->st, swing_str(key), swing_str(val), err);
}

swing_status kern_kv_setu(kern *k, uint64_t v, swing_err *err, const char *fmt, ...)
{
    char key[KEY_MAX], num[24];
    swing_status s;
    KEY_FROM_ARGS(key, s, err, fmt);
    kern_kv_format(num, sizeof num, "%llu", (unsigned long long)v);
    return s ? s : store_set(k->st, swing_str(key), swing_str(num), err);
}

swing_status kern_kv_del(kern *k, swing_err *err, const char *fmt, ...)
{
    char key[KEY_MAX];
    swing_status s;
    KEY_FROM_ARGS(key, s, err, fmt);
    return s ? s : store_delete(k->st, swing_str(key), err);
}

swing_status kern_kv_has(kern *k, bool *found, swing_err *err, const char *fmt, ...)
{
    char key[KEY_MAX];
    swing_status s;
    KEY_FROM_ARGS(key, s, err, fmt);
    *found = false;
    return s ? s : store_get(k->st, swing_str(key), NULL, found, err);
}

swing_status kern_kv_del_prefix(kern *k, const char *prefix, uint64_t *n, swing_err *err)
{
    store_scan sc;
    swing_status s;
    *n = 0;
    store_scan_init(&sc, k->st, swing_str(prefix));
    for (;;) {
        swing_bytes key;
        bool found;
        if ((s = store_scan_next(&sc, &key, &found, err)) || !found) break;
        if ((s = store_delete(k->st, key, err))) break;
        (*n)++;
    }
    store_scan_free(&sc);
    return s;
}

swing_status kern_kv_tails(kern *k, const char *prefix, size_t cut, char (**tails)[KERN_VREF_MAX], size_t *n,
                           swing_err *err)
{
    store_scan sc;
    size_t cap = 0;
    swing_status s;
    *tails = NULL;
    *n = 0;
    store_scan_init(&sc, k->st, swing_str(prefix));
    for (;;) {
        swing_bytes key;
        bool found;
        if ((s = store_scan_next(&sc, &key, &found, err)) || !found) break;
        if (key.len < cut || key.len - cut >= KERN_VREF_MAX) continue;
        if ((s = SWING_VEC_RESERVE(*tails, cap, *n + 1, 16, err))) break;
        memcpy((*tails)[*n], key.ptr + cut, key.len - cut);
        (*tails)[(*n)++][key.len - cut] = '\0';
    }
    store_scan_free(&sc);
    if (s) {
        swing_mfree(*tails);
        *tails = NULL;
        *n = 0;
    }
    return s;
}

swing_status kern_kv_next_id(kern *k, const char *name, uint64_t first, uint64_t *id,
                             swing_err *err)
{
    bool found;
    swing_status s = kern_kv_getu(k, id, &found, err, "%s", name);
    if (s) return s;
    if (!found) *id = first;
    return kern_kv_setu(k, *id + 1, err, "%s", name);
}
