/*
 * luarun.h - running Lua snippets in a metered, sandboxed state for the
 * liveslots tests: one chunk per call under a fresh budget, its first
 * result as text, and cmocka checks on the outcome.
 */
#ifndef LIBSWING_TESTS_LUARUN_H
#define LIBSWING_TESTS_LUARUN_H

#include "tests/lib/testlib.h"

#include "liveslots/lua/vm.h"

/* Opens a sandboxed state with the given memory cap and compute limit (0:
 * defaults); fails the test on error. */
ls_lua_vm *tl_lua_vm(size_t memory_cap, uint64_t compute);

/* Runs src (which returns a string) in a plain Lua state with Lua's own
 * standard libraries, chunk named "test": the oracle the sandbox's
 * replacements are compared with. out gets the result or "error: <msg>". */
void tl_lua_oracle(const char *src, char *out, size_t cap);

/* Runs src; returns the status and the first result (a string, or its type
 * name) in out. */
swing_status tl_lua_run(ls_lua_vm *vm, const char *src, char *out, size_t cap, swing_err *e);

/* src must succeed with the first result `want`. */
void tl_lua_expect(ls_lua_vm *vm, const char *src, const char *want);

/* src must fail with `want`, and (unless msg is NULL) a message containing msg. */
void tl_lua_expect_fail(ls_lua_vm *vm, const char *src, swing_status want, const char *msg);

#endif /* LIBSWING_TESTS_LUARUN_H */
