#!/bin/bash
# In-VM time (the `time` that `--stats` prints: from the first instruction to
# the end of the last process, start-up excluded) of a program under several
# ttvm binaries, runs interleaved (each run goes through every binary, so a
# change in machine load hits them alike); prints the median and the minimum
# per binary, in ms.
#
#   benches/vm-median.sh RUNS PROGRAM SCHEDULERS BINARY... [-- FLAGS...]
#   benches/vm-median.sh 21 spawn 1 /tmp/ttvm-before ./target/release/ttvm
#   benches/vm-median.sh 5 skynet 2 ./target/release/ttvm -- --max-processes 2000000
#
# PROGRAM is a name in benches/programs/ or a path to a .ttvm file; FLAGS go
# to every run (before the program's path).
set -eu
runs=$1 prog=$2 sched=$3
shift 3
bins=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do bins+=("$1"); shift; done
[ $# -gt 0 ] && shift
flags=("$@")
if [ -f "$prog" ]; then path=$prog; else path=$(cd "$(dirname "$0")" && pwd)/programs/$prog.ttvm; fi
[ -f "$path" ] || { echo "vm-median.sh: no program $path" >&2; exit 2; }
declare -A times
for _ in $(seq "$runs"); do
  for bin in "${bins[@]}"; do
    ms=$("$bin" --stats -S "$sched" ${flags[@]+"${flags[@]}"} "$path" 2>&1 >/dev/null |
      sed -n 's/.*; time \([0-9.]*\) ms.*/\1/p' | tail -1)
    [ -n "$ms" ] || { echo "vm-median.sh: $bin printed no --stats time" >&2; exit 1; }
    times[$bin]="${times[$bin]:-} $ms"
  done
done
for bin in "${bins[@]}"; do
  echo "${times[$bin]}" | tr ' ' '\n' | grep . | sort -n |
    awk -v b="$bin" -v p="$(basename "$path" .ttvm)" -v s="$sched" \
      '{a[NR] = $1} END {printf "%s -S %s %s: median %.1f ms, min %.1f ms (%d runs)\n", p, s, b, a[int((NR + 1) / 2)], a[1], NR}'
done
