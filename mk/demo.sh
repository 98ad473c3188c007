#!/bin/sh
# make demo: a chain of five Lua vats (bootstrap, counter, ledger, exchange,
# oracle) for 200 blocks on an embedded LevelDB in a temporary directory,
# driven by the Go host (simchain) with a per-block table: inbound traffic
# every block, GC work from dropped receipts, bursts larger than a block's
# compute budget, a state sync into a second node at block 100 that must
# agree at every later height, the exchange upgraded to version 2 at block 70,
# the oracle vat terminated at block 120, and an upgrade-all of every live
# vat at block 150 (each keeps its durable state), and the ledger wound down
# from block 180 (docs/winddown.md); the chart marks all three.
# The config's clean-up budget (400 GC krefs, 1 BOYD, 20 deletion units a
# block) spreads the GC bursts and the oracle's deletion over blocks; the
# table's gc_left and term columns show what each block left.
# Then the C host (swing run) runs the same chain from genesis and must end
# with the same activity hash. A PNG chart of the per-block work is written
# next to the data.
set -eu
SWING=$1 SIMCHAIN=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/swing-demo-XXXXXX")
echo "== 200 blocks of examples/demo through the Go host (LevelDB in $tmp/node)"
"$SIMCHAIN" --config examples/demo/demo.json --actions examples/demo/actions.jsonl \
  --db "$tmp/node" --blocks 200 --export-at 100 --chart "$tmp/demo-chart.png"
echo
echo "== the node after block 200"
"$SWING" vats --db "$tmp/node" | tee "$tmp/go-host.txt"
echo
echo "== the same chain from genesis through the C host (swing run --json)"
"$SWING" run --config examples/demo/demo.json --actions examples/demo/actions.jsonl \
  --db "$tmp/c-node" --blocks 200 --json >"$tmp/c-host.jsonl" 2>"$tmp/c-host.log"
"$SWING" vats --db "$tmp/c-node" >"$tmp/c-host.txt"
head -n 1 "$tmp/c-host.txt"
if [ "$(head -n 1 "$tmp/go-host.txt")" != "$(head -n 1 "$tmp/c-host.txt")" ]; then
  echo "demo: the Go and C hosts disagree" >&2
  exit 1
fi
rm -rf "$tmp/c-node" "$tmp/node-export" "$tmp/node-synced"
echo
echo "demo: ok; both hosts agree. Chart of per-block work: $tmp/demo-chart.png"
echo "      (the node's data stays in $tmp/node: try $SWING kv --db $tmp/node --prefix v4.)"
