#!/usr/bin/env bash
# Datapath cost: two pods on one node, plain veth routing (no programs) against strand's
# datapath attached (tcx links on both host veths, conntrack and per-endpoint accounting on),
# on a throw-away node (private mount + network namespace, private bpffs).
#
#   tests/bench/datapath/run.sh [--rounds 5] [--seconds 10] [--bpf-stats] [--tcp-rr PATH]
#
# One topology: both pods ADDed through the real strand plugin (strand-ipam,
# agentRequired false). "plain": nothing attached to the pods' veths (an agent of another
# node with no endpoints runs, so both configs have the same processes). "strand": strand-agent
# started, it attaches both endpoints from their records; after the phase it is
# stopped and `strand-agent --cleanup` detaches everything. Each round runs both
# configs, in alternating order (plain first in odd rounds), and in each: TCP_RR
# (tcp_rr, 1-byte request/response, TCP_NODELAY) for --seconds, then iperf3 TCP
# for --seconds. Prints every sample, medians and the strand/plain ratios (of the
# medians, and the median of the per-round ratios).
# --bpf-stats: afterwards one more strand phase with kernel.bpf_stats_enabled=1 (a
# global sysctl, restored on exit) to report run count and ns per run of each program.
# env: STRAND_BIN (default <repo>/build/bin).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${STRAND_SRC:-$(cd "$here/../../.." && pwd)}
# shellcheck source=../../../hack/containerd-env.sh
source "$src/hack/containerd-env.sh"
prefix=stdp
die() { echo "datapath: $*" >&2; exit 1; }

rounds=5
seconds=10
bpf_stats=
tcp_rr=
inner=
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --bpf-stats) bpf_stats=1; shift ;;
    --tcp-rr) tcp_rr=$2; shift 2 ;;
    --inner) inner=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive number"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "--seconds wants a positive whole number"

