/*
 * pattern.c - Lua's string patterns for vat code: string.find, match,
 * gmatch and gsub (the syntax of the Lua 5.4 manual, §6.4.1), on a matcher
 * of our own so that its work is metered. A backtracking pattern can take
 * time exponential in its length; every step of this matcher (a character
 * class tested, a backtrack, a capture opened) is counted and charged, in
 * batches of PM_BATCH, so the compute limit stops a runaway pattern as it
 * stops a runaway loop. Character classes are ASCII (the C locale) whatever
 * the host's locale: a pattern means the same on every node.
 *
 * A match state (pm) lives on the C stack and holds no Lua object, so the
 * limit error may unwind through it at any step.
 */
#include "liveslots/lua/pattern.h"

#include <lauxlib.h>
#include <string.h>

#include "liveslots/lua/vm.h"

#define PM_MAXCAPTURES 32 /* as Lua's LUA_MAXCAPTURES */
#define PM_MAXDEPTH 200   /* nested matcher calls, as Lua's MAXCCALLS */
#define PM_BATCH 256      /* steps charged at a time */
#define CAP_OPEN (-1)     /* capture length: still open */
#define CAP_POSITION (-2) /* capture length: a position capture "()" */
#define SPECIALS "^$*+?.([%-"

typedef struct pm {
    lua_State *L;
    const char *src_init, *src_end; /* the subject */
    const char *pat_end;
    int level;                      /* captures so far */
    int depth;                      /* matcher calls left */
    unsigned steps;                 /* steps not yet charged */
    struct {
        const char *at;
        ptrdiff_t len;
    } cap[PM_MAXCAPTURES];
} pm;

static void pm_charge(pm *m)
{
    unsigned n = m->steps;
    m->steps = 0;
    ls_lua_vm_spend(m->L, n);
}

static inline void pm_step(pm *m)
{
    if (++m->steps >= PM_BATCH) pm_charge(m);
}

static void pm_reset(pm *m)
{
    m->level = 0;
    m->depth = PM_MAXDEPTH;
}

static void pm_init(pm *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp)
{
    m->L = L;
    m->src_init = s;
    m->src_end = s + ls;
    m->pat_end = p + lp;
    m->steps = 0;
    pm_reset(m);
}

/* ===== character classes (ASCII) ===== */

static int is_lower(int c) { return c >= 'a' && c <= 'z'; }
static int is_upper(int c) { return c >= 'A' && c <= 'Z'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return is_lower(c) || is_upper(c); }
static int is_alnum(int c) { return is_alpha(c) || is_digit(c); }
static int is_graph(int c) { return c > 32 && c < 127; }
static int is_xdigit(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Whether byte c is in class %cl (an upper-case class is the complement). */
static int class_has(int c, int cl)
{
    int lower = is_upper(cl) ? cl - 'A' + 'a' : cl, r;
    switch (lower) {
    case 'a': r = is_alpha(c); break;
    case 'c': r = c < 32 || c == 127; break;
    case 'd': r = is_digit(c); break;
    case 'g': r = is_graph(c); break;
    case 'l': r = is_lower(c); break;
    case 'p': r = is_graph(c) && !is_alnum(c); break;
    case 's': r = c == ' ' || (c >= 9 && c <= 13); break;
    case 'u': r = is_upper(c); break;
    case 'w': r = is_alnum(c); break;
    case 'x': r = is_xdigit(c); break;
    case 'z': r = c == 0; break; /* deprecated in Lua 5.4, still accepted */
    default: return cl == c; /* %x for a non-letter x is x itself */
    }
    return is_upper(cl) ? !r : r;
}

/* The end of the single-character class starting at p. */
static const char *class_end(pm *m, const char *p)
{
    const char *e = m->pat_end;
    char c = *p++;
    if (c == '%') {
        if (p >= e) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c != '[') return p;
    if (p < e && *p == '^') p++;
    do { /* the first character of a set may be ']' itself */
        if (p >= e) luaL_error(m->L, "malformed pattern (missing ']')");
        if (*p++ == '%' && p < e) p++;
    } while (p >= e || *p != ']');
    return p + 1;
}

/* Whether byte c is in the set [..] from p ('[') to ec (its ']'). */
static int set_has(pm *m, int c, const char *p, const char *ec)
{
    int want = 1;
    if (*++p == '^') {
        want = 0;
        p++;
    }
    for (; p < ec; p++) {
        pm_step(m);
        if (*p == '%') {
            p++;
            if (class_has(c, (unsigned char)*p)) return want;
        } else if (p + 2 < ec && p[1] == '-') {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2]) return want;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return want;
        }
    }
    return !want;
}

