/*
 * memhost.c - the in-memory Lua vat host of the liveslots tests (see
 * memhost.h).
 */
#include "tests/lib/memhost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

void tm_mix(tm_host *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h->trace = (h->trace ^ b[i]) * 1099511628211ull;
    h->trace = (h->trace ^ 0xff) * 1099511628211ull;
}

static void mix_str(tm_host *h, const char *s) { tm_mix(h, s ? s : "", s ? strlen(s) : 0); }

static size_t find(const tm_host *h, const char *key, size_t klen, bool *found)
{
    size_t lo = 0, hi = h->nkeys;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        size_t ml = strlen(h->keys[mid]);
        int c = memcmp(h->keys[mid], key, ml < klen ? ml : klen);
        if (c == 0) c = ml < klen ? -1 : ml > klen ? 1 : 0;
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = false;
    return lo;
}

static void put_buf(swing_buf *b, const char *s)
{
    b->len = strlen(s);
    b->ptr = swing_malloc(b->len + 1);
    assert_non_null(b->ptr);
    memcpy(b->ptr, s, b->len + 1);
}

static char *dup_bytes(const void *p, size_t n)
{
    char *s = swing_malloc(n + 1);
    assert_non_null(s);
    if (n) memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static bool remember(char list[][32], size_t *n, const char *vref)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], vref) == 0) return false;
    assert_true(*n < TM_MAX_VREFS);
    snprintf(list[(*n)++], 32, "%s", vref);
    return true;
}

static void trace_syscall(tm_host *h, const vp_syscall *sc)
{
    h->syscalls++;
    tm_mix(h, &sc->type, sizeof sc->type);
    tm_mix(h, sc->key.ptr, sc->key.len);
    tm_mix(h, sc->value.ptr, sc->value.len);
    mix_str(h, sc->target);
    mix_str(h, sc->methargs.body);
    for (size_t i = 0; i < sc->nvrefs; i++) mix_str(h, sc->vrefs[i]);
    for (size_t i = 0; i < sc->nresolutions; i++) {
        mix_str(h, sc->resolutions[i].data.body);
        for (size_t j = 0; j < sc->resolutions[i].data.nslots; j++) {
            const char *s = sc->resolutions[i].data.slots[j];
            mix_str(h, s);
            if (strncmp(s, "o+v", 3) == 0) (void)remember(h->exported, &h->nexported, s);
        }
    }
    for (size_t i = 0; i < sc->nvrefs; i++) {
        if (sc->type == VP_S_DROP_IMPORTS && !remember(h->dropped, &h->ndropped, sc->vrefs[i])) h->duplicates++;
        if (sc->type == VP_S_RETIRE_IMPORTS && !remember(h->retired, &h->nretired, sc->vrefs[i])) h->duplicates++;
    }
}

static swing_status host_syscall(vp_channel *ch, const vp_syscall *sc, vp_syscall_result *res)
{
    tm_host *h = (tm_host *)ch;
    bool found;
    size_t at;
    if (res) memset(res, 0, sizeof *res);
    trace_syscall(h, sc);
    if (sc->type < VP_S_VATSTORE_GET || sc->type > VP_S_VATSTORE_NEXT) return SWING_OK;
    at = find(h, (const char *)sc->key.ptr, sc->key.len, &found);
    switch (sc->type) {
    case VP_S_VATSTORE_GET:
        res->found = found;
        if (found) put_buf(&res->value, h->vals[at]);
        break;
    case VP_S_VATSTORE_SET:
        if (found) {
            swing_mfree(h->vals[at]);
        } else {
            assert_true(h->nkeys < TM_MAX_KEYS);
            memmove(h->keys + at + 1, h->keys + at, (h->nkeys - at) * sizeof *h->keys);
            memmove(h->vals + at + 1, h->vals + at, (h->nkeys - at) * sizeof *h->vals);
            h->nkeys++;
            h->keys[at] = dup_bytes(sc->key.ptr, sc->key.len);
        }
        h->vals[at] = dup_bytes(sc->value.ptr, sc->value.len);
        break;
    case VP_S_VATSTORE_DELETE:
        if (found) {
            swing_mfree(h->keys[at]);
            swing_mfree(h->vals[at]);
            memmove(h->keys + at, h->keys + at + 1, (h->nkeys - at - 1) * sizeof *h->keys);
            memmove(h->vals + at, h->vals + at + 1, (h->nkeys - at - 1) * sizeof *h->vals);
            h->nkeys--;
        }
        break;
    default: /* next */
        if (found) at++;
        res->found = at < h->nkeys &&
                     (!sc->value.len || strncmp(h->keys[at], (const char *)sc->value.ptr, sc->value.len) == 0);
        if (res->found) put_buf(&res->value, h->keys[at]);
        break;
    }
    return SWING_OK;
}

