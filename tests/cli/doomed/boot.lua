-- boot.lua: the bootstrap vat of the doomed chain (cli_test.sh); it does nothing.
function buildRootObject()
  return Far('boot', { bootstrap = function(vats) return 'booted' end })
end
