# Shared by bench.sh, long_prompt.sh, small_request_floor.sh and
# perf/tokenize/gateway_cpu.sh (sourced, after `tmp` and `pids` are set): stopping what
# they started, ports, starting ringgate and the static backend, the CPU time of a
# process tree, wrk's latency units, and interleaved rounds with medians.

# The scripts' exit trap: stops every process in pids and every one whose pid file
# start_listening wrote (it runs in $( ): its children cannot join pids), then removes
# $tmp unless KEEP_TMP is set.
cleanup() {
  for f in "$tmp"/*.pid; do [ -f "$f" ] && pids+=("$(cat "$f")"); done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || timeout 15 tail --pid="$pid" -f /dev/null 2>/dev/null || true; done
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}

# What the static backend answers to a small completion (max_tokens 1).
completion_reply='{"id":"cmpl-1","object":"text_completion","created":0,"model":"facebook/opt-125m","choices":[{"index":0,"text":" hi","logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":2,"total_tokens":3,"completion_tokens":1}}'

# ... and to a chat completion.
chat_reply='{"id":"chatcmpl-1","object":"chat.completion","created":0,"model":"facebook/opt-125m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"length"}],"usage":{"prompt_tokens":2,"total_tokens":3,"completion_tokens":1}}'

# $tmp/post.lua: wrk POSTs the JSON file named by $BODY_FILE.
write_post_lua() {
  cat >"$tmp/post.lua" <<'EOF'
local f = io.open(os.getenv("BODY_FILE"), "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
EOF
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; cat "$tmp"/*.err >&2; exit 1; }

clk_tck=$(getconf CLK_TCK)
# A process and its descendants (nginx: master + worker).
proc_tree() { echo "$1"; local c; for c in $(pgrep -P "$1" 2>/dev/null); do proc_tree "$c"; done; }
# user+sys clock ticks of a process tree (threads included: /proc/PID/stat sums them).
# CPU_TIME=user: user time only, for comparing two builds of one proxy (the kernel's share,
# the same bytes through the same sockets, is the noisier half on shared cores).
cpu_ticks() {
  local total=0 p t fields='$12 + $13'
  [ "${CPU_TIME:-}" = user ] && fields='$12'
  for p in $(proc_tree "$1"); do
    t=$(awk "{ sub(/^.*\\) /, \"\"); print $fields }" "/proc/$p/stat" 2>/dev/null || echo 0)
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
# start_listening NAME COMMAND...: starts a ringgate or ringgate-sim (which print a
# "listening" line with their "api" address), its pid in $tmp/NAME.pid; prints its port.
start_listening() {
  local log=$tmp/$1.out; shift
  "$@" >"$log" 2>"$log.err" &
  echo $! >"$tmp/$(basename "$log" .out).pid"
  for _ in $(seq "${START_TRIES:-100}"); do  # tenths of a second (START_TRIES: under valgrind, more)
    if grep -q '"listening"' "$log" 2>/dev/null; then
      grep -o '"api":"[^"]*"' "$log" | head -1 | sed 's/.*:\([0-9]*\)"$/\1/'
      return
    fi
    sleep 0.1
  done
  echo "did not start: $*" >&2; cat "$log.err" >&2; exit 1
}

# The HTTP/2 benchmarks' backend (h2.sh, h2_callgrind.sh): a sim with no token latency; its
# port. And their request bodies: $tmp/small.json (1 token) and $tmp/sse.json (200-token
# stream with usage).
start_h2_backend() {
  start_listening sim "$sim" --host 127.0.0.1 --port 0 --model $model --max-num-seqs 4096 \
    --kv-blocks 131072 --max-model-len 1000000 --seed 1
}
write_h2_bodies() {
  printf '{"model":"%s","prompt":"Say hello to the benchmark","max_tokens":1,"temperature":0}' $model >"$tmp/small.json"
  printf '{"model":"%s","prompt":"Say hello to the benchmark","max_tokens":200,"stream":true,%s}' \
    $model '"stream_options":{"include_usage":true}' >"$tmp/sse.json"
}

# start_nginx NAME SERVERS: one nginx worker (no access log, bodies up to 16 MB, kept in
# memory up to 1 MB) whose http block holds SERVERS, its files under $tmp/NAME, its
# stderr in $tmp/NAME.err; the backend and the nginx peer share these settings. Sets
# started_pid.
start_nginx() {
  mkdir -p "$tmp/$1"
  cat >"$tmp/$1/nginx.conf" <<EOF
worker_processes 1; daemon off; pid $tmp/$1/pid; error_log stderr error;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $tmp/$1; client_max_body_size 16m; client_body_buffer_size 1m;
$2 }
EOF
  nginx -p "$tmp/$1" -c "$tmp/$1/nginx.conf" 2>"$tmp/$1.err" &
  started_pid=$!
}

# start_static_backend REPLY: nginx answering every request with REPLY (JSON), one
# worker, so every proxy in front of it meets the same backend cost. Sets backend_port
# and backend_pid (in $tmp/backend.pid too).
start_static_backend() {
  backend_port=$(free_port)
  start_nginx backend "  server { listen 127.0.0.1:$backend_port reuseport; keepalive_requests 1000000;
    location / { default_type application/json; return 200 '$1'; } }"
  backend_pid=$started_pid
  echo "$backend_pid" >"$tmp/backend.pid"
  wait_port "$backend_port"
}

# wrk_report OUTPUT (of wrk --latency) → "REQ/S REQUESTS P50 P99 ERRORS": latencies as
# wrk prints them, "-" for what it did not print; ERRORS "ok", or what wrk counted
# (non-2xx answers, socket errors).
wrk_report() {
  awk 'function v(x) { return x == "" ? "-" : x }
       /Requests\/sec/ { rps = $2 } /requests in/ { n = $1 } $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
       /Non-2xx/ { e = e (e ? "," : "") "non-2xx:" $NF } /Socket errors/ { e = e (e ? "," : "") "socket-errors" }
       END { print v(rps), v(n), v(p50), v(p99), (e ? e : "ok") }' <<<"$1"
}

# CPU microseconds per request from a tick difference and a request count.
per_request_us() { awk -v t="$1" -v n="$2" -v hz="$clk_tck" 'BEGIN { if (n > 0) printf "%.1f", t * 1000000 / hz / n; else print "n/a" }'; }
# Latency as wrk prints it (1.23ms, 456.00us, 1.2s) → microseconds.
to_us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000; else print "" }'; }

# run_rounds ROUNDS RUN_FUNCTION < CASES: each line of CASES is the argument list of one
# RUN_FUNCTION call, which appends "name col2 col3 ..." to $tmp/results. The cases run
# ROUNDS times, interleaved, round r starting at the r-th case, every other round
# backwards (no case always follows the same neighbour); $tmp/results then holds each case's median per column (of an even
# count the lower middle; "-" where a case has no value) and $tmp/runs every run.
run_rounds() {
  local rounds=$1 fn=$2 cases ncases r c
  cases=$(cat)
  ncases=$(wc -l <<<"$cases")
  : >"$tmp/results"
  for ((r = 0; r < rounds; r++)); do
    [ "$rounds" = 1 ] || echo "-- round $((r + 1))"
    # Round r starts at the r-th case, and every other round runs backwards: each case
    # follows each of its neighbours as often as it precedes it (a case run right after a
    # heavy one, "direct" at 120k req/s, read up to 20% more CPU per request in every round).
    local order=cat; ((r % 2)) && order=tac
    while read -r c; do $fn $c </dev/null; done < <({ tail -n +$((r % ncases + 1)) <<<"$cases"; head -n $((r % ncases)) <<<"$cases"; } | $order)
  done
  mv "$tmp/results" "$tmp/runs"
  awk '{ if (!($1 in n)) name[++k] = $1; n[$1]++; cols = NF > cols ? NF : cols; for (c = 2; c <= NF; c++) v[$1, c, n[$1]] = $c }
    END { for (i = 1; i <= k; i++) { m = name[i]; line = m
            for (c = 2; c <= cols; c++) { cnt = 0
              for (j = 1; j <= n[m]; j++) if (v[m, c, j] != "-" && v[m, c, j] != "") a[++cnt] = v[m, c, j] + 0
              for (x = 2; x <= cnt; x++) for (y = x; y > 1 && a[y - 1] > a[y]; y--) { t = a[y]; a[y] = a[y - 1]; a[y - 1] = t }
              line = line " " (cnt ? a[int((cnt + 1) / 2)] : "-") }
            print line } }' "$tmp/runs" >"$tmp/results"
  if [ "$rounds" != 1 ]; then
    echo
    echo "medians over $rounds rounds (req/s, p50 us, p99 us, proxy cpu us/req):"
    awk '{ printf "%-26s %10s %9s %9s %12s\n", $1, $2, $3, $4, $5 }' "$tmp/results"
  fi
}

# field NAME COLUMN (of $tmp/results): 2 req/s, 3 p50 us, 4 p99 us, 5 proxy cpu us/req
field() { awk -v n="$1" -v c="$2" '$1==n {print $c}' "$tmp/results"; }

# paired_ratio A B COLUMN: A's figure over B's, round by round (run_rounds' $tmp/runs: the
# i-th run of each is in round i), as "median [min-max]". On shared cores a run's CPU a
# request moves +-15% with the machine, and the two runs of one round move together, so the
# ratio of a round's pair varies less than the ratio of the two medians.
paired_ratio() {
  awk -v a="$1" -v b="$2" -v c="$3" '$1 == a { x[++i] = $c } $1 == b { y[++j] = $c }
    END { n = 0; for (k = 1; k <= i && k <= j; k++) if (y[k] + 0 > 0 && x[k] != "-") r[++n] = x[k] / y[k]
          if (!n) { print "n/a"; exit }
          for (p = 2; p <= n; p++) for (q = p; q > 1 && r[q - 1] > r[q]; q--) { t = r[q]; r[q] = r[q - 1]; r[q - 1] = t }
          printf "%.2fx [%.2f-%.2f]", r[int((n + 1) / 2)], r[1], r[n] }' "$tmp/runs"
}

# start_peer_proxies [SUFFIX]: the peers every proxy benchmark runs beside ringgate, in
# front of the backend at $backend_port: nginx (1 worker, upstream keep-alive, no
# buffering) and HAProxy (1 thread, keep-alive, connection reuse). Sets nginx_port,
# nginx_pid, haproxy_port and haproxy_pid, and adds both pids to pids. SUFFIX names
# their files apart when a script runs two pairs (one per backend).
start_peer_proxies() {
  local s=${1:-}
  nginx_port=$(free_port)
  start_nginx nginx$s "  upstream backend { server 127.0.0.1:$backend_port; keepalive 128; }
  server { listen 127.0.0.1:$nginx_port; keepalive_requests 1000000;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; } }"
  pids+=($started_pid)
  nginx_pid=$started_pid
  start_haproxy "haproxy$s"
}

# start_haproxy NAME [BIND_OPTIONS [GLOBAL_LINE]]: HAProxy (1 thread, keep-alive,
# connection reuse) in front of the backend at $backend_port, its files $tmp/NAME.*;
# BIND_OPTIONS follow the frontend's bind address ("ssl crt FILE alpn http/1.1"),
# GLOBAL_LINE is one more line of its global section. Sets haproxy_port and haproxy_pid,
# and adds it to pids.
start_haproxy() {
  haproxy_port=$(free_port)
  cat >"$tmp/$1.cfg" <<EOF
global
  nbthread 1
  maxconn 4000
  ${3:-}
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:$haproxy_port ${2:-}
  default_backend be
backend be
  server s1 127.0.0.1:$backend_port maxconn 1000
EOF
  haproxy -f "$tmp/$1.cfg" -db 2>"$tmp/$1.err" &
  pids+=($!)
  haproxy_pid=$!
}
