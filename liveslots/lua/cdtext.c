/*
 * cdtext.c - reading back the capdata and state-record JSON that vstore.c
 * writes, without a JSON library: `{"body":"...","slots":["...",...]}` and
 * `{"<prop>":<capdata>,...}`, compact, keys in the order written. Every
 * collection get, iteration step and state load reads one of these; going
 * through jansson's tree cost a third of a get. Anything else (a \u
 * escape, whitespace, another shape, a repeated property, bad UTF-8)
 * makes these readers say no without pushing anything, and the caller
 * parses the text with jansson as before, so the two always agree on what
 * they accept. The same for a smallcaps body that is one plain string or
 * integer (marshal.c's decoder).
 */
#include <string.h>

#include "base/utf8.h"
#include "liveslots/lua/vat_int.h"

typedef struct rd {
    const char *p, *end;
} rd;

static bool lit(rd *r, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, s, n) != 0) return false;
    r->p += n;
    return true;
}

/* Pushes the JSON string at r->p (quotes included); false (nothing pushed)
 * for a form this reader does not take. */
static bool str(lua_State *L, rd *r)
{
    const char *s, *q;
    bool esc = false;
    if (r->p >= r->end || *r->p != '"') return false;
    s = ++r->p;
    for (q = s; q < r->end && *q != '"'; q++) {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20) return false;
        if (c == '\\') {
            if (q + 1 >= r->end || !strchr("\"\\/bfnrt", q[1])) return false; /* \u: jansson's */
            esc = true;
            q++;
        }
    }
    if (q >= r->end || !swing_utf8_valid((const uint8_t *)s, (size_t)(q - s))) return false;
    r->p = q + 1;
    if (!esc) {
        lua_pushlstring(L, s, (size_t)(q - s));
        return true;
    }
    {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (const char *c = s; c < q; c++) {
            if (*c != '\\') {
                luaL_addchar(&b, *c);
                continue;
            }
            switch (*++c) {
            case 'b': luaL_addchar(&b, '\b'); break;
            case 'f': luaL_addchar(&b, '\f'); break;
            case 'n': luaL_addchar(&b, '\n'); break;
            case 'r': luaL_addchar(&b, '\r'); break;
            case 't': luaL_addchar(&b, '\t'); break;
            default: luaL_addchar(&b, *c); break; /* " \ / */
            }
        }
        luaL_pushresult(&b);
    }
    return true;
}

/* Pushes {body, slots} from r; false leaves the stack as it was. */
static bool capdata(lua_State *L, rd *r)
{
    int top = lua_gettop(L);
    lua_Integer n = 0;
    lua_createtable(L, 2, 0);
    if (!lit(r, "{\"body\":") || !str(L, r)) goto no;
    lua_rawseti(L, top + 1, 1);
    if (!lit(r, ",\"slots\":[")) goto no;
    lua_newtable(L);
    if (!lit(r, "]")) {
        do {
            if (!str(L, r)) goto no;
            lua_rawseti(L, top + 2, ++n);
        } while (lit(r, ","));
        if (!lit(r, "]")) goto no;
    }
    lua_rawseti(L, top + 1, 2);
    if (!lit(r, "}")) goto no;
    return true;
no:
    lua_settop(L, top);
    return false;
}

bool ls_lua_cdtext_capdata(lua_State *L, const char *text, size_t len)
{
    rd r = {text, text + len};
    luaL_checkstack(L, 6, NULL);
    if (!capdata(L, &r)) return false;
    if (r.p == r.end) return true;
    lua_pop(L, 1);
    return false;
}

bool ls_lua_cdtext_record(lua_State *L, const char *text, size_t len)
{
    rd r = {text, text + len};
    int top = lua_gettop(L);
    luaL_checkstack(L, 8, NULL);
    lua_newtable(L);
    if (!lit(&r, "{")) goto no;
    if (!lit(&r, "}")) {
        do {
            if (!str(L, &r) || !lit(&r, ":")) goto no;
            lua_pushvalue(L, -1);
            if (lua_rawget(L, top + 1) != LUA_TNIL) goto no; /* a repeated property */
            lua_pop(L, 1);
            if (!capdata(L, &r)) goto no;
            lua_rawset(L, top + 1);
        } while (lit(&r, ","));
        if (!lit(&r, "}")) goto no;
    }
    if (r.p == r.end) return true;
no:
    lua_settop(L, top);
    return false;
}

/* A smallcaps body that is a plain string (no escape, no special first
 * character) or an integer of at most 15 digits: the value dec_run in
 * marshal.c would give, pushed without a tree. */
bool ls_lua_cdtext_scalar(lua_State *L, const char *body, size_t len)
{
    const char *s = body + 1;
    size_t n = len - 1, i = 0;
    lua_Integer v = 0;
    if (len < 2 || body[0] != '#') return false;
    if (s[0] == '"') {
        if (n < 2 || s[n - 1] != '"' || (n > 2 && s[1] >= '!' && s[1] <= '-')) return false;
        for (i = 1; i < n - 1; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == '"' || s[i] == '\\') return false;
        if (!swing_utf8_valid((const uint8_t *)s + 1, n - 2)) return false;
        lua_pushlstring(L, s + 1, n - 2);
        return true;
    }
    if (s[0] == '-') i = 1;
    if (n - i < 1 || n - i > 15 || (s[i] == '0' && (n - i > 1 || i))) return false;
    for (size_t k = i; k < n; k++) {
        if (s[k] < '0' || s[k] > '9') return false;
        v = v * 10 + (s[k] - '0');
    }
    lua_pushinteger(L, i ? -v : v);
    return true;
}
