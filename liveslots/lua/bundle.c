/*
 * bundle.c - Lua vat bundles (see bundle.h): format detection and
 * validation, compile-only checking, and the bundle-local `require`.
 * Owns the registry table BUNDLE_KEY of a vm; touches no store or kernel
 * state. Implements the Lua worker's code loading (DESIGN.md §7).
 *
 * Parsing happens in C before Lua is touched (struct bundle borrows the
 * caller's bytes or a jansson tree); the Lua side is built inside one
 * protected call and the C side freed right after, so nothing malloc'd is
 * held across a Lua call that can raise. In the vm, the registry holds
 *   BUNDLE_KEY = { modules = { <name> = <compiled chunk> },
 *                  loaded  = { <name> = <first result, or true> },
 *                  loading = { <name> = true while its body runs } }
 * and the global `require` is a C closure over that table.
 */
#include "liveslots/lua/bundle.h"

#include <jansson.h>
#include <lauxlib.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

#define BUNDLE_KEY "libswing.bundle"
#define NAME_MAX_LEN 64
#define PLAIN_NAME "main"

typedef struct bundle_module {
    const char *name; /* valid module name, NUL-terminated; borrowed */
    const char *src;  /* Lua source; borrowed from the bytes or the JSON tree */
    size_t len;       /* bytes of src */
} bundle_module;

typedef struct bundle {
    json_t *root;         /* owned JSON tree; NULL for the plain form */
    const char *entry;    /* entry module name; borrowed like the modules */
    bundle_module *mods;  /* sorted by name (byte order); owned if root */
    size_t n;             /* number of modules, >= 1 */
    bundle_module single; /* storage for the plain form's one module */
} bundle;

/* ===== format detection and validation (no Lua) ===== */

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

/* True if the first byte after ASCII whitespace (space, \t \n \v \f \r)
 * is '{': then the bytes must be the JSON form. */
static bool is_json_form(const char *bytes, size_t len)
{
    size_t i = 0;
    while (i < len && (bytes[i] == ' ' || (bytes[i] >= '\t' && bytes[i] <= '\r'))) i++;
    return i < len && bytes[i] == '{';
}

static int module_cmp(const void *a, const void *b)
{
    return strcmp(((const bundle_module *)a)->name, ((const bundle_module *)b)->name);
}

static void bundle_free(bundle *b)
{
    if (b->root) {
        swing_mfree(b->mods);
        json_decref(b->root);
    }
    memset(b, 0, sizeof *b);
}

/* Checks the top-level fields of a JSON bundle: exactly format, entry and
 * modules, with the right types. */
static swing_status check_fields(json_t *root, swing_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "format") && strcmp(key, "entry") && strcmp(key, "modules"))
            return swing_err_set(err, SWING_ERR_INVALID, "bundle: unexpected field \"%.64s\"", key);
    }
    v = json_object_get(root, "format");
    if (!json_is_string(v) || strcmp(json_string_value(v), LS_LUA_BUNDLE_FORMAT) != 0)
        return swing_err_set(err, SWING_ERR_INVALID, "bundle: \"format\" must be \"%s\"", LS_LUA_BUNDLE_FORMAT);
    v = json_object_get(root, "entry");
    if (!json_is_string(v) || !valid_name(json_string_value(v)))
        return swing_err_set(err, SWING_ERR_INVALID, "bundle: \"entry\" must be a module name");
    if (!json_is_object(json_object_get(root, "modules")))
        return swing_err_set(err, SWING_ERR_INVALID, "bundle: \"modules\" must be an object");
    return SWING_OK;
}

/* Fills b->mods from the "modules" object, sorted by name. */
static swing_status collect_modules(bundle *b, swing_err *err)
{
    json_t *mods = json_object_get(b->root, "modules"), *v;
    const char *key;
    size_t n = json_object_size(mods), i = 0;
    if (!json_object_get(mods, b->entry))
        return swing_err_set(err, SWING_ERR_INVALID, "bundle: entry \"%s\" is not among the modules", b->entry);
    b->mods = swing_calloc(n, sizeof *b->mods);
    if (!b->mods) return SWING_NOMEM(err);
    json_object_foreach(mods, key, v) {
        if (!valid_name(key))
            return swing_err_set(err, SWING_ERR_INVALID, "bundle: bad module name \"%.64s\"", key);
        if (!json_is_string(v))
            return swing_err_set(err, SWING_ERR_INVALID, "bundle: module \"%s\" must be a string", key);
        b->mods[i].name = key;
        b->mods[i].src = json_string_value(v);
        b->mods[i].len = json_string_length(v);
        i++;
    }
    b->n = i;
    qsort(b->mods, b->n, sizeof *b->mods, module_cmp);
    return SWING_OK;
}

