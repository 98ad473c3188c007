/*
 * doomed_vats.h - the raw vats of the termination scenario, shared by
 * cleanup_test.c and the cleanup_terminate benchmark (static functions;
 * include once per program; link tests/lib/syscalls.c):
 *   E (exporter)  makeGiver: exports o+1 (the giver) as its result;
 *                 give(root): sends `chunk` new exports to root.take;
 *                 hold: keeps its result promise unresolved until
 *                 resolveHeld (from the host), which also drops and
 *                 retires E's import of D's root
 *   I (importer)  take: keeps the imports; promise: subscribes;
 *                 dropMost / dropRest (from the host): dropImports of all
 *                 but the first `keep`, then of those
 *   D (doomed, created with vatParameters {giver, inbox = I's root})
 *                 fill([from,to]): vatstore keys k.<i>; export([n]): n new
 *                 exports to I; ask([n]): n imports from E (n/chunk gives);
 *                 promises: a result promise E decides, one D decides sent
 *                 to I; take: keeps what it gets
 *   boot          does nothing
 * E and I record every GC delivery they receive. Every other message with a
 * result promise is answered with null, so no promise is left behind.
 */
#ifndef LIBSWING_TESTS_KERNEL_DOOMED_VATS_H
#define LIBSWING_TESTS_KERNEL_DOOMED_VATS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "tests/lib/syscalls.h"

#define DW_CHUNK 1000u /* slots per take message */

typedef struct dw_world {
    /* D */
    char d_giver[32], d_inbox[32]; /* D's vrefs for E's giver and I's root */
    uint64_t d_next;               /* D's last o+ id */
    /* I */
    char (*i_imports)[32];         /* I's imports from D, in arrival order */
    size_t i_n, i_cap, keep;       /* keep: stay reachable until dropRest */
    size_t i_retired;              /* krefs in retireImports to I */
    /* E */
    uint64_t e_next;               /* E's last o+ id (o+1 is the giver) */
    char e_held[32];               /* E's unresolved result vpid, "" if none */
    char e_peer[32];               /* E's import of D's root, "" if none */
    size_t e_dropped, e_retired;   /* krefs in GC deliveries to E */
    bool giver_retired;
    /* E and I */
    size_t max_gc_delivery, gc_deliveries;
    size_t failures;               /* a syscall the kernel refused */
} dw_world;

static const char DW_CONFIG[] =
    "{\"bootstrap\":\"boot\",\"gcBatch\":%u,"
    "\"defaultReapDirtThreshold\":{\"deliveries\":5,\"gcKrefs\":20},"
    "\"vats\":{\"E\":{\"source\":\"raw:E\"},\"I\":{\"source\":\"raw:I\"},\"boot\":{\"source\":\"raw:boot\"}}}";
static const char DW_D_CONFIG[] = "{\"source\":\"raw:D\",\"useTranscript\":true}";
static const char DW_PARAMS_BODY[] = "#{\"giver\":\"$0.Alleged: giver\",\"inbox\":\"$1.Alleged: inbox\"}";

static bool dw_is(const vp_delivery *d, const char *method)
{
    size_t n = strlen(method);
    return d->type == VP_D_MESSAGE && strncmp(d->methargs.body, "#[\"", 3) == 0 &&
           strncmp(d->methargs.body + 3, method, n) == 0 && d->methargs.body[3 + n] == '"';
}

/* The i-th number argument of #["m",[a,b,...]]. */
static uint64_t dw_arg(const vp_delivery *d, int i)
{
    const char *p = strstr(d->methargs.body, ",[");
    for (p = p ? p + 2 : ""; i > 0 && *p; p++) i -= *p == ',';
    return strtoull(p, NULL, 10);
}

static void dw_gc_seen(dw_world *w, const vp_delivery *d)
{
    w->gc_deliveries++;
    if (d->nvrefs > w->max_gc_delivery) w->max_gc_delivery = d->nvrefs;
}

static swing_status dw_resolve(vp_channel *io, const char *vpid, const char *body, const char *slot)
{
    return tv_resolve(io, vpid, false, body, slot ? &slot : NULL, slot ? 1 : 0);
}

