/*
 * cycles.c - finding garbage cycles of virtual objects inside one vat
 * (issue 14; reference/vom-collections.md §5.5 says SwingSet never does):
 * a trial deletion over the objects reachable, through virtualized data,
 * from the candidates bringOutYourDead found alive only by their vdata
 * count. Each object's count is compared with the references the objects
 * of that subgraph hold to it; an object with more (held from outside the
 * subgraph), a representative in RAM or a reachable export is live, and so
 * is everything it reaches. What is left is garbage held only by garbage.
 *
 * Everything is read from the vatstore in a fixed order (candidates
 * sorted, properties sorted, slots in order), so the syscalls depend on
 * nothing but the vat's state. A subgraph larger than the cap is cut: the
 * objects not explored count as holders from outside, so nothing live is
 * ever taken for garbage (a cycle that large is found by no BOYD).
 * Cycles through another vat are not found: an export the other vat holds
 * is a reachable export here, whatever holds it there.
 */
#include "liveslots/lua/vat_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveslots/lua/vref.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Appends the virtual baseRef of each vref the slots table at idx names
 * (each vref once, as the counts do: two facets of one object are two) to
 * the edge array at edges. */
static void add_edges(lua_State *L, int slots, int edges)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, slots);
    slots = lua_absindex(L, slots);
    lua_newtable(L); /* seen in this capdata */
    for (lua_Integer i = 1; i <= n; i++) {
        const char *vref;
        ls_lua_vref r;
        lua_rawgeti(L, slots, i);
        vref = lua_tostring(L, -1);
        if (ls_lua_vref_parse(vref, &r) && r.virt && r.id != LS_LUA_KIND_HANDLE) {
            lua_pushvalue(L, -1);
            if (lua_rawget(L, -3) == LUA_TNIL) {
                lua_pushvalue(L, -2);
                lua_pushboolean(L, 1);
                lua_rawset(L, -5);
                lua_pushlstring(L, vref, r.base_len);
                lua_rawseti(L, edges, (lua_Integer)lua_rawlen(L, edges) + 1);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* Pushes the edge array of base (references its data holds, with
 * repeats), counting what it reads in *work. */
static void push_edges(lua_State *L, const char *base, const ls_lua_vref *r, uint64_t *work)
{
    char key[LS_LUA_VREF_MAX + 8];
    int edges;
    lua_newtable(L);
    edges = lua_gettop(L);
    if (r->id >= LS_LUA_STORE_KIND_FIRST && r->id < LS_LUA_STORE_KIND_FIRST + 8) {
        char prefix[32], db[320];
        bool weak = ((r->id - LS_LUA_STORE_KIND_FIRST) % 4) % 2 == 1;
        snprintf(prefix, sizeof prefix, "vc.%llu.", (unsigned long long)r->instance);
        snprintf(db, sizeof db, "%s", prefix);
        while (ls_lua_vstore_next(L, db, prefix)) {
            const char *k = lua_tostring(L, -1), *colon;
            (*work)++;
            if (k[strlen(prefix)] == '|') {
                lua_pop(L, 1);
                break;
            }
            snprintf(db, sizeof db, "%s", k);
            lua_pop(L, 1);
            if (!weak && db[strlen(prefix)] == 'r' && (colon = strchr(db + strlen(prefix), ':'))) {
                lua_createtable(L, 1, 0);
                ls_lua_push_string(L, colon + 1);
                lua_rawseti(L, -2, 1);
                add_edges(L, -1, edges);
                lua_pop(L, 1);
            }
            if (ls_lua_vstore_get(L, db)) {
                ls_lua_vstore_parse_capdata(L, lua_tostring(L, -1), lua_rawlen(L, -1));
                lua_rawgeti(L, -1, 2);
                add_edges(L, -1, edges);
                lua_pop(L, 3);
            }
        }
        return;
    }
    snprintf(key, sizeof key, "vom.%s", base);
    (*work)++;
    if (!ls_lua_vstore_get(L, key)) return;
    ls_lua_vstore_parse_record(L, lua_tostring(L, -1), lua_rawlen(L, -1));
    {
        const char **names;
        size_t n = 0, cap = 0;
        int rec = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, rec)) {
            lua_pop(L, 1);
            cap++;
        }
        names = lua_newuserdatauv(L, (cap ? cap : 1) * sizeof *names, 0);
        lua_pushnil(L);
        while (lua_next(L, rec)) {
            lua_pop(L, 1);
            names[n++] = lua_tostring(L, -1);
        }
        qsort(names, n, sizeof *names, cmp_str);
        for (size_t i = 0; i < n; i++) {
            lua_getfield(L, rec, names[i]);
            lua_rawgeti(L, -1, 2);
            add_edges(L, -1, edges);
            lua_pop(L, 2);
        }
    }
    lua_settop(L, edges);
}

static bool has_pillar(lua_State *L, const char *base)
{
    bool r;
    ls_lua_vat_table(L, LS_VBASE);
    r = lua_getfield(L, -1, base) != LUA_TNIL;
    lua_pop(L, 2);
    return r || ls_lua_vstore_exported(L, base, 'r');
}

/* Node table fields: 1 edges, 2 count, 3 references from the subgraph, 4 live. */
void ls_lua_cycles_find(lua_State *L, const char *const *cands, size_t ncands, uint64_t cap, uint64_t *work)
{
    int nodes, order, queue, garbage;
    lua_Integer head = 1, tail = 0, norder = 0;
    uint64_t start = *work;
    lua_newtable(L);
    nodes = lua_gettop(L);
    lua_newtable(L);
    order = lua_gettop(L);
    lua_newtable(L);
    queue = lua_gettop(L);
    for (size_t i = 0; i < ncands; i++) {
        ls_lua_push_string(L, cands[i]);
        lua_rawseti(L, queue, ++tail);
    }
    /* explore, breadth first */
    while (head <= tail) {
        const char *base;
        ls_lua_vref r;
        lua_rawgeti(L, queue, head++);
        base = lua_tostring(L, -1);
        if (lua_getfield(L, nodes, base) != LUA_TNIL || !ls_lua_vref_parse(base, &r) || *work - start >= cap) {
            lua_pop(L, 2);
            continue; /* seen, or past the cap: left out (counts as an outside holder) */
        }
        lua_pop(L, 1);
        lua_createtable(L, 4, 0);
        push_edges(L, base, &r, work);
        lua_rawseti(L, -2, 1);
        lua_pushinteger(L, (lua_Integer)ls_lua_vstore_rc(L, base));
        lua_rawseti(L, -2, 2);
        lua_pushinteger(L, 0);
        lua_rawseti(L, -2, 3);
        lua_pushboolean(L, has_pillar(L, base));
        lua_rawseti(L, -2, 4);
        lua_setfield(L, nodes, base);
        lua_rawseti(L, order, ++norder); /* the base string */
        lua_rawgeti(L, order, norder);
        lua_getfield(L, nodes, lua_tostring(L, -1));
        lua_rawgeti(L, -1, 1);
        for (lua_Integer e = 1, ne = (lua_Integer)lua_rawlen(L, -1); e <= ne; e++) {
            lua_rawgeti(L, -1, e);
            lua_rawseti(L, queue, ++tail);
        }
        lua_pop(L, 3);
    }
    /* references from inside the subgraph */
    for (lua_Integer i = 1; i <= norder; i++) {
        lua_rawgeti(L, order, i);
        lua_getfield(L, nodes, lua_tostring(L, -1));
        lua_rawgeti(L, -1, 1);
        for (lua_Integer e = 1, ne = (lua_Integer)lua_rawlen(L, -1); e <= ne; e++) {
            lua_rawgeti(L, -1, e);
            if (lua_rawget(L, nodes) == LUA_TTABLE) {
                lua_rawgeti(L, -1, 3);
                lua_pushinteger(L, lua_tointeger(L, -1) + 1);
                lua_rawseti(L, -3, 3);
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 3);
    }
    /* live: a pillar or a holder from outside, and all they reach */
    head = 1;
    tail = 0;
    lua_newtable(L);
    lua_replace(L, queue);
    for (lua_Integer i = 1; i <= norder; i++) {
        bool live;
        lua_rawgeti(L, order, i);
        lua_getfield(L, nodes, lua_tostring(L, -1));
        lua_rawgeti(L, -1, 2);
        lua_rawgeti(L, -2, 3);
        lua_rawgeti(L, -3, 4);
        live = lua_toboolean(L, -1) || lua_tointeger(L, -3) > lua_tointeger(L, -2);
        lua_pop(L, 3);
        if (live) {
            lua_pushboolean(L, 1);
            lua_rawseti(L, -2, 4);
            lua_pushvalue(L, -2);
            lua_rawseti(L, queue, ++tail);
        }
        lua_pop(L, 2);
    }
    while (head <= tail) {
        lua_rawgeti(L, queue, head++);
        lua_getfield(L, nodes, lua_tostring(L, -1));
        lua_rawgeti(L, -1, 1);
        for (lua_Integer e = 1, ne = (lua_Integer)lua_rawlen(L, -1); e <= ne; e++) {
            lua_rawgeti(L, -1, e);
            lua_pushvalue(L, -1);
            if (lua_rawget(L, nodes) == LUA_TTABLE) {
                bool was;
                lua_rawgeti(L, -1, 4);
                was = lua_toboolean(L, -1);
                lua_pop(L, 1);
                if (!was) {
                    lua_pushboolean(L, 1);
                    lua_rawseti(L, -2, 4);
                    lua_pushvalue(L, -2);
                    lua_rawseti(L, queue, ++tail);
                }
            }
            lua_pop(L, 2);
        }
        lua_pop(L, 3);
    }
    /* the rest is garbage, in sorted order */
    lua_newtable(L);
    garbage = lua_gettop(L);
    {
        const char **g;
        size_t ng = 0;
        g = lua_newuserdatauv(L, (norder ? (size_t)norder : 1) * sizeof *g, 0);
        for (lua_Integer i = 1; i <= norder; i++) {
            bool live;
            lua_rawgeti(L, order, i);
            lua_getfield(L, nodes, lua_tostring(L, -1));
            lua_rawgeti(L, -1, 4);
            live = lua_toboolean(L, -1);
            lua_pop(L, 2);
            if (!live) g[ng++] = lua_tostring(L, -1); /* anchored by order */
            lua_pop(L, 1);
        }
        qsort(g, ng, sizeof *g, cmp_str);
        for (size_t i = 0; i < ng; i++) {
            ls_lua_push_string(L, g[i]);
            lua_rawseti(L, garbage, (lua_Integer)i + 1);
        }
        lua_pop(L, 1);
    }
    lua_replace(L, nodes);
    lua_settop(L, nodes);
}
