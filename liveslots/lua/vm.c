/*
 * vm.c - the metered Lua state (see vm.h): a capping allocator that charges
 * the bytes of deterministic allocations, a count hook that charges instructions and raises once the
 * budget is spent, and the protected call that maps failures to statuses.
 */
#include "liveslots/lua/vm.h"

#include <lauxlib.h>
#include <locale.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

struct ls_lua_vm {
    lua_State *L;
    lua_State *running;          /* thread running vat code now (L or a coroutine) */
    size_t mem_used;             /* bytes held by the state */
    size_t mem_cap;              /* bytes allowed */
    uint64_t since_judged;       /* charged bytes since the cap was last judged */
    unsigned hooks_since_judged; /* meter checks since then */
    const void *refused;         /* the allocation the hard ceiling refused last */
    size_t refused_size;
    uint64_t used;               /* computrons this run */
    uint64_t limit;              /* computrons allowed this run */
    unsigned uncharged;          /* depth of ls_lua_vm_uncharged brackets */
    ls_lua_exhaustion exhausted; /* sticky until the next ls_lua_vm_begin */
    char why[256];               /* LS_LUA_FATAL reason */
    locale_t c_locale;           /* vat code runs in the C locale, whatever the host's */
};

/* Whether an allocation is charged, and so counted in computrons. Only
 * allocations whose size and number follow from the vat's program are:
 * new objects (Lua passes the object's type as osize when ptr is NULL) of
 * fixed size, and new long strings, which are never shared. Not charged:
 * table parts, stacks and buffers (their growth depends on hash collisions,
 * i.e. on the per-process string seed and on addresses), and short strings
 * (interned: whether one is allocated depends on whether the collector has
 * freed an equal one yet). */
static bool charged(void *ptr, size_t osize, size_t nsize)
{
    if (ptr) return false;
    if (osize == LUA_TSTRING) return nsize > LS_LUA_INTERNED_MAX_ALLOC;
    /* tables, closures, userdata, threads, and the internal upvalue (9)
     * and prototype (10) objects */
    return osize >= LUA_TTABLE && osize <= LUA_NUMTYPES + 1;
}

static void count_hook(lua_State *L, lua_Debug *ar);

/* Charges an allocation; once the budget is spent, the thread running vat
 * code stops at its next instruction instead of at the next meter check, so
 * a few expensive operations cannot overshoot the limit by a thousand. */
static void charge_alloc(ls_lua_vm *vm, size_t nsize)
{
    vm->used += nsize / LS_LUA_BYTES_PER_COMPUTRON;
    vm->since_judged += nsize;
    if (vm->exhausted == LS_LUA_OK && vm->used > vm->limit) {
        vm->exhausted = LS_LUA_COMPUTE;
        if (vm->running) lua_sethook(vm->running, count_hook, LUA_MASKCOUNT, 1);
    }
}

static void *meter_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    ls_lua_vm *vm = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        swing_mfree(ptr);
        vm->mem_used -= old;
        return NULL;
    }
    if (nsize > old) {
        size_t grow = nsize - old;
        /* The cap itself is judged at meter checks (count_hook), after a
         * full collection; here only a hard ceiling stops a vat that
         * allocates far past it between two checks. The first refusal lets
         * Lua collect garbage and ask again (it retries the same request);
         * only a retry that still does not fit is the memory limit, so
         * garbage not yet collected never decides. */
        if (vm->L && vm->mem_used + grow > LS_LUA_HARD_CAP_FACTOR * vm->mem_cap) {
            bool retry = vm->refused == ptr && vm->refused_size == nsize;
            vm->refused = ptr;
            vm->refused_size = nsize;
            if (retry && vm->exhausted == LS_LUA_OK) vm->exhausted = LS_LUA_MEMORY;
            return NULL;
        }
        vm->refused = NULL;
        vm->refused_size = 0;
        if (!vm->uncharged && charged(ptr, osize, nsize)) charge_alloc(vm, nsize);
    }
    {
        void *n = swing_realloc(ptr, nsize);
        if (!n) return NULL;
        vm->mem_used = vm->mem_used - old + nsize;
        return n;
    }
}

/* Whether the state holds more than its cap once garbage is gone. Two full
 * collections: the first runs the finalizers of newly unreachable objects,
 * the second frees them, so what is left is exactly what is reachable, the
 * same on every node whenever the collector last ran. */
