#!/usr/bin/env bash
# Proxy throughput: ringgate (1 worker, every JSON body parsed) vs nginx (1 worker,
# upstream keep-alive) vs HAProxy (1 thread) vs going direct, all in front of the
# same backend with the same wrk settings; then ringgate with 2 workers, and a
# 200 KB-prompt case. Prints requests/s, p50/p99 and ratios. Not a test.
#
#   perf/proxy/bench.sh [BUILD_DIR]      (default: build)
#   env: DURATION=5s CONNECTIONS=64 BACKEND=sim|nginx (default: sim)
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
cleanup() {
  # start_listening runs in $( ): its children are recorded in pid files, not in pids.
  for f in "$tmp"/*.pid; do [ -f "$f" ] && pids+=("$(cat "$f")"); done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || timeout 15 tail --pid="$pid" -f /dev/null 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Starts a binary that prints the listening JSON line; echoes its API port.
start_listening() {
  local log=$tmp/$1.out; shift
  "$@" >"$log" 2>"$log.err" &
  echo $! >"$tmp/$(basename "$log" .out).pid"
  for _ in $(seq 100); do
    if grep -q '"listening"' "$log" 2>/dev/null; then
      grep -o '"api":"[^"]*"' "$log" | head -1 | sed 's/.*:\([0-9]*\)"$/\1/'
      return
    fi
    sleep 0.1
  done
  echo "did not start: $*" >&2; cat "$log.err" >&2; exit 1
}

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; cat "$tmp"/*.err >&2; exit 1; }

# --- backend ------------------------------------------------------------------------
reply='{"id":"cmpl-1","object":"text_completion","created":0,"model":"facebook/opt-125m","choices":[{"index":0,"text":" hi","logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":2,"total_tokens":3,"completion_tokens":1}}'
if [ "$backend_kind" = nginx ]; then
  backend_port=$(free_port)
  mkdir -p "$tmp/nginx-backend"
  cat >"$tmp/nginx-backend/nginx.conf" <<EOF
worker_processes 1; daemon off; pid $tmp/nginx-backend/pid; error_log stderr error;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $tmp/nginx-backend; client_max_body_size 16m; client_body_buffer_size 1m;
  server { listen 127.0.0.1:$backend_port reuseport; keepalive_requests 1000000;
    location / { default_type application/json; return 200 '$reply'; } } }
EOF
  nginx -p "$tmp/nginx-backend" -c "$tmp/nginx-backend/nginx.conf" 2>"$tmp/nginx-backend.err" &
  pids+=($!)
  wait_port "$backend_port"
  backend_desc="nginx returning a fixed completion JSON"
else
  backend_port=$(start_listening sim "$sim" --host 127.0.0.1 --port 0 --model $model --max-num-seqs 4096 --kv-blocks 131072 --max-model-len 1000000)
  backend_desc="ringgate-sim, zero latency, max_tokens 1"
fi

# --- proxies --------------------------------------------------------------------------
nginx_port=$(free_port)
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1; daemon off; pid $tmp/nginx/pid; error_log stderr error;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $tmp/nginx; client_max_body_size 16m; client_body_buffer_size 1m;
  upstream backend { server 127.0.0.1:$backend_port; keepalive 128; }
  server { listen 127.0.0.1:$nginx_port; keepalive_requests 1000000;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; } } }
EOF
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" 2>"$tmp/nginx.err" &
pids+=($!)

haproxy_port=$(free_port)
cat >"$tmp/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:$haproxy_port
  default_backend be
backend be
  server s1 127.0.0.1:$backend_port maxconn 1000
EOF
haproxy -f "$tmp/haproxy.cfg" -db 2>"$tmp/haproxy.err" &
pids+=($!)

rg1_port=$(start_listening rg1 "$ringgate" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 \
  --endpoint 127.0.0.1:$backend_port --model $model --max-body-bytes 16777216)
rg2_port=$(start_listening rg2 "$ringgate" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 2 \
  --endpoint 127.0.0.1:$backend_port --model $model --max-body-bytes 16777216)
wait_port "$nginx_port"
wait_port "$haproxy_port"

# --- load -----------------------------------------------------------------------------
small='{"model":"facebook/opt-125m","prompt":"Say hello to the benchmark","max_tokens":1,"temperature":0}'
big_prompt=$(head -c 150000 /dev/urandom | base64 -w0 | head -c 204800)
printf '{"model":"facebook/opt-125m","prompt":"%s","max_tokens":1}' "$big_prompt" >"$tmp/big.json"
printf '%s' "$small" >"$tmp/small.json"
cat >"$tmp/post.lua" <<'EOF'
local f = io.open(os.getenv("BODY_FILE"), "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
EOF

# run NAME PORT BODY_FILE CONNECTIONS → "name rps p50 p99 non2xx"
run() {
  local name=$1 port=$2 body=$3 conns=$4 out
  BODY_FILE=$body wrk -t1 -c"$conns" -d2s -s "$tmp/post.lua" "http://127.0.0.1:$port/v1/completions" >/dev/null 2>&1 || true  # warm-up
  out=$(BODY_FILE=$body wrk -t1 -c"$conns" -d"$duration" --latency -s "$tmp/post.lua" "http://127.0.0.1:$port/v1/completions")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {print $NF} /Socket errors/ {print "sockerr"}' <<<"$out" | paste -sd' ')
  printf '%-22s %12s %10s %10s   %s\n' "$name" "$rps" "$p50" "$p99" "${errors:-ok}"
  echo "$name $rps" >>"$tmp/rps"
}

echo "backend: $backend_desc; wrk -t1 -c$connections -d$duration; $(nproc) cores (shared)"
printf '%-22s %12s %10s %10s   %s\n' case "req/s" p50 p99 errors
run direct "$backend_port" "$tmp/small.json" "$connections"
run ringgate-1w "$rg1_port" "$tmp/small.json" "$connections"
run nginx-1w "$nginx_port" "$tmp/small.json" "$connections"
run haproxy-1t "$haproxy_port" "$tmp/small.json" "$connections"
run ringgate-2w "$rg2_port" "$tmp/small.json" "$connections"
big_conns=$((connections < 16 ? connections : 16))
run direct-200KB "$backend_port" "$tmp/big.json" "$big_conns"
run ringgate-1w-200KB "$rg1_port" "$tmp/big.json" "$big_conns"
run nginx-1w-200KB "$nginx_port" "$tmp/big.json" "$big_conns"
run haproxy-1t-200KB "$haproxy_port" "$tmp/big.json" "$big_conns"

rps() { awk -v n="$1" '$1==n {print $2}' "$tmp/rps"; }
ratio() { awk -v a="$(rps "$1")" -v b="$(rps "$2")" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo
echo "ringgate-1w / nginx-1w   = $(ratio ringgate-1w nginx-1w)x"
echo "ringgate-1w / haproxy-1t = $(ratio ringgate-1w haproxy-1t)x"
echo "ringgate-1w / direct     = $(ratio ringgate-1w direct)x"
echo "200KB: ringgate / nginx  = $(ratio ringgate-1w-200KB nginx-1w-200KB)x, ringgate / haproxy = $(ratio ringgate-1w-200KB haproxy-1t-200KB)x"
