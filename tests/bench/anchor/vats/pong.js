// Vat B of ping_pong: answers each ping with its argument.
import { Far } from '@endo/far';

export function buildRootObject() {
  return Far('pong', {
    ping(i) {
      return i;
    },
  });
}
