-- ledger.lua: keeps a bounded history of records and hands out receipts
-- (remotables) that holders may drop, which gives the GC work to do.
function buildRootObject()
  local entries, n = {}, 0
  return Far('ledger', {
    record = function(who, value)
      n = n + 1
      entries[(n % 64) + 1] = { who = who, value = value }
      return n
    end,
    receipts = function(k)
      local out = {}
      for i = 1, k do out[i] = Far('receipt', { id = function() return i end }) end
      return out
    end,
    size = function() return n end,
  })
end