/* Sends n new exports (ids after *next) to target.take, DW_CHUNK a message. */
static swing_status dw_send_exports(vp_channel *io, const char *target, uint64_t *next, size_t n)
{
    char(*ids)[24] = malloc(DW_CHUNK * sizeof *ids);
    const char **slots = malloc(DW_CHUNK * sizeof *slots);
    char *body = malloc(32 + DW_CHUNK * 32);
    swing_status s = ids && slots && body ? SWING_OK : SWING_ERR_NOMEM;
    while (!s && n > 0) {
        size_t m = n < DW_CHUNK ? n : DW_CHUNK;
        char *p = body + sprintf(body, "#[\"take\",[");
        for (size_t i = 0; i < m; i++) {
            snprintf(ids[i], sizeof ids[i], "o+%llu", (unsigned long long)++*next);
            slots[i] = ids[i];
            p += sprintf(p, "%s\"$%zu.Alleged: thing\"", i ? "," : "", i);
        }
        sprintf(p, "]]");
        s = tv_send(io, target, body, slots, m, NULL);
        n -= m;
    }
    free(ids);
    free(slots);
    free(body);
    return s;
}

static swing_status dw_e_msg(dw_world *w, vp_channel *io, const vp_delivery *d)
{
    if (dw_is(d, "makeGiver")) {
        if (w->e_next < 1) w->e_next = 1;
        return dw_resolve(io, d->result, "#\"$0.Alleged: giver\"", "o+1");
    }
    if (dw_is(d, "give") && d->methargs.nslots == 1) {
        if (w->e_next < 1) w->e_next = 1;
        snprintf(w->e_peer, sizeof w->e_peer, "%s", d->methargs.slots[0]);
        return dw_send_exports(io, d->methargs.slots[0], &w->e_next, DW_CHUNK);
    }
    if (dw_is(d, "hold") && d->result) {
        snprintf(w->e_held, sizeof w->e_held, "%s", d->result);
        return SWING_OK;
    }
    if (dw_is(d, "resolveHeld")) {
        const char *peer = w->e_peer;
        swing_status s = w->e_held[0] ? dw_resolve(io, w->e_held, "#null", NULL) : SWING_OK;
        w->e_held[0] = '\0';
        if (!s && peer[0]) s = tv_gc(io, VP_S_DROP_IMPORTS, &peer, 1);
        if (!s && peer[0]) s = tv_gc(io, VP_S_RETIRE_IMPORTS, &peer, 1);
        w->e_peer[0] = '\0';
        return s;
    }
    if (d->type == VP_D_DROP_EXPORTS || d->type == VP_D_RETIRE_EXPORTS) {
        dw_gc_seen(w, d);
        if (d->type == VP_D_DROP_EXPORTS) w->e_dropped += d->nvrefs;
        else w->e_retired += d->nvrefs;
        for (size_t i = 0; d->type == VP_D_RETIRE_EXPORTS && i < d->nvrefs; i++)
            if (strcmp(d->vrefs[i], "o+1") == 0) w->giver_retired = true;
    }
    return SWING_OK;
}

static swing_status dw_i_drop(dw_world *w, vp_channel *io, size_t from, size_t to)
{
    const char **v = malloc((to > from ? to - from : 1) * sizeof *v);
    swing_status s;
    if (!v) return SWING_ERR_NOMEM;
    for (size_t i = from; i < to; i++) v[i - from] = w->i_imports[i];
    s = to > from ? tv_gc(io, VP_S_DROP_IMPORTS, v, to - from) : SWING_OK;
    free(v);
    return s;
}