/* Whether the subject byte at s matches the class p..ep. */
static int single(pm *m, const char *s, const char *p, const char *ep)
{
    int c;
    pm_step(m);
    if (s >= m->src_end) return 0;
    c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case '%': return class_has(c, (unsigned char)p[1]);
    case '[': return set_has(m, c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

/* ===== the matcher ===== */

static const char *do_match(pm *m, const char *s, const char *p);

/* Greedy: the longest run of the class first, then shorter ones. */
static const char *max_expand(pm *m, const char *s, const char *p, const char *ep)
{
    ptrdiff_t n = 0;
    while (single(m, s + n, p, ep)) n++;
    for (; n >= 0; n--) {
        const char *r = do_match(m, s + n, ep + 1);
        if (r) return r;
    }
    return NULL;
}

/* Lazy: the shortest run first. */
static const char *min_expand(pm *m, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *r = do_match(m, s, ep + 1);
        if (r) return r;
        if (!single(m, s, p, ep)) return NULL;
        s++;
    }
}

static const char *open_capture(pm *m, const char *s, const char *p, ptrdiff_t what)
{
    const char *r;
    if (m->level >= PM_MAXCAPTURES) luaL_error(m->L, "too many captures");
    m->cap[m->level].at = s;
    m->cap[m->level].len = what;
    m->level++;
    if (!(r = do_match(m, s, p))) m->level--;
    return r;
}

static const char *close_capture(pm *m, const char *s, const char *p)
{
    int l = m->level - 1;
    const char *r;
    while (l >= 0 && m->cap[l].len != CAP_OPEN) l--;
    if (l < 0) luaL_error(m->L, "invalid pattern capture");
    m->cap[l].len = s - m->cap[l].at;
    if (!(r = do_match(m, s, p))) m->cap[l].len = CAP_OPEN;
    return r;
}

/* %bxy at p (pointing at x): a balanced run from x to its matching y. */
static const char *balance(pm *m, const char *s, const char *p)
{
    int depth = 1;
    if (p + 1 >= m->pat_end) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->src_end || *s != p[0]) return NULL;
    while (++s < m->src_end) {
        pm_step(m);
        if (*s == p[1]) {
            if (--depth == 0) return s + 1;
        } else if (*s == p[0]) {
            depth++;
        }
    }
    return NULL;
}

/* %1..%9: the text of an earlier closed capture, again. */
static const char *back_reference(pm *m, const char *s, int digit)
{
    int l = digit - '1';
    size_t len;
    if (l < 0 || l >= m->level || m->cap[l].len == CAP_OPEN)
        luaL_error(m->L, "invalid capture index %%%d", l + 1);
    if (m->cap[l].len == CAP_POSITION) return NULL;
    len = (size_t)m->cap[l].len;
    m->steps += (unsigned)(len / 16);
    pm_step(m);
    if ((size_t)(m->src_end - s) >= len && memcmp(m->cap[l].at, s, len) == 0) return s + len;
    return NULL;
}

