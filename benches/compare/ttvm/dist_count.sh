#!/bin/bash
# Machine-independent figures for the distribution round trip (issue 17):
# system calls, futex calls, context switches and CPU time per round trip
# of the CLIENT node of the `dist` benchmark (dist_client.ttvm against
# dist_server.ttvm, both --no-jit), counted with `perf stat` over a whole
# client run of N round trips minus a run of none, divided by N (start-up,
# the hello and the one-message stream cancel out).
#
#   benches/compare/ttvm/dist_count.sh [TTVM] [SCHEDULERS] [N]
#
# Defaults: target/release/ttvm, 1, 20000. Needs perf (with the syscalls
# tracepoints: root or perf_event_paranoid <= -1) and epmd; uses an epmd
# of its own on port 34977 (left running, as `erl` leaves its epmd).
set -eu
BIN=${1:-target/release/ttvm}
S=${2:-1}
N=${3:-20000}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
export ERL_EPMD_PORT=${ERL_EPMD_PORT:-34977}
epmd -port "$ERL_EPMD_PORT" -daemon
HOST=$(hostname -s)
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
EVENTS="-e raw_syscalls:sys_enter -e syscalls:sys_enter_futex -e syscalls:sys_enter_sendto -e syscalls:sys_enter_recvfrom -e syscalls:sys_enter_epoll_wait -e syscalls:sys_enter_write -e syscalls:sys_enter_read -e context-switches -e task-clock"
run() { # $1: round trips; counts to $D/$1.csv
  local k=$RANDOM
  "$BIN" -S "$S" --no-jit --sname "cnts$k" --cookie distcount "$ROOT/benches/compare/ttvm/dist_server.ttvm" >"$D/s.out" 2>"$D/s.err" &
  local sp=$!
  for _ in $(seq 1 300); do grep -q ready "$D/s.out" 2>/dev/null && break; sleep 0.1; done
  # shellcheck disable=SC2086
  perf stat -x, -o "$D/$1.csv" $EVENTS -- "$BIN" -S "$S" --no-jit --sname "cntc$k" --cookie distcount \
    "$ROOT/benches/compare/ttvm/dist_client.ttvm" -- "cnts$k@$HOST" 0 "$1" 1 >"$D/c$1.out" 2>"$D/c.err"
  wait $sp
}
run "$N"
run 0
awk -F, -v n="$N" -v us="$(awk '/^ping_us/{gsub(/"/,"",$2); print $2}' "$D/c$N.out")" '
  FNR==NR { if ($3 != "") a[$3]=$1; next }
  { if ($3 != "") b[$3]=$1 }
  END {
    split("raw_syscalls:sys_enter syscalls:sys_enter_futex syscalls:sys_enter_sendto syscalls:sys_enter_recvfrom syscalls:sys_enter_epoll_wait syscalls:sys_enter_write syscalls:sys_enter_read context-switches task-clock", k, " ")
    printf "per round trip (-S %s, %d round trips, mean %.1f us):", S, n, us/n
    for (i=1;i<=9;i++) {
      v=(a[k[i]]-b[k[i]])/n; name=k[i]; sub(/^syscalls:sys_enter_/,"",name); sub(/^raw_syscalls:sys_enter$/,"all syscalls",name)
      if (k[i]=="task-clock") { v*=1000; name="CPU us" }
      printf " %s %.2f;", name, v
    }
    print ""
  }' S="$S" "$D/$N.csv" "$D/0.csv"
