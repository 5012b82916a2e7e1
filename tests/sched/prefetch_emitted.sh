#!/bin/sh
# The prefix index applies a recording's table updates with each slot prefetched a
# few updates ahead (PrefixIndex::apply_ops). GCC once deleted that prefetch without a
# word (the __builtin_prefetch sat in a helper it took for pure), and only a profile
# showed it: so look for the instruction in the gateway binary itself.
#   prefetch_emitted.sh RINGGATE_BINARY
set -eu
symbol=_ZN8ringgate5sched11PrefixIndex9apply_opsEj  # PrefixIndex::apply_ops(unsigned int)
code=$(objdump -d --no-show-raw-insn --disassemble="$symbol" "$1")
if ! printf '%s\n' "$code" | grep -q "<$symbol>:"; then
  echo "FAIL: $symbol not found in $1 (renamed or inlined? update this test)" >&2
  exit 1
fi
if ! printf '%s\n' "$code" | grep -qE '\sprefetch'; then
  echo "FAIL: PrefixIndex::apply_ops in $1 has no prefetch instruction" >&2
  exit 1
fi
echo "ok: PrefixIndex::apply_ops prefetches"
