// Usage: node bench.js create N [BATCH]    -> one JSON line (vom_create)
//        node bench.js collection N [BATCH] -> one JSON line (vom_collection)
import '@endo/init'; // SES lockdown (production settings, as SwingSet workers use)
import { Far } from '@endo/far';
import { M } from '@endo/patterns';
import { performance } from 'node:perf_hooks';
import { makeVatHost } from './harness.js';

const now = () => performance.now() / 1000;
const [mode = 'create', nArg, batchArg] = process.argv.slice(2);

// ---------------- vom_create ----------------
function buildMaker(vatPowers, _params, baggage) {
  const { VatData } = vatPowers;
  const provide = (key, make) => {
    if (!baggage.has(key)) baggage.init(key, make());
    return baggage.get(key);
  };
  const handle = provide('thingKind', () => VatData.makeKindHandle('thing'));
  const makeThing = VatData.defineDurableKind(handle, id => ({ id, uses: 0 }), {
    id: ({ state }) => state.id,
    use: ({ state }) => {
      state.uses += 1;
      return state.uses;
    },
  });
  const things = provide('things', () =>
    VatData.makeScalarBigMapStore('things', { durable: true }),
  );
  return Far('maker', {
    make(from, to) {
      for (let i = from; i < to; i += 1) things.init(i, makeThing(i));
      return things.getSize();
    },
    check(i) {
      const t = things.get(i);
      return [t.id(), t.use()];
    },
  });
}

async function runCreate(n, batch) {
  const host = await makeVatHost(buildMaker);
  let deliverSecs = 0;
  let boydSecs = 0;
  let first100k;
  let last100k;
  let mark = now();
  let markAt = 0;
  let maxDelivery = 0;
  let maxBoyd = 0;
  const sys0 = host.syscallCount();
  for (let from = 0; from < n; from += batch) {
    const to = Math.min(n, from + batch);
    const t0 = now();
    const size = await host.send('make', [from, to]);
    const t1 = now();
    await host.boyd();
    const t2 = now();
    if (size !== to) throw Error(`size ${size} != ${to}`);
    deliverSecs += t1 - t0;
    boydSecs += t2 - t1;
    maxDelivery = Math.max(maxDelivery, t1 - t0);
    maxBoyd = Math.max(maxBoyd, t2 - t1);
    if (to % 100000 === 0) {
      const span = t2 - mark;
      if (markAt === 0) first100k = span;
      last100k = span;
      mark = t2;
      markAt = to;
    }
  }
  const syscalls = host.syscallCount() - sys0;
  const heap = process.memoryUsage().heapUsed;
  // cost of one bare full GC now (part of every BOYD); includes the fake
  // vatstore, which lives in this same JS heap (in SwingSet it would not)
  const g0 = now();
  host.engineGC();
  const bareGC = now() - g0;
  const check = await host.send('check', [Math.floor(n / 2)]);
  let maxVal = 0;
  let vsKeys = 0;
  for (const v of host.store.map.values()) {
    vsKeys += 1;
    if (v.length > maxVal) maxVal = v.length;
  }
  const total = deliverSecs + boydSecs;
  return {
    name: 'vom_create',
    objects: n,
    batch,
    check,
    seconds: +total.toFixed(3),
    deliver_seconds: +deliverSecs.toFixed(3),
    boyd_seconds: +boydSecs.toFixed(3),
    seconds_per_100k: +((total * 100000) / n).toFixed(3),
    seconds_per_100k_without_boyd: +((deliverSecs * 100000) / n).toFixed(3),
    seconds_first_100k: first100k && +first100k.toFixed(3),
    seconds_last_100k: last100k && +last100k.toFixed(3),
    max_delivery_seconds: +maxDelivery.toFixed(3),
    max_boyd_seconds: +maxBoyd.toFixed(3),
    syscalls_per_object: +(syscalls / n).toFixed(2),
    syscalls_by_type: { ...host.counts },
    vatstore_keys: vsKeys,
    max_vatstore_value_bytes: maxVal,
    node_heap_used_bytes_end: heap,
    bare_full_gc_seconds_at_end: +bareGC.toFixed(3),
  };
}

