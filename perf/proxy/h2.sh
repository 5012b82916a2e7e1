#!/usr/bin/env bash
# HTTP/2 to clients (issue 67): ringgate (1 worker, h2c by prior knowledge on its api
# listener) against nginx (1 worker, `listen ... http2`: Debian 12's nginx 1.22 has no
# `http2 on`, and its cleartext http2 listener is h2c by prior knowledge) and HAProxy (1
# thread, `bind ... proto h2`), side by side in one run, all three speaking HTTP/1.1 with
# keep-alive to the same ringgate-sim (no token latency: the proxy is the bottleneck).
# Load from h2load (nghttp2-client), h2c by prior knowledge. Cases:
#   small  POST /v1/completions, max_tokens 1: one connection, 100 streams (h2load -c1 -m100);
#   sse    200-token completion streams with usage (~48 KB of SSE each): one connection,
#          16 streams (-c1 -m16: stream_relay.sh's 16 clients, multiplexed);
#   wide   the small request, 1,000 concurrent streams over 10 connections (-c10 -m100);
#   h1     ringgate's own HTTP/1.1 for the small request on kept connections, the same 100
#          requests in flight (h2load --h1 -c100: one per connection, no pipelining), the
#          figure the goal "h2 <= 0.8x HTTP/1.1 for small requests" is read against.
# Each case also runs "direct": h2load --h1 at the sim itself with the case's concurrency
# (the sim speaks HTTP/1.1 only), the floor of client and backend.
# Per run: req/s; p50/p99 of the time to a response's last byte (h2load --log-file); CPU
# microseconds per request (user+sys before/after the run, divided by the requests that
# succeeded) of the proxy's processes (/proc), of the sim (the backend's share) and of
# h2load itself (/usr/bin/time); the 1-minute load average. Every measured run is sized
# (-n) from its warm-up's rate to last about DURATION, so no stream is cut at the end.
# Peers as their users would set them: nginx upstream keepalive 1024 (the wide case holds
# 1,000 upstream requests: 128 idle would reconnect) with proxy_buffering off and
# keepalive_requests 1000000 (1.22's default ends an h2 connection after 1,000 requests);
# HAProxy `http-reuse always`, server maxconn 1000, its default 100 streams per connection.
# Not a test.
#
#   perf/proxy/h2.sh [BUILD_DIR]      (default: build)
#   env: DURATION=5 (seconds per measured run)  ROUNDS=3 (every case this many times,
#        interleaved as bench.sh's; medians)  CASES="small sse wide h1"  PROFILE=small|sse|wide
#        (perf record ringgate's worker in that case's first round, top frames at the end;
#        PERF_OUT=FILE keeps the perf.data; CALL_GRAPH=dwarf for callers through libc)
#        BASE=PATH (another ringgate binary: "ringgate-base" rows beside, and before/after)
#
# Results (debugoptimized build, 2 shared cores, medians of 3 interleaved rounds): see
# perf/proxy/README.md, "HTTP/2 (h2.sh)".
#
# Everything it starts listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
duration=${DURATION:-5}
model=facebook/opt-125m
ringgate=$build/src/gateway/ringgate
sim=$build/src/sim/ringgate-sim
for bin in "$ringgate" "$sim"; do [ -x "$bin" ] || { echo "missing $bin: build first" >&2; exit 1; }; done
for tool in h2load nginx haproxy /usr/bin/time; do
  command -v $tool >/dev/null || { echo "missing $tool (scripts/setup.sh; h2load: nghttp2-client)" >&2; exit 1; }
done

tmp=$(mktemp -d)
pids=()
source perf/proxy/common.sh
trap cleanup EXIT

# --- backend and proxies ------------------------------------------------------------------
backend_port=$(start_h2_backend)
backend_pid=$(cat "$tmp/sim.pid")

nginx_port=$(free_port)
start_nginx nginx "  upstream backend { server 127.0.0.1:$backend_port; keepalive 1024; }
  server { listen 127.0.0.1:$nginx_port http2; keepalive_requests 1000000;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\";
      proxy_buffering off; } }"
pids+=($started_pid)
nginx_pid=$started_pid
start_haproxy haproxy "proto h2"

uring_flag=()
if "$ringgate" --help 2>&1 | grep -q -- '--io-backend'; then uring_flag=(--io-backend io_uring); fi
rg_port=$(start_listening rg "$ringgate" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 \
  --endpoint 127.0.0.1:$backend_port --model $model "${uring_flag[@]}")
rg_pid=$(cat "$tmp/rg.pid")
if [ -n "${BASE:-}" ]; then
  base_flag=()
  if "$BASE" --help 2>&1 | grep -q -- '--io-backend'; then base_flag=(--io-backend io_uring); fi
  base_port=$(start_listening base "$BASE" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 \
    --endpoint 127.0.0.1:$backend_port --model $model "${base_flag[@]}")
  base_pid=$(cat "$tmp/base.pid")
