#!/bin/bash
# Instruction counts of two ttvm builds, program by program, same sitting:
#   benches/checks/cgpair.sh BASE NEW MODE PROG...
# MODE is --jit, --no-jit or "--jit --jit-sync" (split on spaces; one
# scheduler, -S 1). Prints, per program,
# cachegrind's "I refs" for BASE, then NEW, and the change. Counts do not
# depend on the machine's load.
set -euo pipefail
B=$1; N=$2; M=$3; shift 3
refs() {
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
    "$1" $M -S 1 "$2" 2>&1 >/dev/null | awk '/I *refs/ {gsub(",", "", $NF); print $NF}'
}
for f in "$@"; do
  a=$(refs "$B" "$f")
  b=$(refs "$N" "$f")
  awk -v n="$(basename "$f")" -v m="$M" -v a="$a" -v b="$b" \
    'BEGIN { printf "%-28s %s %14.0f %14.0f %+6.2f%%\n", n, m, a, b, (b - a) * 100 / a }'
done
