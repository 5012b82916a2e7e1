#!/usr/bin/env bash
# HTTPS throughput and CPU per request: ringgate (1 worker, --tls-cert/--tls-key), nginx
# (1 worker, `listen ssl`) and HAProxy (1 thread, `bind ssl crt`), each terminating TLS
# with the same P-256 certificate in front of the same static nginx backend (plain HTTP),
# and the backend direct (plain) as the reference. Two loads, wrk -t1:
#   keepalive  -c64, connections kept: the cost of records (seal/open) per request;
#   handshake  -c16, "Connection: close": a full TLS handshake every request.
# Each proxy as its users would set it up: nginx with ssl_session_tickets (default) and
# HTTP/1.1 keep-alive upstream, HAProxy with its default ssl-default-bind settings and
# `http-reuse always`. Prints req/s, p50/p99 and CPU µs per request (user+sys of the
# proxy's processes, /proc), medians over interleaved rounds, and ringgate's ratios.
# Not a test.
#
#   perf/proxy/tls.sh [BUILD_DIR]      (default: build)
#   env: DURATION=4s ROUNDS=3 CONNECTIONS=64 HANDSHAKE_CONNECTIONS=16
#
# Everything it starts listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
duration=${DURATION:-4s}
connections=${CONNECTIONS:-64}
handshake_connections=${HANDSHAKE_CONNECTIONS:-16}
ringgate=$build/src/gateway/ringgate
[ -x "$ringgate" ] || { echo "missing $ringgate: build first" >&2; exit 1; }
for tool in wrk nginx haproxy openssl; do command -v $tool >/dev/null || { echo "missing $tool (scripts/setup.sh)" >&2; exit 1; }; done

tmp=$(mktemp -d)
pids=()
source perf/proxy/common.sh
trap cleanup EXIT

# One certificate for everyone: ECDSA P-256 for 127.0.0.1, self-signed (wrk does not verify).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
  -days 1 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
cat "$tmp/cert.pem" "$tmp/key.pem" >"$tmp/haproxy.pem"  # HAProxy reads both from one file

model=facebook/opt-125m
start_static_backend "$completion_reply"
pids+=("$backend_pid")

nginx_port=$(free_port)
start_nginx nginx "  upstream backend { server 127.0.0.1:$backend_port; keepalive 128; }
  server { listen 127.0.0.1:$nginx_port ssl; keepalive_requests 1000000;
    ssl_certificate $tmp/cert.pem; ssl_certificate_key $tmp/key.pem; ssl_protocols TLSv1.2 TLSv1.3;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; } }"
pids+=($started_pid)
nginx_pid=$started_pid

start_haproxy haproxy "ssl crt $tmp/haproxy.pem alpn http/1.1" "ssl-default-bind-options ssl-min-ver TLSv1.2"

uring_flag=()
if "$ringgate" --help 2>&1 | grep -q -- '--io-backend'; then uring_flag=(--io-backend io_uring); fi
rg_port=$(start_listening rg "$ringgate" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 \
  --endpoint 127.0.0.1:$backend_port --model $model --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" "${uring_flag[@]}")
rg_pid=$(cat "$tmp/rg.pid")
rg_admin=$(grep -o '"admin":"[^"]*"' "$tmp/rg.out" | sed 's/.*:\([0-9]*\)"$/\1/')
wait_port "$nginx_port"
wait_port "$haproxy_port"

printf '{"model":"%s","prompt":"Say hello to the benchmark","max_tokens":1,"temperature":0}' $model >"$tmp/small.json"
write_post_lua

# run NAME SCHEME PORT PID LOAD → "name req/s p50us p99us cpu-us/req" in $tmp/results
run() {
  local name=$1 scheme=$2 port=$3 pid=$4 mode=$5 c=$connections extra=() t0 t1 out rps requests p50 p99 errors
  if [ "$mode" = handshake ]; then c=$handshake_connections; extra=(-H "Connection: close"); fi
  local url="$scheme://127.0.0.1:$port/v1/completions"
  BODY_FILE=$tmp/small.json wrk -t1 -c"$c" -d1s "${extra[@]}" -s "$tmp/post.lua" "$url" >/dev/null 2>&1 || true  # warm-up
  t0=$(cpu_ticks "$pid")
  out=$(BODY_FILE=$tmp/small.json wrk -t1 -c"$c" -d"$duration" --latency "${extra[@]}" -s "$tmp/post.lua" "$url")
  t1=$(cpu_ticks "$pid")
  read -r rps requests p50 p99 errors < <(wrk_report "$out")
  local cpu; cpu=$(per_request_us $((t1 - t0)) "$requests")
  printf '%-24s %10s %9s %9s %12s  %s\n' "$name" "$rps" "$(to_us "$p50")" "$(to_us "$p99")" "$cpu" "$errors"
  echo "$name $rps $(to_us "$p50") $(to_us "$p99") $cpu" >>"$tmp/results"
}

rounds=${ROUNDS:-3}
echo "backend: nginx returning a fixed completion JSON (plain HTTP); TLS: one ECDSA P-256 certificate; $(nproc) cores (shared)"
echo "keepalive: wrk -t1 -c$connections (connections kept); handshake: wrk -t1 -c$handshake_connections, Connection: close (a handshake a request); -d$duration, $rounds round(s)"
printf '%-24s %10s %9s %9s %12s\n' case req/s p50us p99us cpu-us/req
run_rounds "$rounds" run <<EOF
direct-plain-keepalive http $backend_port $backend_pid keepalive
ringgate-1w-keepalive https $rg_port $rg_pid keepalive
nginx-1w-keepalive https $nginx_port $nginx_pid keepalive
haproxy-1t-keepalive https $haproxy_port $haproxy_pid keepalive
ringgate-1w-handshake https $rg_port $rg_pid handshake
nginx-1w-handshake https $nginx_port $nginx_pid handshake
haproxy-1t-handshake https $haproxy_port $haproxy_pid handshake
EOF

echo
for mode in keepalive handshake; do
  awk -v m="$mode" '
    { split($1, p, "-"); if ($1 ~ "-" m "$") { rps[p[1]] = $2; cpu[p[1]] = $5 } }
    END { printf "%s: ringgate req/s %.2fx nginx, %.2fx haproxy; cpu/req %.2fx nginx, %.2fx haproxy\n", m,
            rps["ringgate"] / rps["nginx"], rps["ringgate"] / rps["haproxy"], cpu["ringgate"] / cpu["nginx"], cpu["ringgate"] / cpu["haproxy"] }' "$tmp/results"
done
curl -s "http://127.0.0.1:$rg_admin/metrics" | grep -E '^ringgate_tls_(info|handshakes_total|handshake_failures_total)' || true
