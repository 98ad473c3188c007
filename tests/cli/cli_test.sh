#!/bin/sh
# cli_test.sh - the swing CLI as a chain host (TAP): a run that stops and
# resumes matches one straight run, vats/kv/export/import over the ABI, a
# state-synced node agrees (imported against the height and hash the source
# committed; a wrong hash or a missing one is refused and switches nothing in;
# import never removes a <db>.pre-import beside the node; --db path/ works),
# the clean-up budget from flags and config (flags win) bounds each block's
# clean-up, bad inputs fail cleanly, vat terminations show their kind and
# reason (rows, vats, refusals), and upgrade actions are sent, refused ones
# counted, the rows carrying the upgrades done and left. Usage: cli_test.sh
# [path/to/swing] (default build/swing).
SWING=${1:-build/swing}
CHAIN=examples/chain/chain.json
ACTIONS=examples/chain/actions.jsonl
tmp=$(mktemp -d "${TMPDIR:-/tmp}/swing-cli-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
hashes() { sed -n 's/.*"height":\([0-9]*\).*"activity_hash":"\([0-9a-f]*\)".*/\1 \2/p' "$1"; }

echo "1..24"
"$SWING" run --config $CHAIN --db "$tmp/a" --blocks 12 --actions $ACTIONS --json --no-sync >"$tmp/a.json"
check "a 12-block run prints 12 JSON rows" '[ "$(wc -l <"$tmp/a.json")" -eq 12 ]'

"$SWING" run --config $CHAIN --db "$tmp/b" --blocks 5 --actions $ACTIONS --json --no-sync >"$tmp/b.json"
"$SWING" run --config $CHAIN --db "$tmp/b" --blocks 12 --actions $ACTIONS --json --no-sync >>"$tmp/b.json"
check "a run stopped at 5 and resumed to 12 matches the straight run" \
    '[ "$(hashes "$tmp/a.json")" = "$(hashes "$tmp/b.json")" ]'

"$SWING" vats --db "$tmp/a" >"$tmp/vats.txt"
check "vats lists the three live vats" \
    '[ "$(grep -c " live$" "$tmp/vats.txt")" -eq 3 ] && grep -q "^ledger " "$tmp/vats.txt"'

"$SWING" kv --db "$tmp/a" >"$tmp/kv.txt"
check "kv lists every key, in byte order" \
    '[ "$(wc -l <"$tmp/kv.txt")" -gt 100 ] && cut -d= -f1 "$tmp/kv.txt" | LC_ALL=C sort -c'

# The trusted height and hash: what the source node committed at height 12.
h12=$(hashes "$tmp/a.json" | sed -n 's/^12 //p')
bad12=$(echo "$h12" | tr '0-9a-f' '1-9a-f0')
"$SWING" export --db "$tmp/a" --out "$tmp/exp" >/dev/null
"$SWING" import --in "$tmp/exp" --db "$tmp/c" 2>"$tmp/err.txt"
rc1=$?
"$SWING" import --in "$tmp/exp" --db "$tmp/c" --height 12 --activity-hash "$bad12" 2>>"$tmp/err.txt"
rc2=$?
"$SWING" import --in "$tmp/exp" --db "$tmp/c" --height 11 --activity-hash "$h12" 2>>"$tmp/err.txt"
rc3=$?
"$SWING" vats --db "$tmp/c" >"$tmp/c-vats.txt" 2>&1
check "an import without, or against a wrong, height or hash is refused and switches nothing in" \
    '[ $rc1 -ne 0 ] && [ $rc2 -eq 1 ] && [ $rc3 -eq 1 ] && grep -q "activity-hash" "$tmp/err.txt" &&
     grep -q "not the expected state" "$tmp/err.txt" && grep -q "height 11 was expected" "$tmp/err.txt" &&
     grep -q "^height 0, activity hash $" "$tmp/c-vats.txt"'

mkdir "$tmp/c.pre-import" && echo mine >"$tmp/c.pre-import/keep"
"$SWING" import --in "$tmp/exp" --db "$tmp/c" --height 12 --activity-hash "$h12" >"$tmp/imp.txt"
check "export then import succeeds, verified against the committed hash" \
    '[ $? -eq 0 ] && grep -q "imported height 12, activity hash $h12 (verified)" "$tmp/imp.txt"'
check "import leaves an existing <db>.pre-import alone" '[ "$(cat "$tmp/c.pre-import/keep")" = mine ]'

"$SWING" import --in "$tmp/exp" --db "$tmp/slash/" --height 12 --activity-hash "$h12" >/dev/null
check "import into --db path/ (a trailing slash) works" \
    '[ $? -eq 0 ] && "$SWING" vats --db "$tmp/slash" | grep -q "^height 12, activity hash $h12$"'

"$SWING" run --config $CHAIN --db "$tmp/a" --blocks 16 --actions $ACTIONS --json --no-sync >"$tmp/a2.json"
"$SWING" run --config $CHAIN --db "$tmp/c" --blocks 16 --actions $ACTIONS --json --no-sync >"$tmp/c2.json"
check "the imported node agrees with the original at heights 13..16" \
    '[ "$(hashes "$tmp/a2.json" | wc -l)" -eq 4 ] && [ "$(hashes "$tmp/a2.json")" = "$(hashes "$tmp/c2.json")" ]'

printf '{"kernel": [1,2]}' >"$tmp/bad.json"
"$SWING" run --config "$tmp/bad.json" --db "$tmp/d" --blocks 2 2>"$tmp/err.txt"
rc=$?
check "a bad config fails with a message" '[ $rc -eq 1 ] && grep -q "kernel" "$tmp/err.txt"'

printf '{"every": 1, "type": "explode", "vat": "counter"}\n' >"$tmp/bad.jsonl"
"$SWING" run --config $CHAIN --db "$tmp/d" --blocks 2 --actions "$tmp/bad.jsonl" 2>"$tmp/err.txt"
rc=$?
check "a bad action script fails with its line number" '[ $rc -eq 1 ] && grep -q "bad.jsonl:1" "$tmp/err.txt"'

printf '{"height": 2, "type": "inbound", "vat": "nobody", "method": "x"}\n' >"$tmp/dead.jsonl"
"$SWING" run --config $CHAIN --db "$tmp/e" --blocks 3 --actions "$tmp/dead.jsonl" --json --no-sync \
    >"$tmp/e.json" 2>"$tmp/err.txt"
rc=$?
check "a message to an unknown vat is refused and the chain goes on" \
    '[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/e.json")" -eq 3 ] && grep -q "\"rejected\":1" "$tmp/e.json"'

# The clean-up budget: every block's clean-up stays within it, and the rows
# carry the clean-up report.
field() { sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" "$1"; }
max() { field "$1" "$2" | sort -n | tail -n 1; }
has_report() {
    for k in cleanup_gc_krefs cleanup_boyds cleanup_units vats_deleted gc_krefs_left dirty_vats terminated_vats; do
        [ "$(field "$1" $k | wc -l)" -eq "$(wc -l <"$1")" ] || return 1
    done
    [ "$(grep -c '"cleanup_phase":"' "$1")" -eq "$(wc -l <"$1")" ]
}
"$SWING" run --config $CHAIN --db "$tmp/f" --blocks 8 --actions $ACTIONS --json --no-sync \
    --cleanup-gc 10 --cleanup-boyds 1 --cleanup-units 100 >"$tmp/f.json"
rc=$?
check "--cleanup-gc/--cleanup-boyds/--cleanup-units are accepted and bound each block's clean-up" \
    '[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/f.json")" -eq 8 ] && has_report "$tmp/f.json" &&
     [ "$(max "$tmp/f.json" cleanup_gc_krefs)" -le 10 ] && [ "$(max "$tmp/f.json" cleanup_boyds)" -le 1 ] &&
     [ "$(max "$tmp/f.json" gc_krefs_left)" -gt 0 ]'

# Chain configs with a "cleanup" member, beside copies of the bundles.
cp examples/chain/*.lua "$tmp/"
chain_with() { sed "s/\"compute_limit\": 0/&, \"cleanup\": $1/" $CHAIN >"$2"; }
chain_with '{"gc_krefs": 10, "boyds": 1, "terminated_units": 100}' "$tmp/cleanup.json"
"$SWING" run --config "$tmp/cleanup.json" --db "$tmp/g" --blocks 8 --actions $ACTIONS --json --no-sync >"$tmp/g.json"
check "a config's cleanup budget runs the same chain as the same flags" \
    '[ "$(hashes "$tmp/g.json" | wc -l)" -eq 8 ] && [ "$(hashes "$tmp/f.json")" = "$(hashes "$tmp/g.json")" ]'

chain_with '{"gc_krefs": 3, "boyds": 1}' "$tmp/cleanup2.json"
"$SWING" run --config "$tmp/cleanup2.json" --db "$tmp/h" --blocks 8 --actions $ACTIONS --json --no-sync \
    --cleanup-gc 10 --cleanup-units 100 >"$tmp/h.json"
check "flags override the config's cleanup budget member by member" \
    '[ "$(hashes "$tmp/h.json" | wc -l)" -eq 8 ] && [ "$(hashes "$tmp/f.json")" = "$(hashes "$tmp/h.json")" ]'

"$SWING" run --config $CHAIN --db "$tmp/i" --blocks 2 --cleanup-boyds lots 2>"$tmp/err.txt"
rc=$?
check "a bad --cleanup-boyds value is refused with a message, before any block" \
    '[ $rc -eq 2 ] && grep -q "^swing: --cleanup-boyds needs a non-negative integer" "$tmp/err.txt" && [ ! -e "$tmp/i" ]'

chain_with '{"gc": 5}' "$tmp/cleanup3.json"
"$SWING" run --config "$tmp/cleanup3.json" --db "$tmp/i" --blocks 2 2>"$tmp/err.txt"
rc=$?
check "a config's unknown cleanup member is refused with a message" \
    '[ $rc -eq 1 ] && grep -q "\"cleanup\": unknown member \"gc\"" "$tmp/err.txt" && [ ! -e "$tmp/i" ]'

"$SWING" vats --db "$tmp/nowhere" 2>"$tmp/err.txt"
rc=$?
check "a missing directory is refused, not created" '[ $rc -eq 1 ] && [ ! -e "$tmp/nowhere" ]'

# Terminations are visible: a chain whose vats die of each cause a Lua vat
# can meet (compute limit, memory limit, a throwing buildRootObject, the
# host's request). `swing vats` shows kind and reason while the state is
# there (no deletion budget) and after it is deleted; the rows list them.
DOOMED=tests/cli/doomed/chain.json
DOOMED_ACTIONS=tests/cli/doomed/actions.jsonl
"$SWING" run --config $DOOMED --db "$tmp/doomed" --blocks 2 --actions $DOOMED_ACTIONS --json --no-sync \
    --cleanup-units 0 >"$tmp/doomed.json"
"$SWING" vats --db "$tmp/doomed" >"$tmp/doomed-vats.txt"
# vat_line NAME ID STATE WHY FILE; all_four STATE FILE
vat_line() { grep -q "^$1 *$2 *$3 *$4\$" "$tmp/$5"; }
all_four() {
    vat_line spinner v4 "$1" "compute-limit: compute limit" "$2" &&
        vat_line bomber v1 "$1" "memory-limit: memory limit" "$2" &&
        vat_line thrower v5 "$1" "start-failed: buildRootObject failed: main:3: no root for you" "$2" &&
        vat_line retiree v3 "$1" "host: retired by the test" "$2"
}
check "vats shows each terminated vat's kind and reason" \
    'all_four terminated doomed-vats.txt && grep -q "^boot *v2 *live$" "$tmp/doomed-vats.txt"'
check "the rows list the block's terminations (vats_failed: failures only)" \
    'grep "\"height\":1," "$tmp/doomed.json" | grep -q "\"vats_failed\":1,.*\"terminations\":\[{\"name\":\"thrower\",\"id\":\"v5\",\"kind\":\"start-failed\"" &&
     grep "\"height\":2," "$tmp/doomed.json" | grep -q "\"vats_failed\":2,.*\"terminations\":\[{\"name\":\"retiree\",\"id\":\"v3\",\"kind\":\"host\",\"reason\":\"retired by the test\"},{\"name\":\"spinner\".*{\"name\":\"bomber\""'

"$SWING" run --config $DOOMED --db "$tmp/doomed" --blocks 4 --actions $DOOMED_ACTIONS --json --no-sync \
    >"$tmp/doomed2.json" 2>"$tmp/err.txt"
"$SWING" vats --db "$tmp/doomed" >"$tmp/doomed-vats2.txt"
check "vats shows the reasons after the vats are deleted" \
    '[ "$(grep -c " deleted " "$tmp/doomed-vats2.txt")" -eq 4 ] && all_four deleted doomed-vats2.txt'
check "a message to a deleted vat is refused as terminated" \
    'grep -q "refused: vat spinner (v4) terminated: compute limit" "$tmp/err.txt" &&
     grep "\"height\":4," "$tmp/doomed2.json" | grep -q "\"rejected\":1"'

# Upgrades: a script's upgrade and upgrade_all actions reach the kernel, one
# of an unknown vat is refused and counted, every row says the upgrades done
# and left (both upgrades of block 3 finish in it, upgrade_all skipping
# counter, whose upgrade is queued); an upgrade action without a vat is a
# script error.
printf '%s\n' '{"height": 2, "type": "upgrade", "vat": "nobody"}' \
    '{"height": 3, "type": "upgrade", "vat": "counter", "bundle": "counter", "parameters": {"start": 5}, "message": "v2"}' \
    '{"height": 3, "type": "upgrade_all"}' >"$tmp/upg.jsonl"
"$SWING" run --config $CHAIN --db "$tmp/upg" --blocks 4 --actions "$tmp/upg.jsonl" --json --no-sync \
    >"$tmp/upg.json" 2>"$tmp/err.txt"
rc=$?
row3() { grep '"height":3,' "$tmp/upg.json" | grep -q "$1"; }
check "upgrade actions: an unknown vat is refused, every row says the upgrades done and left" \
    '[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/upg.json")" -eq 4 ] &&
     grep "\"height\":2," "$tmp/upg.json" | grep -q "\"rejected\":1" &&
     [ "$(grep -c "\"upgrades_ok\":[0-9]*,\"upgrades_failed\":[0-9]*,\"upgrades_left\":[0-9]*" "$tmp/upg.json")" -eq 4 ] &&
     row3 "\"upgrades_ok\":3,.*\"upgrades\":\[{\"upgrade_id\":1,\"name\":\"counter\""'
printf '{"height": 2, "type": "upgrade", "bundle": "counter"}\n' >"$tmp/upg-bad.jsonl"
"$SWING" run --config $CHAIN --db "$tmp/upg2" --blocks 2 --actions "$tmp/upg-bad.jsonl" 2>"$tmp/err.txt"
rc=$?
check "an upgrade action without a vat fails with its line number" \
    '[ $rc -eq 1 ] && grep -q "upg-bad.jsonl:1: the action names no \"vat\"" "$tmp/err.txt"'

[ $failed -eq 0 ]
