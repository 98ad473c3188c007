/*
 * runtime.h - a vat runtime as the kernel sees it: how a runtime (the Lua
 * liveslots today) checks a bundle's code and makes a worker from it. The
 * runtime fills a vp_runtime with its functions and the host registers it
 * with the kernel (kern_options), so the kernel runs bundle vats without
 * knowing which language they are written in.
 */
#ifndef LIBSWING_VATPROTO_RUNTIME_H
#define LIBSWING_VATPROTO_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h"
#include "base/err.h"
#include "vatproto/vatproto.h"

/* Limits the kernel takes from a vat's options for its worker; 0 in a
 * field: the runtime's default. */
typedef struct vp_worker_limits {
    uint64_t compute; /* computrons per delivery (computeLimit) */
    uint64_t memory;  /* bytes the vat may hold (memoryLimit) */
} vp_worker_limits;

typedef struct vp_runtime {
    const char *name; /* "lua" */
    /* Checks a bundle without running it: INVALID with a description of
     * the problem (for a syntax error "<module>:<line>: <message>"). */
    swing_status (*check)(void *user, swing_bytes code, swing_err *err);
    /* Makes the worker of vat `vat_id` from its bundle (loaded and run; the
     * kernel then delivers startVat or replays the transcript). A failure
     * of the vat's own (it raised, ran out of compute or memory) carries
     * its vp_fail in VP_FAIL_STATUS detail bits. */
    swing_status (*create)(void *user, const char *vat_id, swing_bytes code, const vp_worker_limits *lim,
                           void **self, const vp_worker_ops **ops, swing_err *err);
    void *user; /* passed back to all three */
    /* The vatstore layout version this runtime's workers write (recorded
     * so a later wind-down knows how to read it). */
    uint32_t layout;
    /* Makes the built-in wind-down worker (no user code, no bundle) of a
     * vat whose vatstore was laid out as `layout` (docs/winddown.md);
     * NULL: this runtime has none. INVALID for a layout it cannot read. */
    swing_status (*create_wind_down)(void *user, const char *vat_id, uint32_t layout, void **self,
                                     const vp_worker_ops **ops, swing_err *err);
} vp_runtime;

#endif /* LIBSWING_VATPROTO_RUNTIME_H */
