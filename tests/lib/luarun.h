/*
 * luarun.h - running Lua snippets in a metered, sandboxed state for the
 * liveslots tests: one chunk per call under a fresh budget, its first
 * result as text, and cmocka checks on the outcome.
 */
#ifndef LIBSWING_TESTS_LUARUN_H
#define LIBSWING_TESTS_LUARUN_H

#include "tests/lib/testlib.h"

#include "liveslots/lua/vm.h"

/* Runs src; returns the status and the first result (a string, or its type
 * name) in out. */
swing_status tl_lua_run(ls_lua_vm *vm, const char *src, char *out, size_t cap, swing_err *e);

/* src must succeed with the first result `want`. */
void tl_lua_expect(ls_lua_vm *vm, const char *src, const char *want);

/* src must fail with `want`, and (unless msg is NULL) a message containing msg. */
void tl_lua_expect_fail(ls_lua_vm *vm, const char *src, swing_status want, const char *msg);

#endif /* LIBSWING_TESTS_LUARUN_H */
