/*
 * vat.h - a Lua vat: the liveslots runtime in C over one sandboxed Lua state
 * (DESIGN.md §7, reference/liveslots.md §1-§6), exposed to the kernel as a
 * worker (vp_worker_ops). Vat code sees Far, E, promises (promise.h),
 * null/makeError (marshal.h), require (bundle.h) and buildRootObject.
 *
 * vrefs: root o+0, exports o+N (N from 1), promises p+N (N from 5), counters
 * persisted in the vatstore key "idCounters" at the end of each delivery.
 * Presences are userdata whose __gc finalizer only records the vref as
 * possibly dead (in C memory, charging nothing); bringOutYourDead runs a
 * full collection and emits dropImports, retireImports, retireExports, each
 * sorted. A delivery returns only when the turn queue is empty (S2).
 */
#ifndef LIBSWING_LIVESLOTS_LUA_VAT_H
#define LIBSWING_LIVESLOTS_LUA_VAT_H

#include "base/bytes.h"
#include "base/err.h"
#include "vatproto/vatproto.h"
#include "liveslots/lua/vm.h"

typedef struct ls_lua_vat ls_lua_vat;

typedef struct ls_lua_vat_options {
    ls_lua_limits limits;       /* per-delivery compute, memory cap */
    uint64_t syscall_charge;    /* computrons per syscall (0: 100) */
} ls_lua_vat_options;

/* Creates the vat from its bundle (loaded and run; buildRootObject is called
 * by the startVat delivery). Errors: INVALID (bad bundle), USER (the bundle
 * raised), LIMIT (its top level ran out: VP_FAIL_OF gives
 * VP_FAIL_COMPUTE or VP_FAIL_MEMORY), NOMEM. A failed delivery
 * sets result.fail likewise (FORBIDDEN for a forbidden construct). */
swing_status ls_lua_vat_create(const char *vat_id, swing_bytes bundle, const ls_lua_vat_options *opt,
                               ls_lua_vat **out, swing_err *err);
void ls_lua_vat_destroy(ls_lua_vat *vat);

/* Bytes the vat's Lua state holds now, garbage included until the next full
 * collection (read it after a bringOutYourDead for the reachable heap). For
 * host statistics and benchmarks; vat code never sees it. */
size_t ls_lua_vat_memory(const ls_lua_vat *vat);

/* The worker interface: self is the ls_lua_vat. */
extern const vp_worker_ops ls_lua_vat_ops;

#endif /* LIBSWING_LIVESLOTS_LUA_VAT_H */
