/*
 * refs.c - the vat's references (reference/liveslots.md §1-§2, §6):
 * converting values to vrefs and back for marshal, Far remotables, Presence
 * userdata whose finalizer only records the vref as possibly dead, and the
 * kernel-decided promises a vat imports.
 */
#include "liveslots/lua/vat_int.h"

#include <stdio.h>
#include <string.h>

#include "liveslots/lua/vref.h"

/* ===== presences ===== */

int ls_lua_refs_gc(lua_State *L)
{
    ls_lua_vat *v = lua_touserdata(L, lua_upvalueindex(1));
    const char *vref, *colon;
    lua_getiuservalue(L, 1, 1);
    vref = lua_tostring(L, -1);
    if (!v || !vref) return 0;
    colon = strchr(vref, ':');
    /* out of memory: forgotten; it is listed again the next time it dies */
    (void)ls_lua_vstore_note_dead(v, vref, colon ? (size_t)(colon - vref) : strlen(vref));
    return 0;
}

static int presence_tostring(lua_State *L)
{
    lua_getiuservalue(L, 1, 2);
    lua_pushfstring(L, "Presence %s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
    return 1;
}

static int presence_index(lua_State *L)
{
    return luaL_error(L, "a presence has no fields; use E(presence).%s(...)", luaL_optstring(L, 2, "method"));
}

bool ls_lua_refs_is_presence(lua_State *L, int idx) { return luaL_testudata(L, idx, LS_PRESENCE_MT) != NULL; }

static void push_presence(lua_State *L, const char *vref, const char *iface)
{
    lua_newuserdatauv(L, 0, 2);
    ls_lua_push_string(L, vref);
    lua_setiuservalue(L, -2, 1);
    iface = iface ? iface : "Alleged: presence";
    ls_lua_push_string(L, iface);
    lua_setiuservalue(L, -2, 2);
    luaL_setmetatable(L, LS_PRESENCE_MT);
}

/* ===== Far ===== */

bool ls_lua_refs_is_remotable(lua_State *L, int idx)
{
    bool r;
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE) return false;
    ls_lua_vat_table(L, LS_REMOTABLES);
    lua_pushvalue(L, idx);
    r = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return r;
}

/* Far(iface, methods): marks the methods table as a remotable. */
static int far(lua_State *L)
{
    const char *iface = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        if (lua_type(L, -2) != LUA_TSTRING || !lua_isfunction(L, -1))
            return luaL_error(L, "Far: methods must be functions under string names");
        lua_pop(L, 1);
    }
    ls_lua_vat_table(L, LS_REMOTABLES);
    lua_pushvalue(L, 2);
    lua_pushfstring(L, strncmp(iface, "Alleged: ", 9) == 0 ? "%s" : "Alleged: %s", iface);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_pushvalue(L, 2);
    return 1;
}

/* ===== value <-> vref ===== */

static const char *lookup_vref(lua_State *L, int idx)
{
    const char *vref;
    idx = lua_absindex(L, idx);
    ls_lua_vat_table(L, LS_VALTOSLOT);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    vref = lua_tostring(L, -1); /* anchored by valToSlot while the value lives */
    lua_pop(L, 2);
    return vref;
}

static void set_field(lua_State *L, const char *table, const char *key, int val)
{
    val = lua_absindex(L, val);
    ls_lua_vat_table(L, table);
    lua_pushvalue(L, val);
    lua_setfield(L, -2, key);
    lua_pop(L, 1);
}

static void bind(lua_State *L, int idx, const char *vref)
{
    idx = lua_absindex(L, idx);
    ls_lua_vat_table(L, LS_VALTOSLOT);
    lua_pushvalue(L, idx);
    ls_lua_push_string(L, vref);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* Exports a remotable (again): pinned and recognized by the kernel. */
static const char *export_remotable(lua_State *L, int idx, const char **iface)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    const char *vref = lookup_vref(L, idx);
    char buf[32];
    idx = lua_absindex(L, idx);
    if (!vref) {
        ls_lua_vat_next_export(v, buf);
        bind(L, idx, buf);
        vref = lookup_vref(L, idx);
    }
    set_field(L, LS_EXPORTS, vref, idx);
    set_field(L, LS_LOCALS, vref, idx);
    lua_pushboolean(L, 1);
    set_field(L, LS_RECOG, vref, -1);
    lua_pop(L, 1);
    lua_pushnil(L);
    set_field(L, LS_DROPPED, vref, -1);
    lua_pop(L, 1);
    ls_lua_vat_table(L, LS_REMOTABLES);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    *iface = lua_tostring(L, -1); /* anchored by the remotables table */
    lua_pop(L, 2);
    return vref;
}

