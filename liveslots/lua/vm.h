/*
 * vm.h - one sandboxed, metered Lua 5.4 state per vat (DESIGN.md §3, §7).
 *
 * Metering counts computrons: Lua VM instructions (count hook), the bytes of
 * allocations whose size follows from the program alone (new objects, long
 * strings), and explicit charges (syscalls). A delivery runs under a limit;
 * past it, or past the vat's memory cap (checked at the count hook after a
 * full collection, so garbage never decides), the VM is "exhausted": every pcall,
 * xpcall and coroutine.resume in vat code re-raises, so the error reaches the
 * host call and the delivery fails with "compute limit" or "memory limit".
 * The sandbox (sandbox.c) gives vat code deterministic globals only.
 */
#ifndef LIBSWING_LIVESLOTS_LUA_VM_H
#define LIBSWING_LIVESLOTS_LUA_VM_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"

typedef struct ls_lua_vm ls_lua_vm;

typedef enum ls_lua_exhaustion {
    LS_LUA_OK = 0,
    LS_LUA_COMPUTE = 1, /* "compute limit" */
    LS_LUA_MEMORY = 2,  /* "memory limit" */
    LS_LUA_ILLEGAL = 3, /* a forbidden construct (weak or finalized user table) */
    LS_LUA_FATAL = 4    /* the runtime stopped the vat (e.g. an illegal syscall) */
} ls_lua_exhaustion;

typedef struct ls_lua_limits {
    size_t memory_cap;   /* reachable bytes the state may hold; 0 = 64 MiB */
    uint64_t compute;    /* computrons per metered run; 0 = 10,000,000 */
} ls_lua_limits;

/* Computron prices. */
#define LS_LUA_HOOK_INSTRUCTIONS 1000 /* instructions between hook calls */
#define LS_LUA_BYTES_PER_COMPUTRON 16 /* charge for new objects and long strings */
/* Above the allocation of any short (interned) string: 40 characters
 * (LUAI_MAXSHORTLEN), a NUL and the string header. */
#define LS_LUA_INTERNED_MAX_ALLOC 96
/* Every vref a vat receives costs this, whether its presence or promise is
 * still in RAM or is made anew (that depends on the collector, so the
 * allocation itself goes uncharged: ls_lua_vm_uncharged). */
#define LS_LUA_SLOT_COMPUTRONS 8
/* The memory cap is judged (two full collections) at a meter check once
 * cap/FRACTION bytes were charged or JUDGE_HOOKS checks ran since the last
 * judgment. */
#define LS_LUA_JUDGE_CAP_FRACTION 2
#define LS_LUA_JUDGE_HOOKS 1024
/* The allocator refuses outright past this multiple of the memory cap. */
#define LS_LUA_HARD_CAP_FACTOR 4

/* Pushes a C string. The runtime uses this, never lua_pushstring, for
 * strings that come from data: lua_pushstring may hand back a cached long
 * string instead of allocating one, depending on addresses, and the
 * allocation would then go uncharged on one node and charged on another. */
static inline void ls_lua_push_string(lua_State *L, const char *s)
{
    lua_pushlstring(L, s, strlen(s));
}

/* Creates a sandboxed state. Errors: NOMEM. */
swing_status ls_lua_vm_open(const ls_lua_limits *lim, ls_lua_vm **out, swing_err *err);
void ls_lua_vm_close(ls_lua_vm *vm);
lua_State *ls_lua_vm_state(ls_lua_vm *vm);

/* Starts a metered run with a fresh budget; returns computrons used by the
 * previous run via ls_lua_vm_used. */
void ls_lua_vm_begin(ls_lua_vm *vm, uint64_t limit);
uint64_t ls_lua_vm_used(const ls_lua_vm *vm);
/* Adds an explicit charge (e.g. per syscall). */
void ls_lua_vm_charge(ls_lua_vm *vm, uint64_t computrons);
/* Brackets runtime work whose allocations depend on what the collector has
 * done (re-making a collected presence): allocations between
 * ls_lua_vm_uncharged(vm, true) and (vm, false) are not charged; the caller
 * charges a fixed price instead. Nests; ls_lua_vm_begin resets it. */
void ls_lua_vm_uncharged(ls_lua_vm *vm, bool on);
ls_lua_exhaustion ls_lua_vm_exhausted(const ls_lua_vm *vm);
/* For C functions called by vat code: charges the price of work before it
 * is done, and raises the limit error at once when the budget is spent. */
void ls_lua_vm_spend(lua_State *L, uint64_t computrons);
/* Records that vat code now runs in thread co (a coroutine being resumed, or
 * the main thread); returns the thread to restore when it yields or ends.
 * A spent budget stops the running thread at its next instruction. */
lua_State *ls_lua_vm_enter(ls_lua_vm *vm, lua_State *co);
size_t ls_lua_vm_memory(const ls_lua_vm *vm);

/* Loads a text chunk (binary chunks are refused) and leaves the function on
 * the stack. INVALID with the message and line on a syntax error. */
swing_status ls_lua_vm_load(ls_lua_vm *vm, const char *name, const char *src, size_t len,
                            swing_err *err);

/* lua_pcall with the VM's failure mapping: an exhaustion becomes LIMIT with
 * "compute limit" / "memory limit"; ILLEGAL becomes VAT; a Lua error becomes
 * USER with its message (addresses never appear in it). */
swing_status ls_lua_vm_pcall(ls_lua_vm *vm, int nargs, int nresults, swing_err *err);

/* Marks the memory limit as reached (a memory error Lua raised without
 * retrying), so that vat code cannot catch it. */
void ls_lua_vm_out_of_memory(ls_lua_vm *vm);

/* Stops all vat code: every later pcall re-raises; ls_lua_vm_pcall reports
 * SWING_ERR_VAT with `why`. */
void ls_lua_vm_kill(ls_lua_vm *vm, const char *why);

/* Checks the rules a full GC would expose (no weak or finalized user
 * tables); marks the VM exhausted (ILLEGAL) on a violation. */
bool ls_lua_sandbox_check_rules(ls_lua_vm *vm);

/* Pushes the text tostring gives the value at idx: Lua's, except that NaN
 * and infinities are "nan", "inf", "-inf" on every platform (sandbox.c). */
void ls_lua_sandbox_tostring(lua_State *L, int idx);

/* Installs the sandboxed globals (sandbox.c). */
swing_status ls_lua_sandbox_install(ls_lua_vm *vm, swing_err *err);

/* The meter of the state running L (for C functions called from Lua). */
ls_lua_vm *ls_lua_vm_of(lua_State *L);

#endif /* LIBSWING_LIVESLOTS_LUA_VM_H */
