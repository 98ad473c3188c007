/*
 * collection.c - virtual and durable collections (reference/vom-collections.md
 * §4): scalar map, weak map, set and weak set stores kept in the vatstore
 * under vc.<C>. with the order-preserving key encoding (keyenc.h), object
 * keys by per-collection ordinal, strong keys and values counted, weak keys
 * recognized (vom.ir.<vref>|<C>), the baggage, and the deletion of a dead
 * store and the ceasing of recognition that bringOutYourDead drives.
 *
 * Entries are read and written through syscalls as they happen (no cache):
 * what a collection holds is what the vatstore holds.
 */
#include "liveslots/lua/vat_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveslots/lua/keyenc.h"
#include "liveslots/lua/vref.h"

#define SET_VALUE "{\"body\":\"#null\",\"slots\":[]}"
#define DBKEY_MAX (32 + LS_LUA_KEYENC_MAX + 1)

enum { T_MAP, T_WEAKMAP, T_SET, T_WEAKSET };

typedef struct coll {
    uint64_t id;      /* C */
    int type;         /* T_* */
    bool durable, weak, set;
    char prefix[32];  /* "vc.<C>." */
    size_t plen;
} coll;

/* A key as the store sees it. */
typedef struct ckey {
    bool object;              /* keyed by a reference */
    char vref[LS_LUA_VREF_MAX];
    uint64_t ordinal;         /* object keys: 0 if the store has none */
    char db[DBKEY_MAX];       /* the entry's vatstore key (object keys: once the ordinal is known) */
} ckey;

static void coll_init(coll *c, uint64_t kind, uint64_t id)
{
    c->id = id;
    c->type = (int)((kind - LS_LUA_STORE_KIND_FIRST) % 4);
    c->durable = kind >= LS_LUA_STORE_KIND_FIRST + 4;
    c->weak = c->type == T_WEAKMAP || c->type == T_WEAKSET;
    c->set = c->type == T_SET || c->type == T_WEAKSET;
    snprintf(c->prefix, sizeof c->prefix, "vc.%" PRIu64 ".", id);
    c->plen = strlen(c->prefix);
}

static void coll_of(lua_State *L, int idx, coll *c)
{
    ls_lua_vref r;
    const char *iface, *vref;
    if (!ls_lua_vom_is_rep(L, idx)) luaL_error(L, "not a store");
    vref = ls_lua_vom_vref(L, idx, &iface);
    if (!ls_lua_vref_parse(vref, &r) || r.id < LS_LUA_STORE_KIND_FIRST || r.id >= LS_LUA_STORE_KIND_FIRST + 8)
        luaL_error(L, "not a store");
    coll_init(c, r.id, r.instance);
}

static void meta_key(const coll *c, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s|%s", c->prefix, name);
}

static void ir_key(const char *vref, uint64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "vom.ir.%s|%" PRIu64, vref, id);
}

/* ===== keys ===== */

static void encode_into(lua_State *L, const coll *c, const ls_lua_key *k, char *db)
{
    char enc[LS_LUA_KEYENC_MAX + 1];
    size_t len;
    swing_err e;
    swing_err_clear(&e);
    if (ls_lua_keyenc_encode(k, enc, &len, &e)) luaL_error(L, "bad store key: %s", e.msg);
    snprintf(db, DBKEY_MAX, "%s%s", c->prefix, enc);
}

static void object_db_key(lua_State *L, const coll *c, ckey *k)
{
    ls_lua_key key;
    memset(&key, 0, sizeof key);
    key.type = LS_LUA_KEY_REMOTABLE;
    key.ordinal = k->ordinal;
    key.str = swing_bytes_of(k->vref, strlen(k->vref));
    encode_into(L, c, &key, k->db);
}

/* Sets k (its vref filled) to vref's entry in c: its ordinal (0: none) and,
 * with one, the entry's key. */
