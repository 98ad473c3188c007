/*
 * vstore.c - the virtualized data's store side (reference/vom-collections.md
 * §2, §5): vatstore syscalls whose results reach Lua without leaking on a
 * raise, capdata and state records as JSON, vdata reference counts
 * (`vom.rc.<baseRef>` for imports and virtual objects, a RAM pin for
 * remotables), export status (`vom.es.<baseRef>`), and the possibly-dead and
 * possibly-retired lists that only bringOutYourDead reads.
 */
#include "liveslots/lua/vat_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/json.h"
#include "base/vec.h"
#include "liveslots/lua/vdata.h"
#include "liveslots/lua/vref.h"

/* ===== memory held across calls that may raise ===== */

void ls_lua_vstore_release(ls_lua_vat *v)
{
    swing_buf_free(&v->held);
    if (v->held_json) json_decref((json_t *)v->held_json);
    v->held_json = NULL;
}

/* ===== syscalls ===== */

static void vs_call(lua_State *L, vp_stype type, const char *key, const char *val, size_t vlen, vp_syscall_result *res)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    vp_syscall sc;
    ls_lua_vstore_release(v);
    memset(&sc, 0, sizeof sc);
    sc.type = type;
    sc.key = swing_bytes_of(key, strlen(key));
    if (val) sc.value = swing_bytes_of(val, vlen);
    if (res) memset(res, 0, sizeof *res);
    ls_lua_vat_syscall(L, &sc, res);
}

bool ls_lua_vstore_get(lua_State *L, const char *key)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    vp_syscall_result res;
    vs_call(L, VP_S_VATSTORE_GET, key, NULL, 0, &res);
    v->held = res.value; /* freed by the next call if pushing raises */
    if (!res.found) {
        ls_lua_vstore_release(v);
        return false;
    }
    lua_pushlstring(L, v->held.ptr ? (const char *)v->held.ptr : "", v->held.len);
    ls_lua_vstore_release(v);
    return true;
}

void ls_lua_vstore_set(lua_State *L, const char *key, const char *val, size_t vlen)
{
    vs_call(L, VP_S_VATSTORE_SET, key, val, vlen, NULL);
}

void ls_lua_vstore_delete(lua_State *L, const char *key) { vs_call(L, VP_S_VATSTORE_DELETE, key, NULL, 0, NULL); }

bool ls_lua_vstore_next(lua_State *L, const char *key, const char *prefix)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    vp_syscall_result res;
    size_t pl = strlen(prefix);
    bool in;
    vs_call(L, VP_S_VATSTORE_NEXT, key, prefix, pl, &res); /* bounded: the store stops at the prefix's end */
    v->held = res.value;
    in = res.found && v->held.len >= pl && memcmp(v->held.ptr, prefix, pl) == 0;
    if (in) lua_pushlstring(L, (const char *)v->held.ptr, v->held.len);
    ls_lua_vstore_release(v);
    return in;
}

uint64_t ls_lua_vstore_get_number(lua_State *L, const char *key)
{
    uint64_t n = 0;
    if (ls_lua_vstore_get(L, key)) {
        const char *s = lua_tostring(L, -1);
        char *end;
        n = strtoull(s, &end, 10);
        if (*s < '0' || *s > '9' || *end) luaL_error(L, "vatstore key %s holds %s, not a count", key, s);
        lua_pop(L, 1);
    }
    return n;
}

void ls_lua_vstore_set_number(lua_State *L, const char *key, uint64_t n)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, n);
    ls_lua_vstore_set(L, key, text, strlen(text));
}

/* ===== capdata and records as JSON =====
 * Written with base/json.h's string escaping, the one canonical JSON of
 * consensus data; read with jansson. While a luaL_Buffer is open the stack
 * stays balanced: strings are read from their tables and popped (the
 * tables keep them) before they are added. */

static void buf_put(void *ctx, const char *s, size_t n) { luaL_addlstring((luaL_Buffer *)ctx, s, n); }

static void add_string(lua_State *L, luaL_Buffer *b, const char *s, size_t n)
{
    luaL_addchar(b, '"');
    if (!swing_json_escaped(buf_put, b, s, n)) luaL_error(L, "virtualized data is not UTF-8 text");
    luaL_addchar(b, '"');
}

