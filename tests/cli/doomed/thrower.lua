-- thrower.lua: buildRootObject throws, so the vat dies at its startVat.
function buildRootObject()
  error('no root for you')
end
