/*
 * vat_int.h - the Lua vat runtime's state and the helpers shared by vat.c,
 * refs.c, send.c and dispatch.c only.
 *
 * Registry tables (keys below) hold the vref tables of reference/liveslots.md
 * §2: exports (pinned while the kernel can reach them), dropped exports
 * (weak values, still recognized by the kernel), presences (weak values),
 * imports the kernel thinks reachable, promises by vpid, kernel-decided
 * vpids, and the weak-keyed value -> vref map.
 */
#ifndef LIBSWING_LIVESLOTS_LUA_VAT_INT_H
#define LIBSWING_LIVESLOTS_LUA_VAT_INT_H

#include <lauxlib.h>

#include "liveslots/lua/marshal.h"
#include "liveslots/lua/promise.h"
#include "liveslots/lua/vat.h"

#define LS_EXPORTS "ls.exports"         /* vref -> remotable (strong) */
#define LS_DROPPED "ls.dropped"         /* vref -> remotable (weak values) */
#define LS_RECOG "ls.recognized"        /* vref -> true: kernel recognizes the export */
#define LS_PRESENCES "ls.presences"     /* vref -> presence (weak values) */
#define LS_IMPORTS "ls.imports"         /* vref -> true: kernel thinks we reach it */
#define LS_PROMISES "ls.promises"       /* vpid -> promise (strong) */
#define LS_KPROMISES "ls.kernelDecided" /* vpid -> true: the kernel decides it */
#define LS_VALTOSLOT "ls.valToSlot"     /* value -> vref (weak keys) */
#define LS_REMOTABLES "ls.remotables"   /* remotable -> iface (weak keys) */
#define LS_NEWVPIDS "ls.newVPIDs"       /* notify: promise imports to subscribe */
#define LS_VAT "ls.vat"                 /* lightuserdata: the ls_lua_vat */
#define LS_PRESENCE_MT "ls.Presence"

struct ls_lua_vat {
    ls_lua_vm *vm;             /* the sandboxed state */
    char vat_id[24];           /* for messages */
    vp_channel *io;           /* the delivery in progress, else NULL */
    uint64_t export_id;        /* next o+N */
    uint64_t promise_id;       /* next p+N */
    bool counters_loaded;      /* idCounters read this incarnation */
    bool counters_dirty;       /* idCounters changed in this delivery */
    bool collecting;           /* notify in progress: defer subscribes */
    char **dead;               /* possibly dead presence vrefs (C memory) */
    size_t ndead, capdead;
    bool boyd_more;            /* the last BOYD's budget left dead objects */
    uint64_t syscall_charge;   /* computrons per syscall */
    uint64_t compute;          /* per-delivery limit */
};

ls_lua_vat *ls_lua_vat_get(lua_State *L);
/* Makes a syscall; raises (and stops the vat) if the kernel refuses it. */
void ls_lua_vat_syscall(lua_State *L, const vp_syscall *sc, vp_syscall_result *res);
/* Pushes the registry table named key. */
void ls_lua_vat_table(lua_State *L, const char *key);
/* Builds a capdata view from a body string and a slots table on the stack;
 * pushes a userdata that anchors the pointer array (keep it until done). */
vp_capdata ls_lua_vat_capdata(lua_State *L, int body, int slots);
/* Allocates the next o+N / p+N into buf. */
void ls_lua_vat_next_export(ls_lua_vat *v, char buf[32]);
void ls_lua_vat_next_promise(ls_lua_vat *v, char buf[32]);

/* refs.c: slot conversion, presences, Far */
extern const ls_lua_slot_ops ls_vat_slot_ops_proto; /* ctx set per vat */
int ls_lua_refs_to_slot(lua_State *L, int idx, void *ctx, const char **vref, const char **iface);
void ls_lua_refs_from_slot(lua_State *L, const char *vref, const char *iface, void *ctx);
ls_lua_slot_ops ls_lua_refs_ops(ls_lua_vat *v);
void ls_lua_refs_install(lua_State *L, ls_lua_vat *v);
/* Registers a kernel-decided promise for vpid (subscribed later or now). */
void ls_lua_refs_import_promise(lua_State *L, const char *vpid);
/* Forgets a vpid after it was resolved or notified. */
void ls_lua_refs_retire_vpid(lua_State *L, const char *vpid);
bool ls_lua_refs_is_remotable(lua_State *L, int idx);
bool ls_lua_refs_is_presence(lua_State *L, int idx);

/* send.c: eventual sends and results */
void ls_lua_send_install(lua_State *L);
/* Pushes a promise for target[method](args) where the n args sit on top. */
void ls_lua_send_eventual(lua_State *L, int target, const char *method, int n);
/* The vat decides vpid: resolve it in the kernel when the promise at p settles. */
void ls_lua_send_follow(lua_State *L, const char *vpid, int p);

/* dispatch.c: deliveries */
int ls_lua_dispatch(lua_State *L); /* lightuserdata delivery at index 1 */

#endif /* LIBSWING_LIVESLOTS_LUA_VAT_INT_H */
