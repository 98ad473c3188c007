// A fresh SwingSet kernel over a fresh on-disk swing-store, with XS
// workers, the way a chain host (cosmic-swingset) drives one: the host
// queues messages, runs the kernel in blocks of at most BLOCK cranks and
// commits the swing-store after each block. Export data (the
// exportCallback a chain uses to mirror swing-store state into its own
// IAVL store) is counted while `measuring` is on.
//
// SES must be locked down before this module is imported (see run.js).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import bundleSource from '@endo/bundle-source';
import { initSwingStore } from '@agoric/swing-store';
import {
  buildKernelBundles,
  initializeSwingset,
  makeSwingsetController,
} from '@agoric/swingset-vat';
import { kunser } from '@agoric/kmarshal';

const here = path.dirname(new URL(import.meta.url).pathname);
export const VAT_DIR = path.join(here, '..', 'vats');

// Bundling is not measured, but it takes most of the start-up time of a
// kernel (the kernel, vat-admin and our vats are bundled from source each
// time, as a chain node does at launch). `run.js all` shares them between
// its workloads through a directory named by ANCHOR_BUNDLE_CACHE.
const bundleCache = new Map();
async function cached(name, make) {
  if (bundleCache.has(name)) return bundleCache.get(name);
  const dir = process.env.ANCHOR_BUNDLE_CACHE;
  const file = dir && path.join(dir, `${name}.json`);
  let b;
  if (file && fs.existsSync(file)) {
    b = JSON.parse(fs.readFileSync(file, 'utf8'));
  } else {
    b = await make();
    if (file) {
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(b));
      fs.renameSync(`${file}.tmp`, file);
    }
  }
  bundleCache.set(name, b);
  return b;
}
const bundleOf = name =>
  cached(`vat-${name}`, () => bundleSource(path.join(VAT_DIR, `${name}.js`)));
const kernelBundlesOf = () => cached('kernel-bundles', buildKernelBundles);

// swing-store directories not yet removed: removed at exit, also after a failure
const openDirs = new Set();
process.on('exit', () => {
  for (const d of openDirs) fs.rmSync(d, { recursive: true, force: true });
});

const byteLength = s => (s === null || s === undefined ? 0 : Buffer.byteLength(s));

/**
 * @param {object} opts
 * @param {Record<string, string>} opts.vats  vat name -> file in vats/ (without .js)
 * @param {string} [opts.bootstrap]  name of the bootstrap vat
 * @param {number} [opts.blockCranks]  cranks per block (commit after each)
 * @param {string} [opts.managerType]  'xs-worker' (default) or 'local'
 */