// ---------------- vom_collection ----------------
function buildColl(vatPowers) {
  const { VatData } = vatPowers;
  const big = VatData.makeScalarBigMapStore('big'); // virtual (non-durable)
  return Far('coll', {
    insert(from, to) {
      for (let i = from; i < to; i += 1) big.init(i, `value-${i}`);
      return big.getSize();
    },
    // same LCG as the libswing bench, exact in BigInt
    get(seed, count, n) {
      let x = BigInt(seed);
      let sum = 0;
      for (let i = 0; i < count; i += 1) {
        x = (x * 1103515245n + 12345n) % 2147483648n;
        sum += big.get(Number(x % BigInt(n))).length;
      }
      return [Number(x), sum];
    },
    iterateAll() {
      let count = 0;
      let sum = 0;
      for (const [k, v] of big.entries()) {
        count += 1;
        sum += k + (v.length > 0 ? 0 : 1);
      }
      return [count, sum];
    },
    // resumable: up to limit entries with key >= lo; returns the key to resume at
    iterate(limit, lo) {
      let count = 0;
      let sum = 0;
      const it = lo === null ? big.entries() : big.entries(M.gte(lo));
      for (const [k] of it) {
        if (count === limit) return [k, count, sum];
        count += 1;
        sum += k;
      }
      return [null, count, sum];
    },
    clear() {
      big.clear();
      return big.getSize();
    },
    deleteSome(limit) {
      const keys = [];
      for (const k of big.keys()) {
        if (keys.length === limit) break;
        keys.push(k);
      }
      for (const k of keys) big.delete(k);
      return big.getSize();
    },
  });
}

async function runCollection(n, batch, { GETS = 100000, GET_BATCH = 20000, CLEAR_MAX = 100000 } = {}) {
  const host = await makeVatHost(buildColl);
  const phases = {};
  const timed = async (phase, method, args) => {
    const p = (phases[phase] ||= { seconds: 0, deliveries: 0, syscalls: 0, max_delivery_seconds: 0 });
    const s0 = host.syscallCount();
    const t0 = now();
    const r = await host.send(method, args);
    const dt = now() - t0;
    p.seconds += dt;
    p.deliveries += 1;
    p.syscalls += host.syscallCount() - s0;
    p.max_delivery_seconds = Math.max(p.max_delivery_seconds, dt);
    return r;
  };
  for (let from = 0; from < n; from += batch) {
    const to = Math.min(n, from + batch);
    const size = await timed('insert', 'insert', [from, to]);
    if (size !== to) throw Error('insert size');
  }
  let seed = 1;
  for (let done = 0; done < GETS; done += GET_BATCH) {
    [seed] = await timed('get', 'get', [seed, GET_BATCH, n]);
  }
  // (a) one delivery, for (const [k,v] of store.entries())
  const [allCount] = await timed('iterate_one_delivery', 'iterateAll', []);
  if (allCount !== n) throw Error(`iterateAll saw ${allCount}`);
  // (b) resumable, BATCH entries per delivery (as libswing's bench does)
  let lo = null;
  let iterCount = 0;
  for (;;) {
    const [next, count] = await timed('iterate_batched', 'iterate', [batch, lo]);
    iterCount += count;
    if (next === null) break;
    lo = next;
  }
  if (iterCount !== n) throw Error(`iterate saw ${iterCount}`);
  let clearedBy;
  if (n <= CLEAR_MAX) {
    clearedBy = 'clear';
    const left = await timed('clear', 'clear', []);
    if (left !== 0) throw Error('not cleared');
  } else {
    clearedBy = `deleteSome(${batch}) per delivery`;
    for (;;) {
      const left = await timed('clear', 'deleteSome', [batch]);
      if (left === 0) break;
    }
  }
  for (const p of Object.values(phases)) {
    p.seconds = +p.seconds.toFixed(3);
    p.max_delivery_seconds = +p.max_delivery_seconds.toFixed(3);
  }
  return {
    name: 'vom_collection',
    entries: n,
    batch,
    gets: GETS,
    get_batch: GET_BATCH,
    cleared_by: clearedBy,
    phases,
    iterate_seconds_per_entry: phases.iterate_batched.seconds / n,
    vatstore_keys_left: host.store.map.size,
  };
}

const n = Number(nArg || 100000);
const batch = Number(batchArg || (mode === 'create' ? 5000 : 10000));
const result = mode === 'create' ? await runCreate(n, batch) : await runCollection(n, batch);
console.log(JSON.stringify(result));