tm_host *tm_host_new(const char *vat_id)
{
    tm_host *h = swing_calloc(1, sizeof *h);
    assert_non_null(h);
    h->keys = swing_calloc(TM_MAX_KEYS, sizeof *h->keys);
    h->vals = swing_calloc(TM_MAX_KEYS, sizeof *h->vals);
    assert_non_null(h->keys);
    assert_non_null(h->vals);
    h->ch.syscall = host_syscall;
    h->ch.vat_id = vat_id;
    h->trace = 1469598103934665603ull;
    return h;
}

void tm_host_free(tm_host *h)
{
    if (!h) return;
    for (size_t i = 0; i < h->nkeys; i++) {
        swing_mfree(h->keys[i]);
        swing_mfree(h->vals[i]);
    }
    swing_mfree(h->keys);
    swing_mfree(h->vals);
    swing_mfree(h);
}

const char *tm_get(const tm_host *h, const char *key)
{
    bool found;
    size_t at = find(h, key, strlen(key), &found);
    return found ? h->vals[at] : NULL;
}

size_t tm_count(const tm_host *h, const char *prefix)
{
    size_t n = 0, pl = strlen(prefix);
    for (size_t i = 0; i < h->nkeys; i++) n += strncmp(h->keys[i], prefix, pl) == 0;
    return n;
}

uint64_t tm_kv_hash(const tm_host *h)
{
    tm_host t;
    t.trace = 1469598103934665603ull;
    for (size_t i = 0; i < h->nkeys; i++) {
        mix_str(&t, h->keys[i]);
        mix_str(&t, h->vals[i]);
    }
    return t.trace;
}

ls_lua_vat *tm_vat(const char *src)
{
    ls_lua_vat *vat;
    ls_lua_vat_options opt;
    swing_err e;
    memset(&opt, 0, sizeof opt);
    opt.limits.compute = 50000000;
    opt.limits.memory_cap = 64u << 20;
    if (ls_lua_vat_create("v1", swing_bytes_of(src, strlen(src)), &opt, &vat, &e)) fail_msg("create: %s", e.msg);
    return vat;
}

uint64_t tm_deliver(ls_lua_vat *vat, tm_host *h, const vp_delivery *d)
{
    vp_delivery_result r;
    memset(&r, 0, sizeof r);
    r.ok = true;
    assert_int_equal(ls_lua_vat_ops.deliver(vat, &h->ch, d, &r), SWING_OK);
    if (!r.ok) fail_msg("delivery failed: %s", r.message);
    tm_mix(h, &r.computrons, sizeof r.computrons);
    tm_mix(h, &r.more, sizeof r.more);
    return r.computrons;
}

uint64_t tm_start(ls_lua_vat *vat, tm_host *h)
{
    vp_delivery d;
    memset(&d, 0, sizeof d);
    d.type = VP_D_START_VAT;
    d.vat_parameters.body = "#{}";
    return tm_deliver(vat, h, &d);
}

uint64_t tm_send(ls_lua_vat *vat, tm_host *h, const char *method, const char *args, const char *const *slots,
                 size_t nslots, const char *result)
{
    vp_delivery d;
    char body[512];
    snprintf(body, sizeof body, "#[\"%s\",%s]", method, args);
    memset(&d, 0, sizeof d);
    d.type = VP_D_MESSAGE;
    d.target = "o+0";
    d.methargs.body = body;
    d.methargs.slots = slots;
    d.methargs.nslots = nslots;
    d.result = result;
    return tm_deliver(vat, h, &d);
}

uint64_t tm_boyd(ls_lua_vat *vat, tm_host *h, uint64_t budget)
{
    vp_delivery d;
    memset(&d, 0, sizeof d);
    d.type = VP_D_BRING_OUT_YOUR_DEAD;
    d.budget = budget;
    return tm_deliver(vat, h, &d);
}

uint64_t tm_gc(ls_lua_vat *vat, tm_host *h, vp_dtype type, char list[][32], size_t n)
{
    const char *vrefs[TM_MAX_VREFS];
    vp_delivery d;
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) vrefs[i] = list[i];
    memset(&d, 0, sizeof d);
    d.type = type;
    d.vrefs = vrefs;
    d.nvrefs = n;
    return tm_deliver(vat, h, &d);
}
