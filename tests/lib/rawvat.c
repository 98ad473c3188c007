/*
 * rawvat.c - helpers for kernel tests (see rawvat.h).
 */
#include "tests/lib/rawvat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveslots/lua/runtime.h"

void tk_kern_open(tk *t, const kern_raw_vat *vats, size_t n)
{
    kern_options o = {vats, n, 0, &t->lua, 1};
    swing_err e;
    ls_lua_runtime(&t->lua);
    if (kern_open(t->st, &o, &t->k, &e)) fail_msg("kern_open: %s", e.msg);
}

void tk_open(tk *t, const kern_raw_vat *vats, size_t n, const char *config)
{
    swing_err e;
    t->dir = tl_tmpdir();
    if (t->observer) {
        store_options so = store_options_default();
        so.observer = t->observer;
        so.observer_ctx = t->observer_ctx;
        if (store_open(t->dir, &so, &t->st, &e)) fail_msg("store_open: %s", e.msg);
    } else {
        t->st = tl_open(t->dir);
    }
    t->height = 0;
    t->computrons = 0;
    t->meter_trace = 0;
    t->loglen = 0;
    t->log[0] = '\0';
    tk_kern_open(t, vats, n);
    if (config && kern_init(t->k, config, strlen(config), &e)) fail_msg("kern_init: %s", e.msg);
}

static bool meter_policy(void *ctx, const kern_crank_info *info)
{
    tk *t = ctx;
    t->computrons += info->computrons;
    t->meter_trace = (t->meter_trace ^ info->computrons) * 0x100000001b3ull + (uint64_t)info->kind;
    return true;
}

void tk_run(tk *t)
{
    swing_err e;
    swing_err_clear(&e);
    if (kern_run(t->k, meter_policy, t, NULL, &e)) fail_msg("kern_run: %s", e.msg);
    if (store_commit(t->st, ++t->height, NULL, &e)) fail_msg("commit: %s", e.msg);
}

void tk_settle(tk *t, int rounds)
{
    const kern_budget all = {.gc_krefs = UINT64_MAX, .boyds = UINT64_MAX, .units = UINT64_MAX};
    for (int i = 0; i < rounds; i++) {
        kern_work_report r;
        uint64_t cranks = 0;
        swing_err e;
        swing_err_clear(&e);
        if (kern_run(t->k, meter_policy, t, &cranks, &e)) fail_msg("kern_run: %s", e.msg);
        if (kern_cleanup(t->k, &all, &r, &e)) fail_msg("kern_cleanup: %s", e.msg);
        if (store_commit(t->st, ++t->height, NULL, &e)) fail_msg("commit: %s", e.msg);
        if (cranks == 0 && r.cleanup.cranks == 0 && !r.gc_krefs_left && !r.dirty_vats && !r.terminated_vats) return;
    }
    fail_msg("tk_settle: still busy after %d rounds", rounds);
}

void tk_close(tk *t)
{
    kern_close(t->k);
    store_close(t->st);
    tl_rmtree(t->dir);
    t->k = NULL;
    t->st = NULL;
    t->dir = NULL;
}

void tk_log(tk *t, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(t->log + t->loglen, sizeof t->log - t->loglen - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof t->log - t->loglen - 1) fail_msg("test log full");
    t->loglen += (size_t)n;
    t->log[t->loglen++] = '\n';
    t->log[t->loglen] = '\0';
}

static void join(char *out, size_t cap, const char *const *v, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used + 2 < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "," : "", v[i]);
}

void tk_log_delivery(tk *t, const vp_channel *io, const vp_delivery *d)
{
    const char *vat = vp_channel_vat_id(io);
    char slots[2048];
    switch (d->type) {
    case VP_D_MESSAGE:
        join(slots, sizeof slots, d->methargs.slots, d->methargs.nslots);
        tk_log(t, "%s message %s %s [%s] result=%s", vat, d->target, d->methargs.body, slots,
               d->result ? d->result : "none");
        break;
    case VP_D_NOTIFY:
        for (size_t i = 0; i < d->nresolutions; i++) {
            const vp_resolution *r = &d->resolutions[i];
            join(slots, sizeof slots, r->data.slots, r->data.nslots);
            tk_log(t, "%s notify %s %s %s [%s]", vat, r->vpid, r->rejected ? "rejected" : "fulfilled",
                   r->data.body, slots);
        }
        break;
    case VP_D_START_VAT:
        join(slots, sizeof slots, d->vat_parameters.slots, d->vat_parameters.nslots);
        tk_log(t, "%s startVat %s [%s]", vat, d->vat_parameters.body, slots);
        break;
    case VP_D_CHANGE_VAT_OPTIONS:
        tk_log(t, "%s changeVatOptions %s", vat, d->options);
        break;
    case VP_D_BRING_OUT_YOUR_DEAD:
        tk_log(t, "%s bringOutYourDead budget=%llu", vat, (unsigned long long)d->budget);
        break;
    default:
        join(slots, sizeof slots, d->vrefs, d->nvrefs);
        tk_log(t, "%s %s [%s]", vat,
               d->type == VP_D_DROP_EXPORTS     ? "dropExports"
               : d->type == VP_D_RETIRE_EXPORTS ? "retireExports"
               : d->type == VP_D_RETIRE_IMPORTS ? "retireImports"
                                                  : "other",
               slots);
    }
}