static void object_key(lua_State *L, const coll *c, const char *vref, ckey *k)
{
    char mk[DBKEY_MAX];
    k->object = true;
    snprintf(k->vref, sizeof k->vref, "%s", vref);
    meta_key(c, k->vref, mk, sizeof mk);
    k->ordinal = ls_lua_vstore_get_number(L, mk);
    if (k->ordinal) object_db_key(L, c, k);
}

/* Reads the key at idx. Returns false for a value that cannot be a key of
 * this store (has answers no; others raise), or an object the vat never
 * named (it cannot be in any store). */
static bool key_of(lua_State *L, const coll *c, int idx, ckey *k, bool raise)
{
    ls_lua_key key;
    memset(k, 0, sizeof *k);
    memset(&key, 0, sizeof key);
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        key.type = LS_LUA_KEY_BOOL;
        key.boolean = lua_toboolean(L, idx);
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            if (ls_lua_keyenc_integer((int64_t)lua_tointeger(L, idx), &key, NULL)) {
                if (raise) luaL_error(L, "bad store key: an integer no double holds exactly");
                return false;
            }
        } else {
            key.type = LS_LUA_KEY_NUMBER;
            key.number = lua_tonumber(L, idx);
        }
        break;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        key.type = LS_LUA_KEY_STRING;
        key.str = swing_bytes_of(s, len);
        break;
    }
    default: {
        const char *vref = NULL, *iface;
        ls_lua_marshal_push_null(L);
        if (lua_rawequal(L, idx, -1)) {
            lua_pop(L, 1);
            key.type = LS_LUA_KEY_NULL;
            break;
        }
        lua_pop(L, 1);
        if (ls_lua_refs_is_presence(L, idx) || ls_lua_vom_is_rep(L, idx)) {
            ls_lua_slot_ops ops = ls_lua_vom_ops(ls_lua_vat_get(L), c->durable);
            ops.to_slot(L, idx, ops.ctx, &vref, &iface); /* durability checked */
        } else if (ls_lua_refs_is_remotable(L, idx)) {
            if (c->durable) luaL_error(L, "not durable: a Far object cannot key a durable store");
            vref = ls_lua_refs_known_vref(L, idx);
            if (!vref && !raise) return false;
            if (!vref) vref = ls_lua_refs_local_vref(L, idx, &iface);
        } else {
            if (raise) luaL_error(L, "not a scalar key: %s", luaL_typename(L, idx));
            return false;
        }
        object_key(L, c, vref, k);
        return true;
    }
    }
    if (key.type == LS_LUA_KEY_STRING && key.str.len + 1 > LS_LUA_KEYENC_MAX && !raise) return false;
    encode_into(L, c, &key, k->db);
    return true;
}

static bool key_exists(lua_State *L, const ckey *k)
{
    if (k->object) return k->ordinal != 0;
    if (!ls_lua_vstore_get(L, k->db)) return false;
    lua_pop(L, 1);
    return true;
}

static void bump_generation(lua_State *L, const coll *c)
{
    ls_lua_vat_table(L, LS_VGEN);
    lua_rawgeti(L, -1, (lua_Integer)c->id);
    lua_pushinteger(L, lua_tointeger(L, -1) + 1);
    lua_rawseti(L, -3, (lua_Integer)c->id);
    lua_pop(L, 2);
}

static lua_Integer generation(lua_State *L, const coll *c)
{
    lua_Integer g;
    ls_lua_vat_table(L, LS_VGEN);
    lua_rawgeti(L, -1, (lua_Integer)c->id);
    g = lua_tointeger(L, -1);
    lua_pop(L, 2);
    return g;
}

static void add_count(lua_State *L, const coll *c, int delta)
{
    char mk[64];
    uint64_t n;
    if (c->weak) return;
    meta_key(c, "entryCount", mk, sizeof mk);
    n = ls_lua_counts_get(L, mk);
    ls_lua_counts_set(L, mk, delta < 0 ? (n ? n - 1 : 0) : n + 1);
}

