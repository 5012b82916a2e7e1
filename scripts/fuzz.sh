#!/usr/bin/env bash
# Builds every libFuzzer target (tests/<layer>/fuzz_*.cpp) in the sanitized build
# (scripts/sanitized_build.sh: clang, ASan+UBSan, coverage-instrumented) and runs each
# for SECONDS (default 20), nproc of them at a time, starting from its committed seed
# corpus tests/<layer>/corpus/<target>/ (read-only here: new inputs go to a scratch corpus).
# Writes one line per target to build-asan/fuzz-results.txt ("<target> OK|FAIL|NOSEEDS")
# for scripts/run-tests.sh's closing count, and exits non-zero when any target
# fails, has no seeds, or when there are no targets at all.
#
#   scripts/fuzz.sh [SECONDS]       run every target
#   FUZZ_MERGE=1 scripts/fuzz.sh    also merge the new interesting inputs into the
#                                   seed corpora (-merge=1), to review and commit
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitized_build.sh
seconds=${1:-20}
dir=$sanitized_dir
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
configure_sanitized
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
ninja -C "$dir" "${targets[@]#$PWD/$dir/}" >"$logs/ninja" 2>&1 || { tail -60 "$logs/ninja"; exit 1; }
mkdir -p "$dir/artifacts"

fuzz_one() {  # fuzz_one BIN: one target for $seconds; prints its line, appends its result
  local bin=$1 name source seeds corpus log
  name=$(basename "$bin")
  source=$(find tests -name "$name.cpp" | head -1)
  seeds=$(dirname "$source")/corpus/$name
  log=$logs/$name
  if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
    echo "fuzz $name: FAILED, no committed seed corpus at $seeds"
    echo "$name NOSEEDS" >>"$results"
    return 1
  fi
  corpus=$(mktemp -d)
  local failed=0
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
    failed=1
  fi
  rm -rf "$corpus"
  return $failed
}

# One target per core: each is a single-threaded process, so the run takes
# ceil(targets / nproc) x SECONDS instead of targets x SECONDS.
status=0
running=0
for bin in "${targets[@]}"; do
  if ((running == $(nproc))); then wait -n || status=1; running=$((running - 1)); fi
  fuzz_one "$bin" &
  running=$((running + 1))
done
while ((running > 0)); do wait -n || status=1; running=$((running - 1)); done
exit $status
