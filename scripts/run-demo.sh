#!/usr/bin/env bash
# Installs what is missing, builds, and runs the gateway on :8080 (admin :9090) in
# front of three ringgate-sim servers that it starts and stops itself.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
exec ./build/src/gateway/ringgate --demo 3 "$@"
