/*
 * metering_bench.c - does the compute limit bound real time? Runs ordinary
 * vat code and a set of adversarial chunks (backtracking patterns, big
 * string.rep / concat / format / gsub, table iteration with pairs and next,
 * sorts, deep structures) in a metered Lua state, each until it ends or its
 * compute limit stops it, and prints seconds per million computrons for each
 * and its ratio to the ordinary code's. One JSON line per workload, then a
 * summary line with the worst ratio.
 */
#include "liveslots/lua/vm.h"
#include "tests/bench/bench.h"

#include <string.h>

typedef struct workload {
    const char *name;
    uint64_t limit; /* computrons */
    const char *src;
} workload;

static const workload WORK[] = {
    {"ordinary", 20000000,
     "local t, acc = {}, 0\n"
     "local function f(x) return x * 2 + 1 end\n"
     "for i = 1, 400000 do\n"
     "  t[#t + 1] = { id = i, name = 'n' .. (i % 100) }\n"
     "  acc = acc + f(i) % 7\n"
     "  if #t > 1000 then t = {} end\n"
     "end\n"
     "return acc\n"},
    {"pattern_backtrack", 20000000,
     "return string.find(string.rep('a', 5000), string.rep('a-', 12) .. 'b')\n"},
    {"pattern_gsub_big", 20000000,
     "local s = string.rep('ab', 200000)\n"
     "for i = 1, 100 do s = s:gsub('(a)(b)', '%2%1') end\n"},
    {"rep_huge", 20000000, "for i = 1, 60 do local x = string.rep('x', 1 << 25) end\n"},
    {"rep_small_pieces", 20000000, "for i = 1, 100 do local x = string.rep('x', 1000000) end\n"},
    {"concat_operator_big", 20000000,
     "local big = string.rep('x', 1 << 24)\n"
     "for i = 1, 100000 do local y = big .. i end\n"},
    {"table_concat", 20000000,
     "local t = {} for i = 1, 100000 do t[i] = string.rep('y', 100) end\n"
     "for i = 1, 1000 do local s = table.concat(t, ',') end\n"},
    {"format_big", 20000000,
     "local big = string.rep('z', 1 << 20)\n"
     "for i = 1, 100000 do local s = string.format('%s%s%q', big, big, big) end\n"},
    {"pairs_100k", 20000000,
     "local t = {} for i = 1, 100000 do t['k' .. i] = i end\n"
     "local n = 0 for r = 1, 100 do for k, v in pairs(t) do n = n + v end end\n"},
    {"next_100k", 20000000,
     "local t = {} for i = 1, 100000 do t['k' .. i] = i end\n"
     "local n = 0 for r = 1, 100 do local k, v = next(t) while k do n = n + v k, v = next(t, k) end end\n"},
    {"sort_100k", 20000000,
     "local t, x = {}, 1 for i = 1, 100000 do x = (x * 1103515245 + 12345) % 2147483648 t[i] = x end\n"
     "for r = 1, 50 do local c = table.move(t, 1, #t, 1, {}) table.sort(c) end\n"},
    {"insert_front", 20000000,
     "local t = {} for i = 1, 200000 do table.insert(t, 1, i) end\n"},
    {"deep_structure", 20000000,
     "local list = nil for i = 1, 1000000 do list = { next = list, v = i } end\n"
     "local n = 0 while list do n = n + list.v list = list.next end\n"},
    {"unpack_big", 20000000,
     "local t = {} for i = 1, 100000 do t[i] = i end\n"
     "for r = 1, 1000 do local a = select('#', table.unpack(t)) end\n"},
    {"long_string_equality", 2000000,
     "local a, b = string.rep('q', 1 << 16), string.rep('q', 1 << 16)\n"
     "local n = 0 for i = 1, 1e9 do if a == b then n = n + 1 end end\n"},
    {"long_string_order", 2000000,
     "local a, b = string.rep('q', 1 << 16) .. 'a', string.rep('q', 1 << 16) .. 'b'\n"
     "local n = 0 for i = 1, 1e9 do if a < b then n = n + 1 end end\n"},
    {"load_big", 20000000,
     "local src = 'return ' .. string.rep('1 + ', 50000) .. '1'\n"
     "for i = 1, 1000 do local f = load(src) end\n"},
};

int main(void)
{
    const size_t n = sizeof WORK / sizeof *WORK;
    double base = 0, worst = 0;
    const char *worst_name = "";
    for (size_t i = 0; i < n; i++) {
        ls_lua_limits lim = {256u << 20, WORK[i].limit};
        ls_lua_vm *vm = NULL;
        swing_err e;
        double t0, secs, per;
        uint64_t used;
        swing_status s;
        if (ls_lua_vm_open(&lim, &vm, &e)) bench_die("metering_bench", "open", &e);
        ls_lua_vm_begin(vm, WORK[i].limit);
        if (ls_lua_vm_load(vm, WORK[i].name, WORK[i].src, strlen(WORK[i].src), &e))
            bench_die("metering_bench", WORK[i].name, &e);
        t0 = bench_now();
        s = ls_lua_vm_pcall(vm, 0, 0, &e);
        secs = bench_now() - t0;
        used = ls_lua_vm_used(vm);
        per = used ? secs / ((double)used / 1e6) : 0;
        if (i == 0) base = per;
        if (i > 0 && base > 0 && per / base > worst) {
            worst = per / base;
            worst_name = WORK[i].name;
        }
        printf("{\"bench\":\"metering\",\"workload\":\"%s\",\"outcome\":\"%s\",\"computrons\":%llu,"
               "\"seconds\":%.4f,\"s_per_mcomputron\":%.5f,\"ratio_to_ordinary\":%.2f}\n",
               WORK[i].name, s == SWING_OK ? "finished" : e.msg, (unsigned long long)used, secs, per,
               base > 0 ? per / base : 1.0);
        fflush(stdout);
        ls_lua_vm_close(vm);
    }
    printf("{\"bench\":\"metering_summary\",\"ordinary_s_per_mcomputron\":%.5f,\"worst_workload\":\"%s\","
           "\"worst_ratio\":%.2f}\n",
           base, worst_name, worst);
    return 0;
}