static bool over_cap(lua_State *L, ls_lua_vm *vm)
{
    if (vm->mem_used <= vm->mem_cap) return false;
    lua_gc(L, LUA_GCCOLLECT);
    lua_gc(L, LUA_GCCOLLECT);
    return vm->mem_used > vm->mem_cap;
}

/* Whether this meter check judges the memory cap. A judgment costs two full
 * collections, so it happens only after enough charged allocation or
 * enough checks since the last one; both counts follow from the program.
 * Skipping is safe: the bytes held are never fewer than the reachable ones,
 * so a vat over its cap is over at every judgment on every node. */
static bool judge_now(ls_lua_vm *vm)
{
    vm->hooks_since_judged++;
    if (vm->since_judged < vm->mem_cap / LS_LUA_JUDGE_CAP_FRACTION &&
        vm->hooks_since_judged < LS_LUA_JUDGE_HOOKS)
        return false;
    vm->since_judged = 0;
    vm->hooks_since_judged = 0;
    return true;
}

/* Raises the error that ends a spent run, and makes every later
 * instruction of this thread raise it again. */
static int raise_exhausted(lua_State *L, ls_lua_vm *vm)
{
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    return luaL_error(L, "%s", vm->exhausted == LS_LUA_MEMORY    ? "memory limit"
                               : vm->exhausted == LS_LUA_COMPUTE ? "compute limit"
                                                                 : "vat stopped");
}

/* Runs every LS_LUA_HOOK_INSTRUCTIONS instructions: a deterministic point
 * in the vat's execution, where the compute and memory limits are checked. */
static void count_hook(lua_State *L, lua_Debug *ar)
{
    ls_lua_vm *vm = ls_lua_vm_of(L);
    (void)ar;
    vm->used += LS_LUA_HOOK_INSTRUCTIONS;
    if (vm->exhausted == LS_LUA_OK && vm->used > vm->limit) vm->exhausted = LS_LUA_COMPUTE;
    if (vm->exhausted == LS_LUA_OK && judge_now(vm) && over_cap(L, vm)) vm->exhausted = LS_LUA_MEMORY;
    if (vm->exhausted != LS_LUA_OK) raise_exhausted(L, vm);
}

void ls_lua_vm_spend(lua_State *L, uint64_t computrons)
{
    ls_lua_vm *vm = ls_lua_vm_of(L);
    ls_lua_vm_charge(vm, computrons);
    if (vm->exhausted != LS_LUA_OK) raise_exhausted(L, vm);
}

lua_State *ls_lua_vm_enter(ls_lua_vm *vm, lua_State *co)
{
    lua_State *was = vm->running;
    vm->running = co;
    return was;
}

ls_lua_vm *ls_lua_vm_of(lua_State *L)
{
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return ud;
}

swing_status ls_lua_vm_open(const ls_lua_limits *lim, ls_lua_vm **out, swing_err *err)
{
    ls_lua_vm *vm = swing_calloc(1, sizeof *vm);
    swing_status s;
    *out = NULL;
    if (!vm) return SWING_NOMEM(err);
    vm->mem_cap = lim && lim->memory_cap ? lim->memory_cap : (64u << 20);
    vm->limit = lim && lim->compute ? lim->compute : 10000000u;
    vm->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    vm->L = vm->c_locale ? lua_newstate(meter_alloc, vm) : NULL;
    if (!vm->L) {
        if (vm->c_locale) freelocale(vm->c_locale);
        swing_mfree(vm);
        return SWING_NOMEM(err);
    }
    lua_sethook(vm->L, count_hook, LUA_MASKCOUNT, LS_LUA_HOOK_INSTRUCTIONS);
    s = ls_lua_sandbox_install(vm, err);
    if (s) {
        ls_lua_vm_close(vm);
        return s;
    }
    *out = vm;
    return SWING_OK;
}

void ls_lua_vm_close(ls_lua_vm *vm)
{
    if (!vm) return;
    if (vm->L) lua_close(vm->L);
    if (vm->c_locale) freelocale(vm->c_locale);
    swing_mfree(vm);
}

lua_State *ls_lua_vm_state(ls_lua_vm *vm) { return vm->L; }

