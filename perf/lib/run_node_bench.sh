# Sourced by the node benchmarks' wrappers (perf/*/*.sh): builds the gateway and the sim
# in $RINGGATE_BUILD_DIR (default build-perf, a release build made on first use) unless
# NO_BUILD=1 or --help is asked, then runs the benchmark's script with the same arguments.
# Node kills every process it started when it exits (also on Ctrl-C / error).
# A build that fails exits 2, "the run itself failed", as a benchmark that cannot run.
#   run_node_bench perf/routing/compare.mjs "$@"
run_node_bench() {
  local script=$1; shift
  local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  export RINGGATE_BUILD_DIR=${RINGGATE_BUILD_DIR:-$root/build-perf}
  if [[ "${NO_BUILD:-0}" != 1 && " $* " != *" --help "* ]]; then
    [[ -d $RINGGATE_BUILD_DIR ]] || meson setup "$RINGGATE_BUILD_DIR" "$root" --buildtype=release >/dev/null
    ninja -C "$RINGGATE_BUILD_DIR" -j2 src/sim/ringgate-sim src/gateway/ringgate >/dev/null || {
      echo "build failed in $RINGGATE_BUILD_DIR (someone's code may be mid-change; retry later or NO_BUILD=1)" >&2
      exit 2
    }
  fi
  exec node "$root/$script" "$@"
}
