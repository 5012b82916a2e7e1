#!/usr/bin/env bash
# Long prompts (issue 13): ringgate (1 worker) vs nginx (1 worker) vs HAProxy (1 thread)
# vs going direct, side by side in one run, in front of the same static backend (nginx
# returning a fixed completion, so the backend costs the same for every proxy). Every
# request is a chat body whose prompt is distinct from the start (a counter leads the
# first message), so ringgate hashes and records all-new prefix blocks each time.
#   1. 200 KB chat prompts, wrk -c16: req/s, p50/p99, proxy CPU per request
#   2. 400 KB chat prompts (~100k tokens), wrk -c16: the same
#   3. 400 KB streamed ("stream":true) prompts at 64 concurrent clients: time to first
#      byte through each proxy minus direct (the static reply is one small packet, so
#      wrk's latency is the time to its first byte), p50/p99
# CPU per request: user+sys of the proxy's processes from /proc/PID/stat around the
# measured run, divided by the requests wrk completed. Not a test.
#
#   perf/proxy/long_prompt.sh [BUILD_DIR]      (default: build)
#   env: DURATION=5s  PROFILE=1 (perf record ringgate during the 200 KB run, top frames;
#        PROFILE_PROXY=nginx|haproxy profiles that peer's processes instead;
#        PERF_OUT=FILE keeps the perf.data; PROFILE_BYTES=409600 PROFILE_STREAM=1: the
#        streamed 64-client run instead)  SIZES="204800 409600" (prompt bytes, 16 clients)
#        STREAM_CASE=0 (skip the 64-client streamed case)
#        BASE=PATH (another ringgate binary, e.g. a build of main: "ringgate-base" rows beside)
#        ROUNDS=1 (every case this many times, interleaved; the summary uses the medians)
#        TEXT=random (base64 of random bytes: no escapes) | repo (this repository's prose and
#        code, JSON-escaped: escapes every few dozen bytes, some non-ASCII)
#
# Everything it starts listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
duration=${DURATION:-5s}
model=facebook/opt-125m
ringgate=$build/src/gateway/ringgate
[ -x "$ringgate" ] || { echo "missing $ringgate: build first" >&2; exit 1; }
for tool in wrk nginx haproxy; do command -v $tool >/dev/null || { echo "missing $tool (scripts/setup.sh)" >&2; exit 1; }; done

tmp=$(mktemp -d)
pids=()
source perf/proxy/common.sh
trap cleanup EXIT

# --- static backend -------------------------------------------------------------------
start_static_backend "$chat_reply"

# --- proxies --------------------------------------------------------------------------
start_peer_proxies

rg_port=$(start_listening rg "$ringgate" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 \
  --endpoint 127.0.0.1:$backend_port --model $model --max-body-bytes 16777216)
rg_pid=$(cat "$tmp/rg.pid")
base_port=
if [ -n "${BASE:-}" ]; then
  base_port=$(start_listening base "$BASE" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 \
    --endpoint 127.0.0.1:$backend_port --model $model --max-body-bytes 16777216)
  base_pid=$(cat "$tmp/base.pid")
fi
wait_port "$nginx_port"
wait_port "$haproxy_port"

# --- load: each request a distinct chat prompt of PROMPT_BYTES --------------------------
if [ "${TEXT:-random}" = repo ]; then
  # Prose and code (this repository's text), JSON-escaped: a newline or a quote every
  # few dozen bytes, some non-ASCII, as real prompts are.
  python3 - "$tmp/filler" <<'PYEOF'
import json, pathlib, sys
text = ""
for p in sorted(pathlib.Path(".").glob("*.md")) + sorted(pathlib.Path("src").rglob("*.cpp")):
    text += p.read_text(errors="replace") + "\n"
    if len(text.encode()) >= 409600: break
escaped = json.dumps(text.encode()[:409600].decode(errors="ignore"), ensure_ascii=False)[1:-1]
pathlib.Path(sys.argv[1]).write_bytes(escaped.encode()[:409600].decode(errors="ignore").rstrip("\\").encode())
PYEOF
else
  head -c 307200 /dev/urandom | base64 -w0 >"$tmp/filler"  # 409600 bytes
fi
cat >"$tmp/chat.lua" <<'EOF'
local f = io.open(os.getenv("FILLER"), "rb")
local filler = f:read("*a"):sub(1, tonumber(os.getenv("PROMPT_BYTES")))
f:close()
-- TEXT=repo: no character or escape cut in two at the end
filler = filler:gsub("[\128-\255]+$", "")
if #filler:match("\\*$") % 2 == 1 then filler = filler:sub(1, -2) end
local stream = os.getenv("STREAM") == "1" and ',"stream":true' or ''
local n = 0
local tag = tostring(math.random(1, 1000000000))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local body = '{"model":"facebook/opt-125m","messages":[{"role":"system","content":"' .. tag .. '-' .. n ..
    ' ' .. filler .. '"},{"role":"user","content":"Summarise."}],"max_tokens":1' .. stream .. '}'
  return wrk.format(nil, "/v1/chat/completions", nil, body)
