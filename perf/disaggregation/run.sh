#!/usr/bin/env bash
# Prefill/decode disaggregation benchmark (issue 31): the same mixed traffic (20% ~8k-token
# uncached prompts, 80% short chats, all streamed) at the same rate against 4 ringgate-sims
# behind ringgate, split 2 prefill / 2 decode and then all `both`. Prints one table, also
# written to perf/results/. Options: perf/disaggregation/run.sh --help
#
#   RINGGATE_BUILD_DIR   build dir with the binaries (default: build-perf)
#   NO_BUILD=1           skip `ninja -C $RINGGATE_BUILD_DIR`
#   RATE, DURATION, SEED defaults of --rate (req/s), --duration (s per setup), --seed
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export RINGGATE_BUILD_DIR=${RINGGATE_BUILD_DIR:-$root/build-perf}
if [[ "${NO_BUILD:-0}" != 1 && " $* " != *" --help "* ]]; then
  [[ -d $RINGGATE_BUILD_DIR ]] || meson setup "$RINGGATE_BUILD_DIR" "$root" --buildtype=release >/dev/null
  ninja -C "$RINGGATE_BUILD_DIR" -j2 src/sim/ringgate-sim src/gateway/ringgate >/dev/null || { echo "build failed in $RINGGATE_BUILD_DIR (someone's code may be mid-change; retry later or NO_BUILD=1)" >&2; exit 1; }
fi
# Node kills every process it started when it exits (also on Ctrl-C / error).
exec node "$root/perf/disaggregation/bench.mjs" "$@"
