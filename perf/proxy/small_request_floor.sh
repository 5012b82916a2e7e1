#!/usr/bin/env bash
# Where a proxy's CPU goes on small requests, and how much of it no proxy can avoid.
# ringgate (1 worker, io_uring), nginx (1 worker) and HAProxy (1 thread) in front of the
# same static nginx backend, wrk -c64, as in bench.sh. For each proxy it prints, per
# completed request: CPU time (user+sys of its processes, from /proc), its user and sys
# parts, TCP segments sent on the loopback by everyone (/proc/net/snmp OutSegs), and, from
# a perf profile of a second run, the CPU spent inside tcp_sendmsg and tcp_recvmsg (their
# whole call trees). On the loopback, tcp_sendmsg also runs the receiver's side of each
# segment, up to waking the receiver (peer-rx: the part inside net_rx_action). A proxy
# moves each request through 2 sends and 2 receives, and 4 segments per request means no
# ACK travels alone: this TCP work is the floor of any proxy on this kernel, whatever its
# event loop. The summary sets ringgate's TCP work against half the best peer's CPU per
# request (issue 11's target): what is left is all ringgate may spend on everything else.
# Not a test.
#
#   perf/proxy/small_request_floor.sh [BUILD_DIR]      (default: build)
#   env: DURATION=4s (measured run) PROFILE_DURATION=3s (profiled run) ROUNDS=3
#        (interleaved; the summary uses medians) CONNECTIONS=64
#
# Needs perf (linux-perf). Everything it starts listens on 127.0.0.1 only and is stopped
# on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
duration=${DURATION:-4s}
profile_duration=${PROFILE_DURATION:-3s}
connections=${CONNECTIONS:-64}
ringgate=$build/src/gateway/ringgate
[ -x "$ringgate" ] || { echo "missing $ringgate: build first" >&2; exit 1; }
for tool in wrk nginx haproxy perf; do command -v $tool >/dev/null || { echo "missing $tool (scripts/setup.sh)" >&2; exit 1; }; done

tmp=$(mktemp -d)
pids=()
source perf/proxy/common.sh
trap cleanup EXIT

model=facebook/opt-125m
start_static_backend "$completion_reply"
pids+=("$backend_pid")
start_peer_proxies
uring_flag=()
if "$ringgate" --help 2>&1 | grep -q -- '--io-backend'; then uring_flag=(--io-backend io_uring); fi
rg_port=$(start_listening rg "$ringgate" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 \
  --endpoint 127.0.0.1:$backend_port --model $model "${uring_flag[@]}")
rg_pid=$(cat "$tmp/rg.pid")
wait_port "$nginx_port"
wait_port "$haproxy_port"

printf '{"model":"%s","prompt":"Say hello to the benchmark","max_tokens":1,"temperature":0}' $model >"$tmp/small.json"
write_post_lua
load() { BODY_FILE=$tmp/small.json wrk -t1 -c"$connections" -d"$1" -s "$tmp/post.lua" "http://127.0.0.1:$2/v1/completions"; }
# user and sys clock ticks of a process tree, "USER SYS".
cpu_split() {
  local u=0 s=0 p a b
  for p in $(proc_tree "$1"); do
    read -r a b < <(awk '{ sub(/^.*\) /, ""); print $12, $13 }' "/proc/$p/stat" 2>/dev/null || echo 0 0)
    u=$((u + ${a:-0})); s=$((s + ${b:-0}))
  done
  echo "$u $s"
}
out_segs() { awk '/^Tcp:/ { if (++n == 2) print $12 }' /proc/net/snmp; }
us() { per_request_us "$1" "$2"; }
# The shares (0..1) of a profile's samples with tcp_sendmsg, net_rx_action and
# tcp_recvmsg on their stacks, "SEND PEER RECV".
shares() { perf report -i "$1" --children --sort symbol -g none --stdio 2>/dev/null |
  awk '{ sub(/%/, "", $1); v[$4] = $1 / 100 } END { print v["tcp_sendmsg"] + 0, v["net_rx_action"] + 0, v["tcp_recvmsg"] + 0 }'; }

# One line of the table.
row() { awk '{ printf "%-12s %8s %8s %8s %10s %9s %10s %9s\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$@"; }
# run NAME PORT PID → "name cpu user sys tcp-send peer-rx tcp-recv segs" (µs, segments per request)
run() {
  local name=$1 port=$2 pid=$3 u0 s0 u1 s1 g0 g1 out requests send peer recv
  load 2s "$port" >/dev/null 2>&1 || true  # warm-up
  read -r u0 s0 < <(cpu_split "$pid"); g0=$(out_segs)
  out=$(load "$duration" "$port")
  read -r u1 s1 < <(cpu_split "$pid"); g1=$(out_segs)
  read -r _ requests _ < <(wrk_report "$out")
  perf record -F 2999 -g -o "$tmp/perf.data" -p "$(proc_tree "$pid" | paste -sd,)" >/dev/null 2>"$tmp/perf.err" &
  local perf_pid=$!
  load "$profile_duration" "$port" >/dev/null
  kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
  local cpu user sys
  cpu=$(us $((u1 - u0 + s1 - s0)) "$requests")
  user=$(us $((u1 - u0)) "$requests")
  sys=$(us $((s1 - s0)) "$requests")
  read -r send peer recv < <(shares "$tmp/perf.data")
  awk -v n="$name" -v c="$cpu" -v u="$user" -v s="$sys" -v a="$send" -v p="$peer" -v r="$recv" -v g=$((g1 - g0)) -v q="$requests" \
    'BEGIN { printf "%s %s %s %s %.1f %.1f %.1f %.2f\n", n, c, u, s, a * c, p * c, r * c, g / q }' | tee -a "$tmp/results" | row >&3
}

rounds=${ROUNDS:-3}
echo "backend: nginx returning a fixed completion JSON; wrk -t1 -c$connections -d$duration; $(nproc) cores (shared); $rounds round(s)"
echo "per request: cpu = user + sys (/proc), in µs; tcp-send, of it peer-rx, tcp-recv: µs of cpu inside"
echo "tcp_sendmsg, net_rx_action, tcp_recvmsg (perf, call trees, profiled run); segs: TCP segments sent"
echo "proxy cpu user sys tcp-send peer-rx tcp-recv segs" | row
run_rounds "$rounds" run 3>&1 >/dev/null <<EOF  # rows on fd 3: run_rounds prints bench.sh's medians
ringgate-1w $rg_port $rg_pid
nginx-1w $nginx_port $nginx_pid
haproxy-1t $haproxy_port $haproxy_pid
EOF
echo
echo "medians over $rounds round(s), each column on its own:"
row "$tmp/results"
read -r best_name best_cpu < <(awk '$1 != "ringgate-1w" { print $1, $2 }' "$tmp/results" | sort -k2 -g | head -1)
awk -v best="$best_name" -v b="$best_cpu" '$1 == "ringgate-1w" {
  target = b / 2; tcp = $5 + $7
  printf "target, 0.5x %s: %.1f us; ringgate: %.1f us (%.2fx), of which sys %.1f us\n", best, target, $2, $2 / b, $4
  printf "ringgate TCP work: %.1f us (%.2fx of %s), %.1f of it the loopback delivering to wrk and the backend\n", tcp, tcp / b, best, $6
  printf "everything else (event loop, HTTP, routing, stats): %.1f us now; room under the target: %.1f us\n", $2 - tcp, target - tcp }' "$tmp/results"