/* ===== entries ===== */

/* The value at idx (nothing for a set) as JSON capdata on the stack, with
 * its capdata table below it (nil for a set). */
static void encode_value(lua_State *L, const coll *c, int idx)
{
    if (c->set) {
        lua_pushnil(L);
        lua_pushliteral(L, SET_VALUE);
        return;
    }
    ls_lua_vom_encode(L, idx, c->durable);
    ls_lua_vstore_push_capdata(L, -1);
}

static int store_init(lua_State *L)
{
    coll c;
    ckey k;
    lua_settop(L, 3);
    coll_of(L, 1, &c);
    key_of(L, &c, 2, &k, true);
    if (key_exists(L, &k)) {
        if (c.set) return 0;
        return luaL_error(L, "key already registered in the store");
    }
    encode_value(L, &c, 3); /* 4 capdata, 5 json: raises before anything is written */
    if (k.object) {
        char mk[DBKEY_MAX];
        meta_key(&c, "nextOrdinal", mk, sizeof mk);
        k.ordinal = ls_lua_counts_get(L, mk);
        if (k.ordinal == 0) k.ordinal = 1;
        ls_lua_counts_set(L, mk, k.ordinal + 1);
        meta_key(&c, k.vref, mk, sizeof mk);
        ls_lua_vstore_set_number(L, mk, k.ordinal);
        object_db_key(L, &c, &k);
        if (c.weak) { /* the recognizer names the store's kind */
            char kind[16];
            snprintf(kind, sizeof kind, "%d", LS_LUA_STORE_KIND(c.type, c.durable));
            ir_key(k.vref, c.id, mk, sizeof mk);
            ls_lua_vstore_set(L, mk, kind, strlen(kind));
            if (k.vref[1] == '+' && !ls_lua_vref_is_virtual(k.vref)) { /* a Far: BOYD watches for its death */
                ls_lua_vat_table(L, LS_WEAKFAR);
                lua_pushboolean(L, 1);
                lua_setfield(L, -2, k.vref);
                lua_pop(L, 1);
            }
        } else {
            ls_lua_vstore_count(L, k.vref, +1);
        }
    }
    if (!c.set) {
        lua_rawgeti(L, 4, 2);
        ls_lua_vstore_recount(L, 0, -1);
        lua_pop(L, 1);
    }
    ls_lua_vstore_set(L, k.db, lua_tostring(L, 5), lua_rawlen(L, 5));
    add_count(L, &c, +1);
    bump_generation(L, &c);
    return 0;
}

/* Pushes the stored capdata table of an existing entry. */
static void push_entry(lua_State *L, const char *db)
{
    if (!ls_lua_vstore_get(L, db)) luaL_error(L, "store entry %s is missing", db);
    ls_lua_vstore_parse_capdata(L, lua_tostring(L, -1), lua_rawlen(L, -1));
    lua_remove(L, -2);
}

/* Pushes the capdata of k's entry if it has one (one read: no separate
 * existence check). */
static bool push_existing(lua_State *L, const ckey *k)
{
    if (k->object && !k->ordinal) return false;
    if (!ls_lua_vstore_get(L, k->db)) return false;
    ls_lua_vstore_parse_capdata(L, lua_tostring(L, -1), lua_rawlen(L, -1));
    lua_remove(L, -2);
    return true;
}

static int store_get(lua_State *L)
{
    coll c;
    ckey k;
    coll_of(L, 1, &c);
    if (!key_of(L, &c, 2, &k, false) || !push_existing(L, &k)) return luaL_error(L, "key not found in the store");
    ls_lua_vom_decode(L, -1);
    return 1;
}

static int store_has(lua_State *L)
{
    coll c;
    ckey k;
    coll_of(L, 1, &c);
    lua_pushboolean(L, key_of(L, &c, 2, &k, false) && key_exists(L, &k));
    return 1;
}