/* Adds the string t[i] (t an absolute index below the buffer). */
static void add_item(lua_State *L, luaL_Buffer *b, int t, lua_Integer i)
{
    size_t n;
    const char *s;
    lua_rawgeti(L, t, i);
    s = lua_tolstring(L, -1, &n);
    lua_pop(L, 1); /* anchored by t */
    add_string(L, b, s ? s : "", s ? n : 0);
}

/* {"body":...,"slots":[...]} of the capdata table cd; slots is cd[2],
 * pushed by the caller below the buffer. */
static void add_capdata(lua_State *L, luaL_Buffer *b, int cd, int slots)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, slots);
    luaL_addstring(b, "{\"body\":");
    add_item(L, b, cd, 1);
    luaL_addstring(b, ",\"slots\":[");
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1) luaL_addchar(b, ',');
        add_item(L, b, slots, i);
    }
    luaL_addstring(b, "]}");
}

void ls_lua_vstore_push_capdata(lua_State *L, int cd)
{
    luaL_Buffer b;
    int slots;
    cd = lua_absindex(L, cd);
    lua_rawgeti(L, cd, 2);
    slots = lua_gettop(L);
    luaL_buffinit(L, &b);
    add_capdata(L, &b, cd, slots);
    luaL_pushresult(&b);
    lua_remove(L, slots);
}

void ls_lua_vstore_push_record(lua_State *L, int rec)
{
    luaL_Buffer b;
    size_t n;
    const char **names;
    int base;
    rec = lua_absindex(L, rec);
    names = ls_lua_vom_sorted_keys(L, rec, &n, "state property");
    base = lua_gettop(L);
    luaL_checkstack(L, (int)(2 * n) + 8, "state too large");
    for (size_t i = 0; i < n; i++) { /* each capdata and its slots, below the buffer */
        lua_getfield(L, rec, names[i]);
        lua_rawgeti(L, -1, 2);
    }
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i > 0) luaL_addchar(&b, ',');
        add_string(L, &b, names[i], strlen(names[i]));
        luaL_addchar(&b, ':');
        add_capdata(L, &b, base + 1 + 2 * (int)i, base + 2 + 2 * (int)i);
    }
    luaL_addchar(&b, '}');
    luaL_pushresult(&b);
    lua_replace(L, base);
    lua_settop(L, base);
}

void ls_lua_vstore_push_json_string(lua_State *L, const char *s)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    add_string(L, &b, s, strlen(s));
    luaL_pushresult(&b);
}

/* Pushes {body, slots} for a parsed capdata object; false if malformed. */
static bool push_capdata(lua_State *L, json_t *o)
{
    json_t *body = json_object_get(o, "body"), *slots = json_object_get(o, "slots");
    size_t i;
    json_t *s;
    if (!json_is_string(body) || !json_is_array(slots)) return false;
    lua_createtable(L, 2, 0);
    lua_pushlstring(L, json_string_value(body), json_string_length(body));
    lua_rawseti(L, -2, 1);
    lua_createtable(L, (int)json_array_size(slots), 0);
    json_array_foreach(slots, i, s) {
        if (!json_is_string(s)) return false;
        ls_lua_push_string(L, json_string_value(s));
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_rawseti(L, -2, 2);
    return true;
}

static json_t *parse_held(lua_State *L, const char *text, size_t len)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    ls_lua_vstore_release(v);
    v->held_json = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    return v->held_json;
}

void ls_lua_vstore_parse_capdata(lua_State *L, const char *text, size_t len)
{
    json_t *j;
    if (ls_lua_cdtext_capdata(L, text, len)) return; /* the form written here, read without jansson */
    j = parse_held(L, text, len);
    if (!j || !push_capdata(L, j)) luaL_error(L, "corrupt virtualized data: %s", text);
    ls_lua_vstore_release(ls_lua_vat_get(L));
}

void ls_lua_vstore_parse_record(lua_State *L, const char *text, size_t len)
{
    json_t *j, *cd;
    const char *name;
    int top = lua_gettop(L);
    if (ls_lua_cdtext_record(L, text, len)) return;
    j = parse_held(L, text, len);
    if (!json_is_object(j)) luaL_error(L, "corrupt object state: %s", text);
    lua_newtable(L);
    json_object_foreach(j, name, cd) {
        if (!push_capdata(L, cd)) {
            lua_settop(L, top);
            luaL_error(L, "corrupt object state: %s", text);
        }
        lua_setfield(L, -2, name);
    }
    ls_lua_vstore_release(ls_lua_vat_get(L));
}

