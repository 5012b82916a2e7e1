#!/usr/bin/env bash
# clang-format, clang-tidy (.clang-format, .clang-tidy) and the 120-column limit on the
# C++ lines changed since a base: by default the last commit whose CI passed, recorded in
# .ci/style-base (a session's first commit records the commit it started from: a
# round of many commits is checked whole, not its last commit only), else HEAD's first
# parent; or the commit named in $1. Lines nobody touched are left to rename-only commits
# (CONTRIBUTING.md). Needs a configured build dir for the compile commands ($2, default
# build). Prints what it finds; exits 1 if anything is found.
set -euo pipefail
cd "$(dirname "$0")/.."
recorded=$(cat .ci/style-base 2>/dev/null || true)
if [ -n "$recorded" ] && git merge-base --is-ancestor "$recorded" HEAD 2>/dev/null; then default_base=$recorded
else default_base=HEAD~1; fi
base=${1:-$default_base}
build_dir=${2:-build}
if ! git rev-parse -q --verify "$base^{commit}" >/dev/null; then
  echo "check_style: no $base to compare with; nothing to check"
  exit 0
fi
diff_cpp() { git diff -U0 --no-color "$base" -- '*.cpp' '*.h' ':!subprojects/*'; }
found=0

format=$(diff_cpp | clang-format-diff-14 -p1 || true)
if [ -n "$format" ]; then
  echo "check_style: clang-format would change these lines (clang-format -i FILE):"
  echo "$format"
  found=1
fi

# The limit where clang-format does not reach (its "off" regions, e.g. config/gateway_schema.h).
long=$(diff_cpp | awk '/^\+\+\+ /{file=substr($0, 7); next} /^@@/{split($3, a, ","); line=substr(a[1], 2); next}
  /^\+/{if (length($0) - 1 > 120) print file ":" line ": " length($0) - 1 " columns"; line++}')
if [ -n "$long" ]; then
  echo "check_style: lines over 120 columns:"
  echo "$long"
  found=1
fi

# clang-tidy-diff reports on the changed lines only (-line-filter) but always exits 0:
# its findings are read from what it prints. A header has no compile command of its own:
# clang-tidy borrows the nearest file's, which may lack include/ (perf/stream_client.cpp's
# did, for proxy/proxy_options.h), so include/ is always on the path.
tidy=$(diff_cpp | python3 /usr/bin/clang-tidy-diff-14.py -p1 -path "$build_dir" -quiet -j "$(nproc)" \
         -iregex '.*\.(cpp|h)' -extra-arg="-I$PWD/include" 2>&1 | grep -E ': (warning|error): ' || true)
if [ -n "$tidy" ]; then
  echo "check_style: clang-tidy on the changed lines:"
  echo "$tidy"
  found=1
fi
[ "$found" = 0 ] && echo "check_style: the changed lines since $base are formatted and named as .clang-format and .clang-tidy say"
exit "$found"