void ls_lua_vm_begin(ls_lua_vm *vm, uint64_t limit)
{
    vm->used = 0;
    vm->uncharged = 0;
    vm->since_judged = 0;
    vm->hooks_since_judged = 0;
    vm->refused = NULL; /* a refusal of the last run is not this run's first */
    vm->refused_size = 0;
    vm->running = vm->L;
    if (limit) vm->limit = limit;
    vm->exhausted = LS_LUA_OK;
    /* Garbage left by the last run must not count against this one's
     * ceiling; the cap itself is judged at meter checks. */
    (void)over_cap(vm->L, vm);
    lua_sethook(vm->L, count_hook, LUA_MASKCOUNT, LS_LUA_HOOK_INSTRUCTIONS);
}

/* A run stopped by its compute or memory limit is charged the whole limit:
 * where exactly it stopped must not matter to the block's budget. */
uint64_t ls_lua_vm_used(const ls_lua_vm *vm)
{
    if (vm->exhausted == LS_LUA_COMPUTE || vm->exhausted == LS_LUA_MEMORY) return vm->limit;
    return vm->used;
}

void ls_lua_vm_charge(ls_lua_vm *vm, uint64_t computrons)
{
    vm->used += computrons;
    if (vm->exhausted == LS_LUA_OK && vm->used > vm->limit) vm->exhausted = LS_LUA_COMPUTE;
}

void ls_lua_vm_uncharged(ls_lua_vm *vm, bool on)
{
    if (on) vm->uncharged++;
    else if (vm->uncharged) vm->uncharged--;
}

ls_lua_exhaustion ls_lua_vm_exhausted(const ls_lua_vm *vm) { return vm->exhausted; }

void ls_lua_vm_out_of_memory(ls_lua_vm *vm)
{
    if (vm->exhausted == LS_LUA_OK) vm->exhausted = LS_LUA_MEMORY;
}

void ls_lua_vm_kill(ls_lua_vm *vm, const char *why)
{
    if (vm->exhausted != LS_LUA_OK) return;
    vm->exhausted = LS_LUA_FATAL;
    snprintf(vm->why, sizeof vm->why, "%s", why);
}

size_t ls_lua_vm_memory(const ls_lua_vm *vm) { return vm->mem_used; }

swing_status ls_lua_vm_load(ls_lua_vm *vm, const char *name, const char *src, size_t len,
                            swing_err *err)
{
    locale_t host = uselocale(vm->c_locale); /* numerals parse the same everywhere */
    int r = luaL_loadbufferx(vm->L, src, len, name, "t");
    uselocale(host);
    if (r == LUA_OK) return SWING_OK;
    if (r == LUA_ERRMEM) {
        lua_pop(vm->L, 1);
        return swing_err_set(err, SWING_ERR_LIMIT, "memory limit");
    }
    swing_err_set(err, SWING_ERR_INVALID, "%s", lua_isstring(vm->L, -1) ? lua_tostring(vm->L, -1) : "syntax error");
    lua_pop(vm->L, 1);
    return SWING_ERR_INVALID;
}

swing_status ls_lua_vm_pcall(ls_lua_vm *vm, int nargs, int nresults, swing_err *err)
{
    int r;
    locale_t host;
    vm->running = vm->L;
    /* Lua formats and parses numbers, compares strings and classifies
     * characters through the C library, which follows the thread's locale:
     * vat code sees the C locale, whatever the host process has set. */
    host = uselocale(vm->c_locale);
    r = lua_pcall(vm->L, nargs, nresults, 0);
    uselocale(host);
    swing_status s = SWING_OK;
    if (vm->exhausted == LS_LUA_OK && r == LUA_ERRMEM) vm->exhausted = LS_LUA_MEMORY;
    if (vm->exhausted == LS_LUA_MEMORY) s = swing_err_set(err, SWING_ERR_LIMIT, "memory limit");
    else if (vm->exhausted == LS_LUA_COMPUTE) s = swing_err_set(err, SWING_ERR_LIMIT, "compute limit");
    else if (vm->exhausted == LS_LUA_ILLEGAL)
        s = swing_err_set(err, SWING_ERR_VAT, "weak or finalized tables are not allowed");
    else if (vm->exhausted == LS_LUA_FATAL)
        s = swing_err_set(err, SWING_ERR_VAT, "%s", vm->why);
    else if (r != LUA_OK) {
        const char *m = lua_type(vm->L, -1) == LUA_TSTRING ? lua_tostring(vm->L, -1) : "error object is not a string";
        s = swing_err_set(err, SWING_ERR_USER, "%s", m);
    }
    if (r != LUA_OK) lua_pop(vm->L, 1);
    if (r == LUA_OK && s != SWING_OK) lua_pop(vm->L, nresults == LUA_MULTRET ? 0 : nresults);
    return s;
}
