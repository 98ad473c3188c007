/*
 * vat.c - a Lua vat's lifecycle and the worker interface (see vat.h): state
 * creation (sandbox, promises, marshal, require, the runtime's tables), the
 * delivery entry point with metering and failure mapping, syscalls, and the
 * persisted id counters.
 */
#include "liveslots/lua/vat_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "liveslots/lua/bundle.h"

ls_lua_vat *ls_lua_vat_get(lua_State *L)
{
    ls_lua_vat *v;
    lua_getfield(L, LUA_REGISTRYINDEX, LS_VAT);
    v = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return v;
}

void ls_lua_vat_table(lua_State *L, const char *key) { lua_getfield(L, LUA_REGISTRYINDEX, key); }

void ls_lua_vat_syscall(lua_State *L, const vp_syscall *sc, vp_syscall_result *res)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    swing_status s;
    if (!v->io) luaL_error(L, "syscall outside a delivery");
    ls_lua_vm_charge(v->vm, v->syscall_charge);
    s = vp_channel_syscall(v->io, sc, res);
    if (s != SWING_OK) {
        ls_lua_vm_kill(v->vm, "illegal syscall");
        luaL_error(L, "illegal syscall");
    }
}

vp_capdata ls_lua_vat_capdata(lua_State *L, int body, int slots)
{
    vp_capdata cd;
    size_t n;
    const char **ptrs;
    body = lua_absindex(L, body);
    slots = lua_absindex(L, slots);
    n = lua_rawlen(L, slots);
    ptrs = lua_newuserdatauv(L, (n ? n : 1) * sizeof *ptrs, 0);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, slots, (lua_Integer)i + 1);
        ptrs[i] = lua_tostring(L, -1); /* anchored by the slots table */
        lua_pop(L, 1);
    }
    cd.body = lua_tostring(L, body);
    cd.slots = ptrs;
    cd.nslots = n;
    return cd;
}

/* ===== id counters (vatstore "idCounters") ===== */

static void load_counters(lua_State *L, ls_lua_vat *v)
{
    vp_syscall sc;
    vp_syscall_result res;
    memset(&sc, 0, sizeof sc);
    memset(&res, 0, sizeof res);
    sc.type = VP_S_VATSTORE_GET;
    sc.key = swing_str("idCounters");
    v->export_id = LS_LUA_FIRST_EXPORT;
    v->promise_id = 5;
    v->collection_id = 1;
    v->counters_loaded = true;
    ls_lua_vat_syscall(L, &sc, &res);
    if (res.found) {
        char text[160];
        unsigned long long c, e, p;
        snprintf(text, sizeof text, "%.*s", (int)res.value.len, (const char *)res.value.ptr);
        if (sscanf(text, "{\"collectionID\":%llu,\"exportID\":%llu,\"promiseID\":%llu}", &c, &e, &p) == 3) {
            v->collection_id = c;
            v->export_id = e;
            v->promise_id = p;
        } else if (sscanf(text, "{\"exportID\":%llu,\"promiseID\":%llu}", &e, &p) == 2) {
            v->export_id = e; /* written before collections existed */
            v->promise_id = p;
        }
    }
    swing_buf_free(&res.value);
}

static void flush_counters(lua_State *L, ls_lua_vat *v)
{
    vp_syscall sc;
    char text[128];
    if (!v->counters_dirty) return;
    snprintf(text, sizeof text, "{\"collectionID\":%" PRIu64 ",\"exportID\":%" PRIu64 ",\"promiseID\":%" PRIu64 "}",
             v->collection_id, v->export_id, v->promise_id);
    memset(&sc, 0, sizeof sc);
    sc.type = VP_S_VATSTORE_SET;
    sc.key = swing_str("idCounters");
    sc.value = swing_str(text);
    ls_lua_vat_syscall(L, &sc, NULL);
    v->counters_dirty = false;
}

void ls_lua_vat_next_export(ls_lua_vat *v, char buf[32])
{
    snprintf(buf, 32, "o+%" PRIu64, v->export_id++);
    v->counters_dirty = true;
}

void ls_lua_vat_next_promise(ls_lua_vat *v, char buf[32])
{
    snprintf(buf, 32, "p+%" PRIu64, v->promise_id++);
    v->counters_dirty = true;
}

/* ===== the delivery ===== */

/* Why the vm stopped vat code, for the kernel's termination record. */
static vp_fail fail_of(const ls_lua_vm *vm)
{
    switch (ls_lua_vm_exhausted(vm)) {
    case LS_LUA_COMPUTE: return VP_FAIL_COMPUTE;
    case LS_LUA_MEMORY: return VP_FAIL_MEMORY;
    case LS_LUA_ILLEGAL:
    case LS_LUA_FATAL: return VP_FAIL_FORBIDDEN; /* an illegal syscall is the kernel's to name */
    case LS_LUA_OK: break;
    }
    return VP_FAIL_ERROR;
}