/* Matches pattern p at subject position s; the end of the match or NULL. */
static const char *do_match(pm *m, const char *s, const char *p)
{
    if (m->depth-- == 0) luaL_error(m->L, "pattern too complex");
    while (s && p < m->pat_end) {
        const char *ep;
        pm_step(m);
        if (*p == '(') {
            if (p + 1 < m->pat_end && p[1] == ')') s = open_capture(m, s, p + 2, CAP_POSITION);
            else s = open_capture(m, s, p + 1, CAP_OPEN);
            break;
        }
        if (*p == ')') {
            s = close_capture(m, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == m->pat_end) {
            if (s != m->src_end) s = NULL;
            break;
        }
        if (*p == '%' && p + 1 < m->pat_end) {
            char c = p[1];
            if (c == 'b') {
                s = balance(m, s, p + 2);
                p += 4;
                continue;
            }
            if (c == 'f') {
                int prev, cur;
                p += 2;
                if (p >= m->pat_end || *p != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
                ep = class_end(m, p);
                prev = s == m->src_init ? 0 : (unsigned char)s[-1];
                cur = s < m->src_end ? (unsigned char)*s : 0;
                if (set_has(m, prev, p, ep - 1) || !set_has(m, cur, p, ep - 1)) s = NULL;
                p = ep;
                continue;
            }
            if (is_digit((unsigned char)c)) {
                s = back_reference(m, s, (unsigned char)c);
                p += 2;
                continue;
            }
        }
        /* a single-character class, perhaps with a quantifier */
        ep = class_end(m, p);
        if (!single(m, s, p, ep)) {
            if (ep < m->pat_end && (*ep == '*' || *ep == '?' || *ep == '-')) {
                p = ep + 1; /* zero repetitions */
                continue;
            }
            s = NULL;
            break;
        }
        if (ep < m->pat_end && *ep == '?') {
            const char *r = do_match(m, s + 1, ep + 1);
            if (r) {
                s = r;
                break;
            }
            p = ep + 1;
            continue;
        }
        if (ep < m->pat_end && *ep == '+') {
            s = max_expand(m, s + 1, p, ep);
            break;
        }
        if (ep < m->pat_end && *ep == '*') {
            s = max_expand(m, s, p, ep);
            break;
        }
        if (ep < m->pat_end && *ep == '-') {
            s = min_expand(m, s, p, ep);
            break;
        }
        s++;
        p = ep;
    }
    m->depth++;
    return s;
}

/* ===== captures to Lua values ===== */

/* Pushes capture i; with no captures, capture 0 is the whole match s..e. */
static void push_capture(pm *m, int i, const char *s, const char *e)
{
    if (i >= m->level) {
        if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s));
        return;
    }
    if (m->cap[i].len == CAP_OPEN) luaL_error(m->L, "unfinished capture");
    if (m->cap[i].len == CAP_POSITION)
        lua_pushinteger(m->L, (lua_Integer)(m->cap[i].at - m->src_init) + 1);
    else
        lua_pushlstring(m->L, m->cap[i].at, (size_t)m->cap[i].len);
}

/* Pushes every capture (or the whole match when s is given and the pattern
 * has none); returns how many. */
static int push_captures(pm *m, const char *s, const char *e)
{
    int n = m->level == 0 && s ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++) push_capture(m, i, s, e);
    return n;
}

/* ===== find and match ===== */

/* Lua's relative string position: negative counts from the end. */
static size_t start_at(lua_Integer pos, size_t len)
{
    if (pos > 0) return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len) return 1;
    return len + (size_t)pos + 1;
}

static int has_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (p[i] && strchr(SPECIALS, p[i])) return 1;
    return 0;
}

/* Plain search; the price is the bytes scanned. */
static const char *plain_find(lua_State *L, const char *s, size_t ls, const char *p, size_t lp)
{
    ls_lua_vm_spend(L, 1 + (ls + lp) / 16);
    if (lp == 0) return s;
    if (lp > ls) return NULL;
    return memmem(s, ls, p, lp);
}

static int find_or_match(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls), *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_at(luaL_optinteger(L, 3, 1), ls) - 1;
    pm m;
    int anchor;
    const char *at;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        const char *hit = plain_find(L, s + init, ls - init, p, lp);
        if (!hit) {
            luaL_pushfail(L);
            return 1;
        }
        lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
        lua_pushinteger(L, (lua_Integer)(hit - s) + (lua_Integer)lp);
        return 2;
    }
    anchor = lp > 0 && *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    pm_init(&m, L, s, ls, p, lp);
    at = s + init;
    for (;;) {
        const char *e;
        pm_reset(&m);
        if ((e = do_match(&m, at, p))) {
            int n;
            pm_charge(&m);
            if (!find) return push_captures(&m, at, e);
            lua_pushinteger(L, (lua_Integer)(at - s) + 1);
            lua_pushinteger(L, (lua_Integer)(e - s));
            n = push_captures(&m, NULL, NULL);
            return n + 2;
        }
        if (anchor || at >= m.src_end) break;
        at++;
    }
    pm_charge(&m);
    luaL_pushfail(L);
    return 1;
}

static int pat_find(lua_State *L) { return find_or_match(L, 1); }
static int pat_match(lua_State *L) { return find_or_match(L, 0); }

/* ===== gmatch ===== */

/* Iterator: upvalues 1 = subject, 2 = pattern, 3 = next start offset,
 * 4 = end offset of the last match (-1: none yet). */
static int gmatch_step(lua_State *L)
{
    size_t ls, lp;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    lua_Integer from = lua_tointeger(L, lua_upvalueindex(3));
    lua_Integer last = lua_tointeger(L, lua_upvalueindex(4));
    pm m;
    pm_init(&m, L, s, ls, p, lp);
    for (const char *at = s + from; at <= m.src_end; at++) {
        const char *e;
        pm_reset(&m);
        if ((e = do_match(&m, at, p)) && (lua_Integer)(e - s) != last) {
            pm_charge(&m);
            lua_pushinteger(L, (lua_Integer)(e - s));
            lua_pushvalue(L, -1);
            lua_replace(L, lua_upvalueindex(3));
            lua_replace(L, lua_upvalueindex(4));
            return push_captures(&m, at, e);
        }
    }
    pm_charge(&m);
    lua_pushinteger(L, (lua_Integer)ls + 1);
    lua_replace(L, lua_upvalueindex(3)); /* exhausted: later calls find nothing */
    return 0;
}

