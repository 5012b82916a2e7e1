#!/usr/bin/env bash
# Shared rate limits (issue 33): three ringgate replicas behind HAProxy TCP round robin,
# one tenant budget, pinned or spread, with and without Redis (sharedState), and Redis
# SIGKILLed mid-minute. About 6 min (one Redis minute a scenario). Table also in
# perf/results/. Options: perf/shared_limits/run.sh --help
#
#   RINGGATE_BUILD_DIR   build dir with the binaries (default: build-perf)
#   NO_BUILD=1           skip `ninja -C $RINGGATE_BUILD_DIR`
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export RINGGATE_BUILD_DIR=${RINGGATE_BUILD_DIR:-$root/build-perf}
if [[ "${NO_BUILD:-0}" != 1 && " $* " != *" --help "* ]]; then
  [[ -d $RINGGATE_BUILD_DIR ]] || meson setup "$RINGGATE_BUILD_DIR" "$root" >/dev/null
  ninja -C "$RINGGATE_BUILD_DIR" -j2 src/sim/ringgate-sim src/gateway/ringgate >/dev/null || { echo "build failed in $RINGGATE_BUILD_DIR (someone's code may be mid-change; retry later or NO_BUILD=1)" >&2; exit 1; }
fi
# Node kills every process it started when it exits (also on Ctrl-C / error).
exec node "$root/perf/shared_limits/run.mjs" "$@"
