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
source "$(dirname "$0")/../lib/run_node_bench.sh"
run_node_bench perf/routing/slo.mjs "$@"