static int store_set(lua_State *L)
{
    coll c;
    ckey k;
    lua_settop(L, 3);
    coll_of(L, 1, &c);
    if (!key_of(L, &c, 2, &k, false) || !push_existing(L, &k)) /* 4 */
        return luaL_error(L, "key not found in the store");
    encode_value(L, &c, 3); /* 5, 6 */
    lua_rawgeti(L, 4, 2);
    lua_rawgeti(L, 5, 2);
    ls_lua_vstore_recount(L, -2, -1);
    ls_lua_vstore_set(L, k.db, lua_tostring(L, 6), lua_rawlen(L, 6));
    return 0;
}

/* Deletes the entry at db (an existing one), of object key vref or NULL. */
static void delete_entry(lua_State *L, const coll *c, const char *db, const char *vref)
{
    if (!c->set) {
        push_entry(L, db);
        lua_rawgeti(L, -1, 2);
        ls_lua_vstore_recount(L, -1, 0);
        lua_pop(L, 2);
    }
    ls_lua_vstore_delete(L, db);
    if (vref) {
        char mk[DBKEY_MAX];
        meta_key(c, vref, mk, sizeof mk);
        ls_lua_vstore_delete(L, mk);
        if (c->weak) {
            ir_key(vref, c->id, mk, sizeof mk);
            ls_lua_vstore_delete(L, mk);
            if (vref[1] == '-') ls_lua_vstore_maybe_retired(L, vref);
        } else {
            ls_lua_vstore_count(L, vref, -1);
        }
    }
    add_count(L, c, -1);
}

static int store_delete(lua_State *L)
{
    coll c;
    ckey k;
    coll_of(L, 1, &c);
    if (!key_of(L, &c, 2, &k, false) || !key_exists(L, &k)) return luaL_error(L, "key not found in the store");
    delete_entry(L, &c, k.db, k.object ? k.vref : NULL);
    return 0;
}

static int store_size(lua_State *L)
{
    coll c;
    char mk[64];
    coll_of(L, 1, &c);
    meta_key(&c, "entryCount", mk, sizeof mk);
    lua_pushinteger(L, (lua_Integer)ls_lua_counts_get(L, mk));
    return 1;
}

/* The object key's vref inside an entry key ("...r<ordinal>:<vref>"), or NULL. */
static const char *entry_vref(const coll *c, const char *db)
{
    const char *enc = db + c->plen, *colon;
    if (enc[0] != 'r' || !(colon = strchr(enc, ':'))) return NULL;
    return colon + 1;
}

/* Deletes up to budget entries (0: all); true when none is left. */
static bool clear_entries(lua_State *L, const coll *c, uint64_t budget, uint64_t *done)
{
    char db[DBKEY_MAX];
    snprintf(db, sizeof db, "%s", c->prefix);
    while (!budget || *done < budget) {
        const char *next;
        if (!ls_lua_vstore_next(L, db, c->prefix)) return true;
        next = lua_tostring(L, -1);
        if (next[c->plen] == '|') {
            lua_pop(L, 1);
            return true; /* metadata sort after every entry */
        }
        snprintf(db, sizeof db, "%s", next);
        lua_pop(L, 1);
        delete_entry(L, c, db, entry_vref(c, db));
        (*done)++;
    }
    return false;
}

static int store_clear(lua_State *L)
{
    coll c;
    uint64_t done = 0;
    coll_of(L, 1, &c);
    clear_entries(L, &c, 0, &done);
    return 0;
}

/* ===== iteration ===== */

