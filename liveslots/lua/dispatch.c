/*
 * dispatch.c - deliveries into a Lua vat (reference/liveslots.md §5, §6.5):
 * message (the vat decides the result), notify (batch; new promise imports
 * subscribed after, sorted), GC deliveries (virtual objects' export status,
 * weak-store entries of retired imports), startVat (buildRootObject with
 * the baggage); bringOutYourDead is boyd.c's.
 */
#include "liveslots/lua/vat_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveslots/lua/vref.h"

static void deliver_message(lua_State *L, ls_lua_vat *v, const vp_delivery *d)
{
    ls_lua_slot_ops ops = ls_lua_refs_ops(v);
    int target, n;
    const char *method;
    ls_lua_refs_from_slot(L, d->target, NULL, v);
    target = lua_gettop(L);
    n = ls_lua_marshal_decode_call(L, d->methargs.body, strlen(d->methargs.body), d->methargs.slots,
                                   d->methargs.nslots, &ops);
    method = lua_tostring(L, target + 1); /* anchored at target + 1 */
    if (!method) luaL_error(L, "function calls are not supported; send a method");
    ls_lua_send_eventual(L, target, method, n); /* the arguments become the result promise */
    if (!d->result) return;
    ls_lua_vat_table(L, LS_PROMISES);
    if (lua_getfield(L, -1, d->result) != LUA_TNIL && ls_lua_promise_is(L, -1)) {
        /* We imported this promise before and now decide it. */
        ls_lua_promise_resolve(L, -1, -3);
        ls_lua_vat_table(L, LS_KPROMISES);
        lua_pushnil(L);
        lua_setfield(L, -2, d->result);
        lua_pop(L, 1);
        ls_lua_send_follow(L, d->result, -1);
        return;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, d->result);
    lua_pop(L, 1);
    ls_lua_vat_table(L, LS_VALTOSLOT);
    lua_pushvalue(L, -2);
    ls_lua_push_string(L, d->result);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    ls_lua_send_follow(L, d->result, -1);
}

