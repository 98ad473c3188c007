// Vat A of ping_pong: n awaited round trips to vat B, one at a time.
import { Far, E } from '@endo/far';

export function buildRootObject() {
  return Far('ping', {
    async run(pong, n) {
      let total = 0;
      for (let i = 1; i <= n; i += 1) {
        // eslint-disable-next-line no-await-in-loop
        total += await E(pong).ping(i);
      }
      return total;
    },
  });
}
