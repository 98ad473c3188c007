/*
 * marshal.h - smallcaps capdata <-> Lua values (reference/liveslots.md §4,
 * DESIGN.md §3 canonical encodings). Runs on a Lua stack; errors are raised
 * as Lua errors (call it from a protected C function).
 *
 * Lua -> smallcaps body (after the leading '#'):
 *   nil                 "#undefined"          (only where a value may be absent:
 *                                              argument lists, top level)
 *   the `null` sentinel  null                 (ls_lua_marshal_push_null)
 *   boolean             true / false
 *   integer             JSON integer when |i| <= 2^53, else bigint "+N" / "-N"
 *   float               shortest round-trip decimal, always with '.' or 'e'
 *                       (2.0 -> "2.0"); NaN "#NaN", +-inf "#Infinity" "#-Infinity"
 *   string              JSON string (must be valid UTF-8); a leading char in
 *                       ! " # $ % & ' ( ) * + , - gets a '!' prefix
 *   table, keys 1..n    JSON array (n >= 1); empty table -> []
 *   table, string keys  JSON object, keys sorted bytewise (escaped like strings)
 *   error object        {"#error": message, "name": name}
 *   reference           "$i.iface" first time, "$i" after; promise "&i"
 *                       (slot index i into the deduplicated slots)
 * Anything else (functions, threads, userdata that is not a reference, mixed
 * or non-string-keyed tables, cycles, nesting deeper than 64) raises
 * "not passable: <why>".
 * Decoding is the inverse; it raises on any malformed body.
 */
#ifndef LIBSWING_LIVESLOTS_LUA_MARSHAL_H
#define LIBSWING_LIVESLOTS_LUA_MARSHAL_H

#include <lua.h>
#include <stddef.h>

#define LS_LUA_MARSHAL_MAX_DEPTH 64
/* Price of each value encoded or decoded (plus n log2 n to sort a record's
 * keys, and a computron per 16 bytes of a body parsed). */
#define LS_LUA_MARSHAL_VALUE_COMPUTRONS 2

/* Reference conversion, supplied by liveslots. */
typedef struct ls_lua_slot_ops {
    /* If the value at idx is a reference (remotable, presence, promise),
     * set *vref (e.g. "o+3", "p-1") and *iface (NULL for promises; the
     * strings must stay valid until the next call) and return 1; return 0
     * for plain data. May raise. */
    int (*to_slot)(lua_State *L, int idx, void *ctx, const char **vref, const char **iface);
    /* Pushes the value for vref (iface may be NULL). May raise. */
    void (*from_slot)(lua_State *L, const char *vref, const char *iface, void *ctx);
    void *ctx;
} ls_lua_slot_ops;

/* Encodes the value at idx. Pushes the body (a Lua string starting with '#')
 * and the slots (a Lua array of vref strings). */
void ls_lua_marshal_encode(lua_State *L, int idx, const ls_lua_slot_ops *ops);

/* Encodes n stack values starting at first as one JSON array (an argument
 * list: nil -> "#undefined"), with `method` as a prefix when not NULL:
 * #["method",[args...]]. Pushes body and slots like encode. */
void ls_lua_marshal_encode_call(lua_State *L, const char *method, int first, int n,
                                const ls_lua_slot_ops *ops);

/* Decodes body (with its leading '#') and pushes the value. */
void ls_lua_marshal_decode(lua_State *L, const char *body, size_t len, const char *const *slots,
                           size_t nslots, const ls_lua_slot_ops *ops);

/* Decodes methargs #["method",[args...]]: pushes the method string (or nil)
 * and then each argument; returns the number of arguments pushed. */
int ls_lua_marshal_decode_call(lua_State *L, const char *body, size_t len, const char *const *slots,
                               size_t nslots, const ls_lua_slot_ops *ops);

/* The `null` sentinel and error objects (registered once per state by
 * ls_lua_marshal_install, which also sets globals `null` and `makeError`). */
void ls_lua_marshal_install(lua_State *L);
void ls_lua_marshal_push_null(lua_State *L);
/* Pushes a new error object {message=..., name=...} with the shared error
 * metatable (__tostring = "name: message"). */
void ls_lua_marshal_push_error(lua_State *L, const char *message, const char *name);
int ls_lua_marshal_is_error(lua_State *L, int idx);

#endif /* LIBSWING_LIVESLOTS_LUA_MARSHAL_H */
