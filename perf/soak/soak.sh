#!/usr/bin/env bash
# Soak (issue 12, not CI): 10 minutes of mixed traffic through ringgate in front of 3
# ringgate-sim servers — streaming and not, client cancels, malformed requests, slow
# clients, sim restarts (SIGKILL + restart every 60 s), config reloads (every 30 s,
# SIGHUP or file change) — with the gateway's RSS sampled every 10 s. Prints the RSS
# series, the outcome counts and the unexpected errors; exit 0 when RSS is flat after
# warm-up (last sample within 20% + 8 MB of the 1-minute sample) and nothing unexpected
# happened, 1 otherwise, 2 if the run itself failed.
#
#   SOAK_SECONDS        run length (default 600)
#   RINGGATE_BUILD_DIR  build dir with the binaries (default: build)
#   NO_BUILD=1          skip `ninja -C $RINGGATE_BUILD_DIR`
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export RINGGATE_BUILD_DIR=${RINGGATE_BUILD_DIR:-$root/build}
if [[ "${NO_BUILD:-0}" != 1 ]]; then
  ninja -C "$RINGGATE_BUILD_DIR" -j2 src/sim/ringgate-sim src/gateway/ringgate >/dev/null || { echo "build failed in $RINGGATE_BUILD_DIR" >&2; exit 2; }
fi
# Node kills every process it started when it exits (also on Ctrl-C / error).
exec node "$root/perf/soak/soak.mjs" "$@"
