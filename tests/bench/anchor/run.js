#!/usr/bin/env node
// Anchor benchmark: the libswing workloads run on the real Agoric SwingSet
// kernel (@agoric/swingset-vat 0.33.0, on-disk @agoric/swing-store, vats in
// XS workers). Each workload runs in a fresh kernel over a fresh swing-store
// and prints one JSON line to stdout. See README.md.
//
//   node run.js WORKLOAD [--small] [--n=N] [--batch=B] [...]
//   node run.js all [--small]        every workload, each in its own process
//
// Workloads: ping_pong, send_remotables, gc_drop, vom_create, vom_collection.
import '@endo/init/pre-bundle-source.js';
import '@endo/init';

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const { makeWorld } = await import('./lib/world.js');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const now = () => performance.now() / 1000;
const round = (x, d = 3) => Number(x.toFixed(d));
const roundAll = o => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v, 2)]));

// ---- command line ----
const argv = process.argv.slice(2);
const workload = argv.find(a => !a.startsWith('--'));
const flags = {};
for (const a of argv.filter(x => x.startsWith('--'))) {
  const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
  flags[m[1]] = m[2] === undefined ? true : m[2];
}
const small = !!flags.small;
const num = (name, dflt, smallDflt) => {
  if (flags[name] !== undefined) {
    const v = Number(flags[name]);
    if (!Number.isSafeInteger(v) || v <= 0) throw Error(`bad --${name}=${flags[name]}`);
    return v;
  }
  return small ? smallDflt : dflt;
};
const MANAGER = flags.manager || 'xs-worker';
const BLOCK = num('block', 1000, 1000); // cranks per block (commit after each)
const REAP_INTERVAL = flags['reap-interval'] === 'never' ? 'never' : num('reap-interval', 1000, 1000);
const SNAPSHOT_INTERVAL = num('snapshot-interval', 200, 200); // the kernel's default
const kopts = () => ({
  blockCranks: BLOCK,
  managerType: MANAGER,
  reapInterval: REAP_INTERVAL,
  snapshotInterval: SNAPSHOT_INTERVAL,
});

const versions = (() => {
  const v = {};
  for (const p of [
    '@agoric/swingset-vat',
    '@agoric/swing-store',
    '@agoric/xsnap',
    '@agoric/swingset-liveslots',
    'better-sqlite3',
    '@endo/bundle-source',
  ]) {
    try {
      const f = path.join(HERE, 'node_modules', p, 'package.json');
      v[p] = JSON.parse(fs.readFileSync(f, 'utf8')).version;
    } catch {
      v[p] = null;
    }
  }
  v.node = process.version;
  return v;
})();

const common = () => ({
  manager: MANAGER,
  block_cranks: BLOCK,
  reap_interval: REAP_INTERVAL,
  snapshot_interval: SNAPSHOT_INTERVAL,
  loadavg_1m_at_start: round(os.loadavg()[0], 2),
});

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

// ---- workloads ----

// vat A (ping) makes N awaited round trips to vat B (pong), in one run.
async function pingPong() {
  const n = num('n', 2000, 100);
  const w = await makeWorld({
    vats: { boot: 'boot', ping: 'ping', pong: 'pong' },
    bootstrap: 'boot',
    ...kopts(),
  });
  const c0 = w.crankNumber();
  const commits0 = w.stats.commits;
  const commitS0 = w.stats.commitSeconds;
  const stats0 = w.controller.getStats();
  w.exp.measuring = true;
  const t0 = now();
  const total = await w.ask('boot', 'pingpong', [n]);
  const secs = now() - t0;
  w.exp.measuring = false;
  const cranks = w.crankNumber() - c0;
  const stats1 = w.controller.getStats();
  const byPrefix = Object.fromEntries(
    [...w.exp.byPrefix].sort((a, b) => b[1] - a[1]).slice(0, 6),
  );
  const out = {
    name: 'ping_pong',
    round_trips: n,
    result_ok: total === (n * (n + 1)) / 2,
    swingset_seconds: round(secs),
    cranks,
    cranks_per_sec: Math.round(cranks / secs),
    round_trips_per_sec: Math.round(n / secs),
    deliveries: stats1.dispatches - stats0.dispatches,
    commits: w.stats.commits - commits0,
    commit_seconds: round(w.stats.commitSeconds - commitS0),
    export_data: {
      bytes_total: w.exp.bytes,
      bytes_per_round_trip: round(w.exp.bytes / n, 1),
      entries: w.exp.entries,
      callbacks: w.exp.flushes,
      max_value_bytes: w.exp.maxValue,
      max_value_key: w.exp.maxValueKey,
      kernelStats_writes: w.exp.keyWrites.get('kv.kernelStats') || 0,
      bytes_by_prefix: byPrefix,
    },
    setup_seconds: roundAll(w.timing),
    ...common(),
  };
  await w.close();
  return out;
}

