// Runs every workload in its own Node process (sequentially) and writes results.json.
// Usage: node run-all.js [--big]   (--big adds the 1M-object / 1M-entry runs)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const big = process.argv.includes('--big');
const runs = [
  ['create', 100000, 5000],
  ['collection', 100000, 10000],
];
if (big) runs.push(['create', 1000000, 5000], ['collection', 1000000, 10000]);

const version = name =>
  JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;

const results = [];
for (const [mode, n, batch] of runs) {
  process.stderr.write(`running ${mode} ${n} ...\n`);
  const out = execFileSync(
    process.execPath,
    ['--max-old-space-size=8192', 'bench.js', mode, String(n), String(batch)],
    { cwd: new URL('.', import.meta.url), encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  results.push(JSON.parse(out.trim().split('\n').pop()));
}

const doc = {
  measured: 'Agoric SwingSet liveslots (virtual objects + collections), no kernel',
  packages: Object.fromEntries(
    [
      '@agoric/swingset-liveslots',
      '@agoric/store',
      '@agoric/internal',
      '@agoric/kmarshal',
      '@endo/init',
      'ses',
      '@endo/marshal',
      '@endo/patterns',
      '@endo/exo',
    ].map(n => [n, version(n)]),
  ),
  node: process.version,
  cpu: os.cpus()[0]?.model,
  cpus: os.cpus().length,
  worker: 'none: liveslots runs in-process in Node (like the "local" manager, but without the kernel); SES lockdown via @endo/init',
  vatstore: 'fake, in-memory (JS Map + sorted key index, O(log n) getNextKey); no swing-store/SQLite, no transcript, no kernel syscall translation',
  gc: 'real: BOYD calls the engine gc() via gcAndFinalize as SwingSet workers do',
  date: new Date().toISOString(),
  results,
};
writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify(doc, null, 2)}\n`);
console.log(JSON.stringify(doc, null, 2));