# --------------------------------------------------------------------------------------------
# Inside the node.
# --------------------------------------------------------------------------------------------
if [ -n "$inner" ]; then
  T=$inner
  cenv_node_setup "$T"
  bin=$T/bin
  node=bench
  pins=/sys/fs/bpf/strand/$node
  p0=${prefix}p0 p1=${prefix}p1
  stats_old=
  on_exit() {  # servers and the agent of an interrupted phase; the global sysctl back
    [ -z "$stats_old" ] || sysctl -qw kernel.bpf_stats_enabled="$stats_old" || true
    local j
    for j in $(jobs -p); do kill -KILL "$j" 2>/dev/null || true; done
  }
  trap on_exit EXIT
  ip netns add "$p0"
  ip netns add "$p1"

  plugin() {  # plugin CMD ID NETNS
    CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/run/netns/$3 CNI_IFNAME=eth0 CNI_PATH=$bin \
      CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=$2" "$bin/strand" <"$T/conf.json"
  }
  ip0=$(plugin ADD pod0 "$p0" | jq -r '.ips[0].address' | cut -d/ -f1)
  ip1=$(plugin ADD pod1 "$p1" | jq -r '.ips[0].address' | cut -d/ -f1)
  [ -n "$ip0" ] && [ "$ip0" != null ] && [ -n "$ip1" ] && [ "$ip1" != null ] || die "ADD failed: $(tail -n 5 "$T/strand.log")"
  host_ifs=$(jq -r '.hostIfname' "$T"/state/*.json | sort)
  [ "$(echo "$host_ifs" | wc -l)" -eq 2 ] || die "expected two endpoint records in $T/state"

  agent_pid=
  prog_ids=
  agent_args=(--node "$node" --bpffs /sys/fs/bpf --state-dir "$T/state" --socket "$T/agent.sock"
              --log-file "$T/agent.log" --http "")
  # start_agent LOG ARGS...: strand-agent in the background, waited for until it
  # logs "agent ready" (at most 10 s); its pid in started_pid.
  start_agent() {
    local log=$1 i
    shift
    : >"$log"
    "$bin/strand-agent" "$@" &
    started_pid=$!
    for ((i = 0; i < 100; i++)); do
      grep -q 'agent ready' "$log" 2>/dev/null && break
      kill -0 "$started_pid" 2>/dev/null || die "agent exited: $(tail -n 5 "$log")"
      sleep 0.1
    done
  }
  attach() {
    start_agent "$T/agent.log" "${agent_args[@]}"
    agent_pid=$started_pid
    grep -q 'attached=2 ' "$T/agent.log" || die "agent did not attach both endpoints: $(tail -n 5 "$T/agent.log")"
    local h
    for h in $host_ifs; do
      [ -e "$pins/links/${h}_ingress" ] && [ -e "$pins/links/${h}_egress" ] || die "no tcx links pinned for $h"
      prog_ids+=" $(bpftool -j link show pinned "$pins/links/${h}_ingress" | jq .prog_id)"
      prog_ids+=" $(bpftool -j link show pinned "$pins/links/${h}_egress" | jq .prog_id)"
    done
    [ "$(bpftool -j map dump pinned "$pins/maps/endpoints" | jq length)" -eq 2 ] || die "endpoints map is not 2 entries"
  }
  detach() {
    kill -TERM "$agent_pid"
    wait "$agent_pid" || true
    agent_pid=
    "$bin/strand-agent" "${agent_args[@]}" --cleanup || die "--cleanup failed: $(tail -n 5 "$T/agent.log")"
    [ ! -e "$pins" ] || die "pins left after --cleanup: $(find "$pins")"
    # Links detached, pins gone, agent dead: nothing holds the programs, the kernel frees them.
    local id i
    for id in $prog_ids; do
      for ((i = 0; i < 50; i++)); do bpftool prog show id "$id" >/dev/null 2>&1 || break; sleep 0.1; done
      ! bpftool prog show id "$id" >/dev/null 2>&1 || die "program $id still alive after --cleanup"
    done
    prog_ids=""
  }

  rr() {  # one TCP_RR sample: pod1 -> pod0
    ip netns exec "$p0" "$tcp_rr" server --port 7001 --once &
    local srv=$!
    local out
    out=$(ip netns exec "$p1" "$tcp_rr" client --host "$ip0" --port 7001 --seconds "$seconds") || die "tcp_rr client failed"
    wait "$srv" || die "tcp_rr server failed"
    echo "$out" | jq -r .tps
  }
  iperf() {  # one iperf3 TCP sample: pod1 -> pod0, Gbit/s received
    ip netns exec "$p0" iperf3 -s -1 -p 5201 >/dev/null &
    local srv=$! i out
    for ((i = 0; i < 50; i++)); do
      ip netns exec "$p0" ss -Hltn 'sport = :5201' | grep -q . && break
      sleep 0.1
    done
    out=$(ip netns exec "$p1" iperf3 -c "$ip0" -p 5201 -t "$seconds" -J) || die "iperf3 client failed: $out"
    wait "$srv" || true
    echo "$out" | jq -r '.end.sum_received.bits_per_second / 1e9'
  }

  declare -A rr_s ip_s
  # plain phases run an agent too, of another node with no endpoints (nothing attached to
  # the pods' veths), so that both configs have the same processes around the measurement.
  idle_pid=
  idle_args=(--node "$node-idle" --bpffs /sys/fs/bpf --state-dir "$T/state-idle" --socket "$T/idle.sock"
             --log-file "$T/idle.log" --http "")
  idle_start() {
    mkdir -p "$T/state-idle"
    start_agent "$T/idle.log" "${idle_args[@]}"
    idle_pid=$started_pid
    grep -q 'attached=0 ' "$T/idle.log" || die "idle agent attached something: $(tail -n 5 "$T/idle.log")"
  }
  idle_stop() {
    kill -TERM "$idle_pid"
    wait "$idle_pid" || true
    idle_pid=
    "$bin/strand-agent" "${idle_args[@]}" --cleanup || die "idle agent --cleanup failed"
  }

  phase() {  # phase CONFIG ROUND
    local c=$1 r=$2
    if [ "$c" = strand ]; then attach; else idle_start; fi
    rr_s[$c.$r]=$(rr)
    ip_s[$c.$r]=$(iperf)
    if [ "$c" = strand ]; then detach; else idle_stop; fi
    printf '%-6s round %d  tcp_rr %10.1f tps  iperf3 %7.3f Gbit/s\n' "$c" "$r" "${rr_s[$c.$r]}" "${ip_s[$c.$r]}"
  }
  median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  values() {  # values ARRAY CONFIG
    local -n a=$1
    local r
    for ((r = 1; r <= rounds; r++)); do echo "${a[$2.$r]}"; done
  }
  ratios() {  # per-round strand/plain of ARRAY
    local -n a=$1
    local r
    for ((r = 1; r <= rounds; r++)); do awk -v s="${a[strand.$r]}" -v p="${a[plain.$r]}" 'BEGIN { print s / p }'; done
  }

  echo "datapath: pods $ip1 -> $ip0, host veths $(echo $host_ifs), $rounds rounds x $seconds s per test" >&2
  echo "sample  round   TCP_RR               iperf3"
  for ((r = 1; r <= rounds; r++)); do
    if ((r % 2)); then order="plain strand"; else order="strand plain"; fi
    for c in $order; do phase "$c" "$r"; done
  done

  echo
  printf '%-14s %-7s %4s %12s %12s %12s\n' test config n median min max
  for t in rr_s ip_s; do
    name=tcp_rr_tps; [ $t = ip_s ] && name=iperf3_gbps
    for c in plain strand; do
      v=$(values $t $c)
      printf '%-14s %-7s %4d %12.3f %12.3f %12.3f\n' "$name" "$c" "$rounds" "$(echo "$v" | median)" \
        "$(echo "$v" | sort -g | head -1)" "$(echo "$v" | sort -g | tail -1)"
    done
  done
  echo
  printf '%-14s %18s %22s\n' "strand/plain" "ratio of medians" "median of round ratios"
  for t in rr_s ip_s; do
    name=tcp_rr; [ $t = ip_s ] && name=iperf3
    ms=$(values $t strand | median) mp=$(values $t plain | median)
    printf '%-14s %17.3fx %21.3fx\n' "$name" "$(awk -v s="$ms" -v p="$mp" 'BEGIN { print s / p }')" \
      "$(ratios $t | median)"
  done

  if [ -n "$bpf_stats" ]; then
    attach
    stats_old=$(sysctl -n kernel.bpf_stats_enabled)
    sysctl -qw kernel.bpf_stats_enabled=1
    rr >/dev/null
    iperf >/dev/null
    sysctl -qw kernel.bpf_stats_enabled="$stats_old"
    stats_old=
    echo
    echo "bpf run time with kernel.bpf_stats_enabled=1 (one TCP_RR + one iperf3 run, both host veths):"
    ids=$(echo $prog_ids | tr ' ' '\n' | sort -un)  # from the pinned links (bpftool 7.1 does not list tcx)
    printf '%-10s %8s %14s %14s %10s\n' prog id run_cnt run_time_ns ns/run
    for id in $ids; do
      bpftool -j prog show id "$id" | jq -r '[.name, .id, (.run_cnt // 0), (.run_time_ns // 0)] | @tsv'
    done | awk -F'\t' '{ printf "%-10s %8d %14d %14d %10.1f\n", $1, $2, $3, $4, ($3 ? $4 / $3 : 0) }'
    detach
  fi

  plugin DEL pod0 "$p0" >/dev/null || die "DEL pod0 failed"
  plugin DEL pod1 "$p1" >/dev/null || die "DEL pod1 failed"
  exit 0
fi

# --------------------------------------------------------------------------------------------
# Outside: checks, sweep, work dir, plugin dir, config; then the node.
# --------------------------------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
  echo "datapath: SKIP: needs root (network namespaces, bpffs)" >&2
  exit 77
fi
strand_bin=${STRAND_BIN:-$src/build/bin}
[ -n "$tcp_rr" ] || tcp_rr=$(dirname "$strand_bin")/tests/bench_tcp_rr
[ -x "$tcp_rr" ] || die "$tcp_rr not built (cmake --build build --target bench_tcp_rr, or --tcp-rr)"
tcp_rr=$(realpath "$tcp_rr")
for c in unshare ip jq iperf3 bpftool ss; do command -v "$c" >/dev/null || die "missing command $c"; done
for b in strand strand-agent; do [ -x "$strand_bin/$b" ] || die "$strand_bin/$b not built (set STRAND_BIN)"; done

cenv_sweep "$prefix"
T=/tmp/$prefix$$
mkdir -p "$T/bin"
trap 'cenv_reap "$T" "$prefix$$"' EXIT
for b in strand strand-agent; do ln -s "$(realpath "$strand_bin/$b")" "$T/bin/$b"; done
conf='{"cniVersion":"1.1.0","name":"bench","type":"strand","mtu":1500,"agentRequired":false,"agentSocket":"%T/agent.sock","logFile":"%T/strand.log","stateDir":"%T/state","ipam":{"type":"strand-ipam","ranges":[[{"subnet":"10.103.0.0/24"}]],"dataDir":"%T/ipam"}}'
echo "${conf//%T/$T}" | jq . >"$T/conf.json"

cenv_enter_node "$T" bash "${BASH_SOURCE[0]}" --inner "$T" --tcp-rr "$tcp_rr" --rounds "$rounds" \
  --seconds "$seconds" ${bpf_stats:+--bpf-stats}
