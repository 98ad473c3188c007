// Bootstrap vat: holds the other vats' roots and starts the multi-vat
// workloads (the JS twin of BOOT in tests/bench/luavat_bench.c).
import { Far, E } from '@endo/far';

export function buildRootObject() {
  let vats;
  return Far('boot', {
    bootstrap(v) {
      vats = v;
    },
    pingpong(n) {
      return E(vats.ping).run(vats.pong, n);
    },
    export(n) {
      return E(vats.importer).fetch(vats.exporter, n);
    },
    drop() {
      return E(vats.importer).drop();
    },
  });
}