/* ===== possibly dead, possibly retired ===== */

/* Appends a copy of vref[0..len); false when out of memory. No Lua. */
static bool list_push(char ***list, size_t *n, size_t *cap, const char *vref, size_t len)
{
    char *copy;
    if (SWING_VEC_RESERVE(*list, *cap, *n + 1, 64, NULL) || !(copy = swing_malloc(len + 1))) return false;
    memcpy(copy, vref, len);
    copy[len] = '\0';
    (*list)[(*n)++] = copy;
    return true;
}

static void list_add(lua_State *L, char ***list, size_t *n, size_t *cap, const char *vref, size_t len)
{
    if (!list_push(list, n, cap, vref, len)) luaL_error(L, "out of memory");
}

bool ls_lua_vstore_note_dead(ls_lua_vat *v, const char *baseref, size_t len)
{
    return list_push(&v->dead, &v->ndead, &v->capdead, baseref, len);
}

void ls_lua_vstore_maybe_dead(lua_State *L, const char *baseref, size_t len)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    list_add(L, &v->dead, &v->ndead, &v->capdead, baseref, len);
}

void ls_lua_vstore_maybe_retired(lua_State *L, const char *vref)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    list_add(L, &v->retired, &v->nretired, &v->capretired, vref, strlen(vref));
}

void ls_lua_vstore_maybe_cyclic(lua_State *L, const char *baseref)
{
    ls_lua_vat *v = ls_lua_vat_get(L);
    list_add(L, &v->cands, &v->ncands, &v->capcands, baseref, strlen(baseref));
}

/* ===== vdata reference counts ===== */

static void rc_key(char *out, size_t cap, const char *vref, size_t base_len)
{
    snprintf(out, cap, "vom.rc.%.*s", (int)base_len, vref);
}

uint64_t ls_lua_vstore_rc(lua_State *L, const char *baseref)
{
    char key[LS_LUA_VREF_MAX + 8];
    rc_key(key, sizeof key, baseref, strlen(baseref));
    return ls_lua_counts_get(L, key);
}

/* A remotable held in vdata stays in RAM while its count is above 0. */
static void pin_remotable(lua_State *L, const char *vref, int delta)
{
    lua_Integer n;
    ls_lua_vat_table(L, LS_VPINS);
    lua_getfield(L, -1, vref);
    n = lua_tointeger(L, -1) + delta;
    lua_pop(L, 1);
    if (n < 0) {
        ls_lua_vm_kill(ls_lua_vat_get(L)->vm, "vdata count below zero");
        luaL_error(L, "vdata count of %s below zero", vref);
    }
    if (n == 0) lua_pushnil(L);
    else lua_pushinteger(L, n);
    lua_setfield(L, -2, vref);
    lua_pop(L, 1);
    ls_lua_vat_table(L, LS_VPINNED);
    if (n == 0) {
        lua_pushnil(L);
    } else {
        ls_lua_vat_table(L, LS_LOCALS);
        lua_getfield(L, -1, vref);
        lua_remove(L, -2);
        if (lua_isnil(L, -1)) luaL_error(L, "vdata names %s, which is not in RAM", vref);
    }
    lua_setfield(L, -2, vref);
    lua_pop(L, 1);
}

void ls_lua_vstore_count(lua_State *L, const char *vref, int delta)
{
    ls_lua_vref r;
    char key[LS_LUA_VREF_MAX + 8];
    uint64_t n;
    if (!ls_lua_vref_parse(vref, &r) || r.type != 'o') luaL_error(L, "vdata cannot count %s", vref);
    if (r.allocated && !r.virt) {
        pin_remotable(L, vref, delta);
        return;
    }
    rc_key(key, sizeof key, vref, r.base_len);
    n = ls_lua_counts_get(L, key);
    if (delta < 0 && n == 0) {
        ls_lua_vm_kill(ls_lua_vat_get(L)->vm, "vdata count below zero");
        luaL_error(L, "vdata count of %s below zero", vref);
    }
    n = delta < 0 ? n - 1 : n + 1;
    if (n > 0) {
        ls_lua_counts_set(L, key, n);
        if (delta < 0 && r.virt) ls_lua_vstore_maybe_dead(L, vref, r.base_len); /* maybe a cycle now */
        return;
    }
    ls_lua_counts_delete(L, key);
    ls_lua_vstore_maybe_dead(L, vref, r.base_len);
}