const char *ls_lua_refs_known_vref(lua_State *L, int idx) { return lookup_vref(L, idx); }

const char *ls_lua_refs_local_vref(lua_State *L, int idx, const char **iface)
{
    const char *vref = lookup_vref(L, idx);
    char buf[32];
    idx = lua_absindex(L, idx);
    if (!vref) {
        ls_lua_vat_next_export(ls_lua_vat_get(L), buf);
        bind(L, idx, buf);
        vref = lookup_vref(L, idx);
        set_field(L, LS_LOCALS, vref, idx);
    }
    ls_lua_vat_table(L, LS_REMOTABLES);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    *iface = lua_tostring(L, -1); /* anchored by the remotables table */
    lua_pop(L, 2);
    return vref;
}

static const char *export_promise(lua_State *L, int idx)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    const char *vref = lookup_vref(L, idx);
    char buf[32];
    if (vref) return vref; /* already known to the kernel */
    ls_lua_vat_next_promise(v, buf);
    bind(L, idx, buf);
    set_field(L, LS_PROMISES, buf, idx);
    ls_lua_send_follow(L, buf, idx);
    return lookup_vref(L, idx);
}

int ls_lua_refs_to_slot(lua_State *L, int idx, void *ctx, const char **vref, const char **iface)
{
    (void)ctx;
    *vref = NULL;
    *iface = NULL;
    if (ls_lua_refs_is_presence(L, idx)) {
        lua_getiuservalue(L, idx, 1);
        *vref = lua_tostring(L, -1);
        lua_getiuservalue(L, idx, 2);
        *iface = lua_tostring(L, -1);
        lua_pop(L, 2); /* anchored by the userdata */
        return 1;
    }
    if (ls_lua_refs_is_remotable(L, idx)) {
        *vref = export_remotable(L, idx, iface);
        return 1;
    }
    if (ls_lua_vom_is_rep(L, idx)) { /* a virtual object leaves: the kernel can reach it */
        *vref = ls_lua_vom_vref(L, idx, iface);
        ls_lua_vstore_export_status(L, *vref, 'r');
        return 1;
    }
    if (ls_lua_promise_is(L, idx)) {
        *vref = export_promise(L, idx);
        return 1;
    }
    return 0;
}

void ls_lua_refs_import_promise(lua_State *L, const char *vpid)
{
    ls_lua_promise_new(L);
    bind(L, -1, vpid);
    set_field(L, LS_PROMISES, vpid, -1);
    lua_pushboolean(L, 1);
    set_field(L, LS_KPROMISES, vpid, -1);
    lua_pop(L, 2);
}

