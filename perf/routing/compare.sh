#!/usr/bin/env bash
# Routing-quality benchmark (issue 4): ringgate (defaults), ringgate (prefix scorer off),
# nginx round-robin and HAProxy leastconn in front of the same ringgate-sim pool, on a
# shared-prefix workload (A) and a no-sharing one (B). Prints one table, also written to
# perf/results/. Options: perf/routing/compare.sh --help
#
#   RINGGATE_BUILD_DIR   build dir with the binaries (default: build-perf)
#   NO_BUILD=1           skip `ninja -C $RINGGATE_BUILD_DIR`
#   RINGGATE_NOPREFIX_ARGS  ringgate flags that switch the prefix scorer off
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export RINGGATE_BUILD_DIR=${RINGGATE_BUILD_DIR:-$root/build-perf}
if [[ "${NO_BUILD:-0}" != 1 && " $* " != *" --help "* ]]; then
  [[ -d $RINGGATE_BUILD_DIR ]] || meson setup "$RINGGATE_BUILD_DIR" "$root" >/dev/null
  ninja -C "$RINGGATE_BUILD_DIR" -j2 src/sim/ringgate-sim src/gateway/ringgate >/dev/null || { echo "build failed in $RINGGATE_BUILD_DIR (someone's code may be mid-change; retry later or NO_BUILD=1)" >&2; exit 1; }
fi
# Node kills every process it started when it exits (also on Ctrl-C / error).
exec node "$root/perf/routing/compare.mjs" "$@"