const gcVats = { boot: 'boot', exporter: 'exporter', importer: 'importer' };

// The exporter makes N remotables and sends them to the importer (as the
// result of importer's E(exporter).make(N)), which holds them.
async function sendRemotables() {
  const n = num('n', 10000, 500);
  const w = await makeWorld({
    vats: gcVats,
    bootstrap: 'boot',
    ...kopts(),
  });
  const c0 = w.crankNumber();
  const t0 = now();
  const got = await w.ask('boot', 'export', [n]);
  const secs = now() - t0;
  const out = {
    name: 'send_remotables',
    remotables: n,
    result_ok: got === n,
    swingset_seconds: round(secs),
    cranks: w.crankNumber() - c0,
    setup_seconds: roundAll(w.timing),
    ...common(),
  };
  await w.close();
  return out;
}

function countKeys(kvStore, prefix) {
  let n = 0;
  let k = kvStore.getNextKey(prefix);
  while (k && k.startsWith(prefix)) {
    n += 1;
    k = kvStore.getNextKey(k);
  }
  return n;
}

// The importer holds N presences from the exporter, drops them, and a BOYD
// of the importer collects them: dropImports/retireImports from the
// importer, dropExports/retireExports to the exporter, until quiet.
async function gcDrop() {
  const n = num('n', 5000, 500);
  const w = await makeWorld({
    vats: gcVats,
    bootstrap: 'boot',
    ...kopts(),
    countSlog: true,
  });
  const got = await w.ask('boot', 'export', [n]);
  if (got !== n) throw Error(`export returned ${got}`);
  const { kvStore } = w.kernelStorage;
  const exporterID = w.controller.vatNameToID('exporter');
  const importerID = w.controller.vatNameToID('importer');
  const exportsBefore = countKeys(kvStore, `${exporterID}.c.o+`);
  const importsBefore = countKeys(kvStore, `${importerID}.c.o-`);
  const snap = o => JSON.parse(JSON.stringify(o));
  const deliveries0 = snap(w.slogCounts.deliveries);
  const syscalls0 = snap(w.slogCounts.syscalls);
  const t0 = now();
  await w.ask('boot', 'drop', []);
  const t1 = now();
  w.reap(['importer']);
  const c1 = w.crankNumber();
  await w.runBlocks();
  const t2 = now();
  const stats1 = w.controller.getStats();
  const delta = (now1, then) =>
    Object.fromEntries(
      Object.keys(now1)
        .map(k => [k, now1[k] - (then[k] || 0)])
        .filter(([_k, v]) => v),
    );
  const out = {
    name: 'gc_drop',
    presences: n,
    swingset_seconds: round(t2 - t1),
    drop_and_collect_seconds: round(t2 - t0),
    drop_delivery_seconds: round(t1 - t0),
    collect_cranks: w.crankNumber() - c1,
    exporter_exports_before: exportsBefore,
    exporter_exports_after: countKeys(kvStore, `${exporterID}.c.o+`),
    importer_imports_before: importsBefore,
    importer_imports_after: countKeys(kvStore, `${importerID}.c.o-`),
    // deliveries and syscalls (by type) from the drop message on
    deliveries: delta(w.slogCounts.deliveries, deliveries0),
    syscalls: delta(w.slogCounts.syscalls, syscalls0),
    kernel_objects_after: stats1.kernelObjects,
    setup_seconds: roundAll(w.timing),
    ...common(),
  };
  await w.close();
  return out;
}

