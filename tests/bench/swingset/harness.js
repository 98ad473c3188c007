// Minimal host for one SwingSet liveslots vat, with no kernel: deliveries are
// built here and syscalls are answered by an in-memory vatstore.
// Our own code, written against the public makeLiveSlots export of
// @agoric/swingset-liveslots plus its published gc/metering test helpers.
/* global WeakRef, FinalizationRegistry, setImmediate */
import { makeLiveSlots } from '@agoric/swingset-liveslots';
import { kser, kunser } from '@agoric/kmarshal';
import { waitUntilQuiescent } from '@agoric/swingset-liveslots/test/waitUntilQuiescent.js';
import { makeDummyMeterControl } from '@agoric/swingset-liveslots/test/dummyMeterControl.js';
import v8 from 'node:v8';
import vm from 'node:vm';

// --- a real full-GC function, as SwingSet's Node 'local' worker gets ---
let engineGC = globalThis.gc;
if (typeof engineGC !== 'function') {
  v8.setFlagsFromString('--expose_gc');
  engineGC = vm.runInNewContext('gc');
}
// same shape as SwingSet's gcAndFinalize: drain, gc, let finalizers run
async function gcAndFinalize() {
  await new Promise(setImmediate);
  await new Promise(setImmediate);
  engineGC();
  await new Promise(setImmediate);
  await new Promise(setImmediate);
}

// --- in-memory vatstore, ordered like SQLite's key index (code-unit order) ---
// Map for values + a lazily merged sorted key array with tombstones, so
// getNextKey is a binary search (O(log n)), as with swing-store's SQLite.
export function makeVatstore() {
  const map = new Map();
  let sorted = [];
  let added = [];
  let tombstones = 0;
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  function compact() {
    if (added.length) added.sort(cmp);
    const out = [];
    let i = 0;
    let j = 0;
    let last;
    while (i < sorted.length || j < added.length) {
      let k;
      if (j >= added.length || (i < sorted.length && sorted[i] <= added[j])) {
        k = sorted[i];
        i += 1;
      } else {
        k = added[j];
        j += 1;
      }
      if (k !== last && map.has(k)) out.push(k);
      last = k;
    }
    sorted = out;
    added = [];
    tombstones = 0;
  }
  function upperBound(prior) {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid] <= prior) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  return {
    map,
    get: k => map.get(k),
    set(k, v) {
      if (!map.has(k)) added.push(k);
      map.set(k, v);
    },
    delete(k) {
      if (map.delete(k)) tombstones += 1;
    },
    getNextKey(prior) {
      if (added.length || tombstones > sorted.length / 2) compact();
      let i = upperBound(prior);
      let skipped = 0;
      while (i < sorted.length && !map.has(sorted[i])) {
        i += 1;
        skipped += 1;
      }
      if (skipped > 1000) compact();
      return i < sorted.length ? sorted[i] : undefined;
    },
  };
}

export async function makeVatHost(buildRootObject, { vatID = 'v1' } = {}) {
  const store = makeVatstore();
  const counts = Object.create(null);
  const bump = t => {
    counts[t] = (counts[t] || 0) + 1;
  };
  const resolutions = new Map();
  const syscall = {
    send: () => bump('send'),
    subscribe: () => bump('subscribe'),
    resolve(rs) {
      bump('resolve');
      for (const [vpid, rejected, data] of rs) resolutions.set(vpid, [rejected, data]);
    },
    exit: () => bump('exit'),
    dropImports: () => bump('dropImports'),
    retireImports: () => bump('retireImports'),
    retireExports: () => bump('retireExports'),
    abandonExports: () => bump('abandonExports'),
    callNow: () => {
      throw Error('no devices');
    },
    vatstoreGet(k) {
      bump('vatstoreGet');
      return store.get(k);
    },
    vatstoreGetNextKey(k) {
      bump('vatstoreGetNextKey');
      return store.getNextKey(k);
    },
    vatstoreSet(k, v) {
      bump('vatstoreSet');
      store.set(k, v);
    },
    vatstoreDelete(k) {
      bump('vatstoreDelete');
      store.delete(k);
    },
  };
  const gcTools = harden({
    WeakRef,
    FinalizationRegistry,
    waitUntilQuiescent,
    gcAndFinalize,
    meterControl: makeDummyMeterControl(),
  });
  const { dispatch } = makeLiveSlots(syscall, vatID, {}, {}, gcTools, undefined, () => ({
    buildRootObject,
  }));
  await dispatch(harden(['startVat', kser(undefined)]));
  let nextP = 0;
  async function send(method, args = []) {
    nextP += 1;
    const rp = `p-${nextP}`;
    await dispatch(harden(['message', 'o+0', { methargs: kser([method, args]), result: rp }]));
    const r = resolutions.get(rp);
    if (!r) throw Error(`${method}: result ${rp} not resolved`);
    resolutions.delete(rp);
    const [rejected, data] = r;
    const value = kunser(data);
    if (rejected) throw Error(`${method} rejected: ${value}`);
    return value;
  }
  const boyd = () => dispatch(harden(['bringOutYourDead']));
  const syscallCount = () => Object.values(counts).reduce((a, b) => a + b, 0);
  return { send, boyd, store, counts, syscallCount, engineGC };
}
