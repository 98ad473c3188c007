-- counter.lua: counts, and records each increment in the ledger vat. The
-- count and the ledger live in the baggage, so an upgrade (or a restart by
-- upgrade-all) keeps them.
function buildRootObject(vatPowers, params, baggage)
  if not baggage.has('count') then baggage.init('count', (params and params.start) or 0) end
  return Far('counter', {
    setLedger = function(l)
      if baggage.has('ledger') then baggage.set('ledger', l) else baggage.init('ledger', l) end
      return true
    end,
    increment = function(n)
      local count = baggage.get('count') + (n or 1)
      baggage.set('count', count)
      if baggage.has('ledger') then E(baggage.get('ledger')).record('counter', count) end
      return count
    end,
    read = function() return baggage.get('count') end,
  })
end
