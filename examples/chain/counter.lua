-- counter.lua: counts, and records each increment in the ledger vat.
function buildRootObject(vatPowers, params)
  local count = (params and params.start) or 0
  local ledger
  return Far('counter', {
    setLedger = function(l) ledger = l return true end,
    increment = function(n)
      count = count + (n or 1)
      if ledger then E(ledger).record('counter', count) end
      return count
    end,
    read = function() return count end,
  })
end
