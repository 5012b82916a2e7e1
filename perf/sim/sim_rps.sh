#!/usr/bin/env bash
# Prints ringgate-sim's own requests/s on one core: the sim pinned to CPU 0
# with zero latencies, wrk on CPU 1 sending small non-streaming completions.
# Builds nothing. Usage: perf/sim/sim_rps.sh [BUILD_DIR] [SECONDS] [CONNECTIONS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build}"
seconds="${2:-10}"
connections="${3:-64}"
sim="$build/src/sim/ringgate-sim"
[ -x "$sim" ] || { echo "no $sim: build first (ninja -C $build)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }
cores=$(nproc)
sim_cpu=0
wrk_cpus=$([ "$cores" -gt 1 ] && echo "1-$((cores - 1))" || echo 0)

out=$(mktemp)
taskset -c "$sim_cpu" "$sim" --host 127.0.0.1 --port 0 --max-num-seqs 1024 >"$out" 2>/dev/null &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 50); do grep -q listening "$out" && break; sleep 0.1; done
port=$(sed -nE 's/.*"api":"[^"]*:([0-9]+)".*/\1/p' "$out")
[ -n "$port" ] || { echo "ringgate-sim did not start" >&2; exit 1; }

echo "ringgate-sim on CPU $sim_cpu, wrk on CPU $wrk_cpus: ${seconds}s, $connections connections, zero latency"
taskset -c "$wrk_cpus" wrk -t1 -c"$connections" -d"${seconds}s" -s "$here/completion.lua" "http://127.0.0.1:$port" \
  | tee /dev/stderr | awk '/^Requests\/sec:/ {printf "ringgate-sim requests/s (one core): %d\n", $2}'
