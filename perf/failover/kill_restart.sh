#!/usr/bin/env bash
# Issue 6 acceptance 1: 3 sims behind ringgate, 100 req/s of streaming + non-streaming
# for 30 s; one sim SIGKILLed at 10 s and restarted on its port at 20 s, then the same
# with SIGTERM. Prints counts and PASS/FAIL per criterion; exit 0 only if all pass
# (1 = some criterion failed, 2 = the run itself failed). Options: --help
#
#   RINGGATE_BUILD_DIR  build dir with the binaries (default: build-perf)
#   NO_BUILD=1          skip `ninja -C $RINGGATE_BUILD_DIR`
set -euo pipefail
source "$(dirname "$0")/../lib/run_node_bench.sh"
run_node_bench perf/failover/kill_restart.mjs "$@"