fi
wait_port "$nginx_port"
wait_port "$haproxy_port"

write_h2_bodies

# The load of a case: "BODY CONNECTIONS STREAMS PROTOCOL" (streams per connection; h1: 1).
load_of() {
  case $1 in
    small) echo "small 1 100 h2" ;;
    sse) echo "sse 1 16 h2" ;;
    wide) echo "small 10 100 h2" ;;
    h1) echo "small 100 1 h1" ;;
  esac
}

# h2load_run N CONNECTIONS STREAMS PROTOCOL BODY URL LOG: h2load's summary on stdout, the
# per-request log in LOG, its own user+sys seconds in LOG.time.
h2load_run() {
  local n=$1 c=$2 m=$3 proto=$4 body=$5 url=$6 log=$7 h1=()
  [ "$proto" = h1 ] && h1=(--h1)
  rm -f "$log"  # (h2load appends to it)
  /usr/bin/time -f '%U %S' -o "$log.time" h2load "${h1[@]}" -n "$n" -c "$c" -m "$m" -d "$tmp/$body.json" \
    -H 'content-type: application/json' --log-file="$log" "$url" || true
}

profiled=
# run NAME CASE PORT PID ("-": direct) → "name req/s p50us p99us proxy-cpu/req sim-cpu/req
# client-cpu/req load1 errors" in $tmp/results
run() {
  local name=$1 case=$2 port=$3 pid=$4 body c m proto out url n secs perf_pid= p0=0 p1=0 b0 b1 load
  read -r body c m proto < <(load_of "$case")
  # direct: HTTP/1.1 with the case's concurrency, one request per connection at a time
  if [ "$pid" = - ]; then c=$((c * m)); m=1; proto=h1; fi
  url="http://127.0.0.1:$port/v1/completions"
  load=$(cut -d' ' -f1 /proc/loadavg)
  # Warm-up (connections, pools, caches), and the rate the measured run is sized from.
  n=$((c * m * 20)); [ "$case" = sse ] && n=$((c * m * 5))
  out=$(h2load_run "$n" "$c" "$m" "$proto" "$body" "$url" "$tmp/warm.log")
  secs=$(awk '/^finished in/ { v = $3; sub(/,$/, "", v); t = v + 0
                 if (v ~ /ms$/) t /= 1000; else if (v ~ /us$/) t /= 1e6; print t }' <<<"$out")
  n=$(awk -v n="$n" -v s="$secs" -v d="$duration" -v min=$((c * m * 4)) \
        'BEGIN { x = (s > 0) ? int(n / s * d) : n; print (x < min) ? min : x }')
  [ "$pid" = - ] || p0=$(cpu_ticks "$pid")
  b0=$(cpu_ticks "$backend_pid")
  if [ "${PROFILE:-}" = "$case" ] && [ "$name" = "ringgate-$case" ] && [ -z "$profiled" ]; then
    profiled=1
    perf record -F 2999 --call-graph "${CALL_GRAPH:-fp}" -o "$tmp/perf.data" -p "$pid" >/dev/null 2>"$tmp/perf.err" &
    perf_pid=$!
  fi
  out=$(h2load_run "$n" "$c" "$m" "$proto" "$body" "$url" "$tmp/run.log")
  [ "$pid" = - ] || p1=$(cpu_ticks "$pid")
  b1=$(cpu_ticks "$backend_pid")
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
  local rps done_ok errors p50 p99 proxy_us sim_us client_us
  rps=$(awk '/^finished in/ { print $4 + 0 }' <<<"$out")
  done_ok=$(awk '/^requests:/ { print $8 }' <<<"$out")
  errors=$(awk -v n="$n" '/^requests:/ { bad = n - $8 } /^status codes:/ { s = $3 + 0 }
                          END { print (bad == 0 && s == n) ? "ok" : "failed:" bad ",non-2xx:" n - s }' <<<"$out")
  read -r p50 p99 < <(cut -f3 "$tmp/run.log" | sort -n |
    awk '{ v[NR] = $1 }
         END { i = int(NR * 0.99); if (i < 1) i = 1; if (NR) print v[int((NR + 1) / 2)], v[i]; else print "- -" }')
  if [ "$pid" = - ]; then proxy_us=-; else proxy_us=$(per_request_us $((p1 - p0)) "$done_ok"); fi
  sim_us=$(per_request_us $((b1 - b0)) "$done_ok")
  client_us=$(awk -v n="$done_ok" '{ if (n > 0) printf "%.1f", ($1 + $2) * 1e6 / n; else print "n/a" }' \
    "$tmp/run.log.time")
  printf '%-20s %9s %9s %9s %10s %8s %8s %6s  %s\n' "$name" "$rps" "$p50" "$p99" "$proxy_us" "$sim_us" "$client_us" \
    "$load" "$errors" >&3
  echo "$name $rps $p50 $p99 $proxy_us $sim_us $client_us $load" >>"$tmp/results"
}

rounds=${ROUNDS:-3}
cases_wanted=${CASES:-small sse wide h1}
echo "ringgate-sim (no token latency) behind ringgate (1 worker), nginx $(nginx -v 2>&1 | sed 's/.*\///') (1 worker)," \
  "HAProxy $(haproxy -v | awk 'NR == 1 { print $3 }') (1 thread); $(h2load --version | head -1);" \
  "$(nproc) cores (shared); ${duration}s a run; $rounds round(s)"
echo "small: -c1 -m100; sse: 200-token streams, -c1 -m16; wide: -c10 -m100; h1: ringgate HTTP/1.1, --h1 -c100." \
  "p50/p99: time to the last byte (us); cpu: us per request (proxy, sim, h2load)"
# NAME CASE PORT PID, one case per line.
cases=$(
  for c in $cases_wanted; do
    case $c in
      small | sse | wide)
        echo "direct-$c $c $backend_port -"
        echo "ringgate-$c $c $rg_port $rg_pid"
        [ -n "${BASE:-}" ] && echo "ringgate-base-$c $c $base_port $base_pid"
        echo "nginx-$c $c $nginx_port $nginx_pid"
        echo "haproxy-$c $c $haproxy_port $haproxy_pid" ;;
      h1)
        echo "ringgate-h1 h1 $rg_port $rg_pid"
        [ -n "${BASE:-}" ] && echo "ringgate-base-h1 h1 $base_port $base_pid" ;;
      *) echo "CASES: small, sse, wide and/or h1" >&2; exit 1 ;;
    esac
  done
  true)
