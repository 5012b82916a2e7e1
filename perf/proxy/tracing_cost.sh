#!/usr/bin/env bash
# Tracing's cost (issue 50): ringgate with 1 worker, small completions (max_tokens 1) to a
# zero-latency ringgate-sim, tracing off / sampleRatio 0.01 / sampleRatio 1.0 (each span
# exported to a local OTLP sink that answers 200), as perf/proxy/bench.sh measures: the
# CPU time per request of the gateway's process (its control thread, which encodes and
# sends the spans, included). The budget: 1.0 within 10% of off, 0.01 within 2%. On shared
# cores, use ROUNDS=3 or more and read the medians. Not a test.
#
#   perf/proxy/tracing_cost.sh [BUILD_DIR]    env: DURATION=5s CONNECTIONS=64 ROUNDS=1 SINK=nginx|python
#        PACE_MS=N (paced, not closed loop: see below)
#        PROFILE=off|ratio-0.01|ratio-1 (perf record that gateway, every thread, in its
#        first round; top frames by thread at the end; PERF_OUT=FILE keeps the perf.data)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
duration=${DURATION:-5s}
connections=${CONNECTIONS:-64}
model=facebook/opt-125m
ringgate=$build/src/gateway/ringgate
sim=$build/src/sim/ringgate-sim
for bin in "$ringgate" "$sim"; do [ -x "$bin" ] || { echo "missing $bin: build first" >&2; exit 1; }; done
command -v wrk >/dev/null || { echo "missing wrk (scripts/setup.sh)" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
source perf/proxy/common.sh
trap cleanup EXIT

backend_port=$(start_listening sim "$sim" --host 127.0.0.1 --port 0 --model $model --max-num-seqs 4096)
backend_pid=$(cat "$tmp/sim.pid")

# The OTLP sink: reads each POST whole, answers 200. SINK=nginx: one nginx worker (reads
# and discards the body), SINK=python: Python's http.server. The sink shares the cores
# with the gateway, wrk and the sim while only the traced cases send to it: its CPU per
# request is printed (sink-us) to tell how much of a traced case's slowdown it may cause.
sink_port=$(free_port)
if [ "${SINK:-nginx}" = nginx ]; then
  start_nginx sink "  server { listen 127.0.0.1:$sink_port; keepalive_requests 1000000;
    location / { return 200; } }"
  echo "$started_pid" >"$tmp/sink.pid"
else
  python3 - "$sink_port" >"$tmp/sink.out" 2>"$tmp/sink.out.err" <<'PY' &
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
PY
  echo $! >"$tmp/sink.pid"
fi
sink_pid=$(cat "$tmp/sink.pid")
wait_port "$sink_port"

gateway() {  # gateway NAME [TRACING_LINE]
  local name=$1 config=$tmp/$1.yaml
  printf 'apiVersion: ringgate.io/v1\nkind: Gateway\n%s\n' "${2:-}" >"$config"
  start_listening "$name" "$ringgate" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 \
    --endpoint 127.0.0.1:$backend_port --model $model --config "$config"
}
off_port=$(gateway off)
r001_port=$(gateway ratio-0.01 "tracing: {endpoint: \"http://127.0.0.1:$sink_port\", sampleRatio: 0.01}")
r1_port=$(gateway ratio-1 "tracing: {endpoint: \"http://127.0.0.1:$sink_port\", sampleRatio: 1}")
# The collector down (nothing listens on its port): spans recorded, exports refused, drops
# counted; the data path should cost what ratio-1's does, not more.
down_port=$(gateway ratio-1-down "tracing: {endpoint: \"http://127.0.0.1:$(free_port)\", sampleRatio: 1}")

printf '{"model":"%s","prompt":"Say hello","max_tokens":1}' $model >"$tmp/small.json"
write_post_lua
# PACE_MS=N: each connection waits N ms between its requests (wrk's delay()), so every
# case runs at about the same rate below saturation (64 connections, 2 ms: ~18k/s here). Closed
# loop (the default), a case that costs more also serves fewer requests a second, and its
# per-request kernel cost rises with the smaller batches: this tells the two apart.
if [ -n "${PACE_MS:-}" ]; then
  printf 'function delay() return %d end\n' "$PACE_MS" >>"$tmp/post.lua"
fi

# user+sys clock ticks of the gateway's control thread (rg-control: the exporter's
# encoding and sending), to tell its share from the worker's.
control_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    [ "$(cat "$t/comm" 2>/dev/null)" = rg-control ] && awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$t/stat" && return
  done
  echo 0
}

