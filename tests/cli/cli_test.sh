#!/bin/sh
# cli_test.sh - the swing CLI as a chain host (TAP): a run that stops and
# resumes matches one straight run, vats/kv/export/import over the ABI, a
# state-synced node agrees, and bad inputs fail cleanly. Usage: cli_test.sh
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

echo "1..10"
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

"$SWING" export --db "$tmp/a" --out "$tmp/exp" >/dev/null &&
    "$SWING" import --in "$tmp/exp" --db "$tmp/c" >/dev/null
check "export then import succeeds" '[ $? -eq 0 ]'

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

"$SWING" vats --db "$tmp/nowhere" 2>"$tmp/err.txt"
rc=$?
check "a missing directory is refused, not created" '[ $rc -eq 1 ] && [ ! -e "$tmp/nowhere" ]'

[ $failed -eq 0 ]
