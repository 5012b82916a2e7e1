#!/usr/bin/env bash
# Streamed answers (issue 32): what relaying an SSE stream costs ringgate (1 worker) against
# HAProxy (1 thread), nginx (1 worker, proxy_buffering off) and going direct, in front of
# the same ringgate-sim. Every request is a 200-token completion stream with
# stream_options.include_usage (~48 KB of SSE: ~200 token events, a usage event, [DONE]).
#   bulk:  a sim with no token latency, 16 clients: the stream arrives as fast as the
#          proxy moves it, so the proxy's work per byte shows;
#   paced: a sim with 2 ms between tokens, 256 clients: each event is its own small read
#          and write, so the proxy's work per event (the TCP floor) shows.
# Per proxy and case: streams/s, time to the first response byte (TTFB) and to the end of
# the stream (p50/p99, from perf/proxy/stream_client: wrk times only whole answers), and
# the proxy's CPU (user+sys of its processes, /proc/PID/stat around the run) per stream
# and per SSE event. The client starts no request after DURATION and lets those in flight
# end, so the CPU divides by whole streams. Not a test.
#
#   perf/proxy/stream_relay.sh [BUILD_DIR]      (default: build)
#   env: DURATION=5s  ROUNDS=5 (every case this many times, interleaved; medians, and the
#        spread min-max)  CASES="bulk paced"  BASE=PATH (another ringgate binary, e.g. a
#        build of main: "ringgate-base" rows beside)  PROFILE=bulk|paced (perf record
#        ringgate's worker in that case's first round, top frames at the end; PERF_OUT=FILE
#        keeps the perf.data; CALL_GRAPH=dwarf records callers through frames without frame
#        pointers, such as libc's memmove)  CPU_TIME=user (the cpu columns count user time
#        only: for two builds side by side, see perf/proxy/common.sh)
#        CLIENTS="stream_client" (the load clients, each a row per proxy and case:
#        stream_client; stream_client-8k, the same reading 8 KiB a recv as wrk does; wrk,
#        -t1 with a Lua POST script, keep-alive: issue 67's "two clients agree")
#
# Everything it starts listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
duration=${DURATION:-5s}
model=facebook/opt-125m
ringgate=$build/src/gateway/ringgate
sim=$build/src/sim/ringgate-sim
stream_client=$build/perf/stream_client
for bin in "$ringgate" "$sim" "$stream_client"; do [ -x "$bin" ] || { echo "missing $bin: build first" >&2; exit 1; }; done
for tool in nginx haproxy; do command -v $tool >/dev/null || { echo "missing $tool (scripts/setup.sh)" >&2; exit 1; }; done

tmp=$(mktemp -d)
pids=()
source perf/proxy/common.sh
trap cleanup EXIT

# One backend per case, each with its own ringgate, HAProxy and nginx in front: sets
# <case>_{direct,ringgate,base,haproxy,nginx}_{port,pid}.
start_case() {
  local case=$1 itl=$2 port
  port=$(start_listening "sim-$case" "$sim" --host 127.0.0.1 --port 0 --model $model --max-num-seqs 4096 \
    --inter-token-latency-ms "$itl" --seed 1)
  backend_port=$port
  printf -v "${case}_direct_port" %s "$port"
  printf -v "${case}_direct_pid" %s -
  start_peer_proxies "-$case"
  printf -v "${case}_nginx_port" %s "$nginx_port"; printf -v "${case}_nginx_pid" %s "$nginx_pid"
  printf -v "${case}_haproxy_port" %s "$haproxy_port"; printf -v "${case}_haproxy_pid" %s "$haproxy_pid"
  port=$(start_listening "rg-$case" "$ringgate" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 \
    --endpoint 127.0.0.1:$backend_port --model $model)
  printf -v "${case}_ringgate_port" %s "$port"; printf -v "${case}_ringgate_pid" %s "$(cat "$tmp/rg-$case.pid")"
  if [ -n "${BASE:-}" ]; then
    port=$(start_listening "base-$case" "$BASE" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 \
      --endpoint 127.0.0.1:$backend_port --model $model)
    printf -v "${case}_base_port" %s "$port"; printf -v "${case}_base_pid" %s "$(cat "$tmp/base-$case.pid")"
  fi
  wait_port "$nginx_port"
  wait_port "$haproxy_port"
}

