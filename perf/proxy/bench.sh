#!/usr/bin/env bash
# Proxy throughput: ringgate (1 worker, every JSON body parsed) vs nginx (1 worker,
# upstream keep-alive) vs HAProxy (1 thread) vs going direct, all in front of the
# same backend with the same wrk settings; then ringgate with 2 workers, and a
# 200 KB-prompt case. Each ringgate case runs on the io_uring backend and, when the
# binary has --io-backend, again on epoll. Prints requests/s, p50/p99 and the CPU time
# per request of the proxy's processes (user+sys from /proc/PID/stat, before/after the
# measured run, divided by the requests wrk completed) and of the backend's, then
# ratios against the best peer (nginx, HAProxy). On shared cores requests/s measures
# the machine; CPU per request measures the proxy. Not a test.
#
#   perf/proxy/bench.sh [BUILD_DIR]      (default: build)
#   env: DURATION=5s CONNECTIONS=64 BACKEND=sim|nginx (default: sim)
#        ROUNDS=1: run every case this many times, interleaved (round r starts at the
#        r-th case, every other round backwards: no case always follows the same
#        neighbour), and compute the ratios from each case's median. One run of one case moves ±20% on this VM
#        (host noise, not the proxy); the median of 5 interleaved rounds does not.
#        BASE=PATH: another ringgate binary (e.g. a build of an earlier commit): its
#        ringgate-base-1w rows run interleaved beside, and the before/after ratios print.
#
# Everything it starts listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
duration=${DURATION:-5s}
connections=${CONNECTIONS:-64}
backend_kind=${BACKEND:-sim}
model=facebook/opt-125m
ringgate=$build/src/gateway/ringgate
sim=$build/src/sim/ringgate-sim
for bin in "$ringgate" "$sim"; do [ -x "$bin" ] || { echo "missing $bin: build first" >&2; exit 1; }; done
for tool in wrk nginx haproxy; do command -v $tool >/dev/null || { echo "missing $tool (scripts/setup.sh)" >&2; exit 1; }; done

tmp=$(mktemp -d)
pids=()
source perf/proxy/common.sh
trap cleanup EXIT

# --- backend ------------------------------------------------------------------------
if [ "$backend_kind" = nginx ]; then
  start_static_backend "$completion_reply"
  backend_desc="nginx returning a fixed completion JSON"
else
  backend_port=$(start_listening sim "$sim" --host 127.0.0.1 --port 0 --model $model --max-num-seqs 4096 --kv-blocks 131072 --max-model-len 1000000)
  backend_pid=$(cat "$tmp/sim.pid")
  backend_desc="ringgate-sim, zero latency, max_tokens 1"
fi

# --- proxies --------------------------------------------------------------------------
start_peer_proxies

# The epoll backend (issue 11), when this binary has --io-backend: the plain ringgate
# cases then ask for io_uring explicitly, the -epoll ones for epoll.
epoll=0
uring_flag=()
if "$ringgate" --help 2>&1 | grep -q -- '--io-backend'; then epoll=1; uring_flag=(--io-backend io_uring); fi
rg1_port=$(start_listening rg1 "$ringgate" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 \
  --endpoint 127.0.0.1:$backend_port --model $model --max-body-bytes 16777216 "${uring_flag[@]}")
rg2_port=$(start_listening rg2 "$ringgate" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 2 \
  --endpoint 127.0.0.1:$backend_port --model $model --max-body-bytes 16777216 "${uring_flag[@]}")
rg1_pid=$(cat "$tmp/rg1.pid")
rg2_pid=$(cat "$tmp/rg2.pid")
if [ -n "${BASE:-}" ]; then
  base_flag=()
  if "$BASE" --help 2>&1 | grep -q -- '--io-backend'; then base_flag=(--io-backend io_uring); fi
  base_port=$(start_listening base "$BASE" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 \
    --endpoint 127.0.0.1:$backend_port --model $model --max-body-bytes 16777216 "${base_flag[@]}")
  base_pid=$(cat "$tmp/base.pid")
