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
#include "liveslots/lua/vref.h"

/* Kind ids every Lua vat has (reference/vom-collections.md §1): kind
 * handles, then the eight store kinds (type 0 map, 1 weak map, 2 set, 3
 * weak set; virtual, then durable). The export counter starts after them. */
#define LS_LUA_KIND_HANDLE 1
#define LS_LUA_STORE_KIND_FIRST 2
#define LS_LUA_STORE_KIND(type, durable) (LS_LUA_STORE_KIND_FIRST + (type) + ((durable) ? 4 : 0))
#define LS_LUA_FIRST_EXPORT 10

typedef struct ls_lua_vdata_ctx {
    ls_lua_vat *vat;
    bool durable; /* only durable objects, imports and data */
} ls_lua_vdata_ctx;

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
#define LS_IRECOG "ls.importsKnown"   /* vref -> true: the kernel thinks we recognize it */
#define LS_LOCALS "ls.locals"           /* vref -> remotable (weak values): every named Far */
#define LS_VPINS "ls.vdataPins"         /* remotable vref -> vdata count */
#define LS_VPINNED "ls.vdataPinned"     /* remotable vref -> remotable while counted */
#define LS_WEAKFAR "ls.weakKeyedFar"    /* remotable vref -> true: keys a weak store */
#define LS_KINDS "ls.kinds"             /* kind id -> kind record (vom.c) */
#define LS_KHANDLES "ls.kindHandles"    /* kind id -> its handle, held for the incarnation */
#define LS_VREPS "ls.vreps"             /* vref -> representative (weak values) */
#define LS_VBASE "ls.vbase"             /* baseRef -> representative or cohort (weak values) */
#define LS_VCACHE "ls.vcache"           /* baseRef -> state record, this delivery */
#define LS_VDIRTY "ls.vdirty"           /* baseRef -> true: write back at the end */
#define LS_VGEN "ls.vgen"               /* collection id -> additions (iteration guard) */
#define LS_VAT "ls.vat"                 /* lightuserdata: the ls_lua_vat */
#define LS_PRESENCE_MT "ls.Presence"

