// Exporter of send_remotables / gc_drop (GC_EXPORTER in
// tests/liveslots/gc_bundles.h): make(n) returns n fresh remotables.
import { Far } from '@endo/far';

export function buildRootObject() {
  return Far('exporter', {
    make(n) {
      const list = [];
      for (let i = 1; i <= n; i += 1) {
        list.push(Far('thing', { id: () => i }));
      }
      return harden(list);
    },
  });
}