fi
if [ $epoll = 1 ]; then
  rg1e_port=$(start_listening rg1e "$ringgate" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 \
    --endpoint 127.0.0.1:$backend_port --model $model --max-body-bytes 16777216 --io-backend epoll)
  rg2e_port=$(start_listening rg2e "$ringgate" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 2 \
    --endpoint 127.0.0.1:$backend_port --model $model --max-body-bytes 16777216 --io-backend epoll)
  rg1e_pid=$(cat "$tmp/rg1e.pid")
  rg2e_pid=$(cat "$tmp/rg2e.pid")
fi
wait_port "$nginx_port"
wait_port "$haproxy_port"

# --- load -----------------------------------------------------------------------------
small='{"model":"facebook/opt-125m","prompt":"Say hello to the benchmark","max_tokens":1,"temperature":0}'
big_prompt=$(head -c 150000 /dev/urandom | base64 -w0 | head -c 204800)
printf '{"model":"facebook/opt-125m","prompt":"%s","max_tokens":1}' "$big_prompt" >"$tmp/big.json"
printf '%s' "$small" >"$tmp/small.json"
write_post_lua

# run NAME PORT BODY_FILE CONNECTIONS PROXY_PID ("-" for none)
#   → "name rps p50 p99 proxy-cpu/req backend-cpu/req errors"
run() {
  local name=$1 port=$2 body=$3 conns=$4 proxy_pid=$5 out
  BODY_FILE=$body wrk -t1 -c"$conns" -d2s -s "$tmp/post.lua" "http://127.0.0.1:$port/v1/completions" >/dev/null 2>&1 || true  # warm-up
  local p0=0 b0 p1=0 b1
  [ "$proxy_pid" = - ] || p0=$(cpu_ticks "$proxy_pid")
  b0=$(cpu_ticks "$backend_pid")
  out=$(BODY_FILE=$body wrk -t1 -c"$conns" -d"$duration" --latency -s "$tmp/post.lua" "http://127.0.0.1:$port/v1/completions")
  [ "$proxy_pid" = - ] || p1=$(cpu_ticks "$proxy_pid")
  b1=$(cpu_ticks "$backend_pid")
  local rps p50 p99 errors requests proxy_us backend_us
  read -r rps requests p50 p99 errors < <(wrk_report "$out")
  if [ "$proxy_pid" = - ]; then proxy_us=-; else proxy_us=$(per_request_us $((p1 - p0)) "$requests"); fi
  backend_us=$(per_request_us $((b1 - b0)) "$requests")
  printf '%-24s %10s %9s %9s %12s %12s   %s\n' "$name" "$rps" "$p50" "$p99" "$proxy_us" "$backend_us" "$errors"
  echo "$name $rps $(to_us "$p50") $(to_us "$p99") $proxy_us" >>"$tmp/results"
}

rounds=${ROUNDS:-1}
echo "backend: $backend_desc; wrk -t1 -c$connections -d$duration; $(nproc) cores (shared); $rounds round(s)"
echo "cpu/req: user+sys CPU microseconds per completed request (proxy: its processes; backend: the backend's)"
big_conns=$((connections < 16 ? connections : 16))
# NAME PORT BODY CONNECTIONS PROXY_PID, one case per line.
cases=$(
  echo "direct $backend_port $tmp/small.json $connections -"
  echo "ringgate-1w $rg1_port $tmp/small.json $connections $rg1_pid"
  [ -n "${BASE:-}" ] && echo "ringgate-base-1w $base_port $tmp/small.json $connections $base_pid"
  [ $epoll = 1 ] && echo "ringgate-1w-epoll $rg1e_port $tmp/small.json $connections $rg1e_pid"
  echo "nginx-1w $nginx_port $tmp/small.json $connections $nginx_pid"
  echo "haproxy-1t $haproxy_port $tmp/small.json $connections $haproxy_pid"
  echo "ringgate-2w $rg2_port $tmp/small.json $connections $rg2_pid"
  [ $epoll = 1 ] && echo "ringgate-2w-epoll $rg2e_port $tmp/small.json $connections $rg2e_pid"
  echo "direct-200KB $backend_port $tmp/big.json $big_conns -"
  echo "ringgate-1w-200KB $rg1_port $tmp/big.json $big_conns $rg1_pid"
  [ -n "${BASE:-}" ] && echo "ringgate-base-1w-200KB $base_port $tmp/big.json $big_conns $base_pid"
  [ $epoll = 1 ] && echo "ringgate-1w-epoll-200KB $rg1e_port $tmp/big.json $big_conns $rg1e_pid"
  echo "nginx-1w-200KB $nginx_port $tmp/big.json $big_conns $nginx_pid"
  echo "haproxy-1t-200KB $haproxy_port $tmp/big.json $big_conns $haproxy_pid"
  true)
