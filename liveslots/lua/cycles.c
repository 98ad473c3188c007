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
 * nothing but the vat's state. Objects sure to be live (see push_node) are
 * not expanded, so a candidate held by a big store costs a read or two.
 * A subgraph larger than the cap is cut: the objects not explored count as
 * holders from outside, so nothing live is ever taken for garbage.
 * Cycles through another vat are not found: an export the other vat holds
 * is a reachable export here, whatever holds it there.
 */
#include "liveslots/lua/vat_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liveslots/lua/vref.h"

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
 * repeats), counting what it reads in *work; false if a store had more
 * entries than *work may reach (limit): the edges are then incomplete. */
static bool push_edges(lua_State *L, const char *base, const ls_lua_vref *r, uint64_t *work, uint64_t limit)
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
            if (++(*work) > limit) {
                lua_pop(L, 1);
                return false;
            }
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
        return true;
    }
    snprintf(key, sizeof key, "vom.%s", base);
    (*work)++;
    if (!ls_lua_vstore_get(L, key)) return true;
    {   /* a slot naming a virtual object is a JSON string "o+v... or "o+d...:
           a record without either text names none (most records) */
        const char *text = lua_tostring(L, -1);
        if (!strstr(text, "\"o+v") && !strstr(text, "\"o+d")) {
            lua_settop(L, edges);
            return true;
        }
    }
    ls_lua_vstore_parse_record(L, lua_tostring(L, -1), lua_rawlen(L, -1));
    {
        size_t n;
        int rec = lua_gettop(L);
        const char **names = ls_lua_vom_sorted_keys(L, rec, &n, "state property");
        for (size_t i = 0; i < n; i++) {
            lua_getfield(L, rec, names[i]);
            lua_rawgeti(L, -1, 2);
            add_edges(L, -1, edges);
            lua_pop(L, 2);
        }
    }
    lua_settop(L, edges);
    return true;
}

bool ls_lua_cycles_may_hold(lua_State *L, const char *base, const ls_lua_vref *r)
{
    uint64_t work = 0;
    bool some;
    if (r->id >= LS_LUA_STORE_KIND_FIRST && r->id < LS_LUA_STORE_KIND_FIRST + 8) return true; /* a scan: later */
    push_edges(L, base, r, &work, 1);
    some = lua_rawlen(L, -1) > 0;
    lua_pop(L, 1);
    return some;
}

/* The search's tables on the stack: nodes (baseRef -> node), order (the
 * explored baseRefs in exploration order), queue. Node fields: 1 edges, 2
 * count, 3 references from the subgraph, 4 live. */
typedef struct graph {
    int nodes, order, queue;
    lua_Integer norder;
} graph;

/* Pushes the node of base. A node that is live for sure is not expanded:
 * in RAM, exported, the baggage, a store too big for the cap, or one that
 * names no virtual object (it cannot be on a cycle; if garbage holds it,
 * it dies by its count once the garbage is deleted). Whatever it holds is
 * then counted as held from outside, which only keeps more alive. */
static void push_node(lua_State *L, const char *base, const ls_lua_vref *r, uint64_t *work, uint64_t limit,
                      bool *cut)
{
    bool live = ls_lua_refs_has(L, LS_VBASE, base) || r->id == LS_LUA_KIND_HANDLE ||
                (r->id == LS_LUA_STORE_KIND(0, true) && r->instance == 1); /* the baggage */
    lua_createtable(L, 4, 0);
    if (!live) {
        if (!push_edges(L, base, r, work, limit)) {
            *cut = true;
            live = true;
        } else if (lua_rawlen(L, -1) == 0) {
            live = true;
        } else {
            live = ls_lua_vstore_exported(L, base, 'r');
        }
        if (live) {
            lua_pop(L, 1);
        } else {
            lua_rawseti(L, -2, 1);
            lua_pushinteger(L, (lua_Integer)ls_lua_vstore_rc(L, base));
            lua_rawseti(L, -2, 2);
        }
        (*work)++;
    }
    if (live) {
        lua_newtable(L);
        lua_rawseti(L, -2, 1);
        lua_pushinteger(L, 0);
        lua_rawseti(L, -2, 2);
    }
    lua_pushinteger(L, 0);
    lua_rawseti(L, -2, 3);
    lua_pushboolean(L, live);
    lua_rawseti(L, -2, 4);
}

/* Explores breadth first from the queue until the cap; *cut when the cap
 * stopped it. */
static void explore(lua_State *L, graph *g, lua_Integer tail, uint64_t cap, uint64_t *work, bool *cut)
{
    lua_Integer head = 1;
    uint64_t start = *work;
    while (head <= tail) {
        const char *base;
        ls_lua_vref r;
        lua_rawgeti(L, g->queue, head++);
        base = lua_tostring(L, -1);
        if (lua_getfield(L, g->nodes, base) != LUA_TNIL || !ls_lua_vref_parse(base, &r)) {
            lua_pop(L, 2);
            continue; /* seen */
        }
        lua_pop(L, 1);
        if (*work - start >= cap) {
            *cut = true; /* left out: counts as an outside holder */
            lua_pop(L, 1);
            continue;
        }
        push_node(L, base, &r, work, start + cap, cut);
        lua_pushvalue(L, -1);
        lua_setfield(L, g->nodes, base);
        lua_rawgeti(L, -1, 1);
        for (lua_Integer e = 1, ne = (lua_Integer)lua_rawlen(L, -1); e <= ne; e++) {
            lua_rawgeti(L, -1, e);
            lua_rawseti(L, g->queue, ++tail);
        }
        lua_pop(L, 2);
        lua_rawseti(L, g->order, ++g->norder); /* the base string */
    }
}

