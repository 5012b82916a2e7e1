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

# CPU time (user + system, in clock ticks) the sim has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$sim_pid/stat"; }

echo "ringgate-sim on CPU $sim_cpu, wrk on CPU $wrk_cpus: ${seconds}s, $connections connections, zero latency"
ticks_before=$(cpu_ticks)
report=$(taskset -c "$wrk_cpus" wrk -t1 -c"$connections" -d"${seconds}s" -s "$here/completion.lua" "http://127.0.0.1:$port")
ticks_after=$(cpu_ticks)
echo "$report"
requests=$(awk '/ requests in / {print $1}' <<<"$report")
rps=$(awk '/^Requests\/sec:/ {printf "%d", $2}' <<<"$report")
# Requests per CPU-second of the sim: what one core would do if the sim had it to
# itself (the wall-clock figure drops when other work shares the machine).
per_cpu_second=$(awk -v r="$requests" -v t=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" \
  'BEGIN { if (t > 0) printf "%d", r / (t / hz); else print "n/a" }')
echo "ringgate-sim requests/s (one core, wall clock): $rps"
echo "ringgate-sim requests per CPU-second used: $per_cpu_second"
