#!/usr/bin/env bash
# Issue 6 acceptance 1: 3 sims behind ringgate, 100 req/s of streaming + non-streaming
# for 30 s; one sim SIGKILLed at 10 s and restarted on its port at 20 s, then the same
# with SIGTERM. Prints counts and PASS/FAIL per criterion; exit 0 only if all pass
# (1 = some criterion failed, 2 = the run itself failed). Options: --help
#
#   RINGGATE_BUILD_DIR  build dir with the binaries (default: build-perf)
#   NO_BUILD=1          skip `ninja -C $RINGGATE_BUILD_DIR`
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export RINGGATE_BUILD_DIR=${RINGGATE_BUILD_DIR:-$root/build-perf}
if [[ "${NO_BUILD:-0}" != 1 && " $* " != *" --help "* ]]; then
  [[ -d $RINGGATE_BUILD_DIR ]] || meson setup "$RINGGATE_BUILD_DIR" "$root" >/dev/null
  ninja -C "$RINGGATE_BUILD_DIR" -j2 src/sim/ringgate-sim src/gateway/ringgate >/dev/null || { echo "build failed in $RINGGATE_BUILD_DIR (someone's code may be mid-change; retry later or NO_BUILD=1)" >&2; exit 2; }
fi
# Node kills every process it started when it exits (also on Ctrl-C / error).
exec node "$root/perf/failover/kill_restart.mjs" "$@"