run() {  # run NAME PORT
  local name=$1 port=$2 pid out
  pid=$(cat "$tmp/$name.pid")
  BODY_FILE=$tmp/small.json wrk -t1 -c"$connections" -d2s -s "$tmp/post.lua" "http://127.0.0.1:$port/v1/completions" >/dev/null 2>&1 || true
  local p0 p1 perf_pid=
  if [ "${PROFILE:-}" = "$name" ] && [ -z "$profiled" ]; then
    profiled=1
    perf record -F 2999 -g -o "$tmp/perf.data" -p "$pid" >/dev/null 2>"$tmp/perf.err" &
    perf_pid=$!
  fi
  local c0 c1 s0 s1
  p0=$(cpu_ticks "$pid"); c0=$(control_ticks "$pid"); s0=$(cpu_ticks "$sink_pid")
  out=$(BODY_FILE=$tmp/small.json wrk -t1 -c"$connections" -d"$duration" --latency -s "$tmp/post.lua" "http://127.0.0.1:$port/v1/completions")
  p1=$(cpu_ticks "$pid"); c1=$(control_ticks "$pid"); s1=$(cpu_ticks "$sink_pid")
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
  local rps requests p50 p99 errors
  read -r rps requests p50 p99 errors < <(wrk_report "$out")
  local us control_us sink_us
  us=$(per_request_us $((p1 - p0)) "$requests")
  control_us=$(per_request_us $((c1 - c0)) "$requests")
  sink_us=$(per_request_us $((s1 - s0)) "$requests")
  printf '%-12s %10s %9s %9s %10s %10s %8s   %s\n' "$name" "$rps" "$p50" "$p99" "$us" "$control_us" "$sink_us" "$errors"
  echo "$name $rps $(to_us "$p50") $(to_us "$p99") $us $control_us" >>"$tmp/results"
}

rounds=${ROUNDS:-1}
profiled=
echo "wrk -t1 -c$connections -d$duration${PACE_MS:+, paced: ${PACE_MS} ms between requests on each connection}; $(nproc) cores (shared); $rounds round(s)"
echo "sink: ${SINK:-nginx}"
printf '%-12s %10s %9s %9s %10s %10s %8s\n' case req/s p50 p99 cpu-us/req control-us sink-us
run_rounds "$rounds" run <<EOF2
off $off_port
ratio-0.01 $r001_port
ratio-1 $r1_port
ratio-1-down $down_port
EOF2
off=$(field off 5)
traced="ratio-0.01 ratio-1 ratio-1-down"  # the cases compared with off; a round runs off and these
for c in $traced; do
  awk -v n="$c" -v a="$(field $c 5)" -v b="$off" -v ca="$(field $c 6)" -v cb="$(field off 6)" 'BEGIN {
    printf "%-12s cpu/req vs off: %+.1f%% (%+.2f us: control thread %+.2f, the rest %+.2f)\n", n, (a / b - 1) * 100, a - b, ca - cb, (a - b) - (ca - cb) }'
done
# Each round's own ratio (its cases ran back to back), and the median of those: on
# shared cores steadier than the ratio of the medians above.
for c in $traced; do
  awk -v c="$c" -v n=$(($(wc -w <<<"$traced") + 1)) '{ r = int((NR - 1) / n); v[r, $1] = $5 } END {
    for (i = 0; i * n < NR; ++i) if (v[i, "off"] > 0) print v[i, c] / v[i, "off"] }' "$tmp/runs" | sort -g |
    awk -v c="$c" '{ a[NR] = $1 } END { if (NR) printf "%-12s cpu/req vs off, median of the rounds'"'"' ratios: %+.1f%% (%d rounds)\n", c, (a[int((NR + 1) / 2)] - 1) * 100, NR }'
done
# Spans dropped make a run cheaper than the whole cost: each case's exported and dropped.
for c in $traced; do
  admin=$(grep -o '"admin":"[^"]*"' "$tmp/$c.out" | sed 's/.*:\([0-9]*\)"$/\1/')
  echo "$c: $(curl -s "http://127.0.0.1:$admin/metrics" | grep -E '^ringgate_trace_spans_(exported|dropped)_total' | grep -v ' 0$' | tr '\n' ' ')"
done
if [ -f "$tmp/perf.data" ]; then
  echo
  echo "$PROFILE, profiled: top frames (self %) by thread"
  [ -z "${PERF_OUT:-}" ] || cp "$tmp/perf.data" "$PERF_OUT"
  perf report -i "$tmp/perf.data" --no-children --sort comm,symbol --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' |
    sed 's/ \{8,\}-  *- *$//' | head -40 || true
fi
