#!/usr/bin/env bash
# Builds every libFuzzer target (tests/<layer>/fuzz_*.cpp) with clang and runs each
# for SECONDS (default 20), starting from its committed seed corpus
# tests/<layer>/corpus/<target>/ (read-only here: new inputs go to a scratch corpus).
# Writes one line per target to build-fuzz/fuzz-results.txt ("<target> OK|FAIL|NOSEEDS")
# for scripts/run-tests.sh's closing count, and exits non-zero when any target
# fails, has no seeds, or when there are no targets at all.
#
#   scripts/fuzz.sh [SECONDS]       run every target
#   FUZZ_MERGE=1 scripts/fuzz.sh    also merge the new interesting inputs into the
#                                   seed corpora (-merge=1), to review and commit
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
dir=build-fuzz
options=(-Dfuzzers=true -Dmimalloc=disabled -Dbenchmarks=disabled
  -Db_sanitize=address,undefined -Db_lundef=false
  -Dc_args=-fsanitize=fuzzer-no-link -Dcpp_args=-fsanitize=fuzzer-no-link)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Everything instrumented for coverage + ASan/UBSan; only fuzz_* link libFuzzer's main.
# An existing build dir is reconfigured with the same options, so it is never stale.
if [ -f "$dir/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup --reconfigure "$dir" "${options[@]}" >"$log" 2>&1 || { cat "$log"; exit 1; }
else
  CC=clang CXX=clang++ meson setup "$dir" "${options[@]}" >"$log" 2>&1 || { cat "$log"; exit 1; }
fi
mapfile -t targets < <(meson introspect --targets "$dir" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["name"].startswith("fuzz_") and t["type"] == "executable":
        print(t["filename"][0])')
results=$dir/fuzz-results.txt
: >"$results"
if ((${#targets[@]} == 0)); then
  echo "fuzz: FAILED, no fuzz targets in $dir (is -Dfuzzers=true honoured?)"
  echo "fuzz_targets FAIL" >"$results"
  exit 1
fi
ninja -C "$dir" "${targets[@]#$PWD/$dir/}" >"$log" 2>&1 || { tail -60 "$log"; exit 1; }
status=0
mkdir -p "$dir/artifacts"
for bin in "${targets[@]}"; do
  name=$(basename "$bin")
  source=$(find tests -name "$name.cpp" | head -1)
  seeds=$(dirname "$source")/corpus/$name
  if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
    echo "fuzz $name: FAILED, no committed seed corpus at $seeds"
    echo "$name NOSEEDS" >>"$results"
    status=1
    continue
  fi
  corpus=$(mktemp -d)
  if "$bin" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$dir/artifacts/$name-" "$corpus" "$seeds" >"$log" 2>&1; then
    echo "fuzz $name: ok, $(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}') runs in ${seconds}s from $(ls "$seeds" | wc -l) seeds"
    echo "$name OK" >>"$results"
    if [ "${FUZZ_MERGE:-0}" = 1 ]; then
      "$bin" -merge=1 "$seeds" "$corpus" >"$log" 2>&1 || { echo "fuzz $name: merge failed"; tail -20 "$log"; }
    fi
  else
    echo "fuzz $name: FAILED (input saved under $dir/artifacts/$name-*)"; tail -40 "$log"
    echo "$name FAIL" >>"$results"
    status=1
  fi
  rm -rf "$corpus"
done
exit $status
