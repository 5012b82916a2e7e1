#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite:
# unit + integration tests on the optimized build (the proxy and failover suites
# also on the epoll backend and under a seccomp filter that refuses io_uring),
# unit + integration tests again under ASan+UBSan, and a short libFuzzer run of
# every parser (one test per target).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
source scripts/sanitized_build.sh

jobs=$(nproc)
# Tests run 2 x nproc at a time: an integration test spends most of its time waiting
# on the gateway's timeouts (a quarter of 2 cores busy when they ran one at a time),
# and each starts its own processes on ephemeral loopback ports.
test_processes=$((2 * jobs))
# One line per stage with the seconds it took: CI's budget is kept by reading these.
stage_start=0
stage_done() { echo "[run-tests] $1: $((SECONDS - stage_start)) s (total $SECONDS s)"; stage_start=$SECONDS; }
build() {  # build DIR: quiet unless it fails
  local log; log=$(mktemp)
  ninja -C "$1" -j "$jobs" >"$log" 2>&1 || { tail -60 "$log"; exit 1; }
  rm -f "$log"
}

status=0
stage_done setup
configure build
build build
stage_done 'optimized build'
# The style of every line changed since the last passing CI (.ci/style-base): clang-format,
# clang-tidy's naming, 120 columns; one result in the closing count.
if ./scripts/check_style.sh; then echo "style OK" >build/style-result.txt
else echo "style FAIL" >build/style-result.txt; status=1; fi
stage_done style
# Every suite, including 'integration-epoll' and 'integration-seccomp' (issue 11: the
# proxy and failover suites again on the epoll backend, and under a seccomp filter
# that refuses io_uring (tests/support/no_io_uring), where `--io-backend auto` must
# serve through epoll).
meson test -C build --no-rebuild --print-errorlogs --num-processes "$test_processes" || status=1
stage_done 'optimized tests'

# ---- [tests] sanitizers: the suite (unit + integration) again under ASan+UBSan ----
# Every ringgate / watch_probe the integration tests start is the sanitized build; the
# first report ends that process (halt_on_error) and tests/lib/procs.mjs fails the test
# file that saw it. The sims behind the gateway are the optimized build's: under the
# sanitizers they took two thirds of these tests' CPU (hub_routing: 107 of 171 CPU-s),
# and CI's time is CPU-bound. The sim's own suite (tests/sim) still runs the sanitized
# sim: its meson.build sets RINGGATE_SIM_BIN to its build's.
configure_sanitized
build "$sanitized_dir"
stage_done 'sanitized build'
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1:exitcode=86
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=86
# The binaries run ~3x slower here: the tests' waits stretch by as much, and their
# scheduling-quality bounds are reported, not asserted (tests/lib/timing.mjs).
export RINGGATE_TEST_TIME_SCALE=3
export RINGGATE_SIM_BIN=$PWD/build/src/sim/ringgate-sim
# One file fewer at once than the optimized stage: at 2 x nproc a slow runner starved the
# sanitized sims past their health checks (one CI run: 4 files failed on 503s and short
# counts, the CPU pressure's 5-minute average at 66%). With the optimized sims, 4 at once
# took as long as 3 (554 s against 550 s, the CPU saturated), and one unit test timed out.
meson test -C "$sanitized_dir" --no-rebuild --print-errorlogs --num-processes "$((test_processes - 1))" \
  --timeout-multiplier "$RINGGATE_TEST_TIME_SCALE" --no-suite integration-epoll --no-suite integration-seccomp || status=1
unset ASAN_OPTIONS UBSAN_OPTIONS RINGGATE_TEST_TIME_SCALE RINGGATE_SIM_BIN
stage_done 'sanitized tests'
# ---- [tests] end sanitizers ----

# ---- [tests] fuzzing: each target is one test in the closing count ----
rm -f "$sanitized_dir/fuzz-results.txt"
./scripts/fuzz.sh --ci || status=1
stage_done fuzzing
# ---- [tests] end fuzzing ----

# One closing line for every suite run above (meson's SKIP is exit code 77), after the name of
# each test that failed: CI shows only the log's tail, and a flaky test's name was lost there.
python3 - build/meson-logs/testlog.json "$sanitized_dir/meson-logs/testlog.json" \
  "$sanitized_dir/fuzz-results.txt" build/style-result.txt <<'PY'
import json, os, sys
ok = skip = 0
failed = []
for stage, path in (("optimized", sys.argv[1]), ("sanitized", sys.argv[2])):
    for line in open(path):
        r = json.loads(line)
        if r["result"] in ("OK", "EXPECTEDFAIL"): ok += 1
        elif r["result"] == "SKIP": skip += 1
        else: failed.append(f"{stage}: {r['name']} ({r['result']})")
def results(stage, path):  # lines of "name ... RESULT"
    global ok
    for line in open(path):
        if line.split()[-1] == "OK": ok += 1
        else: failed.append(f"{stage}: {line.strip()}")
fuzz = sys.argv[3]
if os.path.exists(fuzz) and os.path.getsize(fuzz) > 0:
    results("fuzzing", fuzz)
else:  # fuzzing did not run or reported nothing: that is a failure, not a silent pass
    failed.append("fuzzing: no results")
results("style", sys.argv[4])
for name in failed:
    print(f"[run-tests] FAILED {name}")
print(f"{ok} passed, {len(failed)} failed, {skip} skipped")
PY
exit $status
