-- ledger.lua: keeps a bounded history of records (the last 64, in a durable
-- store under the baggage, so an upgrade keeps them) and hands out receipts
-- (remotables) that holders may drop, which gives the GC work to do.
function buildRootObject(vatPowers, params, baggage)
  local entries = VatData.provide(baggage, 'entries', function()
    return VatData.makeScalarBigMapStore('entries', { durable = true })
  end)
  if not baggage.has('n') then baggage.init('n', 0) end
  return Far('ledger', {
    record = function(who, value)
      local n = baggage.get('n') + 1
      baggage.set('n', n)
      local slot = (n % 64) + 1
      if entries.has(slot) then entries.set(slot, { who = who, value = value })
      else entries.init(slot, { who = who, value = value }) end
      return n
    end,
    receipts = function(k)
      local out = {}
      for i = 1, k do out[i] = Far('receipt', { id = function() return i end }) end
      return out
    end,
    size = function() return baggage.get('n') end,
  })
end