void tk_expect_line(tk *t, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = t->log; (p = strstr(p, line)) != NULL; p++)
        if ((p == t->log || p[-1] == '\n') && p[n] == '\n') return;
    fail_msg("log lacks line \"%s\"; log:\n%s", line, t->log);
}

void tk_expect_no_line(tk *t, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = t->log; (p = strstr(p, line)) != NULL; p++)
        if ((p == t->log || p[-1] == '\n') && p[n] == '\n')
            fail_msg("log has unexpected line \"%s\"; log:\n%s", line, t->log);
}

char *tk_get(tk *t, const char *key)
{
    swing_buf v = {0};
    bool found;
    char *r;
    if (store_get(t->st, swing_str(key), &v, &found, NULL)) fail_msg("get %s", key);
    if (!found) return NULL;
    r = malloc(v.len + 1);
    memcpy(r, v.ptr, v.len);
    r[v.len] = '\0';
    swing_buf_free(&v);
    return r;
}

size_t tk_count(tk *t, const char *prefix)
{
    store_iter *it;
    size_t n = 0;
    bool valid;
    swing_bytes k, v;
    if (store_iter_create(t->st, swing_str(prefix), &it, NULL)) fail_msg("iter");
    while (store_iter_next(it, &k, &v, &valid, NULL) == SWING_OK && valid) n++;
    store_iter_destroy(it);
    return n;
}

static bool skipped(swing_bytes k, const char *const *skip)
{
    for (size_t i = 0; skip && skip[i]; i++) {
        const char *x = skip[i][0] == '*' ? skip[i] + 1 : skip[i];
        size_t n = strlen(x);
        if (skip[i][0] == '*' ? k.len >= n && memcmp(k.ptr + k.len - n, x, n) == 0
                              : swing_bytes_cmp(k, swing_str(x)) == 0)
            return true;
    }
    return false;
}

char *tk_dump(tk *t, const char *prefix, const char *const *skip)
{
    store_iter *it;
    bool valid;
    swing_bytes k, v;
    size_t n = 0, cap = 1 << 16;
    char *out = malloc(cap);
    if (!out) fail_msg("out of memory");
    if (store_iter_create(t->st, swing_str(prefix), &it, NULL)) fail_msg("iter");
    while (store_iter_next(it, &k, &v, &valid, NULL) == SWING_OK && valid) {
        if (skipped(k, skip)) continue;
        while (n + k.len + v.len + 4 > cap) {
            char *more = realloc(out, cap *= 2);
            if (!more) fail_msg("out of memory");
            out = more;
        }
        memcpy(out + n, k.ptr, k.len);
        n += k.len;
        out[n++] = '=';
        if (v.len) memcpy(out + n, v.ptr, v.len);
        n += v.len;
        out[n++] = '\n';
    }
    store_iter_destroy(it);
    out[n] = '\0';
    return out;
}

void tk_install(tk *t, const char *src, char id[STORE_BUNDLE_ID_LEN + 1])
{
    swing_err e;
    if (kern_install_bundle(t->k, src, strlen(src), id, &e)) fail_msg("install: %s", e.msg);
}

const char *tk_ask(tk *t, const char *vat, const char *method, const char *args)
{
    char kpid[24];
    kern_promise_state st;
    swing_buf body = {0};
    swing_err e;
    if (kern_queue_to_vat(t->k, vat, method, args, kpid, &e)) fail_msg("%s: %s", method, e.msg);
    tk_run(t);
    if (kern_promise_status(t->k, kpid, &st, &body, &e)) fail_msg("status: %s", e.msg);
    snprintf(t->answer, sizeof t->answer, "%s%.*s",
             st == KERN_PROMISE_REJECTED     ? "rejected "
             : st == KERN_PROMISE_UNRESOLVED ? "unresolved"
                                             : "",
             (int)body.len, body.ptr ? (const char *)body.ptr : "");
    swing_buf_free(&body);
    if (kern_release(t->k, kpid, &e)) fail_msg("release: %s", e.msg);
    tk_run(t);
    return t->answer;
}