static void push_key(lua_State *L, const coll *c, const char *db)
{
    ls_lua_key k;
    const char *enc = db + c->plen;
    swing_err e;
    swing_err_clear(&e);
    if (ls_lua_keyenc_decode(swing_bytes_of(enc, strlen(enc)), &k, &e)) luaL_error(L, "corrupt store key %s", db);
    switch (k.type) {
    case LS_LUA_KEY_BOOL: lua_pushboolean(L, k.boolean); break;
    case LS_LUA_KEY_NUMBER:
        if (k.number == floor(k.number) && fabs(k.number) < 9007199254740992.0) lua_pushinteger(L, (lua_Integer)k.number);
        else lua_pushnumber(L, k.number);
        break;
    case LS_LUA_KEY_STRING: lua_pushlstring(L, (const char *)k.str.ptr, k.str.len); break;
    case LS_LUA_KEY_NULL: ls_lua_marshal_push_null(L); break;
    case LS_LUA_KEY_UNDEFINED: lua_pushnil(L); break;
    case LS_LUA_KEY_REMOTABLE: {
        char vref[LS_LUA_VREF_MAX];
        snprintf(vref, sizeof vref, "%.*s", (int)k.str.len, (const char *)k.str.ptr);
        ls_lua_refs_from_slot(L, vref, NULL, ls_lua_vat_get(L));
        break;
    }
    }
}

/* The iterator: upvalues 1 store, 2 last key (or the first to try), 3 end
 * key or nil, 4 mode (0 keys, 1 values, 2 entries), 5 generation, 6
 * whether upvalue 2 itself is still to be tried. */
static int iter_step(lua_State *L)
{
    coll c;
    const char *db;
    int mode = (int)lua_tointeger(L, lua_upvalueindex(4));
    coll_of(L, lua_upvalueindex(1), &c);
    if (generation(L, &c) != lua_tointeger(L, lua_upvalueindex(5)))
        return luaL_error(L, "keys in store cannot be added to during iteration");
    if (lua_toboolean(L, lua_upvalueindex(6))) {
        lua_pushboolean(L, 0);
        lua_replace(L, lua_upvalueindex(6));
        if (ls_lua_vstore_get(L, lua_tostring(L, lua_upvalueindex(2)))) {
            lua_pop(L, 1);
            lua_pushvalue(L, lua_upvalueindex(2));
        } else if (!ls_lua_vstore_next(L, lua_tostring(L, lua_upvalueindex(2)), c.prefix)) {
            return 0;
        }
    } else if (!ls_lua_vstore_next(L, lua_tostring(L, lua_upvalueindex(2)), c.prefix)) {
        return 0;
    }
    db = lua_tostring(L, -1);
    if (db[c.plen] == '|') return 0;
    if (!lua_isnil(L, lua_upvalueindex(3)) && strcmp(db, lua_tostring(L, lua_upvalueindex(3))) >= 0) return 0;
    lua_pushvalue(L, -1);
    lua_replace(L, lua_upvalueindex(2));
    if (mode != 1 || c.set) push_key(L, &c, db);
    if (mode != 0 && !c.set) {
        push_entry(L, db);
        ls_lua_vom_decode(L, -1);
        lua_remove(L, -2);
    }
    return mode == 2 ? 2 : 1;
}

/* keys/values/entries(store, lo, hi): keys k with lo <= k < hi (either nil: open), in key order. */
static int iterate(lua_State *L, int mode)
{
    coll c;
    ckey k;
    lua_settop(L, 3);
    coll_of(L, 1, &c);
    lua_pushvalue(L, 1);
    if (lua_isnil(L, 2)) {
        ls_lua_push_string(L, c.prefix);
    } else {
        if (!key_of(L, &c, 2, &k, true)) return luaL_error(L, "bad lower bound");
        if (k.object && !k.ordinal) return luaL_error(L, "the lower bound is not a key of the store");
        ls_lua_push_string(L, k.db);
    }
    if (lua_isnil(L, 3)) {
        lua_pushnil(L);
    } else {
        if (!key_of(L, &c, 3, &k, true)) return luaL_error(L, "bad upper bound");
        if (k.object && !k.ordinal) return luaL_error(L, "the upper bound is not a key of the store");
        ls_lua_push_string(L, k.db);
    }
    lua_pushinteger(L, mode);
    lua_pushinteger(L, generation(L, &c));
    lua_pushboolean(L, !lua_isnil(L, 2));
    lua_pushcclosure(L, iter_step, 6);
    return 1;
}

