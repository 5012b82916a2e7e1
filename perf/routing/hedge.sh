#!/usr/bin/env bash
# Hedged prefill benchmark (issue 35): 4 sims, one slowed 10x mid-run, tight-SLO requests'
# TTFT behind ringgate's SLO-aware pick without and with hedging, and the extra load it
# added. Prints one table, also written to perf/results/. perf/routing/hedge.sh --help
#
#   RINGGATE_BUILD_DIR   build dir with the binaries (default: build-perf)
#   NO_BUILD=1           skip `ninja -C $RINGGATE_BUILD_DIR`
set -euo pipefail
source "$(dirname "$0")/../lib/run_node_bench.sh"
run_node_bench perf/routing/hedge.mjs "$@"
