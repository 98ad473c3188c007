-- boot.lua: the demo chain's bootstrap vat. It wires the vats together: the
-- counter records into the ledger, the oracle pushes prices to the exchange.
function buildRootObject()
  return Far('boot', {
    bootstrap = function(vats)
      E(vats.counter).setLedger(vats.ledger)
      E(vats.oracle).subscribe(vats.exchange)
      E(vats.exchange).setLedger(vats.ledger)
      return 'booted'
    end,
  })
end
