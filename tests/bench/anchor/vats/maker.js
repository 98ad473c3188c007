// vom_create: durable objects of one durable kind, kept in a durable big
// map store in baggage (MAKER in tests/bench/vom_create_bench.c).
// VatData is the global that liveslots gives every vat.
import { Far } from '@endo/far';

const provide = (baggage, key, make) => {
  if (!baggage.has(key)) {
    baggage.init(key, make());
  }
  return baggage.get(key);
};

export function buildRootObject(_vatPowers, _vatParameters, baggage) {
  const { makeKindHandle, defineDurableKind, makeScalarBigMapStore } =
    VatData;
  const handle = provide(baggage, 'thingKind', () => makeKindHandle('thing'));
  const makeThing = defineDurableKind(handle, id => ({ id, uses: 0 }), {
    id: ({ state }) => state.id,
    use: ({ state }) => {
      state.uses += 1;
      return state.uses;
    },
  });
  const things = provide(baggage, 'things', () =>
    makeScalarBigMapStore('things', { durable: true }),
  );
  return Far('maker', {
    make(from, to) {
      for (let i = from; i < to; i += 1) {
        things.init(i, makeThing(i));
      }
      return things.getSize();
    },
    check(i) {
      const t = things.get(i);
      return harden([t.id(), t.use()]);
    },
  });
}