static int store_keys(lua_State *L) { return iterate(L, 0); }
static int store_values(lua_State *L) { return iterate(L, 1); }
static int store_entries(lua_State *L) { return iterate(L, 2); }

/* ===== making stores ===== */

static void push_store(lua_State *L, int type, bool durable, const char *label)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    uint64_t id = v->collection_id++;
    char vref[LS_LUA_VREF_MAX], mk[64];
    coll c;
    v->counters_dirty = true;
    coll_init(&c, (uint64_t)LS_LUA_STORE_KIND(type, durable), id);
    meta_key(&c, "nextOrdinal", mk, sizeof mk);
    ls_lua_counts_set(L, mk, 1);
    if (!c.weak) {
        meta_key(&c, "entryCount", mk, sizeof mk);
        ls_lua_counts_set(L, mk, 0);
    }
    lua_createtable(L, 0, 1);
    ls_lua_push_string(L, label);
    lua_setfield(L, -2, "label");
    ls_lua_vom_encode(L, -1, true);
    ls_lua_vstore_push_capdata(L, -1);
    meta_key(&c, "schemata", mk, sizeof mk);
    ls_lua_vstore_set(L, mk, lua_tostring(L, -1), lua_rawlen(L, -1));
    lua_pop(L, 3);
    snprintf(vref, sizeof vref, "o+%c%d/%" PRIu64, durable ? 'd' : 'v', LS_LUA_STORE_KIND(type, durable), id);
    ls_lua_vom_push_rep(L, vref);
}

static int make_store(lua_State *L, int type)
{
    const char *label = luaL_optstring(L, 1, "store");
    bool durable = false;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "durable");
        durable = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    push_store(L, type, durable, label);
    return 1;
}

static int make_map(lua_State *L) { return make_store(L, T_MAP); }
static int make_weak_map(lua_State *L) { return make_store(L, T_WEAKMAP); }
static int make_set(lua_State *L) { return make_store(L, T_SET); }
static int make_weak_set(lua_State *L) { return make_store(L, T_WEAKSET); }

/* provide(baggage, key, makeFn): the value under key, made and stored the first time. */
static int provide(lua_State *L)
{
    lua_settop(L, 3);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    lua_pushcfunction(L, store_has);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);
    if (lua_toboolean(L, -1)) {
        lua_pushcfunction(L, store_get);
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 2);
        lua_call(L, 2, 1);
        return 1;
    }
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 2);
    lua_call(L, 1, 1); /* 5 */
    lua_pushcfunction(L, store_init);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 5);
    lua_call(L, 3, 0);
    return 1;
}