/* Pushes the node of the i-th explored baseRef (and the baseRef below it). */
static void push_nth(lua_State *L, const graph *g, lua_Integer i)
{
    lua_rawgeti(L, g->order, i);
    lua_getfield(L, g->nodes, lua_tostring(L, -1));
}

static void count_internal(lua_State *L, const graph *g)
{
    for (lua_Integer i = 1; i <= g->norder; i++) {
        push_nth(L, g, i);
        lua_rawgeti(L, -1, 1);
        for (lua_Integer e = 1, ne = (lua_Integer)lua_rawlen(L, -1); e <= ne; e++) {
            lua_rawgeti(L, -1, e);
            if (lua_rawget(L, g->nodes) == LUA_TTABLE) {
                lua_rawgeti(L, -1, 3);
                lua_pushinteger(L, lua_tointeger(L, -1) + 1);
                lua_rawseti(L, -3, 3);
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 3);
    }
}

/* Live: a pillar or a holder from outside, and everything they reach. */
static void mark_live(lua_State *L, const graph *g)
{
    lua_Integer head = 1, tail = 0;
    lua_newtable(L);
    lua_replace(L, g->queue);
    for (lua_Integer i = 1; i <= g->norder; i++) {
        bool live;
        push_nth(L, g, i);
        lua_rawgeti(L, -1, 2);
        lua_rawgeti(L, -2, 3);
        lua_rawgeti(L, -3, 4);
        live = lua_toboolean(L, -1) || lua_tointeger(L, -3) > lua_tointeger(L, -2);
        lua_pop(L, 3);
        if (live) {
            lua_pushboolean(L, 1);
            lua_rawseti(L, -2, 4);
            lua_pushvalue(L, -2);
            lua_rawseti(L, g->queue, ++tail);
        }
        lua_pop(L, 2);
    }
    while (head <= tail) {
        lua_rawgeti(L, g->queue, head++);
        lua_getfield(L, g->nodes, lua_tostring(L, -1));
        lua_rawgeti(L, -1, 1);
        for (lua_Integer e = 1, ne = (lua_Integer)lua_rawlen(L, -1); e <= ne; e++) {
            lua_rawgeti(L, -1, e);
            lua_pushvalue(L, -1);
            if (lua_rawget(L, g->nodes) == LUA_TTABLE) {
                bool was;
                lua_rawgeti(L, -1, 4);
                was = lua_toboolean(L, -1);
                lua_pop(L, 1);
                if (!was) {
                    lua_pushboolean(L, 1);
                    lua_rawseti(L, -2, 4);
                    lua_pushvalue(L, -2);
                    lua_rawseti(L, g->queue, ++tail);
                }
            }
            lua_pop(L, 2);
        }
        lua_pop(L, 3);
    }
}

/* Pushes the array of the explored baseRefs not live, sorted. */
static void push_garbage(lua_State *L, const graph *g)
{
    const char **v;
    size_t n = 0;
    lua_newtable(L);
    v = lua_newuserdatauv(L, (g->norder ? (size_t)g->norder : 1) * sizeof *v, 0);
    for (lua_Integer i = 1; i <= g->norder; i++) {
        bool live;
        push_nth(L, g, i);
        lua_rawgeti(L, -1, 4);
        live = lua_toboolean(L, -1);
        lua_pop(L, 2);
        if (!live) v[n++] = lua_tostring(L, -1); /* anchored by order */
        lua_pop(L, 1);
    }
    qsort(v, n, sizeof *v, ls_lua_vref_cmp);
    for (size_t i = 0; i < n; i++) {
        ls_lua_push_string(L, v[i]);
        lua_rawseti(L, -3, (lua_Integer)i + 1);
    }
    lua_pop(L, 1);
}

bool ls_lua_cycles_find(lua_State *L, const char *const *cands, size_t ncands, uint64_t cap, uint64_t *work)
{
    bool cut = false;
    graph g;
    int top = lua_gettop(L);
    lua_newtable(L);
    g.nodes = lua_gettop(L);
    lua_newtable(L);
    g.order = lua_gettop(L);
    lua_newtable(L);
    g.queue = lua_gettop(L);
    g.norder = 0;
    for (size_t i = 0; i < ncands; i++) {
        ls_lua_push_string(L, cands[i]);
        lua_rawseti(L, g.queue, (lua_Integer)i + 1);
    }
    explore(L, &g, (lua_Integer)ncands, cap, work, &cut);
    count_internal(L, &g);
    mark_live(L, &g);
    push_garbage(L, &g);
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
    return !cut;
}