end
EOF

# run NAME PORT PROMPT_BYTES CONNECTIONS STREAM PROXY_PID ("-" for none)
run() {
  local name=$1 port=$2 bytes=$3 conns=$4 stream=$5 proxy_pid=$6 out
  export FILLER=$tmp/filler PROMPT_BYTES=$bytes STREAM=$stream
  wrk -t1 -c"$conns" -d2s -s "$tmp/chat.lua" "http://127.0.0.1:$port/" >/dev/null 2>&1 || true  # warm-up
  local p0=0 p1=0 perf_pid=
  [ "$proxy_pid" = - ] || p0=$(cpu_ticks "$proxy_pid")
  if [ "${PROFILE:-0}" = 1 ] && [ "$proxy_pid" = "$profiled_pid" ] && [ "$bytes" = "${PROFILE_BYTES:-204800}" ] && [ "$stream" = "${PROFILE_STREAM:-0}" ]; then
    perf record -F 2999 ${PERF_CALLGRAPH:--g} -o "$tmp/perf.data" -p "$(proc_tree "$proxy_pid" | paste -sd,)" >/dev/null 2>"$tmp/perf.err" &
    perf_pid=$!
  fi
  out=$(wrk -t1 -c"$conns" -d"$duration" --latency -s "$tmp/chat.lua" "http://127.0.0.1:$port/")
  [ "$proxy_pid" = - ] || p1=$(cpu_ticks "$proxy_pid")
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
  local rps p50 p99 errors requests proxy_us
  read -r rps requests p50 p99 errors < <(wrk_report "$out")
  if [ "$proxy_pid" = - ]; then proxy_us=-; else proxy_us=$(per_request_us $((p1 - p0)) "$requests"); fi
  printf '%-26s %9s %9s %9s %14s   %s\n' "$name" "$rps" "$p50" "$p99" "$proxy_us" "$errors"
  echo "$name $rps $(to_us "$p50") $(to_us "$p99") $proxy_us" >>"$tmp/results"
}

rounds=${ROUNDS:-1}
case ${PROFILE_PROXY:-ringgate} in
  ringgate) profiled_pid=$rg_pid ;;
  nginx) profiled_pid=$nginx_pid ;;
  haproxy) profiled_pid=$haproxy_pid ;;
  *) echo "PROFILE_PROXY: ringgate, nginx or haproxy" >&2; exit 1 ;;
esac
echo "backend: nginx returning a fixed chat completion; distinct chat prompts; wrk -t1 -d$duration; $(nproc) cores (shared); $rounds round(s)"
# NAME PORT PROMPT_BYTES CONNECTIONS STREAM PROXY_PID, one case per line.
cases=$(
  for size in ${SIZES:-204800 409600}; do
    label=$((size / 1024))KB
    echo "direct-$label $backend_port $size 16 0 -"
    echo "ringgate-1w-$label $rg_port $size 16 0 $rg_pid"
    [ -z "$base_port" ] || echo "ringgate-base-$label $base_port $size 16 0 $base_pid"
    echo "nginx-1w-$label $nginx_port $size 16 0 $nginx_pid"
    echo "haproxy-1t-$label $haproxy_port $size 16 0 $haproxy_pid"
  done
  if [ "${STREAM_CASE:-1}" = 1 ]; then
    echo "direct-400KB-stream-c64 $backend_port 409600 64 1 -"
    echo "ringgate-400KB-stream-c64 $rg_port 409600 64 1 $rg_pid"
    [ -z "$base_port" ] || echo "ringgate-base-400KB-stream-c64 $base_port 409600 64 1 $base_pid"
    echo "nginx-400KB-stream-c64 $nginx_port 409600 64 1 $nginx_pid"
    echo "haproxy-400KB-stream-c64 $haproxy_port 409600 64 1 $haproxy_pid"
  fi)