/* Runs inside lua_pcall: dispatch, drain the turn queue, flush counters. */
static int run_delivery(lua_State *L)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    if (!v->counters_loaded) load_counters(L, v);
    ls_lua_counts_reset(L);
    lua_pushcfunction(L, ls_lua_dispatch);
    lua_pushvalue(L, 1);
    lua_call(L, 1, 0);
    ls_lua_promise_drain(L);
    ls_lua_vom_flush(L);    /* state written back, sorted, before the delivery ends */
    ls_lua_counts_flush(L); /* then the counts (writing state may change them) */
    flush_counters(L, v);
    return 0;
}

static swing_status vat_deliver(void *self, vp_channel *io, const vp_delivery *d, vp_delivery_result *r)
{
    ls_lua_vat *v = self;
    lua_State *L = ls_lua_vm_state(v->vm);
    swing_err e;
    swing_status s;
    v->io = io;
    v->boyd_more = false;
    swing_err_clear(&e);
    ls_lua_vm_begin(v->vm, v->compute);
    lua_pushcfunction(L, run_delivery);
    lua_pushlightuserdata(L, (void *)d);
    s = ls_lua_vm_pcall(v->vm, 1, 0, &e);
    if (s == SWING_OK && !ls_lua_sandbox_check_rules(v->vm))
        s = swing_err_set(&e, SWING_ERR_VAT, "weak or finalized tables are not allowed");
    v->io = NULL;
    r->computrons = ls_lua_vm_used(v->vm);
    r->more = v->boyd_more;
    if (s != SWING_OK) {
        r->ok = false;
        r->fail = fail_of(v->vm);
        snprintf(r->message, sizeof r->message, "%.250s", e.msg);
    }
    return SWING_OK;
}

size_t ls_lua_vat_memory(const ls_lua_vat *vat) { return ls_lua_vm_memory(vat->vm); }

static void vat_destroy(void *self) { ls_lua_vat_destroy(self); }

const vp_worker_ops ls_lua_vat_ops = {vat_deliver, vat_destroy};

/* ===== creation ===== */

static int setup(lua_State *L)
{
    ls_lua_vat *v = lua_touserdata(L, 1);
    lua_pushlightuserdata(L, v);
    lua_setfield(L, LUA_REGISTRYINDEX, LS_VAT);
    ls_lua_marshal_install(L);
    ls_lua_promise_install(L);
    ls_lua_refs_install(L, v);
    ls_lua_send_install(L);
    ls_lua_vom_install(L, v);
    ls_lua_kind_install(L);
    ls_lua_collection_install(L);
    return 0;
}

swing_status ls_lua_vat_create(const char *vat_id, swing_bytes bundle, const ls_lua_vat_options *opt,
                               ls_lua_vat **out, swing_err *err)
{
    ls_lua_vat *v = swing_calloc(1, sizeof *v);
    lua_State *L;
    swing_status s;
    *out = NULL;
    if (!v) return SWING_NOMEM(err);
    snprintf(v->vat_id, sizeof v->vat_id, "%s", vat_id);
    v->syscall_charge = opt && opt->syscall_charge ? opt->syscall_charge : 100;
    v->compute = opt && opt->limits.compute ? opt->limits.compute : 10000000u;
    if ((s = ls_lua_vm_open(opt ? &opt->limits : NULL, &v->vm, err))) goto fail;
    L = ls_lua_vm_state(v->vm);
    lua_pushcfunction(L, setup);
    lua_pushlightuserdata(L, v);
    if ((s = ls_lua_vm_pcall(v->vm, 1, 0, err))) goto fail;
    ls_lua_vm_begin(v->vm, v->compute);
    if ((s = ls_lua_bundle_load(v->vm, (const char *)bundle.ptr, bundle.len, err))) goto fail;
    lua_setfield(L, LUA_REGISTRYINDEX, "ls.entry"); /* buildRootObject source */
    *out = v;
    return SWING_OK;
fail:
    if (v->vm && SWING_STATUS_PRIMARY(s) == SWING_ERR_LIMIT) /* the bundle's top level ran out */
        s = VP_FAIL_STATUS(SWING_ERR_LIMIT, fail_of(v->vm) == VP_FAIL_COMPUTE ? VP_FAIL_COMPUTE
                                                                                         : VP_FAIL_MEMORY);
    ls_lua_vat_destroy(v);
    return s;
}

void ls_lua_vat_destroy(ls_lua_vat *v)
{
    if (!v) return;
    ls_lua_vm_close(v->vm); /* runs pending finalizers, which only record */
    for (size_t i = 0; i < v->ndead; i++) swing_mfree(v->dead[i]);
    swing_mfree(v->dead);
    for (size_t i = 0; i < v->nretired; i++) swing_mfree(v->retired[i]);
    swing_mfree(v->retired);
    for (size_t i = 0; i < v->ncands; i++) swing_mfree(v->cands[i]);
    swing_mfree(v->cands);
    ls_lua_vstore_release(v);
    swing_mfree(v);
}