cases_wanted=${CASES:-bulk paced}
for c in $cases_wanted; do
  case $c in
    bulk) start_case bulk 0 ;;
    paced) start_case paced 2 ;;
    *) echo "CASES: bulk and/or paced" >&2; exit 1 ;;
  esac
done
printf '{"model":"%s","prompt":"Say hello to the benchmark","max_tokens":200,"stream":true,"stream_options":{"include_usage":true}}' \
  $model >"$tmp/stream.json"

write_post_lua
profiled=
# run NAME CASE PROXY CONNECTIONS: one line of results, "name streams/s ttfb-p50 ttfb-p99
# p50 p99 cpu/stream cpu/event load" (µs; cpu/event in ns).
run() {
  local name=$1 case=$2 proxy=$3 conns=$4 client=${5:-stream_client} port_var pid_var port pid out load p0=0 p1=0 perf_pid=
  port_var=${case}_${proxy}_port; pid_var=${case}_${proxy}_pid
  port=${!port_var}; pid=${!pid_var}
  load=$(cut -d' ' -f1 /proc/loadavg)
  if [ "$client" = wrk ]; then run_wrk "$@"; return; fi
  local read_bytes=65536; [ "$client" = stream_client-8k ] && read_bytes=8192
  "$stream_client" "$port" "$conns" 1 "$tmp/stream.json" >/dev/null  # warm-up: connections, pools, caches
  [ "$pid" = - ] || p0=$(cpu_ticks "$pid")
  if [ "${PROFILE:-}" = "$case" ] && [ "$proxy" = ringgate ] && [ -z "$profiled" ]; then
    profiled=1
    perf record -F 2999 --call-graph "${CALL_GRAPH:-fp}" -o "$tmp/perf.data" -p "$pid" >/dev/null 2>"$tmp/perf.err" &
    perf_pid=$!
  fi
  out=$("$stream_client" "$port" "$conns" "${duration%s}" "$tmp/stream.json" /v1/completions "$read_bytes")
  [ "$pid" = - ] || p1=$(cpu_ticks "$pid")
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
  awk -v n="$name" -v t=$((p1 - p0)) -v hz="$clk_tck" -v direct="$([ "$pid" = - ] && echo 1 || echo 0)" -v load="$load" '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    END {
      s = v["streams"]; e = v["events_per_stream"]
      cpu = (direct || s == 0) ? "-" : sprintf("%.1f", t * 1e6 / hz / s)
      ev = (direct || s == 0 || e == 0) ? "-" : sprintf("%.0f", t * 1e9 / hz / s / e)
      printf "%s %s %s %s %s %s %s %s %s %s\n", n, v["streams_per_s"], v["ttfb_p50_us"], v["ttfb_p99_us"],
        v["latency_p50_us"], v["latency_p99_us"], cpu, ev, load, (v["errors"] + v["unfinished"] ? "errors:" v["errors"] "+" v["unfinished"] : "ok")
    }' <<<"$out" | tee -a "$tmp/results" | row >&3
}
# The same run with wrk as the client (-t1, keep-alive, the Lua POST script): it reports
# whole answers only (no TTFB, no event count); streams cut at its deadline are not
# counted but their CPU is (16 of thousands).
run_wrk() {
  local name=$1 case=$2 proxy=$3 conns=$4 port_var pid_var port pid out load p0=0 p1=0 rps n p50 p99 errors
  port_var=${case}_${proxy}_port; pid_var=${case}_${proxy}_pid
  port=${!port_var}; pid=${!pid_var}
  load=$(cut -d' ' -f1 /proc/loadavg)
  BODY_FILE=$tmp/stream.json wrk -t1 -c"$conns" -d1s -s "$tmp/post.lua" "http://127.0.0.1:$port/v1/completions" \
    >/dev/null 2>&1 || true  # warm-up
  [ "$pid" = - ] || p0=$(cpu_ticks "$pid")
  out=$(BODY_FILE=$tmp/stream.json wrk -t1 -c"$conns" -d"$duration" --latency -s "$tmp/post.lua" \
    "http://127.0.0.1:$port/v1/completions")
  [ "$pid" = - ] || p1=$(cpu_ticks "$pid")
  read -r rps n p50 p99 errors < <(wrk_report "$out")
  local cpu=-; [ "$pid" = - ] || cpu=$(per_request_us $((p1 - p0)) "$n")
  echo "$name $rps - - $(to_us "$p50") $(to_us "$p99") $cpu - $load $errors" | tee -a "$tmp/results" | row >&3
  return 0
}
row() { awk '{ printf "%-22s %10s %9s %9s %9s %9s %11s %10s %6s %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }' "$@"; }

