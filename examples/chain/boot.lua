-- boot.lua: the bootstrap vat of the example chain. It hands the counter a
-- ledger presence so that their work crosses vats.
function buildRootObject()
  return Far('boot', {
    bootstrap = function(vats)
      E(vats.counter).setLedger(vats.ledger)
      return 'booted'
    end,
  })
end
