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
source "$(dirname "$0")/../lib/run_node_bench.sh"
run_node_bench perf/routing/compare.mjs "$@"