rounds=${ROUNDS:-5}
echo "backend: ringgate-sim, 200-token completion streams with usage; clients: ${CLIENTS:-stream_client}, -d$duration; $(nproc) cores (shared); $rounds round(s)"
echo "bulk: no token latency, 16 clients; paced: 2 ms between tokens, 256 clients. Times in us, cpu/event in ns."
echo "name streams/s ttfb-p50 ttfb-p99 p50 p99 cpu/stream cpu/event load1 errors" | row
# NAME CASE PROXY CONNECTIONS, one case per line.
cases=$(
  for c in $cases_wanted; do
    conns=16; [ "$c" = paced ] && conns=256
    for cl in ${CLIENTS:-stream_client}; do
      suffix=; [ "$cl" = stream_client ] || suffix=-${cl#stream_client-}
      for p in direct ringgate ${BASE:+base} haproxy nginx; do
        name=$p; [ "$p" = base ] && name=ringgate-base
        echo "$name-$c$suffix $c $p $conns $cl"
      done
    done
  done)
run_rounds "$rounds" run 3>&1 >/dev/null <<<"$cases"

echo
echo "medians over $rounds round(s) [min-max]:"
awk 'FNR == NR { n[$1]++; for (c = 2; c <= 8; c++) { if ($c == "-") continue
       if (!(($1, c) in lo) || $c + 0 < lo[$1, c]) lo[$1, c] = $c + 0
       if (!(($1, c) in hi) || $c + 0 > hi[$1, c]) hi[$1, c] = $c + 0 }; next }
     { line = sprintf("%-22s", $1)
       for (c = 2; c <= 8; c++) line = line sprintf(" %s", ($c == "-" ? "-" : $c "[" lo[$1, c] "-" hi[$1, c] "]"))
       print line }' "$tmp/runs" "$tmp/results" |
  awk 'BEGIN { print "name streams/s ttfb-p50 ttfb-p99 p50 p99 cpu/stream cpu/event-ns" } { print }' | column -t

div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && a != "-" && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo
for c in $(for c in $cases_wanted; do for cl in ${CLIENTS:-stream_client}; do
             [ "$cl" = stream_client ] && echo "$c" || echo "$c-${cl#stream_client-}"; done; done); do
  for rg in ringgate ${BASE:+ringgate-base}; do
    echo "$c, $rg against haproxy: cpu/stream $(div "$(field "$rg-$c" 7)" "$(field "haproxy-$c" 7)")x," \
      "cpu/event $(div "$(field "$rg-$c" 8)" "$(field "haproxy-$c" 8)")x," \
      "streams/s $(div "$(field "$rg-$c" 2)" "$(field "haproxy-$c" 2)")x," \
      "ttfb p99 $(div "$(field "$rg-$c" 4)" "$(field "haproxy-$c" 4)")x, p99 $(div "$(field "$rg-$c" 6)" "$(field "haproxy-$c" 6)")x"
  done
done
if [ -f "$tmp/perf.data" ]; then
  echo
  echo "ringgate, profiled $PROFILE run: top frames (self %)"
  [ -z "${PERF_OUT:-}" ] || cp "$tmp/perf.data" "$PERF_OUT"
  perf report -i "$tmp/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' |
    sed 's/ \{8,\}-  *- *$//' | head -25 || true
fi
