/*
 * gc_vats.h - the raw vats of the GC scenario, shared by gc_test.c and the
 * gc_drop benchmark (static functions; include once per program; link
 * tests/lib/syscalls.c):
 *   boot      introduces A and B to each other
 *   A (exporter) on go([N]) exports N new objects to B in one message
 *   B (importer) on take(...) drops all of them in one dropImports, then
 *             retires them in one retireImports
 * A records every GC delivery it receives and checks drop-before-retire.
 */
#ifndef LIBSWING_TESTS_KERNEL_GC_VATS_H
#define LIBSWING_TESTS_KERNEL_GC_VATS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "tests/lib/syscalls.h"

typedef struct gc_world {
    char peer_a[32];           /* A's vref for B's root */
    uint64_t next_export;      /* A's next o+ id */
    unsigned char *state;      /* per export id: 1 exported, 2 dropped, 3 retired */
    size_t state_cap;
    size_t drops, retires;     /* krefs in GC deliveries to A */
    size_t max_delivery;       /* largest GC delivery to A */
    size_t order_errors;       /* retire before drop, or unknown vrefs */
    size_t taken;              /* krefs B received */
    size_t gc_deliveries;      /* GC deliveries A got */
    size_t fail_gc_delivery;   /* A fails its GC delivery number N (0: never) */
} gc_world;

static const char *gcw_method(const vp_delivery *d)
{
    static const char *names[] = {"bootstrap", "meet", "go", "take"};
    for (size_t i = 0; i < 4; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(d->methargs.body, "#[\"", 3) == 0 && strncmp(d->methargs.body + 3, names[i], n) == 0 &&
            d->methargs.body[3 + n] == '"')
            return names[i];
    }
    return "";
}

static swing_status gcw_boot(void *user, vp_channel *io, const vp_delivery *d,
                             vp_delivery_result *r)
{
    (void)user;
    (void)r;
    if (d->type != VP_D_MESSAGE || strcmp(gcw_method(d), "bootstrap") != 0) return SWING_OK;
    /* vats sorted by name: A, B, boot */
    if (tv_send(io, d->methargs.slots[0], "#[\"meet\",[\"$0.Alleged: root\"]]", &d->methargs.slots[1], 1, NULL))
        return SWING_ERR_VAT;
    return tv_send(io, d->methargs.slots[1], "#[\"meet\",[\"$0.Alleged: root\"]]", &d->methargs.slots[0], 1, NULL);
}

static swing_status gcw_go(gc_world *w, vp_channel *io, const vp_delivery *d)
{
    vp_syscall sc;
    vp_resolution res;
    size_t n = (size_t)strtoull(d->methargs.body + strlen("#[\"go\",["), NULL, 10);
    char **slots = calloc(n ? n : 1, sizeof *slots);
    char *body = malloc(32 + n * 40), *p = body;
    swing_status s;
    if (!slots || !body) return SWING_ERR_NOMEM;
    if (w->next_export + n + 1 > w->state_cap) {
        size_t cap = (w->next_export + n + 1) * 2;
        w->state = realloc(w->state, cap);
        memset(w->state + w->state_cap, 0, cap - w->state_cap);
        w->state_cap = cap;
    }
    p += sprintf(p, "#[\"take\",[");
    for (size_t i = 0; i < n; i++) {
        uint64_t id = ++w->next_export;
        slots[i] = malloc(24);
        snprintf(slots[i], 24, "o+%llu", (unsigned long long)id);
        w->state[id] = 1;
        p += sprintf(p, "%s\"$%zu.Alleged: thing\"", i ? "," : "", i);
    }
    sprintf(p, "]]");
    s = tv_send(io, w->peer_a, body, (const char *const *)slots, n, NULL);
    for (size_t i = 0; i < n; i++) free(slots[i]);
    free(slots);
    free(body);
    if (s || !d->result) return s;
    memset(&sc, 0, sizeof sc);
    res.vpid = d->result;
    res.rejected = false;
    res.data.body = "#null";
    res.data.slots = NULL;
    res.data.nslots = 0;
    sc.type = VP_S_RESOLVE;
    sc.resolutions = &res;
    sc.nresolutions = 1;
    return vp_channel_syscall(io, &sc, NULL);
}

static swing_status gcw_a(void *user, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    gc_world *w = user;
    (void)r;
    if (d->type == VP_D_MESSAGE && strcmp(gcw_method(d), "meet") == 0) {
        snprintf(w->peer_a, sizeof w->peer_a, "%s", d->methargs.slots[0]);
        return SWING_OK;
    }
    if (d->type == VP_D_MESSAGE && strcmp(gcw_method(d), "go") == 0) return gcw_go(w, io, d);
    if (d->type == VP_D_DROP_EXPORTS || d->type == VP_D_RETIRE_EXPORTS) {
        bool drop = d->type == VP_D_DROP_EXPORTS;
        if (++w->gc_deliveries == w->fail_gc_delivery) return SWING_ERR_INTERNAL; /* the vat fails */
        if (d->nvrefs > w->max_delivery) w->max_delivery = d->nvrefs;
        for (size_t i = 0; i < d->nvrefs; i++) {
            uint64_t id = strtoull(d->vrefs[i] + 2, NULL, 10);
            if (id >= w->state_cap || w->state[id] != (drop ? 1 : 2)) w->order_errors++;
            else w->state[id] = drop ? 2 : 3;
        }
        if (drop) w->drops += d->nvrefs;
        else w->retires += d->nvrefs;
    }
    return SWING_OK;
}

static swing_status gcw_b(void *user, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    gc_world *w = user;
    vp_syscall sc;
    swing_status s;
    (void)r;
    if (d->type != VP_D_MESSAGE || strcmp(gcw_method(d), "take") != 0) return SWING_OK;
    w->taken += d->methargs.nslots;
    memset(&sc, 0, sizeof sc);
    sc.type = VP_S_DROP_IMPORTS;
    sc.vrefs = d->methargs.slots;
    sc.nvrefs = d->methargs.nslots;
    if ((s = vp_channel_syscall(io, &sc, NULL))) return s;
    sc.type = VP_S_RETIRE_IMPORTS;
    return vp_channel_syscall(io, &sc, NULL);
}

static const char GCW_CONFIG[] =
    "{\"bootstrap\":\"boot\",\"gcBatch\":%u,\"vats\":{\"A\":{\"source\":\"raw:A\"},"
    "\"B\":{\"source\":\"raw:B\"},\"boot\":{\"source\":\"raw:boot\"}}}";

#endif /* LIBSWING_TESTS_KERNEL_GC_VATS_H */