printf '%-24s %10s %9s %9s %12s %12s   %s\n' case "req/s" p50 p99 "proxy-cpu/req" "backend-cpu/req" errors
run_rounds "$rounds" run <<<"$cases"

div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && a != "-" && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
# The best peer (nginx or HAProxy) of a workload for a column: the lowest CPU/req or
# p99, the highest req/s.
best_peer() {  # SUFFIX COLUMN lowest|highest → "name value"
  local a="nginx-1w$1" b="haproxy-1t$1" va vb
  va=$(field "$a" "$2"); vb=$(field "$b" "$2")
  if awk -v x="$va" -v y="$vb" -v m="$3" 'BEGIN { exit !((m == "lowest") ? (x + 0 <= y + 0) : (x + 0 >= y + 0)) }'; then
    echo "$a $va"; else echo "$b $vb"; fi
}
compare() {  # CASE SUFFIX
  local name=$1 suffix=$2 peer value
  [ -n "$(field "$name" 2)" ] || return 0
  read -r peer value < <(best_peer "$suffix" 5 lowest)
  printf '%-24s cpu/req %sx %-17s' "$name" "$(div "$(field "$name" 5)" "$value")" "($peer)"
  read -r peer value < <(best_peer "$suffix" 2 highest)
  printf ' req/s %sx %-17s' "$(div "$(field "$name" 2)" "$value")" "($peer)"
  read -r peer value < <(best_peer "$suffix" 4 lowest)
  printf ' p99 %sx (%s)\n' "$(div "$(field "$name" 4)" "$value")" "$peer"
}
echo
echo "ratios against the best peer (cpu/req and p99: lower is better; req/s: higher is better)"
compare ringgate-1w ""
compare ringgate-1w-epoll ""
compare ringgate-1w-200KB -200KB
compare ringgate-1w-epoll-200KB -200KB
if [ $epoll = 1 ]; then
  echo "epoll / io_uring cpu/req: small $(div "$(field ringgate-1w-epoll 5)" "$(field ringgate-1w 5)")x," \
    "200KB $(div "$(field ringgate-1w-epoll-200KB 5)" "$(field ringgate-1w-200KB 5)")x," \
    "2 workers $(div "$(field ringgate-2w-epoll 5)" "$(field ringgate-2w 5)")x"
fi
echo "ringgate-1w req/s / direct = $(div "$(field ringgate-1w 2)" "$(field direct 2)")x"
if [ -n "${BASE:-}" ]; then
  echo "this build / BASE: cpu/req small $(div "$(field ringgate-1w 5)" "$(field ringgate-base-1w 5)")x," \
    "200KB $(div "$(field ringgate-1w-200KB 5)" "$(field ringgate-base-1w-200KB 5)")x;" \
    "req/s small $(div "$(field ringgate-1w 2)" "$(field ringgate-base-1w 2)")x," \
    "200KB $(div "$(field ringgate-1w-200KB 2)" "$(field ringgate-base-1w-200KB 2)")x"
fi
