#!/usr/bin/env bash
# SLO-aware routing benchmark (issue 35): a mixed pool (2 sims at --speed 1, 2 at 0.4),
# shared-prefix chats with TTFT / TPOT objectives at 70% and 90% of the pool's capacity,
# behind ringgate (defaults, SLO headers, latency scorer), HAProxy leastconn and nginx
# round-robin. Prints one table, also written to perf/results/. perf/routing/slo.sh --help
#
#   RINGGATE_BUILD_DIR   build dir with the binaries (default: build-perf)
#   NO_BUILD=1           skip `ninja -C $RINGGATE_BUILD_DIR`
#   RINGGATE_SLO_ARGS    extra ringgate flags for the ringgate-slo row
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export RINGGATE_BUILD_DIR=${RINGGATE_BUILD_DIR:-$root/build-perf}
if [[ "${NO_BUILD:-0}" != 1 && " $* " != *" --help "* ]]; then
  [[ -d $RINGGATE_BUILD_DIR ]] || meson setup "$RINGGATE_BUILD_DIR" "$root" >/dev/null
  ninja -C "$RINGGATE_BUILD_DIR" -j2 src/sim/ringgate-sim src/gateway/ringgate >/dev/null || { echo "build failed in $RINGGATE_BUILD_DIR (someone's code may be mid-change; retry later or NO_BUILD=1)" >&2; exit 1; }
fi
# Node kills every process it started when it exits (also on Ctrl-C / error).
exec node "$root/perf/routing/slo.mjs" "$@"
