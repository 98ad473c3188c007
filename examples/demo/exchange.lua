-- exchange.lua: a constant-product market (x * y = k) with integer amounts.
-- Swaps move the pool, the oracle's prices trigger arbitrage rounds, and
-- every fill is recorded in the ledger; `rebalance` is a burst of work.
-- The books live in durable collections under the baggage: the pool in
-- `books`, the last 128 fills in `fills` (keyed by fill number), and the
-- ledger it records into, so they survive an upgrade of the vat (the demo
-- upgrades it to exchange2.lua, which takes a smaller fee).
function buildRootObject(vatPowers, params, baggage)
  local books = VatData.provide(baggage, 'books', function()
    local m = VatData.makeScalarBigMapStore('books', { durable = true })
    m.init('x', params.x or 1000000)
    m.init('y', params.y or 1000000)
    m.init('fills', 0)
    return m
  end)
  local history = VatData.provide(baggage, 'fills', function()
    return VatData.makeScalarBigMapStore('fills', { durable = true })
  end)
  local x, y, fills = books.get('x'), books.get('y'), books.get('fills')
  local price = nil
  local FEE = 997 -- of 1000: a 0.3% fee stays in the pool
  local function ledger() return baggage.has('ledger') and baggage.get('ledger') or nil end

  local function save()
    books.set('x', x)
    books.set('y', y)
    books.set('fills', fills)
  end

  local function swap(dx)
    -- dx > 0 sells x for y, dx < 0 sells y for x; the fee stays in the pool
    if dx > 0 then
      local dy = (y * dx * FEE) // (x * 1000 + dx * FEE)
      x, y = x + dx, y - dy
      return dy
    else
      local dxin = -dx
      local out = (x * dxin * FEE) // (y * 1000 + dxin * FEE)
      y, x = y + dxin, x - out
      return out
    end
  end

  local function fill(dx)
    local out = swap(dx)
    fills = fills + 1
    history.init(fills, { dx = dx, out = out })
    if fills > 128 then history.delete(fills - 128) end
    if ledger() then E(ledger()).record('exchange', out) end
    return out
  end

  return Far('exchange', {
    setLedger = function(l)
      if baggage.has('ledger') then baggage.set('ledger', l) else baggage.init('ledger', l) end
      return true
    end,
    swap = function(dx) local out = fill(dx) save() return out end,
    -- the oracle's price (y per 1000 x): trade towards it in small steps
    onPrice = function(p)
      price = p
      local steps = 0
      while steps < 20 do
        local spot = (y * 1000) // x
        if spot > p + 1 then fill(x // 500)
        elseif spot < p - 1 then fill(-(y // 500))
        else break end
        steps = steps + 1
      end
      save()
      return steps
    end,
    -- a burst: many tiny round trips, as a batch auction would do
    rebalance = function(n)
      local moved = 0
      for i = 1, n do
        local out = swap(100 + i % 7)
        moved = moved + swap(-out)
      end
      save()
      return moved
    end,
    pool = function() return { x = x, y = y, fills = fills, price = price, kept = history.getSize() } end,
    version = function() return 1 end,
  })
end
