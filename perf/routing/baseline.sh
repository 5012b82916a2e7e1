#!/usr/bin/env bash
# llm-d's optimized baseline against ringgate's default (issue 52): ringgate (defaults),
# ringgate with llm-d's optimized-baseline EndpointPickerConfig, nginx round-robin and
# HAProxy leastconn, on workloads A, C, L (llm-d's benchmark shape) and H (llm-d's headline regime,
# issue 65: k8s-service, ringgate-precise and llm-d-precise rows too; M, CONTROL and DOE, its
# other profiles) at several loads per seed. Prints one table per workload, also written to perf/results/.
# perf/routing/baseline.sh --help
#
#   RINGGATE_BUILD_DIR   build dir with the binaries (default: build-perf)
#   NO_BUILD=1           skip `ninja -C $RINGGATE_BUILD_DIR`
set -euo pipefail
source "$(dirname "$0")/../lib/run_node_bench.sh"
run_node_bench perf/routing/baseline.mjs "$@"
