/*
 * syscalls.c - syscalls issued by raw C vats in tests and benchmarks (see
 * syscalls.h).
 */
#include "tests/lib/syscalls.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

swing_status tv_send(vp_channel *io, const char *target, const char *body, const char *const *slots,
                     size_t n, const char *result)
{
    vp_syscall sc;
    memset(&sc, 0, sizeof sc);
    sc.type = VP_S_SEND;
    sc.target = target;
    sc.methargs.body = body;
    sc.methargs.slots = slots;
    sc.methargs.nslots = n;
    sc.result = result;
    return vp_channel_syscall(io, &sc, NULL);
}

swing_status tv_resolve(vp_channel *io, const char *vpid, bool rejected, const char *body,
                        const char *const *slots, size_t n)
{
    vp_syscall sc;
    vp_resolution r;
    memset(&sc, 0, sizeof sc);
    r.vpid = vpid;
    r.rejected = rejected;
    r.data.body = body;
    r.data.slots = slots;
    r.data.nslots = n;
    sc.type = VP_S_RESOLVE;
    sc.resolutions = &r;
    sc.nresolutions = 1;
    return vp_channel_syscall(io, &sc, NULL);
}

swing_status tv_subscribe(vp_channel *io, const char *vpid)
{
    vp_syscall sc;
    memset(&sc, 0, sizeof sc);
    sc.type = VP_S_SUBSCRIBE;
    sc.vpid = vpid;
    return vp_channel_syscall(io, &sc, NULL);
}

swing_status tv_gc(vp_channel *io, vp_stype type, const char *const *vrefs, size_t n)
{
    vp_syscall sc;
    memset(&sc, 0, sizeof sc);
    sc.type = type;
    sc.vrefs = vrefs;
    sc.nvrefs = n;
    return vp_channel_syscall(io, &sc, NULL);
}

const char *tv_method(const vp_delivery *d, char *buf, size_t cap)
{
    json_t *j;
    buf[0] = '\0';
    if (d->type != VP_D_MESSAGE || d->methargs.body[0] != '#') return buf;
    j = json_loads(d->methargs.body + 1, 0, NULL);
    if (json_is_string(json_array_get(j, 0))) snprintf(buf, cap, "%s", json_string_value(json_array_get(j, 0)));
    json_decref(j);
    return buf;
}