struct ls_lua_vat {
    ls_lua_vm *vm;             /* the sandboxed state */
    char vat_id[24];           /* for messages */
    vp_channel *io;           /* the delivery in progress, else NULL */
    uint64_t export_id;        /* next o+N */
    uint64_t promise_id;       /* next p+N */
    uint64_t collection_id;    /* next collection C */
    bool counters_loaded;      /* idCounters read this incarnation */
    bool counters_dirty;       /* idCounters changed in this delivery */
    bool collecting;           /* notify in progress: defer subscribes */
    char **dead;               /* possibly dead baseRefs: imports, virtual objects (C memory) */
    size_t ndead, capdead;
    char **retired;            /* possibly retired imports (C memory) */
    size_t nretired, capretired;
    char **cands;              /* alive only by their vdata count: cycle candidates (C memory) */
    size_t ncands, capcands;
    size_t cycle_batch;        /* candidates per cycle search (halved when one is cut) */
    ls_lua_vdata_ctx vdata[2]; /* marshal contexts: virtual, durable */
    swing_buf held;            /* syscall results and JSON held across a call that may raise */
    void *held_json;
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
/* __gc of presences and representatives (upvalue: the vat): records the
 * baseRef in uservalue 1's vref as possibly dead, in C memory; no Lua
 * allocation, no syscall. */
int ls_lua_refs_gc(lua_State *L);
/* Whether registry table `table` has a value under key; removes it. */
bool ls_lua_refs_has(lua_State *L, const char *table, const char *key);
void ls_lua_refs_forget(lua_State *L, const char *table, const char *key);
/* Sets registry[key] to a new table, weak by mode ("k", "v") if not NULL. */
void ls_lua_refs_new_table(lua_State *L, const char *key, const char *mode);
/* Registers a kernel-decided promise for vpid (subscribed later or now). */
void ls_lua_refs_import_promise(lua_State *L, const char *vpid);
/* Forgets a vpid after it was resolved or notified. */
void ls_lua_refs_retire_vpid(lua_State *L, const char *vpid);
bool ls_lua_refs_is_remotable(lua_State *L, int idx);
bool ls_lua_refs_is_presence(lua_State *L, int idx);

/* The vref of a Far the vat already named, or NULL. */
const char *ls_lua_refs_known_vref(lua_State *L, int idx);
/* The vref of a Far, allocated (not exported) if it has none; sets *iface. */
const char *ls_lua_refs_local_vref(lua_State *L, int idx, const char **iface);

/* cdtext.c: capdata / record JSON as vstore.c writes it, without jansson;
 * false (nothing pushed) for any other text: parse it with jansson then. */
bool ls_lua_cdtext_capdata(lua_State *L, const char *text, size_t len);
bool ls_lua_cdtext_record(lua_State *L, const char *text, size_t len);
bool ls_lua_cdtext_scalar(lua_State *L, const char *body, size_t len); /* "#..." */

/* counts.c: counters read once per delivery, written back sorted at its end */
uint64_t ls_lua_counts_get(lua_State *L, const char *key); /* absent: 0 */
void ls_lua_counts_set(lua_State *L, const char *key, uint64_t n);
void ls_lua_counts_delete(lua_State *L, const char *key);
/* key is known not to exist (a new object's count): no read needed. */
void ls_lua_counts_absent(lua_State *L, const char *key);
void ls_lua_counts_reset(lua_State *L); /* forgets everything (delivery start) */
void ls_lua_counts_flush(lua_State *L); /* writes back, then resets */

/* vstore.c: vatstore access, JSON, counts, export status (see the file) */
void ls_lua_vstore_release(ls_lua_vat *v);
bool ls_lua_vstore_get(lua_State *L, const char *key); /* pushes the value if found */
void ls_lua_vstore_set(lua_State *L, const char *key, const char *val, size_t vlen);
void ls_lua_vstore_delete(lua_State *L, const char *key);
/* Pushes the next key after key if it starts with prefix. */
bool ls_lua_vstore_next(lua_State *L, const char *key, const char *prefix);
uint64_t ls_lua_vstore_get_number(lua_State *L, const char *key); /* absent: 0 */
void ls_lua_vstore_set_number(lua_State *L, const char *key, uint64_t n);
void ls_lua_vstore_push_json_field(lua_State *L, const char *key, const char *field);
/* Pushes s as a JSON string (quoted, escaped as base/json.h says). */
void ls_lua_vstore_push_json_string(lua_State *L, const char *s);
/* Capdata tables are {body, slots}; records map names to capdata tables. */
void ls_lua_vstore_push_capdata(lua_State *L, int cd);
void ls_lua_vstore_push_record(lua_State *L, int rec);
void ls_lua_vstore_parse_capdata(lua_State *L, const char *text, size_t len);
void ls_lua_vstore_parse_record(lua_State *L, const char *text, size_t len);
void ls_lua_vstore_maybe_dead(lua_State *L, const char *baseref, size_t len);
/* The same without Lua (for finalizers): false when out of memory. */
bool ls_lua_vstore_note_dead(ls_lua_vat *v, const char *baseref, size_t len);
void ls_lua_vstore_maybe_retired(lua_State *L, const char *vref);
void ls_lua_vstore_maybe_cyclic(lua_State *L, const char *baseref);
uint64_t ls_lua_vstore_rc(lua_State *L, const char *baseref);
/* One more or one less vdata reference to vref (counted on its baseRef). */
void ls_lua_vstore_count(lua_State *L, const char *vref, int delta);
/* The count changes of replacing the slots table old by new (0: none). */
void ls_lua_vstore_recount(lua_State *L, int old_slots, int new_slots);
/* Sets vref's facet in vom.es to c ('r', 's', 'n'). */
void ls_lua_vstore_export_status(lua_State *L, const char *vref, char c);
/* Reads baseref's export status into st (NUL-terminated; "" if none);
 * returns its length. */
#define LS_LUA_ES_MAX 1024
size_t ls_lua_vstore_read_status(lua_State *L, const char *baseref, char st[LS_LUA_ES_MAX]);
/* Some facet of baseref has export status c. */
bool ls_lua_vstore_exported(lua_State *L, const char *baseref, char c);

/* vom.c: kinds, representatives, state */
void ls_lua_vom_install(lua_State *L, ls_lua_vat *v);
void ls_lua_vom_register_kind(lua_State *L, uint64_t id, int rec);
void ls_lua_vom_push_kind(lua_State *L, uint64_t id);
bool ls_lua_vom_is_rep(lua_State *L, int idx);
const char *ls_lua_vom_vref(lua_State *L, int idx, const char **iface);
void ls_lua_vom_push_rep(lua_State *L, const char *vref); /* no syscall */
ls_lua_slot_ops ls_lua_vom_ops(ls_lua_vat *v, bool durable);
/* Pushes the capdata table of the value at idx as virtualized data
 * (raises, changing nothing, for a promise or a non-durable reference in
 * durable data). */
void ls_lua_vom_encode(lua_State *L, int idx, bool durable);
void ls_lua_vom_decode(lua_State *L, int cd);
/* The string keys of the table at idx, sorted bytewise, in a userdata it
 * pushes (the strings are anchored by the table); raises "<what> names must
 * be strings" on any other key. */
const char **ls_lua_vom_sorted_keys(lua_State *L, int idx, size_t *n, const char *what);
void ls_lua_vom_flush(lua_State *L); /* end of a delivery: dirty state, sorted */
void ls_lua_vom_mark_dirty(lua_State *L, const char *base);
void ls_lua_vom_push_state(lua_State *L, const char *base); /* the state object of base */
/* Builds base's representative (every facet of a faceted kind) for the kind
 * record at rec; pushes it or the cohort. */
void ls_lua_vom_build(lua_State *L, const char *base, int rec);
/* Decrefs what base's state names and deletes it; false if it had none. */
bool ls_lua_vom_delete_state(lua_State *L, const char *base);

/* kind.c: VatData's kind functions */
void ls_lua_kind_install(lua_State *L);

/* collection.c: stores and baggage */
void ls_lua_collection_install(lua_State *L);
/* Pushes the baggage, made on the first startVat; true if it was already
 * there (a later incarnation). */
bool ls_lua_collection_push_baggage(lua_State *L);
/* Deletes a dead store's entries (at most budget, 0: all; *done counts
 * them) and, once empty, its metadata: true when it is gone. */
bool ls_lua_collection_delete(lua_State *L, const char *base, uint64_t budget, uint64_t *done);
/* Deletes every weak-store entry keyed by vref, and its recognizers. */
void ls_lua_collection_cease_recognition(lua_State *L, const char *vref);

/* cycles.c: pushes the sorted array of garbage baseRefs among the objects
 * reachable from cands (sorted, unique), reading about cap objects and
 * entries at most (counted in *work); false if the cap cut the search (what
 * it pushes is garbage still, but some may have been missed). */
bool ls_lua_cycles_find(lua_State *L, const char *const *cands, size_t ncands, uint64_t cap, uint64_t *work);

/* cycles.c: false if base is an object whose state names no virtual object
 * (it cannot be on a cycle; one read). Stores: true. */
bool ls_lua_cycles_may_hold(lua_State *L, const char *base, const ls_lua_vref *r);

/* boyd.c: bringOutYourDead */
void ls_lua_boyd(lua_State *L, ls_lua_vat *v, uint64_t budget);

/* send.c: eventual sends and results */
void ls_lua_send_install(lua_State *L);
/* Pushes a promise for target[method](args) where the n args sit on top. */
void ls_lua_send_eventual(lua_State *L, int target, const char *method, int n);
/* The vat decides vpid: resolve it in the kernel when the promise at p settles. */
void ls_lua_send_follow(lua_State *L, const char *vpid, int p);

/* dispatch.c: deliveries */
int ls_lua_dispatch(lua_State *L); /* lightuserdata delivery at index 1 */

#endif /* LIBSWING_LIVESLOTS_LUA_VAT_INT_H */
