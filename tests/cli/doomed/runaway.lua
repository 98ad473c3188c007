-- runaway.lua: a vat that runs out of compute (spin) or memory (bomb) on request.
function buildRootObject()
  return Far('runaway', {
    spin = function() while true do end end,
    bomb = function() local t = {} while true do t[#t+1] = string.rep('x', 65536) .. #t end end,
    hello = function() return 'hello' end,
  })
end
