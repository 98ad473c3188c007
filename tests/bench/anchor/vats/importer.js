// Importer of send_remotables / gc_drop (GC_IMPORTER in
// tests/liveslots/gc_bundles.h): fetch() receives n presences and holds
// them; drop() lets go of all of them (they are collected at the next BOYD).
import { Far, E } from '@endo/far';

export function buildRootObject() {
  let held;
  return Far('importer', {
    fetch(exporter, n) {
      return E.when(E(exporter).make(n), list => {
        held = list;
        return list.length;
      });
    },
    drop() {
      held = undefined;
      return 'dropped';
    },
    holding() {
      return held ? held.length : 0;
    },
  });
}
