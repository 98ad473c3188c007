#!/bin/sh
# mk/fuzz.sh BINARY SECONDS CORPUS SEEDS: runs a libFuzzer target for a fixed
# time on a fresh corpus grown from the seeds. Quiet on success (the final
# stats); on a crash, leak or broken invariant, the log's tail and exit 1.
set -u
bin=$1 secs=$2 corpus=$3 seeds=$4
log=$(dirname "$bin")/$(basename "$bin").log
rm -rf "$corpus" && mkdir -p "$corpus"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  "$bin" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
  -artifact_prefix="$(dirname "$bin")/" "$corpus" "$seeds" >"$log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  tail -n 60 "$log"
  echo "fuzz: $(basename "$bin") failed (exit $rc); the input is in $(dirname "$bin")/crash-* or leak-*" >&2
  exit 1
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
echo "fuzz: $(basename "$bin"): $runs inputs in ${secs}s, $cov, corpus $(ls "$corpus" | wc -l) files; no crash, leak or broken invariant"
