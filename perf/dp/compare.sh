#!/usr/bin/env bash
# Data-parallel routing benchmark (issue 48): 8 engines as 2 servers of 4 ranks behind one
# port (rank-aware ringgate, or the servers as plain endpoints), as 8 sims, and as 2 pods of
# 4 rank ports with one rank killed mid-run. Prints one table, also written to perf/results/.
# Options: perf/dp/compare.sh --help
#   RINGGATE_BUILD_DIR   build dir with the binaries (default: build-perf)
#   NO_BUILD=1           skip the build
set -euo pipefail
source "$(dirname "$0")/../lib/run_node_bench.sh"
run_node_bench perf/dp/compare.mjs "$@"