/* Parses bytes into b (zeroed on failure; bundle_free it after success).
 * Errors: INVALID, NOMEM. */
static swing_status bundle_parse(const char *bytes, size_t len, bundle *b, swing_err *err)
{
    json_error_t je;
    swing_status s;
    memset(b, 0, sizeof *b);
    if (!bytes && len) return swing_err_set(err, SWING_ERR_INVALID, "bundle: no bytes");
    if (!is_json_form(bytes, len)) {
        b->single.name = PLAIN_NAME;
        b->single.src = len ? bytes : "";
        b->single.len = len;
        b->mods = &b->single;
        b->n = 1;
        b->entry = PLAIN_NAME;
        return SWING_OK;
    }
    b->root = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &je);
    if (!b->root)
        return swing_err_set(err, SWING_ERR_INVALID, "bundle: bad JSON: %s (line %d column %d)", je.text, je.line,
                             je.column);
    s = check_fields(b->root, err);
    if (!s) {
        b->entry = json_string_value(json_object_get(b->root, "entry"));
        s = collect_modules(b, err);
    }
    if (s) bundle_free(b);
    return s;
}

/* ===== compiling ===== */

/* Compiles m as a text chunk named "=<name>" and leaves the function on the
 * stack. Never raises. Errors: INVALID ("<name>:<line>: ..." or
 * "<name>: ..."), LIMIT (memory). */
static swing_status compile_module(lua_State *L, const bundle_module *m, swing_err *err)
{
    char chunk[NAME_MAX_LEN + 2];
    const char *msg;
    size_t nlen = strlen(m->name);
    int r;
    chunk[0] = '=';
    memcpy(chunk + 1, m->name, nlen + 1);
    r = luaL_loadbufferx(L, m->src, m->len, chunk, "t");
    if (r == LUA_OK) return SWING_OK;
    if (r == LUA_ERRMEM) {
        lua_pop(L, 1);
        return swing_err_set(err, SWING_ERR_LIMIT, "memory limit");
    }
    msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "cannot compile";
    /* Syntax errors carry "<name>:<line>:"; mode errors carry no position. */
    if (strncmp(msg, m->name, nlen) == 0 && msg[nlen] == ':')
        swing_err_set(err, SWING_ERR_INVALID, "%s", msg);
    else
        swing_err_set(err, SWING_ERR_INVALID, "%s: %s", m->name, msg);
    lua_pop(L, 1);
    return SWING_ERR_INVALID;
}

swing_status ls_lua_bundle_check(const char *bytes, size_t len, swing_err *err)
{
    bundle b;
    ls_lua_vm *scratch = NULL;
    swing_status s = bundle_parse(bytes, len, &b, err);
    if (s) return s;
    s = ls_lua_vm_open(NULL, &scratch, err);
    for (size_t i = 0; !s && i < b.n; i++) {
        lua_State *L = ls_lua_vm_state(scratch);
        s = compile_module(L, &b.mods[i], err);
        if (!s) lua_pop(L, 1); /* compiled only, never called */
    }
    ls_lua_vm_close(scratch);
    bundle_free(&b);
    return s;
}

/* ===== require ===== */

/* require(name): runs module `name` once with name as its argument and
 * returns its first result (true if it returned nil). Upvalue 1 is the
 * BUNDLE_KEY table. Raises "module not found: <name>", "require cycle:
 * <name>", or whatever the module raised. */
