#!/usr/bin/env bash
# perf/epp's benchmark-only dependency: grpc++ (Debian 12's libgrpc++-dev, 1.51), for
# build/perf/epp_bench (a grpc++ ext-proc client, as Envoy's google_grpc client) and
# build/perf/ext_proc_floor (grpc++'s no-work server: the floor decision.py compares
# against). ringgate itself serves gRPC on its own HTTP/2 layer and does not need it.
# Idempotent; run as root; then reconfigure the build so that meson finds grpc++.
set -euo pipefail
cd "$(dirname "$0")/../.."
dpkg-query -W -f='${Status}' libgrpc++-dev 2>/dev/null | grep -q '^install ok installed' ||
  { apt-get update && apt-get install -y --no-install-recommends libgrpc++-dev; }
build=${1:-build}
meson setup --reconfigure "$build" >/dev/null
ninja -C "$build" perf/epp_bench perf/ext_proc_floor
