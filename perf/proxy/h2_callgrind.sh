#!/usr/bin/env bash
# Instructions a request of ringgate's worker thread under callgrind (user space only), for
# h2.sh's cases: the load-independent check beside its /proc CPU figures, which move ±15%
# a run on shared cores. ringgate runs on the epoll backend (valgrind does not follow
# io_uring), 1 worker, in front of a ringgate-sim with no token latency; h2load drives it
# as h2.sh does, after a warm-up; the counters are zeroed before the measured run and
# dumped after it. Under valgrind the proxy is ~50x slower, so its reads are larger than
# at full speed (whole streams at once), and libc's memcpy counts about an instruction a
# byte (rep movsb): copies weigh more here than in a CPU profile. Not a test.
#
#   perf/proxy/h2_callgrind.sh [BUILD_DIR]      (default: build)
#   env: CASES="sse small wide"  N=400 (requests a measured run; small and wide: 10x)
#        CACHE_SIM=1 (callgrind's cache model too: the worker's first-level and last-level data
#        misses a request beside its instructions; the machine's own counters are not exposed
#        in this VM)
#        RINGGATE=PATH (another ringgate binary, e.g. a build of main)  KEEP=DIR (keeps the
#        callgrind.out files there: callgrind_annotate --inclusive=yes FILE)
#
# Everything it starts listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
model=facebook/opt-125m
ringgate=${RINGGATE:-$build/src/gateway/ringgate}
sim=$build/src/sim/ringgate-sim
for bin in "$ringgate" "$sim"; do [ -x "$bin" ] || { echo "missing $bin: build first" >&2; exit 1; }; done
for tool in h2load valgrind callgrind_control callgrind_annotate; do
  command -v $tool >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
tmp=$(mktemp -d)
pids=()
source perf/proxy/common.sh
trap cleanup EXIT

backend_port=$(start_h2_backend)
write_h2_bodies

# valgrind takes longer to start than start_listening's default 10 s.
cache_sim=()
[ -z "${CACHE_SIM:-}" ] || cache_sim=(--cache-sim=yes)
rg_port=$(START_TRIES=600 start_listening rg valgrind --tool=callgrind "${cache_sim[@]}" --callgrind-out-file="$tmp/callgrind.out.%p" \
  "$ringgate" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --workers 1 --endpoint 127.0.0.1:$backend_port --model $model \
  --io-backend epoll)
rg_pid=$(cat "$tmp/rg.pid")

printf '%-6s %9s %14s%s\n' case requests worker-Ir/req "${CACHE_SIM:+ D1-miss/req LL-miss/req}"
for c in ${CASES:-sse small wide}; do
  case $c in
    sse) body=sse; args=(-c1 -m16); n=${N:-400} ;;
    small) body=small; args=(-c1 -m100); n=$((${N:-400} * 10)) ;;
    wide) body=small; args=(-c10 -m100); n=$((${N:-400} * 10)) ;;
    *) echo "CASES: sse, small and/or wide" >&2; exit 1 ;;
  esac
  load() { h2load -n "$1" "${args[@]}" -d "$tmp/$body.json" -H 'content-type: application/json' \
             "http://127.0.0.1:$rg_port/v1/completions"; }
  load $((4 * ${args[0]#-c} * ${args[1]#-m})) >/dev/null
  callgrind_control -z "$rg_pid" >/dev/null 2>&1
  out=$(load "$n")
  callgrind_control -d "$rg_pid" >/dev/null 2>&1
  ok=$(awk '/^requests:/ { print $8 }' <<<"$out")
  file=$(ls -t "$tmp"/callgrind.out."$rg_pid".* | head -1)
  # The worker thread's counts: Worker::run inclusive (the control thread's polls are not the
  # request's). Its columns are callgrind's events in order: Ir, and with the cache model
  # Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw (data misses: reads and writes at each level).
  read -r -a counts < <(callgrind_annotate --inclusive=yes --threshold=100 "$file" 2>/dev/null |
    awk '/Worker::run\(\)/ { gsub(/\([^)]*\)/, ""); gsub(/,/, ""); print; exit }')
  worker=${counts[0]:-}
  misses=""
  [ -z "${CACHE_SIM:-}" ] || misses=$(awk -v n="$ok" -v d1=$((counts[4] + counts[5])) -v dl=$((counts[7] + counts[8])) \
    'BEGIN { printf " %11.1f %11.1f", d1 / n, dl / n }')
  printf '%-6s %9s %14s%s\n' "$c" "$ok" "$(awk -v w="$worker" -v n="$ok" 'BEGIN { if (n > 0) printf "%.0f", w / n }')" "$misses"
  [ -z "${KEEP:-}" ] || cp "$file" "$KEEP/callgrind.out.$c"
done
