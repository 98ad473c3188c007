// vom_collection: one virtual (non-durable) scalar big map store
// (COLL in tests/bench/vom_collection_bench.c).
import { Far } from '@endo/far';
import { M } from '@endo/patterns';

// x = (x * 1103515245 + 12345) mod 2^31, exactly: the result only depends
// on the low 31 bits of the product, which Math.imul computes exactly.
const lcg = x => (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;

export function buildRootObject() {
  const big = VatData.makeScalarBigMapStore('big');
  const from = lo => (lo === null || lo === undefined ? [] : [M.gte(lo)]);
  return Far('coll', {
    insert(lo, hi) {
      for (let i = lo; i < hi; i += 1) {
        big.init(i, `value-${i}`);
      }
      return big.getSize();
    },
    get(seed, count, n) {
      let x = seed;
      let sum = 0;
      for (let i = 0; i < count; i += 1) {
        x = lcg(x);
        sum += big.get(x % n).length;
      }
      return harden([x, sum]);
    },
    // Up to limit entries from key lo on; returns [resumeKey|null, count, sumOfKeys].
    iterate(limit, lo = null) {
      let count = 0;
      let sum = 0;
      for (const [k, _v] of big.entries(...from(lo))) {
        if (count === limit) {
          return harden([k, count, sum]);
        }
        count += 1;
        sum += k;
      }
      return harden([null, count, sum]);
    },
    // The whole store in one delivery: [count, sumOfKeys].
    iterateAll() {
      let count = 0;
      let sum = 0;
      for (const [k, _v] of big.entries()) {
        count += 1;
        sum += k;
      }
      return harden([count, sum]);
    },
    clear() {
      big.clear();
      return big.getSize();
    },
    // Deletes up to limit keys from lo on: [resumeKey|null, deleted, sizeAfter].
    deleteSome(limit, lo = null) {
      const keys = [];
      let resume = null;
      for (const k of big.keys(...from(lo))) {
        if (keys.length === limit) {
          resume = k;
          break;
        }
        keys.push(k);
      }
      for (const k of keys) {
        big.delete(k);
      }
      return harden([resume, keys.length, big.getSize()]);
    },
  });
}
