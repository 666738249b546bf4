#!/bin/bash
# Interleaved in-VM times (--stats) of two ttvm builds on benches/programs,
# -S 1: each round runs every workload with BASE then NEW; prints the median
# of ROUNDS rounds per workload and tier. Usage:
#   benches/checks/interleave.sh BASE_BINARY NEW_BINARY [ROUNDS]
# (docs/PERFORMANCE.md, "Times after the second session of 2026-12-07")
set -eu
base=$(realpath "$1"); new=$(realpath "$2"); rounds=${3:-3}
cd "$(dirname "$0")/../programs"
out=$(mktemp)
for r in $(seq 1 "$rounds"); do
  for spec in "nbody.ttvm --no-jit" "nbody.ttvm --jit" "binarytrees.ttvm --jit" \
              "fannkuch.ttvm --no-jit" "fannkuch.ttvm --jit" "mapfilter.ttvm --no-jit" \
              "mapfilter.ttvm --jit" "count.ttvm --no-jit" "spectralnorm.ttvm --no-jit" \
              "wordfreq.ttvm --no-jit"; do
    set -- $spec
    for b in base new; do
      bin=$base; [ $b = new ] && bin=$new
      t=$("$bin" "$2" -S 1 --stats "$1" 2>&1 >/dev/null | grep "^stats:" | grep -o "; time [0-9.]* ms" | awk '{print $3}')
      echo "$1 $2 $b $t" >> "$out"
    done
  done
done
python3 - "$out" <<'PY'
import collections, statistics, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    p, m, b, t = line.split()
    d[(p, m, b)].append(float(t))
for p, m in sorted({(k[0], k[1]) for k in d}):
    b = statistics.median(d[(p, m, 'base')]); n = statistics.median(d[(p, m, 'new')])
    print(f"{p:18} {m:9} base {b:9.1f} ms  new {n:9.1f} ms  {100 * (n - b) / b:+6.1f}%")
PY
rm -f "$out"