printf '%-20s %9s %9s %9s %10s %8s %8s %6s  %s\n' case req/s p50us p99us proxy-cpu sim-cpu h2load load1 errors
run_rounds "$rounds" run 3>&1 >/dev/null <<<"$cases"

echo
echo "medians over $rounds round(s) (load1: the 1-minute load average when each run began):"
printf '%-20s %9s %9s %9s %10s %8s %8s %6s\n' case req/s p50us p99us proxy-cpu sim-cpu h2load load1
awk '{ printf "%-20s %9s %9s %9s %10s %8s %8s %6s\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$tmp/results"

div() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && a != "-" && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'
}
echo
echo "ringgate against the cheaper peer (cpu/req and p99: lower is better; req/s: higher is better)"
for c in $cases_wanted; do
  [ "$c" = h1 ] && continue
  for rg in ringgate ${BASE:+ringgate-base}; do
    rg_cpu=$(field "$rg-$c" 5)
    ng_cpu=$(field "nginx-$c" 5); ha_cpu=$(field "haproxy-$c" 5)
    peer=haproxy; awk -v a="$ng_cpu" -v b="$ha_cpu" 'BEGIN { exit !(a + 0 < b + 0) }' && peer=nginx
    printf '%-20s cpu/req %sx %-8s (nginx %sx, haproxy %sx)  req/s %sx  p99 %sx\n' "$rg-$c" \
      "$(div "$rg_cpu" "$(field "$peer-$c" 5)")" "$peer" "$(div "$rg_cpu" "$ng_cpu")" "$(div "$rg_cpu" "$ha_cpu")" \
      "$(div "$(field "$rg-$c" 2)" "$(field "$peer-$c" 2)")" "$(div "$(field "$rg-$c" 4)" "$(field "$peer-$c" 4)")"
    printf '%-20s cpu/req against %s round by round: %s\n' "$rg-$c" "$peer" "$(paired_ratio "$rg-$c" "$peer-$c" 5)"
  done
done
if [[ " $cases_wanted " == *" small "* && " $cases_wanted " == *" h1 "* ]]; then
  echo "ringgate h2 (small) / its HTTP/1.1 (h1) cpu/req: $(div "$(field ringgate-small 5)" "$(field ringgate-h1 5)")x" \
    "(goal <= 0.8)"
fi
if [ -n "${BASE:-}" ]; then
  for c in $cases_wanted; do
    echo "$c: this build / BASE cpu/req $(div "$(field "ringgate-$c" 5)" "$(field "ringgate-base-$c" 5)")x," \
      "req/s $(div "$(field "ringgate-$c" 2)" "$(field "ringgate-base-$c" 2)")x;" \
      "cpu/req round by round $(paired_ratio "ringgate-$c" "ringgate-base-$c" 5)"
  done
fi
if [ -f "$tmp/perf.data" ]; then
  echo
  echo "ringgate, profiled $PROFILE run: top frames (self %)"
  [ -z "${PERF_OUT:-}" ] || cp "$tmp/perf.data" "$PERF_OUT"
  perf report -i "$tmp/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' |
    sed 's/ \{8,\}-  *- *$//' | head -25 || true
fi