# fresh_runs: FRESH short 200 KB runs (wrk -c16, FRESH_DURATION), each against a gateway
# started for it (no warm-up: a stall of a young gateway's first seconds shows), beside
# HAProxy (1 thread, also restarted per run) in front of the same backend; a line per
# run (p99 and wrk's max latency, µs) and the max of each over the runs.
fresh_runs() {
  local n=$1 i out rps requests p50 p99 errors max port name
  export FILLER=$tmp/filler PROMPT_BYTES=204800 STREAM=0
  echo
  echo "fresh gateways: $n runs of wrk -c16 -d${FRESH_DURATION:-2s}, 200 KB prompts, each against a just-started ringgate and HAProxy (us)"
  : >"$tmp/fresh"
  for ((i = 1; i <= n; i++)); do
    port=$(start_listening "fresh-rg-$i" "$ringgate" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 \
      --endpoint 127.0.0.1:$backend_port --model $model --max-body-bytes 16777216)
    start_haproxy "fresh-ha-$i"
    wait_port "$haproxy_port"
    for name in ringgate haproxy; do
      [ $name = ringgate ] || port=$haproxy_port
      out=$(wrk -t1 -c16 -d"${FRESH_DURATION:-2s}" --latency -s "$tmp/chat.lua" "http://127.0.0.1:$port/")
      read -r rps requests p50 p99 errors < <(wrk_report "$out")
      max=$(awk '$1 == "Latency" { print $4; exit }' <<<"$out")
      echo "$name $i $(to_us "$p99") $(to_us "$max") $errors" | tee -a "$tmp/fresh" |
        awk '{ printf "  %-9s run %2d  p99 %8s  max %8s  %s  load %s\n", $1, $2, $3, $4, $5, load }' load="$(cut -d' ' -f1 /proc/loadavg)"
    done
    kill "$(cat "$tmp/fresh-rg-$i.pid")" "$haproxy_pid" 2>/dev/null || true
    wait "$haproxy_pid" 2>/dev/null || true
    tail --pid="$(cat "$tmp/fresh-rg-$i.pid")" -f /dev/null 2>/dev/null || true
    rm "$tmp/fresh-rg-$i.pid"  # stopped: not for cleanup to signal again
    local kept=() p
    for p in "${pids[@]}"; do [ "$p" = "$haproxy_pid" ] || kept+=("$p"); done
    pids=("${kept[@]}")
  done
  awk '{ if ($3 > p[$1]) p[$1] = $3; if ($4 > m[$1]) m[$1] = $4 }
    END { printf "max over %d fresh runs: p99 ringgate %d us, haproxy %d us (%.2fx); max latency ringgate %d us, haproxy %d us\n",
            n, p["ringgate"], p["haproxy"], p["haproxy"] ? p["ringgate"] / p["haproxy"] : 0, m["ringgate"], m["haproxy"] }' n="$n" "$tmp/fresh"
}

if [ "${FRESH_ONLY:-0}" = 1 ]; then
  fresh_runs "${FRESH:-10}"
  exit 0
fi
printf '%-26s %9s %9s %9s %14s   %s\n' case "req/s" p50 p99 "proxy-cpu/req" errors
run_rounds "$rounds" run <<<"$cases"

echo
for size in 200KB 400KB; do
  [ -n "$(field ringgate-1w-$size 5)" ] || continue
  rg_cpu=$(field ringgate-1w-$size 5); ha_cpu=$(field haproxy-1t-$size 5); ng_cpu=$(field nginx-1w-$size 5)
  rg_p99=$(field ringgate-1w-$size 4); best_p99=$(awk -v a="$(field nginx-1w-$size 4)" -v b="$(field haproxy-1t-$size 4)" 'BEGIN { print (a + 0 < b + 0) ? a : b }')
  echo "$size: cpu/req ringgate $rg_cpu us${BASE:+ (base $(field ringgate-base-$size 5) us)}, haproxy $ha_cpu us, nginx $ng_cpu us;" \
    "p99 ringgate $rg_p99 us${BASE:+ (base $(field ringgate-base-$size 4) us)}, best peer $best_p99 us"
done
for proxy in ringgate ${BASE:+ringgate-base} nginx haproxy; do
  [ "${STREAM_CASE:-1}" = 1 ] || break
  awk -v p="$proxy" -v d50="$(field direct-400KB-stream-c64 3)" -v d99="$(field direct-400KB-stream-c64 4)" \
    -v x50="$(field $proxy-400KB-stream-c64 3)" -v x99="$(field $proxy-400KB-stream-c64 4)" \
    'BEGIN { printf "added TTFB, 400 KB streamed prompts, 64 clients, %-13s p50 %+.0f us, p99 %+.0f us\n", p, x50 - d50, x99 - d99 }'
done
if [ -f "$tmp/perf.data" ]; then
  echo
  echo "${PROFILE_PROXY:-ringgate}, profiled run: top frames (self %)"
  [ -z "${PERF_OUT:-}" ] || cp "$tmp/perf.data" "$PERF_OUT"
  perf report -i "$tmp/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' |
    sed 's/ \{8,\}-  *- *$//' | head -25 || true
fi
[ "${FRESH:-10}" = 0 ] || fresh_runs "${FRESH:-10}"
