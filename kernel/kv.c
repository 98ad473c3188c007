/*
 * kv.c - typed access to the kernel's keys in the store: strings and
 * decimals under printf-formatted keys, prefix deletion, id counters.
 */
#include "kernel/kernel_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"

#define KEY_MAX 512

static swing_status fmt_key(char *key, swing_err *err, const char *fmt, va_list ap)
{
    int n = vsnprintf(key, KEY_MAX, fmt, ap);
    if (n < 0 || n >= KEY_MAX) return swing_err_set(err, SWING_ERR_INVALID, "kernel key too long");
    return SWING_OK;
}

static swing_status get_raw(kern *k, const char *key, char **val, bool *found, swing_err *err)
{
    swing_buf b = {0};
    swing_status s = store_get(k->st, swing_str(key), &b, found, err);
    *val = NULL;
    if (s || !*found) return s;
    *val = swing_malloc(b.len + 1);
    if (!*val) {
        swing_buf_free(&b);
        return SWING_NOMEM(err);
    }
    if (b.len) memcpy(*val, b.ptr, b.len);
    (*val)[b.len] = '\0';
    swing_buf_free(&b);
    return SWING_OK;
}

swing_status kern_kv_get(kern *k, char **val, bool *found, swing_err *err, const char *fmt, ...)
{
    char key[KEY_MAX];
    va_list ap;
    swing_status s;
    va_start(ap, fmt);
    s = fmt_key(key, err, fmt, ap);
    va_end(ap);
    *val = NULL;
    *found = false;
    return s ? s : get_raw(k, key, val, found, err);
}

static bool parse_u64(const char *s, uint64_t *v)
{
    return store_keys_parse_u64((const uint8_t *)s, strlen(s), v);
}

swing_status kern_kv_getu(kern *k, uint64_t *v, bool *found, swing_err *err, const char *fmt, ...)
{
    char key[KEY_MAX], *val = NULL;
    va_list ap;
    swing_status s;
    va_start(ap, fmt);
    s = fmt_key(key, err, fmt, ap);
    va_end(ap);
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
    va_list ap;
    swing_status s;
    va_start(ap, fmt);
    s = fmt_key(key, err, fmt, ap);
    va_end(ap);
    return s ? s : store_set(k->st, swing_str(key), swing_str(val), err);
}

swing_status kern_kv_setu(kern *k, uint64_t v, swing_err *err, const char *fmt, ...)
{
    char key[KEY_MAX], num[24];
    va_list ap;
    swing_status s;
    va_start(ap, fmt);
    s = fmt_key(key, err, fmt, ap);
    va_end(ap);
    snprintf(num, sizeof num, "%llu", (unsigned long long)v);
    return s ? s : store_set(k->st, swing_str(key), swing_str(num), err);
}

swing_status kern_kv_del(kern *k, swing_err *err, const char *fmt, ...)
{
    char key[KEY_MAX];
    va_list ap;
    swing_status s;
    va_start(ap, fmt);
    s = fmt_key(key, err, fmt, ap);
    va_end(ap);
    return s ? s : store_delete(k->st, swing_str(key), err);
}

swing_status kern_kv_has(kern *k, bool *found, swing_err *err, const char *fmt, ...)
{
    char key[KEY_MAX];
    va_list ap;
    swing_status s;
    va_start(ap, fmt);
    s = fmt_key(key, err, fmt, ap);
    va_end(ap);
    *found = false;
    return s ? s : store_get(k->st, swing_str(key), NULL, found, err);
}

swing_status kern_kv_del_prefix(kern *k, const char *prefix, uint64_t *n, swing_err *err)
{
    swing_bytes p = swing_str(prefix);
    swing_buf cur = {0};
    swing_status s = SWING_OK;
    *n = 0;
    for (;;) {
        swing_buf next = {0};
        bool found;
        s = store_next_key_in(k->st, cur.ptr ? swing_buf_view(&cur) : p, p, &next, &found, err);
        swing_buf_free(&cur);
        if (s || !found) break;
        if (!swing_bytes_has_prefix(swing_buf_view(&next), p)) {
            swing_buf_free(&next);
            break;
        }
        s = store_delete(k->st, swing_buf_view(&next), err);
        cur = next;
        if (s) break;
        (*n)++;
    }
    swing_buf_free(&cur);
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
