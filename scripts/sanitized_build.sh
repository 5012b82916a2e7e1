# Sourced by run-tests.sh and fuzz.sh: the one sanitized build both use.
# clang, ASan+UBSan, and the parsers' objects instrumented for libFuzzer's coverage
# (-fsanitize=fuzzer-no-link, limited to scripts/fuzz_coverage.allowlist), so the suite
# runs under the sanitizers in it and the fuzz_* targets link from the same objects: one
# clang build in CI, not two.
# (g++ -O2 -g with ASan+UBSan took ~16 of CI's 46 minutes on 2 cores; clang takes a
# quarter of that.) Only fuzz_* link libFuzzer's main (-fsanitize=fuzzer).
sanitized_dir=build-asan
sanitized_options=(-Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=disabled
  -Dmimalloc=disabled -Dfuzzers=true
  "-Dc_args=-fsanitize=fuzzer-no-link -fsanitize-coverage-allowlist=$PWD/scripts/fuzz_coverage.allowlist"
  "-Dcpp_args=-fsanitize=fuzzer-no-link -fsanitize-coverage-allowlist=$PWD/scripts/fuzz_coverage.allowlist")

configure() {  # configure DIR [meson options...]: fresh or reconfigured, never stale
  local dir=$1; shift
  local log; log=$(mktemp)
  # A new build dir links with lld: a third of bfd's time on the ~170 test binaries (an ASan
  # test binary: 1.7 s with bfd, 0.5 s with lld). A dir made before keeps its linker.
  if [ -f "$dir/build.ninja" ]; then meson setup --reconfigure "$dir" "$@" >"$log" 2>&1 || { cat "$log"; exit 1; }
  else CC_LD=lld CXX_LD=lld meson setup "$dir" "$@" >"$log" 2>&1 || { cat "$log"; exit 1; }; fi
  rm -f "$log"
}

configure_sanitized() {
  # A build dir made by another compiler is started afresh (meson cannot switch it in place).
  if [ -f "$sanitized_dir/build.ninja" ] &&
     ! grep -q '^C++ compiler for the host machine: clang++' "$sanitized_dir/meson-logs/meson-log.txt"; then
    rm -rf "$sanitized_dir"
  fi
  CC=clang CXX=clang++ configure "$sanitized_dir" "${sanitized_options[@]}"
}