// One vat makes N durable objects of one durable kind into a durable big
// map store in baggage, BATCH per delivery, a BOYD of that vat after each.
async function vomCreate() {
  const n = num('n', 100000, 5000);
  const batch = num('batch', 5000, 1000);
  const w = await makeWorld({
    vats: { maker: 'maker' },
    ...kopts(),
  });
  let secs = 0;
  let boydSecs = 0;
  let chunk = 0;
  let first100k = 0;
  let last100k = 0;
  let size = 0;
  let makeSyscalls = 0;
  for (let from = 0; from < n; from += batch) {
    const to = Math.min(from + batch, n);
    const s0 = w.controller.getStats().syscalls;
    const t0 = now();
    size = await w.ask('maker', 'make', [from, to]);
    const t1 = now();
    makeSyscalls += w.controller.getStats().syscalls - s0;
    w.reap(['maker']);
    await w.runBlocks();
    const t2 = now();
    secs += t2 - t0;
    boydSecs += t2 - t1;
    chunk += t2 - t0;
    if (Math.floor(from / 100000) !== Math.floor(to / 100000) || to === n) {
      if (from < 100000) first100k = chunk;
      last100k = chunk;
      chunk = 0;
    }
  }
  const check = await w.ask('maker', 'check', [Math.floor(n / 2)]);
  const makerID = w.controller.vatNameToID('maker');
  const out = {
    name: 'vom_create',
    objects: n,
    batch,
    size_ok: size === n,
    check,
    check_ok: check[0] === Math.floor(n / 2) && check[1] === 1,
    swingset_seconds: round(secs),
    seconds_per_100k: round(secs / (n / 100000)),
    boyd_seconds: round(boydSecs),
    seconds_per_100k_without_boyd: round((secs - boydSecs) / (n / 100000)),
    seconds_first_100k: round(first100k),
    seconds_last_100k: round(last100k),
    syscalls_per_object: round(makeSyscalls / n, 2),
    vatstore_keys: countKeys(w.kernelStorage.kvStore, `${makerID}.vs.`),
    commits: w.stats.commits,
    setup_seconds: roundAll(w.timing),
    ...common(),
  };
  await w.close();
  return out;
}