static swing_status dw_i_msg(dw_world *w, vp_channel *io, const vp_delivery *d)
{
    if (dw_is(d, "take")) {
        if (w->i_n + d->methargs.nslots > w->i_cap) {
            size_t cap = (w->i_n + d->methargs.nslots) * 2;
            char(*nv)[32] = realloc(w->i_imports, cap * sizeof *nv);
            if (!nv) return SWING_ERR_NOMEM;
            w->i_imports = nv;
            w->i_cap = cap;
        }
        for (size_t i = 0; i < d->methargs.nslots; i++)
            snprintf(w->i_imports[w->i_n++], 32, "%s", d->methargs.slots[i]);
        return SWING_OK;
    }
    if (dw_is(d, "promise") && d->methargs.nslots == 1) return tv_subscribe(io, d->methargs.slots[0]);
    if (dw_is(d, "dropMost")) return dw_i_drop(w, io, w->keep < w->i_n ? w->keep : w->i_n, w->i_n);
    if (dw_is(d, "dropRest")) return dw_i_drop(w, io, 0, w->keep < w->i_n ? w->keep : w->i_n);
    if (d->type == VP_D_RETIRE_IMPORTS) {
        dw_gc_seen(w, d);
        w->i_retired += d->nvrefs;
    }
    if (d->type == VP_D_DROP_EXPORTS || d->type == VP_D_RETIRE_EXPORTS) dw_gc_seen(w, d);
    return SWING_OK;
}

static swing_status dw_d_msg(dw_world *w, vp_channel *io, const vp_delivery *d)
{
    if (d->type == VP_D_START_VAT && d->vat_parameters.nslots == 2) {
        snprintf(w->d_giver, sizeof w->d_giver, "%s", d->vat_parameters.slots[0]);
        snprintf(w->d_inbox, sizeof w->d_inbox, "%s", d->vat_parameters.slots[1]);
        return SWING_OK;
    }
    if (dw_is(d, "fill")) {
        uint64_t from = dw_arg(d, 0), to = dw_arg(d, 1);
        for (uint64_t i = from; i < to; i++) {
            char key[32];
            vp_syscall sc;
            swing_status s;
            memset(&sc, 0, sizeof sc);
            sc.type = VP_S_VATSTORE_SET;
            sc.key = swing_bytes_of(key, (size_t)snprintf(key, sizeof key, "k.%08llu", (unsigned long long)i));
            sc.value = swing_str("some vatstore value");
            if ((s = vp_channel_syscall(io, &sc, NULL))) return s;
        }
        return SWING_OK;
    }
    if (dw_is(d, "export")) return dw_send_exports(io, w->d_inbox, &w->d_next, (size_t)dw_arg(d, 0));
    if (dw_is(d, "ask")) {
        const char *root = "o+0";
        for (uint64_t n = dw_arg(d, 0); n >= DW_CHUNK; n -= DW_CHUNK) {
            swing_status s = tv_send(io, w->d_giver, "#[\"give\",[\"$0.Alleged: root\"]]", &root, 1, NULL);
            if (s) return s;
        }
        return SWING_OK;
    }
    if (dw_is(d, "promises")) {
        const char *mine = "p+2";
        swing_status s = tv_send(io, w->d_giver, "#[\"hold\",[]]", NULL, 0, "p+1");
        if (!s) s = tv_subscribe(io, "p+1");
        if (!s) s = tv_send(io, w->d_inbox, "#[\"promise\",[\"&0\"]]", &mine, 1, NULL);
        return s;
    }
    return SWING_OK;
}

/* Runs a vat's handler, then answers a message's result with null (but
 * not E's held one); a refused syscall is counted. */
static swing_status dw_answer(dw_world *w, vp_channel *io, const vp_delivery *d, swing_status s)
{
    if (!s && d->type == VP_D_MESSAGE && d->result && !dw_is(d, "hold") && !dw_is(d, "makeGiver"))
        s = dw_resolve(io, d->result, "#null", NULL);
    if (s) w->failures++;
    return s;
}

static swing_status dw_e(void *user, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    (void)r;
    return dw_answer(user, io, d, dw_e_msg(user, io, d));
}

static swing_status dw_i(void *user, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    (void)r;
    return dw_answer(user, io, d, dw_i_msg(user, io, d));
}

static swing_status dw_d(void *user, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    (void)r;
    return dw_answer(user, io, d, dw_d_msg(user, io, d));
}

static swing_status dw_boot(void *user, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    (void)user;
    (void)io;
    (void)d;
    (void)r;
    return SWING_OK;
}

#endif /* LIBSWING_TESTS_KERNEL_DOOMED_VATS_H */
