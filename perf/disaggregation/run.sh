#!/usr/bin/env bash
# Prefill/decode disaggregation benchmark (issue 31): the same mixed traffic (20% ~8k-token
# uncached prompts, 80% short chats, all streamed) at the same rate against 4 ringgate-sims
# behind ringgate, split 2 prefill / 2 decode and then all `both`. Prints one table, also
# written to perf/results/. Options: perf/disaggregation/run.sh --help
#
#   RINGGATE_BUILD_DIR   build dir with the binaries (default: build-perf)
#   NO_BUILD=1           skip `ninja -C $RINGGATE_BUILD_DIR`
#   RATE, DURATION, SEED defaults of --rate (req/s), --duration (s per setup), --seed
set -euo pipefail
source "$(dirname "$0")/../lib/run_node_bench.sh"
run_node_bench perf/disaggregation/bench.mjs "$@"
