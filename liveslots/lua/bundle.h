/*
 * bundle.h - Lua vat bundles: the code of a vat, content-addressed in the
 * store as b1-<sha256>.
 *
 * A bundle's bytes are either
 *   - plain Lua source (one module, named "main"), or
 *   - a JSON object {"format":"swing-lua-bundle-1","entry":"<name>",
 *     "modules":{"<name>":"<Lua source>", ...}} with the entry among the
 *     modules. Module names are [A-Za-z0-9_.-]{1,64}.
 * Inside the vat, `require(name)` loads a module of the same bundle once
 * (cached; a cycle raises "require cycle: name"); nothing else is loadable.
 */
#ifndef LIBSWING_LIVESLOTS_LUA_BUNDLE_H
#define LIBSWING_LIVESLOTS_LUA_BUNDLE_H

#include <stddef.h>

#include "base/err.h"
#include "liveslots/lua/vm.h"

#define LS_LUA_BUNDLE_FORMAT "swing-lua-bundle-1"

/* Checks a bundle without running it: format, module names, and that every
 * module compiles. INVALID with "<module>:<line>: <message>" on a syntax
 * error, or a description of the format problem. */
swing_status ls_lua_bundle_check(const char *bytes, size_t len, swing_err *err);

/* Installs `require` for the bundle in vm and runs the entry module,
 * leaving its first return value (or true, like require) on the stack. Errors: INVALID
 * (bad bundle), USER (the module raised), LIMIT (meter or memory). The run
 * is metered against the vm's current budget. */
swing_status ls_lua_bundle_load(ls_lua_vm *vm, const char *bytes, size_t len, swing_err *err);

#endif /* LIBSWING_LIVESLOTS_LUA_BUNDLE_H */
