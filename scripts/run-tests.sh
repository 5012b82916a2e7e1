#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite:
# unit + integration tests on the optimized build, the unit tests again under
# ASan+UBSan, and a short libFuzzer run of every parser.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

jobs=$(nproc)
configure() {  # configure DIR [meson options...]: fresh or reconfigured, never stale
  local dir=$1; shift
  local log; log=$(mktemp)
  if [ -f "$dir/build.ninja" ]; then meson setup --reconfigure "$dir" "$@" >"$log" 2>&1 || { cat "$log"; exit 1; }
  else meson setup "$dir" "$@" >"$log" 2>&1 || { cat "$log"; exit 1; }; fi
  rm -f "$log"
}
build() {  # build DIR: quiet unless it fails
  local log; log=$(mktemp)
  ninja -C "$1" -j "$jobs" >"$log" 2>&1 || { tail -60 "$log"; exit 1; }
  rm -f "$log"
}

status=0
configure build
build build
meson test -C build --no-rebuild --print-errorlogs --num-processes 1 \
  --no-suite integration-epoll --no-suite integration-seccomp || status=1

# --- Issue 11: the proxy and failover integration suites again on the epoll backend
# and under a seccomp filter that refuses io_uring (tests/support/no_io_uring), where
# `--io-backend auto` must serve through epoll. Own log, counted below.
meson test -C build --no-rebuild --print-errorlogs --num-processes 1 --logbase testlog-backends \
  --suite integration-epoll --suite integration-seccomp || status=1
# --- end of the issue 11 block

configure build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=disabled
build build-asan
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --no-rebuild --print-errorlogs --suite unit || status=1

if [ -x scripts/fuzz.sh ]; then ./scripts/fuzz.sh 20 || status=1; fi

# One closing line for every suite run above.
python3 - build/meson-logs/testlog.json build/meson-logs/testlog-backends.json build-asan/meson-logs/testlog.json <<'PY'
import json, sys
ok = bad = skip = 0
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"): ok += 1
        elif r == "SKIP": skip += 1
        else: bad += 1
print(f"{ok} passed, {bad} failed, {skip} skipped")
PY
exit $status
