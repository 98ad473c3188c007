-- oracle.lua: publishes a price each time it is asked, from a deterministic
-- random walk, to every subscriber. It is terminated mid-way in the demo;
-- the exchange then simply stops hearing prices.
function buildRootObject(vatPowers, params)
  local subscribers, n = {}, 0
  local seed, price = params.seed or 12345, params.start or 1000
  local function nextRandom()
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed
  end
  return Far('oracle', {
    subscribe = function(s) n = n + 1 subscribers[n] = s return n end,
    publish = function()
      price = price + (nextRandom() % 41) - 20
      if price < 500 then price = 500 end
      for i = 1, n do E(subscribers[i]).onPrice(price) end
      return price
    end,
  })
end