static int pat_gmatch(lua_State *L)
{
    size_t ls;
    luaL_checklstring(L, 1, &ls);
    luaL_checkstring(L, 2);
    {
        size_t init = start_at(luaL_optinteger(L, 3, 1), ls) - 1;
        lua_settop(L, 2);
        lua_pushinteger(L, (lua_Integer)(init > ls ? ls + 1 : init));
        lua_pushinteger(L, -1);
    }
    lua_pushcclosure(L, gmatch_step, 4);
    return 1;
}

/* ===== gsub ===== */

/* Appends the replacement string (index 3) for the match s..e: %0..%9 and
 * %% are expanded. */
static void add_template(pm *m, luaL_Buffer *b, const char *s, const char *e)
{
    size_t l;
    const char *r = lua_tolstring(m->L, 3, &l), *end = r + l;
    while (r < end) {
        const char *pct = memchr(r, '%', (size_t)(end - r));
        if (!pct) {
            luaL_addlstring(b, r, (size_t)(end - r));
            break;
        }
        luaL_addlstring(b, r, (size_t)(pct - r));
        r = pct + 1;
        if (r < end && *r == '%') {
            luaL_addchar(b, '%');
        } else if (r < end && is_digit((unsigned char)*r)) {
            if (*r == '0') lua_pushlstring(m->L, s, (size_t)(e - s));
            else push_capture(m, *r - '1', s, e);
            ls_lua_sandbox_tostring(m->L, -1);
            lua_remove(m->L, -2);
            luaL_addvalue(b);
        } else {
            luaL_error(m->L, "invalid use of '%%' in replacement string");
        }
        r++;
    }
}

/* Appends the replacement for the match s..e, by the type of index 3. */
static void add_value(pm *m, luaL_Buffer *b, const char *s, const char *e, int tr)
{
    lua_State *L = m->L;
    if (tr == LUA_TSTRING || tr == LUA_TNUMBER) {
        add_template(m, b, s, e);
        return;
    }
    if (tr == LUA_TFUNCTION) {
        int n;
        lua_pushvalue(L, 3);
        n = push_captures(m, s, e);
        lua_call(L, n, 1);
    } else {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    }
    if (!lua_toboolean(L, -1)) { /* nil or false: keep the original text */
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
    } else if (!lua_isstring(L, -1)) {
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    } else {
        if (lua_type(L, -1) == LUA_TNUMBER) {
            ls_lua_sandbox_tostring(L, -1);
            lua_remove(L, -2);
        }
        luaL_addvalue(b);
    }
}

static int pat_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls), *p = luaL_checklstring(L, 2, &lp);
    const char *at = s, *last = NULL;
    int tr = lua_type(L, 3), anchor;
    lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1), n = 0;
    luaL_Buffer b;
    pm m;
    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                     "string/function/table");
    anchor = lp > 0 && *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    luaL_buffinit(L, &b);
    pm_init(&m, L, s, ls, p, lp);
    while (n < max) {
        const char *e;
        size_t before = luaL_bufflen(&b);
        pm_reset(&m);
        if ((e = do_match(&m, at, p)) && e != last) {
            n++;
            add_value(&m, &b, at, e, tr);
            at = last = e;
        } else if (at < m.src_end) {
            luaL_addchar(&b, *at++);
        } else {
            break;
        }
        m.steps += (unsigned)((luaL_bufflen(&b) - before) / 16);
        pm_step(&m);
        if (anchor) break;
    }
    luaL_addlstring(&b, at, (size_t)(m.src_end - at));
    pm_charge(&m);
    ls_lua_vm_spend(L, (uint64_t)(m.src_end - at) / 16);
    luaL_pushresult(&b);
    lua_pushinteger(L, n);
    return 2;
}

void ls_lua_pattern_install(lua_State *L, int string_lib)
{
    static const luaL_Reg fns[] = {
        {"find", pat_find}, {"match", pat_match}, {"gmatch", pat_gmatch}, {"gsub", pat_gsub}, {NULL, NULL}};
    string_lib = lua_absindex(L, string_lib);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, string_lib, f->name);
    }
}
