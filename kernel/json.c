/*
 * json.c - the kernel's canonical JSON writer (kern_json_dump): every JSON
 * text the kernel keeps in state (capdata, queue entries, vat records,
 * transcripts) is written here from a jansson tree, compact, object keys in
 * byte order, numbers and strings through base/json.h, the same text the
 * vat's marshal writes for the same value.
 */
#include "kernel/kernel_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/vec.h"

#define JSON_MAX_DEPTH 512 /* deeper trees are refused, not written */

typedef struct out {
    char *buf; /* malloc'd: callers free() the result */
    size_t len, cap;
    bool failed; /* out of memory or a tree that cannot be written */
} out;

static void put(void *ctx, const char *s, size_t n)
{
    out *o = ctx;
    if (o->failed || n == 0) return;
    if (o->cap - o->len <= n) { /* room for n bytes and the NUL */
        size_t cap;
        char *nb;
        if (swing_vec_cap(o->cap, o->len + n + 1, 128, 1, &cap, NULL) || !(nb = realloc(o->buf, cap))) {
            o->failed = true;
            return;
        }
        o->buf = nb;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void put_string(out *o, const char *s, size_t n)
{
    put(o, "\"", 1);
    if (!swing_json_escaped(put, o, s, n)) o->failed = true;
    put(o, "\"", 1);
}

static int key_order(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(x, y); /* unsigned bytes: byte order */
}

static void put_value(out *o, const json_t *j, int depth);

static void put_object(out *o, const json_t *j, int depth)
{
    size_t n = json_object_size(j), i = 0;
    const char **keys = n ? malloc(n * sizeof *keys) : NULL;
    const char *k;
    json_t *v;
    if (n && !keys) {
        o->failed = true;
        return;
    }
    json_object_foreach((json_t *)j, k, v) keys[i++] = k;
    if (n > 1) qsort(keys, n, sizeof *keys, key_order);
    put(o, "{", 1);
    for (i = 0; i < n && !o->failed; i++) {
        if (i) put(o, ",", 1);
        put_string(o, keys[i], strlen(keys[i]));
        put(o, ":", 1);
        put_value(o, json_object_get(j, keys[i]), depth + 1);
    }
    put(o, "}", 1);
    free(keys);
}

static void put_value(out *o, const json_t *j, int depth)
{
    char num[SWING_JSON_NUMBER_MAX];
    if (o->failed) return;
    if (depth > JSON_MAX_DEPTH) {
        o->failed = true;
        return;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT: put_object(o, j, depth); return;
    case JSON_ARRAY:
        put(o, "[", 1);
        for (size_t i = 0, n = json_array_size(j); i < n && !o->failed; i++) {
            if (i) put(o, ",", 1);
            put_value(o, json_array_get(j, i), depth + 1);
        }
        put(o, "]", 1);
        return;
    case JSON_STRING: put_string(o, json_string_value(j), json_string_length(j)); return;
    case JSON_INTEGER: put(o, num, swing_json_integer((long long)json_integer_value(j), num)); return;
    case JSON_REAL: put(o, num, swing_json_float(json_real_value(j), num)); return;
    case JSON_TRUE: put(o, "true", 4); return;
    case JSON_FALSE: put(o, "false", 5); return;
    case JSON_NULL: put(o, "null", 4); return;
    }
    o->failed = true;
}

char *kern_json_dump(const json_t *j)
{
    out o = {NULL, 0, 0, false};
    if (!j) return NULL;
    put_value(&o, j, 0);
    put(&o, "", 1); /* the terminating NUL */
    if (!o.failed) return o.buf;
    free(o.buf);
    return NULL;
}