static void deliver_notify(lua_State *L, ls_lua_vat *v, const vp_delivery *d)
{
    ls_lua_slot_ops ops = ls_lua_refs_ops(v);
    lua_Integer n;
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LS_NEWVPIDS);
    v->collecting = true;
    for (size_t i = 0; i < d->nresolutions; i++) {
        const vp_resolution *r = &d->resolutions[i];
        bool known;
        ls_lua_vat_table(L, LS_KPROMISES);
        known = lua_getfield(L, -1, r->vpid) != LUA_TNIL;
        lua_pop(L, 2);
        if (!known) continue; /* stale: not ours to hear about */
        ls_lua_vat_table(L, LS_PROMISES);
        lua_getfield(L, -1, r->vpid);
        ls_lua_marshal_decode(L, r->data.body, strlen(r->data.body), r->data.slots, r->data.nslots, &ops);
        if (r->rejected) ls_lua_promise_reject(L, -2, -1);
        else ls_lua_promise_resolve(L, -2, -1);
        lua_pop(L, 3);
        ls_lua_refs_retire_vpid(L, r->vpid);
    }
    v->collecting = false;
    /* Subscribe, in sorted order, to new imports not settled in this batch. */
    ls_lua_vat_table(L, LS_NEWVPIDS);
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_remove(L, -2);
    lua_pushvalue(L, -2);
    lua_call(L, 1, 0);
    n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
        vp_syscall sc;
        bool pending;
        lua_rawgeti(L, -1, i);
        ls_lua_vat_table(L, LS_KPROMISES);
        pending = lua_getfield(L, -1, lua_tostring(L, -2)) != LUA_TNIL;
        lua_pop(L, 2);
        if (pending) {
            memset(&sc, 0, sizeof sc);
            sc.type = VP_S_SUBSCRIBE;
            sc.vpid = lua_tostring(L, -1);
            ls_lua_vat_syscall(L, &sc, NULL);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* dropExports / retireExports of a virtual object: its export status. */
static void gc_virtual(lua_State *L, const vp_delivery *d, const char *vref)
{
    ls_lua_vref r;
    if (!ls_lua_vref_parse(vref, &r)) return;
    ls_lua_vstore_export_status(L, vref, d->type == VP_D_DROP_EXPORTS ? 's' : 'n');
    if (d->type == VP_D_DROP_EXPORTS) ls_lua_vstore_maybe_dead(L, vref, r.base_len);
}

static void gc_delivery(lua_State *L, const vp_delivery *d)
{
    for (size_t i = 0; i < d->nvrefs; i++) {
        const char *vref = d->vrefs[i];
        if (d->type != VP_D_RETIRE_IMPORTS && ls_lua_vref_is_virtual(vref)) {
            gc_virtual(L, d, vref);
        } else if (d->type == VP_D_DROP_EXPORTS) {
            ls_lua_vat_table(L, LS_EXPORTS);
            if (lua_getfield(L, -1, vref) != LUA_TNIL) {
                ls_lua_vat_table(L, LS_DROPPED);
                lua_pushvalue(L, -2);
                lua_setfield(L, -2, vref); /* weakly held: it may die now */
                lua_pop(L, 1);
                lua_pushnil(L);
                lua_setfield(L, -3, vref);
            }
            lua_pop(L, 2);
        } else if (d->type == VP_D_RETIRE_EXPORTS) {
            ls_lua_refs_forget(L, LS_RECOG, vref);
            ls_lua_refs_forget(L, LS_DROPPED, vref);
        } else { /* retireImports: the exporter forgot it; so do our weak stores */
            ls_lua_refs_forget(L, LS_IMPORTS, vref);
            ls_lua_refs_forget(L, LS_IRECOG, vref);
            ls_lua_collection_cease_recognition(L, vref);
        }
    }
}

/* A later incarnation must define again every durable kind an earlier one
 * made a handle for (reference/upgrade.md §4): their instances, exports and
 * stored references outlive the incarnation that defined them. Fails
 * startVat (the upgrade rolls back) naming the missing tags in key order. */
static void insist_durable_kinds_defined(lua_State *L)
{
    static const char prefix[] = "vom.dkind.";
    char key[96];
    int top = lua_gettop(L), n = 0; /* the missing tags and their separators, on the stack */
    snprintf(key, sizeof key, "%s", prefix);
    while (ls_lua_vstore_next(L, key, prefix)) {
        const char *dot;
        snprintf(key, sizeof key, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        dot = strrchr(key, '.');
        if (!dot || strcmp(dot, ".descriptor") != 0) continue;
        ls_lua_vom_push_kind(L, strtoull(key + sizeof prefix - 1, NULL, 10));
        if (!lua_isnil(L, -1)) {
            lua_pop(L, 1);
            continue;
        }
        lua_pop(L, 1);
        luaL_checkstack(L, 4, "too many missing kinds");
        if (n) {
            lua_pushliteral(L, ", ");
            n++;
        }
        ls_lua_vstore_push_json_field(L, key, "tag");
        if (!lua_isstring(L, -1)) {
            lua_pop(L, 1);
            lua_pushliteral(L, "?");
        }
        n++;
    }
    if (n == 0) return;
    lua_concat(L, n);
    luaL_error(L, "defineDurableKind not called for tags: [%s]", lua_tostring(L, -1));
    lua_settop(L, top);
}

static void start_vat(lua_State *L, ls_lua_vat *v, const vp_delivery *d)
{
    ls_lua_slot_ops ops = ls_lua_refs_ops(v);
    bool upgraded;
    int fn;
    lua_getfield(L, LUA_REGISTRYINDEX, "ls.entry");
    if (lua_type(L, -1) == LUA_TTABLE) lua_getfield(L, -1, "buildRootObject");
    else if (lua_type(L, -1) != LUA_TFUNCTION) lua_getglobal(L, "buildRootObject");
    else lua_pushvalue(L, -1);
    fn = lua_gettop(L);
    if (!lua_isfunction(L, fn)) luaL_error(L, "the bundle defines no buildRootObject");
    lua_newtable(L); /* vatPowers */
    ls_lua_marshal_decode(L, d->vat_parameters.body, strlen(d->vat_parameters.body), d->vat_parameters.slots,
                          d->vat_parameters.nslots, &ops);
    upgraded = ls_lua_collection_push_baggage(L);
    if (upgraded) {
        /* The kernel abandoned every non-durable export of the incarnation
         * that ended (its vom.es records stay): the numbers in use then
         * tell them from this incarnation's (winddown.c reads the mark). */
        char mark[64];
        snprintf(mark, sizeof mark, "%" PRIu64 ",%" PRIu64, v->export_id, v->collection_id);
        ls_lua_vstore_set(L, "vom.upgradeMark", mark, strlen(mark));
    }
    lua_call(L, 3, 1);
    if (!ls_lua_refs_is_remotable(L, -1)) luaL_error(L, "buildRootObject must return a Far object");
    if (upgraded) insist_durable_kinds_defined(L);
    ls_lua_vat_table(L, LS_VALTOSLOT);
    lua_pushvalue(L, -2);
    lua_pushliteral(L, "o+0");
    lua_rawset(L, -3);
    lua_pop(L, 1);
    ls_lua_vat_table(L, LS_EXPORTS);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "o+0");
    lua_pop(L, 1);
    ls_lua_vat_table(L, LS_LOCALS);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "o+0");
    lua_pop(L, 1);
    ls_lua_vat_table(L, LS_RECOG);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "o+0");
    lua_pop(L, 1);
}

int ls_lua_dispatch(lua_State *L)
{
    const vp_delivery *d = lua_touserdata(L, 1);
    ls_lua_vat *v = ls_lua_vat_get(L);
    switch (d->type) {
    case VP_D_MESSAGE: deliver_message(L, v, d); break;
    case VP_D_NOTIFY: deliver_notify(L, v, d); break;
    case VP_D_DROP_EXPORTS:
    case VP_D_RETIRE_EXPORTS:
    case VP_D_RETIRE_IMPORTS: gc_delivery(L, d); break;
    case VP_D_START_VAT: start_vat(L, v, d); break;
    case VP_D_BRING_OUT_YOUR_DEAD:
        if (!ls_lua_sandbox_check_rules(v->vm)) {
            ls_lua_vm_kill(v->vm, "weak or finalized tables are not allowed");
            return luaL_error(L, "vat stopped");
        }
        ls_lua_boyd(L, v, d->budget);
        break;
    case VP_D_CHANGE_VAT_OPTIONS: break;
    }
    return 0;
}