bool ls_lua_collection_push_baggage(lua_State *L)
{
    if (ls_lua_vstore_get(L, "baggageID")) {
        char vref[LS_LUA_VREF_MAX];
        snprintf(vref, sizeof vref, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        ls_lua_vom_push_rep(L, vref);
        return true;
    }
    push_store(L, T_MAP, true, "baggage");
    {
        const char *iface, *vref = ls_lua_vom_vref(L, -1, &iface);
        ls_lua_vstore_set(L, "baggageID", vref, strlen(vref));
        ls_lua_vstore_count(L, vref, +1); /* the baggage lives as long as the vat */
    }
    return false;
}

/* ===== bringOutYourDead ===== */

bool ls_lua_collection_delete(lua_State *L, const char *base, uint64_t budget, uint64_t *done)
{
    ls_lua_vref r;
    coll c;
    char mk[64];
    if (!ls_lua_vref_parse(base, &r)) return true;
    coll_init(&c, r.id, r.instance);
    meta_key(&c, "nextOrdinal", mk, sizeof mk);
    if (ls_lua_counts_get(L, mk) == 0) return true; /* deleted already */
    if (!clear_entries(L, &c, budget, done)) return false;
    ls_lua_counts_delete(L, mk);
    meta_key(&c, "entryCount", mk, sizeof mk);
    if (!c.weak) ls_lua_counts_delete(L, mk);
    meta_key(&c, "schemata", mk, sizeof mk);
    ls_lua_vstore_delete(L, mk);
    return true;
}

void ls_lua_collection_cease_recognition(lua_State *L, const char *vref)
{
    char prefix[LS_LUA_VREF_MAX + 16], key[LS_LUA_VREF_MAX + 48];
    snprintf(prefix, sizeof prefix, "vom.ir.%s|", vref);
    snprintf(key, sizeof key, "%s", prefix);
    while (ls_lua_vstore_next(L, key, prefix)) {
        coll c;
        ckey k;
        uint64_t id, kind;
        snprintf(key, sizeof key, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        id = strtoull(key + strlen(prefix), NULL, 10);
        kind = ls_lua_vstore_get_number(L, key);
        ls_lua_vstore_delete(L, key); /* a record without its entry is tolerated */
        if (kind < LS_LUA_STORE_KIND_FIRST || kind >= LS_LUA_STORE_KIND_FIRST + 8) continue;
        coll_init(&c, kind, id);
        memset(&k, 0, sizeof k);
        object_key(L, &c, vref, &k);
        if (!k.ordinal) continue;
        if (!ls_lua_vstore_get(L, k.db)) continue;
        lua_pop(L, 1);
        delete_entry(L, &c, k.db, vref);
    }
}

void ls_lua_collection_install(lua_State *L)
{
    static const char *const labels[] = {"mapStore", "weakMapStore", "setStore", "weakSetStore"};
    static const luaL_Reg map[] = {{"init", store_init},       {"get", store_get},       {"set", store_set},
                                   {"has", store_has},         {"delete", store_delete}, {"clear", store_clear},
                                   {"getSize", store_size},    {"keys", store_keys},     {"values", store_values},
                                   {"entries", store_entries}, {NULL, NULL}};
    static const luaL_Reg weakmap[] = {{"init", store_init},     {"get", store_get}, {"set", store_set},
                                       {"has", store_has},       {"delete", store_delete}, {NULL, NULL}};
    static const luaL_Reg set[] = {{"add", store_init},      {"has", store_has},     {"delete", store_delete},
                                   {"clear", store_clear},   {"getSize", store_size}, {"keys", store_keys},
                                   {"values", store_keys},   {NULL, NULL}};
    static const luaL_Reg weakset[] = {{"add", store_init}, {"has", store_has}, {"delete", store_delete}, {NULL, NULL}};
    static const luaL_Reg *const methods[] = {map, weakmap, set, weakset};
    static const luaL_Reg api[] = {{"makeScalarBigMapStore", make_map},
                                   {"makeScalarBigWeakMapStore", make_weak_map},
                                   {"makeScalarBigSetStore", make_set},
                                   {"makeScalarBigWeakSetStore", make_weak_set},
                                   {"provide", provide},
                                   {NULL, NULL}};
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LS_VGEN);
    for (int durable = 0; durable < 2; durable++)
        for (int t = 0; t < 4; t++) {
            lua_newtable(L);
            lua_pushstring(L, labels[t]);
            lua_setfield(L, -2, "tag");
            lua_pushboolean(L, durable);
            lua_setfield(L, -2, "durable");
            lua_newtable(L);
            lua_newtable(L);
            luaL_setfuncs(L, methods[t], 0);
            lua_rawseti(L, -2, 1);
            lua_setfield(L, -2, "methods");
            ls_lua_vom_register_kind(L, (uint64_t)LS_LUA_STORE_KIND(t, durable), -1);
            lua_pop(L, 1);
        }
    lua_getglobal(L, "VatData");
    luaL_setfuncs(L, api, 0);
    lua_pop(L, 1);
}