/* Slot pointers of the slots table at idx (0: none) in a userdata it pushes. */
static const char **slot_array(lua_State *L, int idx, size_t *n)
{
    const char **p;
    *n = idx ? lua_rawlen(L, idx) : 0;
    p = lua_newuserdatauv(L, (*n ? *n : 1) * sizeof *p, 0);
    for (size_t i = 0; i < *n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i + 1);
        p[i] = lua_tostring(L, -1); /* anchored by the slots table */
        lua_pop(L, 1);
    }
    return p;
}

void ls_lua_vstore_recount(lua_State *L, int old_slots, int new_slots)
{
    const char **a, **b;
    size_t na, nb, n = 0;
    ls_lua_vdata_change *c = NULL, *copy;
    old_slots = old_slots ? lua_absindex(L, old_slots) : 0;
    new_slots = new_slots ? lua_absindex(L, new_slots) : 0;
    a = slot_array(L, old_slots, &na);
    b = slot_array(L, new_slots, &nb);
    copy = lua_newuserdatauv(L, (na + nb ? na + nb : 1) * sizeof *copy, 0);
    if (ls_lua_vdata_changes(a, na, b, nb, &c, &n, NULL)) luaL_error(L, "out of memory");
    if (n) memcpy(copy, c, n * sizeof *c);
    swing_mfree(c); /* nothing raised while it was held */
    for (size_t i = 0; i < n; i++) ls_lua_vstore_count(L, copy[i].vref, copy[i].delta);
    lua_pop(L, 3);
}

/* ===== export status ===== */

static void es_key(char *out, size_t cap, const char *vref, size_t base_len)
{
    snprintf(out, cap, "vom.es.%.*s", (int)base_len, vref);
}

static size_t read_status(lua_State *L, const char *key, char st[LS_LUA_ES_MAX])
{
    size_t len = 0;
    if (ls_lua_vstore_get(L, key)) {
        size_t l;
        const char *s = lua_tolstring(L, -1, &l);
        len = l < LS_LUA_ES_MAX - 1 ? l : LS_LUA_ES_MAX - 1;
        memcpy(st, s, len);
        lua_pop(L, 1);
    }
    st[len] = '\0';
    return len;
}

size_t ls_lua_vstore_read_status(lua_State *L, const char *baseref, char st[LS_LUA_ES_MAX])
{
    char key[LS_LUA_VREF_MAX + 8];
    es_key(key, sizeof key, baseref, strlen(baseref));
    return read_status(L, key, st);
}

void ls_lua_vstore_export_status(lua_State *L, const char *vref, char c)
{
    ls_lua_vref r;
    char key[LS_LUA_VREF_MAX + 8], st[LS_LUA_ES_MAX];
    size_t f, len;
    bool any = false;
    if (!ls_lua_vref_parse(vref, &r) || !r.virt) return;
    f = r.facet < 0 ? 0 : (size_t)r.facet;
    if (f + 2 > sizeof st) luaL_error(L, "too many facets");
    es_key(key, sizeof key, vref, r.base_len);
    len = read_status(L, key, st);
    if (f < len && st[f] == c) return;
    if (c == 'n' && f >= len) return;
    while (len <= f) st[len++] = 'n';
    st[f] = c;
    st[len] = '\0';
    for (size_t i = 0; i < len; i++) any = any || st[i] != 'n';
    if (any) ls_lua_vstore_set(L, key, st, len);
    else ls_lua_vstore_delete(L, key);
}

bool ls_lua_vstore_exported(lua_State *L, const char *baseref, char c)
{
    char st[LS_LUA_ES_MAX];
    ls_lua_vstore_read_status(L, baseref, st);
    return strchr(st, c) != NULL;
}

void ls_lua_vstore_push_json_field(lua_State *L, const char *key, const char *field)
{
    json_t *j, *f;
    if (!ls_lua_vstore_get(L, key)) {
        lua_pushnil(L);
        return;
    }
    j = parse_held(L, lua_tostring(L, -1), lua_rawlen(L, -1));
    lua_pop(L, 1);
    f = json_object_get(j, field);
    if (json_is_string(f)) lua_pushlstring(L, json_string_value(f), json_string_length(f));
    else lua_pushnil(L);
    ls_lua_vstore_release(ls_lua_vat_get(L));
}
