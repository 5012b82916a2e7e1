#!/usr/bin/env bash
# Seeded defects: applies each mutant (tests/mutants/*.mutant) in turn to a scratch
# copy of the committed tree, rebuilds incrementally, runs the tests the mutant names,
# and prints a table: mutant → the first test that caught it (or SURVIVED).
# On demand only (minutes per mutant), not part of scripts/run-tests.sh.
#
#   tests/mutants/run.sh                 every mutant
#   tests/mutants/run.sh 03 retry        only mutants whose file name contains one of these
#   KEEP=1 tests/mutants/run.sh          keep the scratch copy (/tmp/ringgate-mutants.*)
#   IN_PLACE=1 tests/mutants/run.sh      use this tree and its build/ instead of a scratch
#                                        copy (no full build first; needs a clean git state;
#                                        every file is restored and build/ rebuilt at the end)
#
# A mutant file is a few "key: value" lines:
#   file:    src/proxy/worker.cpp            the file to change
#   find:    <one whole line, exactly as in the file, leading spaces included>
#   replace: <the line it becomes>
#   tests:   proxy_upstream_failures sched_prefix_index   (meson test names, tried in order)
#   why:     what the defect is
#   nth:     N   (optional) when the line occurs several times: the Nth (1-based), and
#                the count must then equal `count:` (also given), so an edit elsewhere
#                that adds or removes a copy makes the mutant STALE
# The line must occur exactly once in the file (or as nth/count say): a mutant that no
# longer applies is reported STALE (refresh it after the code it names has changed),
# never skipped silently.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
jobs=${JOBS:-2}
if [ "${IN_PLACE:-0}" = 1 ]; then
  cd "$root"
  [ -z "$(git status --porcelain --untracked-files=no)" ] || { echo "IN_PLACE needs a clean git state"; exit 1; }
  [ -f build/build.ninja ] || meson setup build >/dev/null
  trap 'ninja -C "$root/build" -j "$jobs" >/dev/null 2>&1 || true' EXIT
  echo "in place on $(git rev-parse --short HEAD) with build/"
else
  scratch=$(mktemp -d /tmp/ringgate-mutants.XXXXXX)
  cleanup() { [ "${KEEP:-0}" = 1 ] || { git -C "$root" worktree remove --force "$scratch" >/dev/null 2>&1 || rm -rf "$scratch"; }; }
  trap cleanup EXIT
  git -C "$root" worktree add --detach "$scratch" HEAD >/dev/null 2>&1
  echo "scratch copy of $(git -C "$root" rev-parse --short HEAD) in $scratch; building it unmutated first"
  cd "$scratch"
  [ -d "$root/tests/node_modules" ] && ln -s "$root/tests/node_modules" tests/node_modules
  meson setup build -Dbenchmarks=disabled >/dev/null
fi
ninja -C build -j "$jobs" >/dev/null

mapfile -t mutants < <(ls "$here"/*.mutant | sort)
if (($# > 0)); then
  filtered=()
  for m in "${mutants[@]}"; do for f in "$@"; do [[ $(basename "$m") == *"$f"* ]] && { filtered+=("$m"); break; }; done; done
  mutants=("${filtered[@]}")
fi
((${#mutants[@]})) || { echo "no mutants"; exit 1; }

field() { sed -n "s/^$2: \{0,1\}//p" "$1" | head -1; }
results=()
caught=0
for m in "${mutants[@]}"; do
  name=$(basename "$m" .mutant)
  file=$(field "$m" file)
  tests=$(field "$m" tests)
  # Apply: exact whole-line match, exactly once (python: no regex, no shell quoting pitfalls).
  if ! python3 - "$m" "$file" <<'PY'
import sys
spec = {}
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    for key in ("file", "find", "replace", "tests", "why", "nth", "count"):
        if line.startswith(key + ":"):
            value = line[len(key) + 1:]
            spec[key] = value[1:] if value.startswith(" ") else value
path = sys.argv[2]
lines = open(path, encoding="utf-8").read().split("\n")
hits = [i for i, l in enumerate(lines) if l == spec["find"]]
nth, count = int(spec.get("nth", "1")), int(spec.get("count", "1"))
if len(hits) != count:
    print(f"STALE: {len(hits)} matches for the find line in {path}, expected {count}")
    sys.exit(1)
lines[hits[nth - 1]] = spec["replace"]
open(path, "w", encoding="utf-8").write("\n".join(lines))
PY
  then
    results+=("$name|STALE (find line not exactly once)|$(field "$m" why)")
    continue
  fi
  verdict="SURVIVED"
  if ! ninja -C build -j "$jobs" >/tmp/mutant-build.log 2>&1; then
    verdict="caught by the compiler (not a useful mutant: rewrite it)"
  else
    for t in $tests; do
      if ! meson test -C build --no-rebuild --num-processes 1 "$t" >/dev/null 2>&1; then verdict="$t"; break; fi
    done
  fi
  [ "$verdict" != SURVIVED ] && caught=$((caught + 1))
  results+=("$name|$verdict|$(field "$m" why)")
  git checkout -q -- "$file"
  echo "  $name: $verdict"
done
ninja -C build -j "$jobs" >/dev/null 2>&1 || true

echo
printf '| %-34s | %-38s | %s\n' "mutant" "caught by" "defect"
printf '|%s|%s|%s\n' "$(printf -- '-%.0s' {1..36})" "$(printf -- '-%.0s' {1..40})" "--------"
for r in "${results[@]}"; do IFS='|' read -r a b c <<<"$r"; printf '| %-34s | %-38s | %s\n' "$a" "$b" "$c"; done
echo
echo "$caught/${#mutants[@]} mutants caught"
[ "$caught" = "${#mutants[@]}" ]
