// bench_anchor.js - `make bench-anchor`: each workload on SwingSet 0.33.0
// (XS workers, on-disk swing-store; tests/bench/anchor) and on libswing
// (tests/bench/*_bench), back to back in one run, one JSON line per
// workload with both times and their ratio (SwingSet seconds / libswing
// seconds). Node built-ins only.
//
// Usage: node mk/bench_anchor.js BUILD_DIR [--small]
//   BUILD_DIR holds the libswing benchmarks (BUILD_DIR/tests/bench/...) and
//   the installed anchor (BUILD_DIR/anchor, by tests/bench/anchor/install.sh).
//   --small: smaller VOM sizes (20k objects and entries), about 4 minutes
//   instead of about 15.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const os = require('node:os');

const build = process.argv[2];
const small = process.argv.includes('--small');
if (!build) {
  process.stderr.write('usage: node mk/bench_anchor.js BUILD_DIR [--small]\n');
  process.exit(2);
}
const bench = name => path.join(build, 'tests', 'bench', name);
const anchor = path.join(build, 'anchor', 'run.js');

// Runs a command; returns its stdout's JSON lines (stderr passes through).
function lines(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
                                   maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    process.stderr.write(`bench-anchor: ${cmd} ${args.join(' ')} failed (status ${r.status})\n`);
    process.exit(1);
  }
  return r.stdout.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l));
}
const named = (ls, name, pred = () => true) => {
  const l = ls.find(x => x.name === name && pred(x));
  if (!l) {
    process.stderr.write(`bench-anchor: no ${name} line\n`);
    process.exit(1);
  }
  return l;
};
const ratio = (a, b, digits = 1) => (b > 0 ? Math.round((a / b) * 10 ** digits) / 10 ** digits : null);
const out = o => process.stdout.write(JSON.stringify(o) + '\n');

const N_RT = 2000, N_EXPORT = 10000, N_DROP = 5000;
const N_VOM = small ? 20000 : 100000;
const swingset = (w, ...flags) => named(lines('node', [anchor, w, ...flags]), w);
const luavat = () => lines(bench('luavat_bench'), [String(N_RT), String(N_EXPORT), String(N_DROP)]);

out(Object.assign(named(lines('node', [anchor, 'versions']), 'versions'),
                  { name: 'anchor_machine', cpus: os.cpus().length, loadavg_1m: os.loadavg()[0] }));

{
  const s = swingset('ping_pong', `--n=${N_RT}`);
  const l = named(luavat(), 'pingpong');
  out({ name: 'anchor_ping_pong', round_trips: N_RT, swingset_seconds: s.swingset_seconds,
        libswing_seconds: l.seconds, ratio: ratio(s.swingset_seconds, l.seconds),
        swingset_round_trips_per_sec: s.round_trips_per_sec, libswing_round_trips_per_sec: l.round_trips_per_sec,
        block_cranks: l.block_cranks,
        export_data: {
          swingset_bytes_per_round_trip: s.export_data.bytes_per_round_trip,
          libswing_bytes_per_round_trip: l.export_bytes_per_round_trip,
          bytes_ratio: ratio(l.export_bytes_per_round_trip, s.export_data.bytes_per_round_trip, 3),
          swingset_max_value_bytes: s.export_data.max_value_bytes,
          libswing_max_value_bytes: l.max_export_value_bytes,
          swingset_kernelStats_writes: s.export_data.kernelStats_writes,
          note: 'SwingSet: what its exportCallback received (each crank\'s changes); libswing: each ' +
                'block\'s export-data delta; both in blocks of 1000 cranks' } });
}
{
  const s = swingset('send_remotables', `--n=${N_EXPORT}`);
  const l = named(luavat(), 'export_many');
  out({ name: 'anchor_send_remotables', remotables: N_EXPORT, swingset_seconds: s.swingset_seconds,
        libswing_seconds: l.seconds, ratio: ratio(s.swingset_seconds, l.seconds) });
}
{
  const s = swingset('gc_drop', `--n=${N_DROP}`);
  const l = named(luavat(), 'gc_after_drop');
  out({ name: 'anchor_gc_drop', presences: N_DROP, swingset_seconds: s.drop_and_collect_seconds,
        libswing_seconds: l.seconds, ratio: ratio(s.drop_and_collect_seconds, l.seconds),
        note: 'the drop message, the importer\'s BOYD and all the GC it causes' });
}
{
  const s = swingset('vom_create', `--n=${N_VOM}`, '--batch=5000');
  const l = named(lines(bench('vom_create_bench'), [String(N_VOM), '5000']), 'vom_create');
  out({ name: 'anchor_vom_create', objects: N_VOM, batch: 5000, swingset_seconds: s.swingset_seconds,
        libswing_seconds: l.seconds, ratio: ratio(s.swingset_seconds, l.seconds),
        swingset_syscalls_per_object: s.syscalls_per_object, libswing_syscalls_per_object: l.syscalls_per_object,
        note: 'seconds include a BOYD after every batch on both' });
}
{
  const s = swingset('vom_collection', `--n=${N_VOM}`, '--batch=10000');
  const l = named(lines(bench('vom_collection_bench'), [String(N_VOM), '10000']), 'vom_collection',
                  x => x.entries === N_VOM);
  const phase = (ss, ls) => ({ swingset_seconds: ss.seconds, libswing_seconds: ls.seconds,
                               ratio: ratio(ss.seconds, ls.seconds) });
  out({ name: 'anchor_vom_collection', entries: N_VOM, gets: l.gets,
        insert: phase(s.insert, l.insert), get: phase(s.get, l.get),
        iterate: phase(s.iterate_batched, l.iterate), clear: phase(s.clear, l.clear) });
}
