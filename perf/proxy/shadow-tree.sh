#!/usr/bin/env bash
# Builds a private source tree (symlinks) in which only the named layers are real and
# every other layer's meson.build is empty, so half-finished layers of other engineers
# cannot break configuring this one. Usage: shadow-tree.sh DIR LAYER...
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
dir=$1; shift
mkdir -p "$dir/src" "$dir/tests" "$dir/perf"
for f in meson.build meson_options.txt include subprojects; do ln -sfn "$repo/$f" "$dir/$f"; done
cp "$repo/src/meson.build" "$dir/src/meson.build"
cp "$repo/tests/meson.build" "$dir/tests/meson.build"
for f in doctest_main.cpp lib node_modules package.json; do ln -sfn "$repo/tests/$f" "$dir/tests/$f"; done
echo "# stubbed" > "$dir/perf/meson.build"
for layer in util net http openai metrics sched config discovery proxy control sim gateway; do
  for side in src tests; do
    if [[ " $* " == *" $layer "* ]]; then
      rm -rf "$dir/$side/$layer"; ln -sfn "$repo/$side/$layer" "$dir/$side/$layer"
    else
      rm -rf "$dir/$side/$layer"; mkdir -p "$dir/$side/$layer"; echo "# stubbed" > "$dir/$side/$layer/meson.build"
    fi
  done
done