void ls_lua_refs_retire_vpid(lua_State *L, const char *vpid)
{
    ls_lua_vat_table(L, LS_PROMISES);
    if (lua_getfield(L, -1, vpid) != LUA_TNIL) {
        ls_lua_vat_table(L, LS_VALTOSLOT);
        lua_pushvalue(L, -2);
        lua_pushnil(L);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_setfield(L, -2, vpid);
    lua_pop(L, 1);
    lua_pushnil(L);
    set_field(L, LS_KPROMISES, vpid, -1);
    lua_pop(L, 1);
}

static void subscribe(lua_State *L, const char *vpid)
{
    vp_syscall sc;
    memset(&sc, 0, sizeof sc);
    sc.type = VP_S_SUBSCRIBE;
    sc.vpid = vpid;
    ls_lua_vat_syscall(L, &sc, NULL);
}

/* Pushes the value for an incoming vref. Each costs LS_LUA_SLOT_COMPUTRONS,
 * found or made: a presence the vat dropped may or may not have been
 * collected yet, so making one anew is charged no more than finding it. */
void ls_lua_refs_from_slot(lua_State *L, const char *vref, const char *iface, void *ctx)
{
    ls_lua_vm *vm = ls_lua_vm_of(L);
    (void)ctx;
    ls_lua_vm_charge(vm, LS_LUA_SLOT_COMPUTRONS);
    if (vref[0] == 'p') {
        ls_lua_vat_table(L, LS_PROMISES);
        if (lua_getfield(L, -1, vref) != LUA_TNIL) {
            lua_remove(L, -2);
            return;
        }
        lua_pop(L, 2);
        ls_lua_vm_uncharged(vm, true);
        ls_lua_refs_import_promise(L, vref);
        ls_lua_vm_uncharged(vm, false);
        if (ls_lua_vat_get(L)->collecting) {
            ls_lua_vat_table(L, LS_NEWVPIDS);
            ls_lua_push_string(L, vref);
            lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
            lua_pop(L, 1);
        } else {
            subscribe(L, vref);
        }
        ls_lua_vat_table(L, LS_PROMISES);
        lua_getfield(L, -1, vref);
        lua_remove(L, -2);
        return;
    }
    if (ls_lua_vref_is_virtual(vref)) {
        ls_lua_vm_uncharged(vm, true);
        ls_lua_vom_push_rep(L, vref);
        ls_lua_vm_uncharged(vm, false);
        return;
    }
    if (vref[0] == 'o' && vref[1] == '+') {
        ls_lua_vat_table(L, LS_LOCALS);
        if (lua_getfield(L, -1, vref) == LUA_TNIL) {
            lua_pop(L, 2);
            ls_lua_vat_table(L, LS_EXPORTS);
            if (lua_getfield(L, -1, vref) == LUA_TNIL) luaL_error(L, "unknown export %s", vref);
        }
        lua_remove(L, -2);
        return;
    }
    if (vref[0] != 'o' || vref[1] != '-') luaL_error(L, "unsupported vref %s", vref);
    ls_lua_vat_table(L, LS_PRESENCES);
    if (lua_getfield(L, -1, vref) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    ls_lua_vm_uncharged(vm, true);
    push_presence(L, vref, iface);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, vref);
    lua_remove(L, -2);
    bind(L, -1, vref);
    lua_pushboolean(L, 1);
    set_field(L, LS_IMPORTS, vref, -1);
    set_field(L, LS_IRECOG, vref, -1);
    lua_pop(L, 1);
    ls_lua_vm_uncharged(vm, false);
}

ls_lua_slot_ops ls_lua_refs_ops(ls_lua_vat *v)
{
    ls_lua_slot_ops ops;
    ops.to_slot = ls_lua_refs_to_slot;
    ops.from_slot = ls_lua_refs_from_slot;
    ops.ctx = v;
    return ops;
}

bool ls_lua_refs_has(lua_State *L, const char *table, const char *key)
{
    bool r;
    ls_lua_vat_table(L, table);
    r = lua_getfield(L, -1, key) != LUA_TNIL;
    lua_pop(L, 2);
    return r;
}

void ls_lua_refs_forget(lua_State *L, const char *table, const char *key)
{
    ls_lua_vat_table(L, table);
    lua_pushnil(L);
    lua_setfield(L, -2, key);
    lua_pop(L, 1);
}

void ls_lua_refs_new_table(lua_State *L, const char *key, const char *mode)
{
    lua_newtable(L);
    if (mode) {
        lua_createtable(L, 0, 1);
        ls_lua_push_string(L, mode);
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
    }
    lua_setfield(L, LUA_REGISTRYINDEX, key);
}

void ls_lua_refs_install(lua_State *L, ls_lua_vat *v)
{
    ls_lua_refs_new_table(L, LS_EXPORTS, NULL);
    ls_lua_refs_new_table(L, LS_DROPPED, "v");
    ls_lua_refs_new_table(L, LS_RECOG, NULL);
    ls_lua_refs_new_table(L, LS_PRESENCES, "v");
    ls_lua_refs_new_table(L, LS_IMPORTS, NULL);
    ls_lua_refs_new_table(L, LS_PROMISES, NULL);
    ls_lua_refs_new_table(L, LS_KPROMISES, NULL);
    ls_lua_refs_new_table(L, LS_VALTOSLOT, "k");
    ls_lua_refs_new_table(L, LS_REMOTABLES, "k");
    ls_lua_refs_new_table(L, LS_NEWVPIDS, NULL);
    ls_lua_refs_new_table(L, LS_IRECOG, NULL);
    ls_lua_refs_new_table(L, LS_WEAKFAR, NULL);
    luaL_newmetatable(L, LS_PRESENCE_MT);
    lua_pushlightuserdata(L, v);
    lua_pushcclosure(L, ls_lua_refs_gc, 1);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, presence_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, presence_index);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "Presence");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    lua_pushcfunction(L, far);
    lua_setglobal(L, "Far");
}
