#!/usr/bin/env bash
# Builds every libFuzzer target (tests/<layer>/fuzz_*.cpp) in the sanitized build
# (scripts/sanitized_build.sh: clang, ASan+UBSan, coverage-instrumented) and runs each,
# nproc of them at a time, starting from its committed seed corpus
# tests/<layer>/corpus/<target>/ (read-only here: new inputs go to a scratch corpus).
# Writes one line per target to build-asan/fuzz-results.txt ("<target> OK|FAIL|NOSEEDS")
# for scripts/run-tests.sh's closing count, and exits non-zero when any target
# fails, has no seeds, or when there are no targets at all.
#
#   scripts/fuzz.sh --ci            CI: reproducible per commit. Each target runs a fixed
#                                   number of inputs (FUZZ_RUNS, default below) from a
#                                   libFuzzer -seed derived from the commit and the target's
#                                   name: two runs of one commit do the same work, a new
#                                   commit explores new ground. A failure prints the
#                                   command that replays it.
#   scripts/fuzz.sh [SECONDS]       exploratory, for before a submission: each target for
#                                   SECONDS (default 20) from a random seed
#   FUZZ_MERGE=1 scripts/fuzz.sh    also merge the new interesting inputs into the
#                                   seed corpora (-merge=1), to review and commit
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitized_build.sh
ci=0
seconds=20
if [ "${1:-}" = --ci ]; then ci=1; else seconds=${1:-20}; fi
# Inputs per target in CI: about 20 s of one CI core each (the targets run 0.8k to 40k
# inputs a second). FUZZ_RUNS overrides them all.
runs_for() {  # runs_for NAME
  if [ -n "${FUZZ_RUNS:-}" ]; then echo "$FUZZ_RUNS"; return; fi
  case $1 in
    fuzz_config_loader) echo 16000 ;;
    fuzz_api_keys) echo 120000 ;;
    fuzz_tokenize) echo 40000 ;;
    fuzz_first_token_scanner | fuzz_usage_scanner | fuzz_watch_event | fuzz_disaggregated_request) echo 300000 ;;
    *) echo 500000 ;;
  esac
}
commit=$(git rev-parse HEAD 2>/dev/null || echo no-git)
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
# CI runs with address-space randomisation off where the kernel lets us: libFuzzer's
# table of compared values is indexed by code address, so with ASLR one seed does not
# give one run.
fixed_layout=()
if ((ci)) && setarch "$(uname -m)" -R true 2>/dev/null; then fixed_layout=(setarch "$(uname -m)" -R); fi
((ci)) && echo "fuzz: commit $commit${fixed_layout[*]:+, ASLR off}"

seed_for() {  # seed_for NAME: a libFuzzer seed (1..2^31-1) from the commit and the target
  local hex
  hex=$(printf '%s %s' "$commit" "$1" | sha256sum | cut -c1-8)
  echo $(((16#$hex % 2147483646) + 1))
}

fuzz_one() {  # fuzz_one BIN: one target; prints its line, appends its result
  local bin=$1 name source seeds corpus log budget
  name=$(basename "$bin")
  source=$(find tests -name "$name.cpp" | head -1)
  seeds=$(dirname "$source")/corpus/$name
  log=$logs/$name
  if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
    echo "fuzz $name: FAILED, no committed seed corpus at $seeds"
    echo "$name NOSEEDS" >>"$results"
    return 1
  fi
  local common=(-timeout=5 -rss_limit_mb=2048 -print_final_stats=1)
  if ((ci)); then
    # -reload=0: the corpus is not re-read every second (a clock in the loop)
    budget=(-seed="$(seed_for "$name")" -runs="$(runs_for "$name")" -reload=0)
  else
    budget=(-max_total_time="$seconds")
  fi
  corpus=$(mktemp -d)
  local failed=0
  if "${fixed_layout[@]}" "$bin" "${budget[@]}" "${common[@]}" -artifact_prefix="$dir/artifacts/$name-" "$corpus" "$seeds" >"$log" 2>&1; then
    local executed
    executed=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}')
    if ((ci)); then
      local reached  # the coverage at the end: two runs of one commit reach the same
      reached=$(grep -o 'DONE *cov: [0-9]* ft: [0-9]*' "$log" | tail -1 | awk '{print $2, $3, $4, $5}')
      echo "fuzz $name: ok, ${budget[0]} ${executed} runs from $(ls "$seeds" | wc -l) seeds, ended at ${reached}"
    else
      echo "fuzz $name: ok, $(grep -o 'INFO: Seed: [0-9]*' "$log" | head -1 | awk '{print "-seed=" $3}') ${executed} runs in ${seconds}s from $(ls "$seeds" | wc -l) seeds"
    fi
    echo "$name OK" >>"$results"
    if [ "${FUZZ_MERGE:-0}" = 1 ]; then
      "$bin" -merge=1 "$seeds" "$corpus" >"$log" 2>&1 || { echo "fuzz $name: merge failed"; tail -20 "$log"; }
    fi
  else
    local seed
    seed=$(grep -o 'INFO: Seed: [0-9]*' "$log" | head -1 | awk '{print $3}')
    echo "fuzz $name: FAILED (input saved under $dir/artifacts/$name-*)"; tail -40 "$log"
    echo "fuzz $name: replay the input:  $bin $dir/artifacts/$name-<file>"
    if ((ci)); then
      echo "fuzz $name: replay the run:    d=\$(mktemp -d) && ${fixed_layout[*]:+${fixed_layout[*]} }$bin ${budget[*]} ${common[*]} \$d $seeds"
    else
      echo "fuzz $name: replay the run:    d=\$(mktemp -d) && $bin -seed=$seed ${budget[*]} ${common[*]} \$d $seeds"
    fi
    echo "$name FAIL" >>"$results"
    failed=1
  fi
  rm -rf "$corpus"
  return $failed
}

# One target per core: each is a single-threaded process, so the run takes
# ceil(targets / nproc) x one target's time instead of the sum.
status=0
running=0
for bin in "${targets[@]}"; do
  if ((running == $(nproc))); then wait -n || status=1; running=$((running - 1)); fi
  fuzz_one "$bin" &
  running=$((running + 1))
done
while ((running > 0)); do wait -n || status=1; running=$((running - 1)); done
exit $status
