#!/bin/bash
# CPU time (perf stat -e task-clock) of benches/programs/PROG.ttvm under
# several ttvm binaries, runs interleaved (so a change in machine load hits
# every binary alike); prints the median and the minimum per binary, in ms.
#
#   benches/cpu-median.sh RUNS PROG SCHEDULERS BINARY...
#   benches/cpu-median.sh 9 ring 1 /tmp/ttvm-before ./target/release/ttvm
#
# Needs `perf` (apt-get install -y linux-perf).
set -eu
runs=$1 prog=$2 sched=$3
shift 3
dir=$(cd "$(dirname "$0")" && pwd)/programs
declare -A times
for _ in $(seq "$runs"); do
  for bin in "$@"; do
    ms=$(perf stat -x, -e task-clock "$bin" -S "$sched" "$dir/$prog.ttvm" 2>&1 >/dev/null |
      awk -F, '/task-clock/ {print $1}')
    times[$bin]="${times[$bin]:-} $ms"
  done
done
for bin in "$@"; do
  echo "${times[$bin]}" | tr ' ' '\n' | grep . | sort -n |
    awk -v b="$bin" -v p="$prog" -v s="$sched" \
      '{a[NR] = $1} END {printf "%s -S %s %s: median %.1f ms, min %.1f ms (%d runs)\n", p, s, b, a[int((NR + 1) / 2)], a[1], NR}'
done