// A virtual scalar big map store: insert N, GETS random gets, full ordered
// iteration (batched as libswing does; with --iterate-once, once more in
// one delivery), then clear().
async function vomCollection() {
  const n = num('n', 100000, 5000);
  const batch = num('batch', 10000, 1000);
  const gets = num('gets', 100000, 5000);
  const getBatch = num('get-batch', 20000, 1000);
  const clearMax = num('clear-max', 100000, 100000);
  const w = await makeWorld({
    vats: { coll: 'coll' },
    ...kopts(),
  });
  const phase = {};
  const timed = async (ph, method, args) => {
    const t0 = now();
    const r = await w.ask('coll', method, args);
    const p = (phase[ph] ||= { seconds: 0, deliveries: 0 });
    p.seconds += now() - t0;
    p.deliveries += 1;
    return r;
  };
  let size = 0;
  for (let from = 0; from < n; from += batch) {
    size = await timed('insert', 'insert', [from, Math.min(from + batch, n)]);
  }
  let seed = 1;
  let getSum = 0;
  for (let done = 0; done < gets; done += getBatch) {
    const [x, sum] = await timed('get', 'get', [seed, Math.min(getBatch, gets - done), n]);
    seed = x;
    getSum += sum;
  }
  let iterCount = 0;
  let iterSum = 0;
  let lo = null;
  for (;;) {
    const [resume, count, sum] = await timed(
      'iterate_batched',
      'iterate',
      lo === null ? [batch] : [batch, lo],
    );
    iterCount += count;
    iterSum += sum;
    if (resume === null) break;
    lo = resume;
  }
  // optional (it takes about as long as the batched one): the whole
  // iteration in one delivery
  let oneOk;
  if (flags['iterate-once']) {
    const [oneCount, oneSum] = await timed('iterate_one_delivery', 'iterateAll', []);
    oneOk = oneCount === n && oneSum === (n * (n - 1)) / 2;
  }
  let clearBy;
  let left;
  if (n <= clearMax) {
    clearBy = 'clear';
    left = await timed('clear', 'clear', []);
  } else {
    clearBy = 'deleteSome';
    lo = null;
    for (;;) {
      const [resume, _count, after] = await timed(
        'clear',
        'deleteSome',
        lo === null ? [batch] : [batch, lo],
      );
      left = after;
      if (resume === null) break;
      lo = resume;
    }
  }
  const want = (n * (n - 1)) / 2;
  for (const p of Object.values(phase)) p.seconds = round(p.seconds);
  const out = {
    name: 'vom_collection',
    entries: n,
    batch,
    gets,
    get_batch: getBatch,
    size_ok: size === n,
    get_value_bytes: getSum,
    iteration_ok: iterCount === n && iterSum === want,
    iteration_one_delivery_ok: oneOk,
    clear_by: clearBy,
    cleared_ok: left === 0,
    swingset_seconds: round(
      phase.insert.seconds + phase.get.seconds + phase.iterate_batched.seconds + phase.clear.seconds,
    ),
    insert: phase.insert,
    get: phase.get,
    iterate_batched: phase.iterate_batched,
    iterate_one_delivery: phase.iterate_one_delivery,
    clear: phase.clear,
    setup_seconds: roundAll(w.timing),
    ...common(),
  };
  await w.close();
  return out;
}

const WORKLOADS = {
  ping_pong: pingPong,
  send_remotables: sendRemotables,
  gc_drop: gcDrop,
  vom_create: vomCreate,
  vom_collection: vomCollection,
};

function usage() {
  process.stderr.write(
    `usage: node run.js (${Object.keys(WORKLOADS).join('|')}|all|versions) [--small] [--n=N] [--batch=B]\n` +
      `       [--gets=G] [--get-batch=GB] [--clear-max=C] [--iterate-once] [--block=CRANKS] [--manager=xs-worker|local]\n       [--reap-interval=DELIVERIES|never] [--snapshot-interval=DELIVERIES]\n`,
  );
  process.exit(2);
}

if (workload === 'versions') {
  emit({ name: 'versions', ...versions });
} else if (workload === 'all') {
  // each workload in its own process (and so its own kernel and workers)
  const passOn = argv.filter(a => a !== 'all');
  const t0 = now();
  let failed = 0;
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'anchor-bundles-'));
  emit({ name: 'versions', ...versions, cpus: os.cpus().length });
  for (const name of Object.keys(WORKLOADS)) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), name, ...passOn], {
      stdio: ['ignore', 'inherit', 'inherit'],
      cwd: HERE,
      env: { ...process.env, ANCHOR_BUNDLE_CACHE: cacheDir },
    });
    if (r.status !== 0) {
      failed += 1;
      process.stderr.write(`anchor: ${name} failed (status ${r.status})\n`);
    }
  }
  fs.rmSync(cacheDir, { recursive: true, force: true });
  emit({ name: 'run_all', wall_seconds: round(now() - t0, 1), failed });
  process.exit(failed ? 1 : 0);
} else if (WORKLOADS[workload]) {
  try {
    emit(await WORKLOADS[workload]());
  } catch (e) {
    process.stderr.write(`anchor: ${workload}: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  }
  process.exit(0);
} else {
  usage();
}