export async function makeWorld({
  vats,
  bootstrap,
  blockCranks = 1000,
  managerType = 'xs-worker',
  reapInterval = 1000,
  snapshotInterval = undefined,
  configExtra = {},
  countSlog = false,
}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anchor-swingstore-'));
  openDirs.add(dir);

  const exp = {
    measuring: false,
    flushes: 0,
    entries: 0,
    bytes: 0,
    maxValue: 0,
    maxValueKey: '',
    keyWrites: new Map(), // key -> times it was written, while measuring
    byPrefix: new Map(), // first component of the key after "kv." -> bytes
  };
  const exportCallback = pending => {
    if (!exp.measuring) return;
    exp.flushes += 1;
    for (const [key, value] of pending) {
      exp.entries += 1;
      const vb = byteLength(value);
      exp.bytes += byteLength(key) + vb;
      if (vb > exp.maxValue) {
        exp.maxValue = vb;
        exp.maxValueKey = key;
      }
      exp.keyWrites.set(key, (exp.keyWrites.get(key) || 0) + 1);
      const m = /^(kv\.)?([^.]*)/.exec(key);
      const prefix = m[1] && /^v\d+$/.test(m[2]) ? 'kv.vNN' : `${m[1] || ''}${m[2]}`;
      exp.byPrefix.set(prefix, (exp.byPrefix.get(prefix) || 0) + byteLength(key) + vb);
    }
  };

  const { kernelStorage, hostStorage } = initSwingStore(process.env.ANCHOR_MEMSTORE ? null : dir, { exportCallback });

  const config = {
    defaultManagerType: managerType,
    bootstrap,
    vats: {},
    // as the chain's configs (packages/vm-config/decentral-*-config.json)
    // have it; the kernel's own default (1: a BOYD after every delivery)
    // is meant for tests
    defaultReapInterval: reapInterval,
    ...(snapshotInterval ? { snapshotInterval } : {}),
    ...configExtra,
  };
  // Optional: counts deliveries and syscalls by type (from the kernel's
  // slog events); off in timed runs that don't need it.
  const slogCounts = { deliveries: {}, syscalls: {} };
  const bump = (o, k) => {
    o[k] = (o[k] || 0) + 1;
  };
  const slogSender = countSlog
    ? ev => {
        if (ev.type === 'deliver' && ev.vd) bump(slogCounts.deliveries, ev.vd[0]);
        else if (ev.type === 'syscall' && ev.vsc) bump(slogCounts.syscalls, ev.vsc[0]);
      }
    : undefined;

  const timing = {};
  let t = performance.now();
  for (const [name, file] of Object.entries(vats)) {
    config.vats[name] = { bundle: await bundleOf(file) };
  }
  const kernelBundles = await kernelBundlesOf();
  timing.bundles = (performance.now() - t) / 1000;
  t = performance.now();
  // vatAdmin is always there; comms, vattp and timer (idle in every
  // workload) are left out to keep start-up short.
  const bootKpid = await initializeSwingset(config, [], kernelStorage, {
    kernelBundles,
    addComms: false,
    addVattp: false,
    addTimer: false,
  });
  timing.initializeSwingset = (performance.now() - t) / 1000;
  t = performance.now();
  const controller = await makeSwingsetController(kernelStorage, {}, {
    kernelBundle: kernelBundles.kernel,
    slogSender,
  });
  // The host sends to these roots: pin them, or the kernel's GC would have
  // the vat drop its root export once the bootstrap message is done.
  for (const name of Object.keys(vats)) controller.pinVatRoot(name);

  const stats = { commits: 0, commitSeconds: 0, cranks: 0 };

  /** Runs until the queues are empty, in blocks of blockCranks cranks. */
  async function runBlocks() {
    let total = 0;
    for (;;) {
      let n = 0;
      const more = () => {
        n += 1;
        return n < blockCranks;
      };
      const policy = harden({
        vatCreated: more,
        crankComplete: more,
        crankFailed: more,
        emptyCrank: more,
      });
      await controller.run(policy);
      const t0 = performance.now();
      await hostStorage.commit();
      stats.commitSeconds += (performance.now() - t0) / 1000;
      stats.commits += 1;
      total += n;
      if (n < blockCranks) break;
    }
    stats.cranks += total;
    return total;
  }

  function result(kpid) {
    const status = controller.kpStatus(kpid);
    if (status === 'unresolved') return { status };
    return { status, value: kunser(controller.kpResolution(kpid)) };
  }

  /** Sends method(...args) to a vat's root, runs until quiet, returns the result. */
  async function ask(vatName, method, args = []) {
    const kpid = controller.queueToVatRoot(vatName, method, args, 'logFailure');
    await runBlocks();
    const r = result(kpid);
    if (r.status !== 'fulfilled') {
      throw Error(`${vatName}.${method} ${r.status}: ${JSON.stringify(r.value)}`);
    }
    return r.value;
  }

  /** Schedules a bringOutYourDead for the named vats only. */
  function reap(vatNames) {
    const want = new Set(vatNames.map(n => controller.vatNameToID(n)));
    const names = JSON.parse(kernelStorage.kvStore.get('vat.names'));
    const previous = {};
    for (const name of names) {
      const id = controller.vatNameToID(name);
      if (!want.has(id)) previous[id] = Number.MAX_SAFE_INTEGER;
    }
    controller.reapAllVats(previous);
  }

  const crankNumber = () => Number(kernelStorage.kvStore.get('crankNumber'));

  async function close() {
    await controller.shutdown();
    await hostStorage.close();
    fs.rmSync(dir, { recursive: true, force: true });
    openDirs.delete(dir);
  }

  timing.makeController = (performance.now() - t) / 1000;
  t = performance.now();
  // run the bootstrap to completion
  await runBlocks();
  timing.bootstrap = (performance.now() - t) / 1000;
  if (bootKpid) {
    const r = result(bootKpid);
    if (r.status !== 'fulfilled') throw Error(`bootstrap ${r.status}`);
  }

  return {
    dir,
    timing,
    slogCounts,
    controller,
    kernelStorage,
    hostStorage,
    exp,
    stats,
    runBlocks,
    ask,
    reap,
    crankNumber,
    close,
  };
}
