#!/usr/bin/env bash
# Shared rate limits (issue 33): three ringgate replicas behind HAProxy TCP round robin,
# one tenant budget, pinned or spread, with and without Redis (sharedState), and Redis
# SIGKILLed mid-minute. About 6 min (one Redis minute a scenario). Table also in
# perf/results/. Options: perf/shared_limits/run.sh --help
#
#   RINGGATE_BUILD_DIR   build dir with the binaries (default: build-perf)
#   NO_BUILD=1           skip `ninja -C $RINGGATE_BUILD_DIR`
set -euo pipefail
source "$(dirname "$0")/../lib/run_node_bench.sh"
run_node_bench perf/shared_limits/run.mjs "$@"
