#!/usr/bin/env bash
# Pod-start benchmark: strand-lab applies N pods on 2 nodes; we time from the
# apply until one pod reaches every other pod (TCP echo), for strand (with its
# agents and datapath) and for the same lab flow with ptp + host-local
# (`strand-lab up --cni ptp`). Configs interleaved and rotated each round;
# prints per-run figures, medians and the ptp/strand ratio.
#   run.sh [--pods N] [--rounds R] [--routing native|vxlan]
set -euo pipefail
pods=100 rounds=3 routing=native
while [ $# -gt 0 ]; do
  case "$1" in
    --pods) pods=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --routing) routing=$2; shift 2 ;;
    *) echo "usage: $0 [--pods N] [--rounds R] [--routing native|vxlan]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
bin=${STRAND_BIN:?STRAND_BIN is the build/bin directory}
src=${STRAND_SRC:-$(cd "$(dirname "$0")/../../.." && pwd)}
lab="$bin/strand-lab"
bash "$src/hack/ensure-bpffs.sh"
work=$(mktemp -d /tmp/strand-podstart-XXXXXX)
name="bps$$"
trap '"$lab" down --name "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

for i in $(seq 1 "$pods"); do
  cat <<YAML
---
apiVersion: v1
kind: Pod
metadata: {name: p$i, namespace: bench, labels: {app: bench, i: "$i"}}
spec:
  containers: [{name: c, ports: [{containerPort: 80}]}]
YAML
done > "$work/pods.yaml"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# One run: up, apply, probe from p1 to every other pod until all answer, down.
one_run() {  # one_run CNI -> "apply_ms reach_ms"
  local cni=$1
  "$lab" up --name "$name" --nodes 2 --routing "$routing" --cni "$cni" > /dev/null 2> "$work/up.err" ||
    { cat "$work/up.err" >&2; return 1; }
  local t0 t1 t2
  t0=$(now_ms)
  "$lab" apply --name "$name" -f "$work/pods.yaml" > /dev/null 2> "$work/apply.err" ||
    { cat "$work/apply.err" >&2; return 1; }
  t1=$(now_ms)
  local pending=start
  local deadline=$((t1 + 60000))
  while [ -n "$pending" ]; do
    # One process probes p1 to every pod in parallel (matrix --from); again until all answer.
    pending=$("$lab" matrix --name "$name" --from bench/p1 --port 80 --timeout-ms 200 -o json |
      jq -r '.reachable["bench/p1"] | to_entries[] | select(.value == false) | .key')
    if [ "$(now_ms)" -gt "$deadline" ]; then echo "pods not reachable after 60 s:$pending" >&2; return 1; fi
  done
  t2=$(now_ms)
  "$lab" down --name "$name" > /dev/null 2>&1
  echo "$((t1 - t0)) $((t2 - t0))"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2}'; }

configs=(strand ptp)
: > "$work/results"
echo "pods=$pods nodes=2 routing=$routing rounds=$rounds"
printf '%-6s %-7s %10s %14s\n' round cni apply_ms reachable_ms
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) -eq 0 ]; then order=(ptp strand); else order=(strand ptp); fi
  for cni in "${order[@]}"; do
    res=$(one_run "$cni")
    printf '%-6s %-7s %10s %14s\n' "$r" "$cni" $res
    echo "$cni $res" >> "$work/results"
  done
done
echo
printf '%-7s %16s %20s\n' cni median_apply_ms median_reachable_ms
for cni in "${configs[@]}"; do
  a=$(awk -v c="$cni" '$1 == c {print $2}' "$work/results" | median)
  b=$(awk -v c="$cni" '$1 == c {print $3}' "$work/results" | median)
  printf '%-7s %16s %20s\n' "$cni" "$a" "$b"
  eval "med_$cni=$b"
done
awk -v s="$med_strand" -v p="$med_ptp" 'BEGIN {printf "ptp / strand (time to all reachable): %.2fx\n", p / s}'
