/*
 * capdata.c - owned capdata ({body, slots}) and its canonical JSON form,
 * plus the two smallcaps readings the kernel needs: the method name of
 * methargs and the error body of a rejection (reference/liveslots.md §4).
 */
#include "kernel/kernel_int.h"

#include <stdlib.h>

#include "base/alloc.h"

void kern_cd_free(kern_cd *cd)
{
    if (!cd) return;
    swing_mfree(cd->body);
    for (size_t i = 0; i < cd->nslots; i++) swing_mfree(cd->slots[i]);
    swing_mfree(cd->slots);
    cd->body = NULL;
    cd->slots = NULL;
    cd->nslots = 0;
}

vp_capdata kern_cd_view(const kern_cd *cd)
{
    vp_capdata v;
    v.body = cd->body ? cd->body : "";
    v.slots = (const char *const *)cd->slots;
    v.nslots = cd->nslots;
    return v;
}

json_t *kern_cd_to_json(vp_capdata cd)
{
    json_t *o = json_object(), *slots = json_array();
    if (!o || !slots) goto fail;
    for (size_t i = 0; i < cd.nslots; i++)
        if (json_array_append_new(slots, json_string(cd.slots[i]))) goto fail;
    if (json_object_set_new(o, "body", json_string(cd.body ? cd.body : "")) ||
        json_object_set_new(o, "slots", slots))
        goto fail_o;
    return o;
fail:
    json_decref(slots);
fail_o:
    json_decref(o);
    return NULL;
}

swing_status kern_cd_from_json(const json_t *j, kern_cd *out, swing_err *err)
{
    const char *body = json_string_value(json_object_get(j, "body"));
    json_t *slots = json_object_get(j, "slots");
    size_t n;
    memset(out, 0, sizeof *out);
    if (!body || !json_is_array(slots) || json_object_size(j) != 2)
        return swing_err_set(err, SWING_ERR_INVALID, "capdata must be {body, slots}");
    n = json_array_size(slots);
    out->body = swing_strdup(body);
    out->slots = swing_calloc(n ? n : 1, sizeof *out->slots);
    if (!out->body || !out->slots) {
        kern_cd_free(out);
        return SWING_NOMEM(err);
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(slots, i));
        if (!s) {
            kern_cd_free(out);
            return swing_err_set(err, SWING_ERR_INVALID, "capdata slot %zu is not a string", i);
        }
        out->slots[i] = swing_strdup(s);
        if (!out->slots[i]) {
            kern_cd_free(out);
            return SWING_NOMEM(err);
        }
        out->nslots = i + 1;
    }
    return SWING_OK;
}

swing_status kern_cd_error(const char *msg, kern_cd *out, swing_err *err)
{
    json_t *e = json_pack("{ssss}", "#error", msg, "name", "Error");
    char *text = e ? kern_json_dump(e) : NULL;
    size_t n;
    memset(out, 0, sizeof *out);
    json_decref(e);
    if (!text) return SWING_NOMEM(err);
    n = strlen(text);
    out->body = swing_malloc(n + 2);
    if (!out->body) {
        free(text);
        return SWING_NOMEM(err);
    }
    out->body[0] = '#';
    memcpy(out->body + 1, text, n + 1);
    free(text);
    return SWING_OK;
}

char *kern_cd_method(const char *body)
{
    json_t *j, *m;
    char *r = NULL;
    if (!body || body[0] != '#') return NULL;
    j = json_loads(body + 1, JSON_DECODE_ANY, NULL);
    m = json_array_get(j, 0);
    if (json_is_string(m)) {
        const char *s = json_string_value(m);
        r = swing_strdup(s[0] == '!' ? s + 1 : s);
    }
    json_decref(j);
    return r;
}

static bool special_start(const char *s) { return s[0] >= 0x21 && s[0] <= 0x2d; }

/* Plain JSON -> smallcaps JSON (a new value): strings that start with one of
 * !"#$%&'()*+,- get a "!" prefix; record keys must not start with one. */
static json_t *to_smallcaps(const json_t *v)
{
    size_t i;
    const char *key;
    json_t *x, *out;
    switch (json_typeof(v)) {
    case JSON_STRING: {
        const char *s = json_string_value(v);
        if (!special_start(s)) return json_string(s);
        out = NULL;
        {
            size_t n = strlen(s);
            char *e = swing_malloc(n + 2);
            if (e) {
                e[0] = '!';
                memcpy(e + 1, s, n + 1);
                out = json_string(e);
                swing_mfree(e);
            }
        }
        return out;
    }
    case JSON_ARRAY:
        out = json_array();
        json_array_foreach(v, i, x) {
            json_t *c = to_smallcaps(x);
            if (!out || !c || json_array_append_new(out, c)) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    case JSON_OBJECT:
        out = json_object();
        json_object_foreach((json_t *)v, key, x) {
            json_t *c = special_start(key) ? NULL : to_smallcaps(x);
            if (!out || !c || json_object_set_new(out, key, c)) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    default:
        return json_deep_copy(v);
    }
}

swing_status kern_cd_plain(const json_t *v, char **body, swing_err *err)
{
    json_t *enc = to_smallcaps(v);
    char *text = enc ? kern_json_dump(enc) : NULL;
    json_decref(enc);
    *body = NULL;
    if (!text) return swing_err_set(err, SWING_ERR_INVALID, "value is not plain data");
    *body = swing_malloc(strlen(text) + 2);
    if (*body) {
        (*body)[0] = '#';
        strcpy(*body + 1, text);
    }
    free(text);
    return *body ? SWING_OK : SWING_NOMEM(err);
}

swing_status kern_cd_methargs_plain(const char *method, const json_t *args, char **body,
                                    swing_err *err)
{
    json_t *pair = json_pack("[sO]", method, (json_t *)args);
    swing_status s;
    *body = NULL;
    if (!pair) return swing_err_set(err, SWING_ERR_INVALID, "bad method or arguments");
    s = kern_cd_plain(pair, body, err);
    json_decref(pair);
    return s;
}

swing_status kern_encode_plain(const char *json, size_t len, char **body, swing_err *err)
{
    json_error_t je;
    json_t *v = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    swing_status s;
    *body = NULL;
    if (!v) return swing_err_set(err, SWING_ERR_INVALID, "not JSON: %s", je.text);
    s = kern_cd_plain(v, body, err);
    json_decref(v);
    return s;
}