static int bundle_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    int st = lua_upvalueindex(1), status;
    lua_settop(L, 1);
    lua_getfield(L, st, "loaded");    /* 2 */
    lua_getfield(L, st, "loading");   /* 3 */
    lua_getfield(L, st, "modules");   /* 4 */
    lua_pushvalue(L, 1);
    if (lua_rawget(L, 2) != LUA_TNIL) return 1;
    lua_pop(L, 1);
    lua_pushvalue(L, 1);
    if (lua_rawget(L, 3) != LUA_TNIL) return luaL_error(L, "require cycle: %s", name);
    lua_pop(L, 1);
    lua_pushvalue(L, 1);
    if (lua_rawget(L, 4) != LUA_TFUNCTION) return luaL_error(L, "module not found: %s", name);
    lua_pushvalue(L, 1);
    lua_pushboolean(L, 1);
    lua_rawset(L, 3);
    lua_pushvalue(L, 1);                      /* 5 = chunk, 6 = name */
    status = lua_pcall(L, 1, 1, 0);           /* 5 = result or error */
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    lua_rawset(L, 3); /* clearing an existing key never allocates */
    if (status != LUA_OK) return lua_error(L);
    if (lua_isnil(L, 5)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 5);
    lua_rawset(L, 2);
    return 1;
}

/* Passed to install() through a light userdata. */
typedef struct install_ctx {
    const bundle *b;      /* the parsed bundle; borrowed */
    swing_status status;  /* INVALID if a module did not compile */
    swing_err *err;       /* receives that compile error; may be NULL */
} install_ctx;

/* Protected: compiles every module (name order) into the BUNDLE_KEY table,
 * sets the global `require` and returns (require, entry name). On a compile
 * error sets ctx->status and returns nothing. Raises on memory errors. */
static int install(lua_State *L)
{
    install_ctx *ctx = lua_touserdata(L, 1);
    const bundle *b = ctx->b;
    lua_settop(L, 0);
    lua_createtable(L, 0, 3); /* 1 = state */
    lua_createtable(L, 0, (int)(b->n < 1024 ? b->n : 1024));
    for (size_t i = 0; i < b->n; i++) {
        swing_status s = compile_module(L, &b->mods[i], ctx->err);
        if (s == SWING_ERR_LIMIT) return luaL_error(L, "memory limit");
        if (s) {
            ctx->status = s;
            return 0;
        }
        /* Not lua_setfield: it interns the name through Lua's address-keyed
         * string cache, so whether a long name allocates (and is charged)
         * would depend on where the bundle's bytes happen to sit. */
        ls_lua_push_string(L, b->mods[i].name);
        lua_insert(L, -2);
        lua_rawset(L, 2); /* a fresh table: no metamethods */
    }
    lua_setfield(L, 1, "modules");
    lua_newtable(L);
    lua_setfield(L, 1, "loaded");
    lua_newtable(L);
    lua_setfield(L, 1, "loading");
    lua_pushvalue(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, BUNDLE_KEY);
    lua_pushcclosure(L, bundle_require, 1); /* 1 = require */
    lua_pushglobaltable(L);
    lua_pushliteral(L, "require");
    lua_pushvalue(L, 1);
    lua_rawset(L, -3); /* raw: a metatable on _G runs no code here */
    lua_pop(L, 1);
    ls_lua_push_string(L, b->entry);
    return 2;
}

swing_status ls_lua_bundle_load(ls_lua_vm *vm, const char *bytes, size_t len, swing_err *err)
{
    lua_State *L = ls_lua_vm_state(vm);
    int top = lua_gettop(L);
    install_ctx ctx;
    bundle b;
    swing_status s = bundle_parse(bytes, len, &b, err);
    if (s) return s;
    if (!lua_checkstack(L, 4)) {
        bundle_free(&b);
        return swing_err_set(err, SWING_ERR_LIMIT, "memory limit");
    }
    ctx.b = &b;
    ctx.status = SWING_OK;
    ctx.err = err;
    lua_pushcfunction(L, install);
    lua_pushlightuserdata(L, &ctx);
    s = ls_lua_vm_pcall(vm, 1, 2, err);
    bundle_free(&b); /* the Lua side now holds copies of all it needs */
    if (!s && ctx.status) s = ctx.status;
    if (s) {
        lua_settop(L, top);
        return s;
    }
    s = ls_lua_vm_pcall(vm, 1, 1, err); /* require(entry) */
    if (s) lua_settop(L, top);
    return s;
}
