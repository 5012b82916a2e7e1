#!/usr/bin/env bash
# Builds every libFuzzer target (tests/*/fuzz_*.cpp) with clang and runs each for
# SECONDS (default 20) from its seed corpus. Exit non-zero on the first crash.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
dir=build-fuzz
if [ ! -f "$dir/build.ninja" ]; then
  # Everything instrumented for coverage + ASan/UBSan; only fuzz_* link libFuzzer's main.
  CC=clang CXX=clang++ meson setup "$dir" -Dfuzzers=true -Dmimalloc=disabled -Dbenchmarks=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fsanitize=fuzzer-no-link -Dcpp_args=-fsanitize=fuzzer-no-link >/dev/null
fi
mapfile -t targets < <(meson introspect --targets "$dir" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["name"].startswith("fuzz_") and t["type"] == "executable":
        print(t["filename"][0])')
if ((${#targets[@]} == 0)); then echo "fuzz: no targets"; exit 0; fi
ninja -C "$dir" "${targets[@]#$PWD/$dir/}" >/dev/null
status=0
for bin in "${targets[@]}"; do
  name=$(basename "$bin")
  corpus=$(mktemp -d)
  seeds=$(dirname "$(find tests -name "$name.cpp" | head -1)")/corpus/$name
  log=$(mktemp)
  if "$bin" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
       "$corpus" $( [ -d "$seeds" ] && echo "$seeds" ) >"$log" 2>&1; then
    echo "fuzz $name: ok, $(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}') runs in ${seconds}s"
  else
    echo "fuzz $name: FAILED"; tail -40 "$log"; status=1
  fi
  rm -rf "$corpus" "$log"
done
exit $status
