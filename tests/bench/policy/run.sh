#!/usr/bin/env bash
# Policy cost: two pods on one node (server pod0, client pod1), TCP_RR and iperf3 client ->
# server with 0, 100 and 1000 NetworkPolicies selecting the server (10 ingress rules each,
# about 10,000 rules at 1000; the one rule allowing the client is the last rule of the last
# policy), against the same rule set as a plain iptables chain in the node's FORWARD path
# (iptables-nft and iptables-legacy), against no policy; then policy apply latency (object
# written to enforced in the datapath) with 1000 pods and 1000 policies.
#
#   tests/bench/policy/run.sh [--rounds 5] [--seconds 10] [--policies 100,1000]
#       [--apply-pods 1000] [--apply-policies 1000] [--apply-count 100] [--seed 1]
#       [--no-ct-first] [--allow-unenforced] [--apply-path /v1/policies?summary=true] [--configs LIST] [--tiny]
#       [--tcp-rr PATH] [--tools DIR]
#
# A throw-away node (private mount + network namespace, private bpffs) as in
# tests/bench/datapath; both pods ADDed once through the real strand plugin. Configs, run
# in every round in an order rotated each round:
#   plain        nothing on the path (an idle agent of another node runs, as in datapath)
#   strand-0     strand-agent with the pods' endpoints attached and no policy
#   strand-N     strand-agent, --source-dir holding the cluster and N policies; measured once
#                the agent reports the generation written with them (see below)
#   nft-N        plain + the iptables rendering of the same N policies, iptables-nft-restore
#   legacy-N     the same with iptables-legacy-restore
# Before measuring a config a probe checks what it enforces: the client connecting to a
# listener on TCP 7002 of the server must succeed without policy and must not with policy.
# An iptables config that lets it through, or a no-policy config that blocks it, stops the
# run (the harness is broken). A strand-N config that lets it through is "not enforced":
# the run stops too unless --allow-unenforced (then it is measured and marked enforced=no).
# --configs plain,nft-1000,...: only those (each ratio needs its baseline in the list);
# --apply-count 0 leaves out the apply latency phase.
# Ratios: strand-N / strand-0 and nft-N, legacy-N / plain (of the medians, and the median of
# the per-round ratios); strand-0 / plain for reference.
#
# The iptables chain (tests/bench/policy/gen.h): FORWARD -d server -> STRAND-BENCH: conntrack
# ESTABLISHED,RELATED accept first (--no-ct-first: left out, so every packet walks the list),
# one rule per matched address and port, DROP. No ipsets. A legacy table cannot be removed from
# a netns once made, so the harness makes the (empty) legacy filter table before the first
# round: every config, plain included, runs with it; the nft table is deleted after each use.
#
# Apply latency: an agent with --apply-pods pods of other nodes and --apply-policies policies
# (plus the two local pods), then --apply-count times: one more policy written, .generation
# bumped, time until GET /v1/policies (--apply-path: another path or query answering the same
# top-level "generation") reports that generation (bench_policy_apply; the
# agent's contract: `<dir>/.generation` written after the manifests, /v1/policies answers a
# top-level "generation" once everything before it is in the datapath). Before that, once:
# a policy allowing the client on TCP 7100 is written, and the probe must go from blocked to
# open, and the policy map must have grown. Then the same count again timed in the datapath
# (no HTTP polling, which at 1000 policies is itself slow): each policy also allows the
# client on TCP 20000+k, and the time is until the client's connect there completes.
#
# --tiny: the harness self-test (2 policies, 8 remote pods, 1 round of 1 s, 3 apply samples,
# --allow-unenforced); at the end it checks its own table. env: STRAND_BIN (<repo>/build/bin).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${STRAND_SRC:-$(cd "$here/../../.." && pwd)}
# shellcheck source=../../../hack/containerd-env.sh
source "$src/hack/containerd-env.sh"
prefix=stpo
die() { echo "policy: $*" >&2; exit 1; }

rounds=5 seconds=10 policies=100,1000 apply_pods=1000 apply_policies=1000 apply_count=100 seed=1
remote_pods=1000 ct_first=1 allow_unenforced='' tiny='' tcp_rr='' tools='' inner='' apply_path=/v1/policies?summary=true only=''
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --policies) policies=$2; shift 2 ;;
    --remote-pods) remote_pods=$2; shift 2 ;;
    --apply-pods) apply_pods=$2; shift 2 ;;
    --apply-policies) apply_policies=$2; shift 2 ;;
    --apply-count) apply_count=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --no-ct-first) ct_first=; shift ;;
    --allow-unenforced) allow_unenforced=1; shift ;;
    --apply-path) apply_path=$2; shift 2 ;;
    --configs) only=$2; shift 2 ;;
    --tiny) tiny=1; shift ;;
    --tcp-rr) tcp_rr=$2; shift 2 ;;
    --tools) tools=$2; shift 2 ;;
    --inner) inner=$2; shift 2 ;;
    -h|--help) sed -n '2,51p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
if [ -n "$tiny" ]; then
  rounds=1 seconds=1 policies=2 remote_pods=8 apply_pods=8 apply_policies=2 apply_count=3 allow_unenforced=1
fi
for v in rounds seconds remote_pods apply_pods apply_policies apply_count seed; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "--${v//_/-} wants a whole number"
done
[ "$rounds" -ge 1 ] && [ "$seconds" -ge 1 ] || die "--rounds and --seconds must be at least 1"
[[ "$policies" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--policies wants a list like 100,1000"
IFS=, read -r -a npols <<<"$policies"

# --------------------------------------------------------------------------------------------
# Inside the node.
# --------------------------------------------------------------------------------------------
if [ -n "$inner" ]; then
  T=$inner
  cenv_node_setup "$T"
  bin=$T/bin
  gen=$T/bin/bench_policy_gen
  apply=$T/bin/bench_policy_apply
  node=bench
  pins=/sys/fs/bpf/strand/$node
  http=127.0.0.1:9464
  p0=${prefix}p0 p1=${prefix}p1
  on_exit() {
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

  # The rule sets: one --source-dir per N (the same cluster, N policies) and the iptables input.
  genargs=(--seed "$seed" --server-ip "$ip0" --client-ip "$ip1" --node "$node" --server pod0 --client pod1)
  make_source() {  # make_source DIR POLICIES REMOTE_PODS
    mkdir -p "$1"
    "$gen" cluster "${genargs[@]}" --remote-pods "$3" >"$1/cluster.json"
    [ "$2" -eq 0 ] || "$gen" policies "${genargs[@]}" --remote-pods "$3" --policies "$2" >"$1/policies.json"
    echo 1 >"$1/.generation"
  }
  make_source "$T/src-0" 0 "$remote_pods"
  ctflag=()
  [ -n "$ct_first" ] || ctflag=(--no-ct-first)
  declare -A nrules
  for n in "${npols[@]}"; do
    make_source "$T/src-$n" "$n" "$remote_pods"
    "$gen" iptables "${genargs[@]}" --remote-pods "$remote_pods" --policies "$n" "${ctflag[@]}" >"$T/iptables-$n"
    nrules[$n]=$("$gen" count "${genargs[@]}" --remote-pods "$remote_pods" --policies "$n")
  done

  # The empty legacy filter table exists from here on (it cannot be removed from a netns).
  iptables-legacy -S FORWARD >/dev/null
  empty_filter=$'*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'
  iptables_load() {  # iptables_load nft|legacy N
    local b=$1 n=$2 got
    "iptables-$b-restore" <"$T/iptables-$n" || die "iptables-$b-restore of $n policies failed"
    got=$("iptables-$b" -S STRAND-BENCH 2>/dev/null | grep -c -- '^-A STRAND-BENCH -s ' || true)
    [ "$got" -eq "${nrules[$n]}" ] || die "iptables-$b: $got address rules in STRAND-BENCH, expected ${nrules[$n]}"
  }
  iptables_clear() {  # iptables_clear nft|legacy
    local b=$1
    "iptables-$b-restore" <<<"$empty_filter" || die "iptables-$b: flush failed"
    if [ "$b" = nft ]; then nft delete table ip filter 2>/dev/null || true; fi
    [ "$("iptables-$b" -S 2>/dev/null | wc -l)" -eq 3 ] || die "iptables-$b: rules left after the flush: $("iptables-$b" -S 2>&1)"
  }
  iptables_check_clean() {
    [ -z "$(nft list ruleset 2>/dev/null)" ] || die "nft ruleset not empty: $(nft list ruleset)"
    [ "$(iptables-legacy -S | wc -l)" -eq 3 ] || die "legacy rules present: $(iptables-legacy -S)"
  }

  agent_pid=
  prog_ids=
  start_agent() {  # start_agent LOG ARGS...: strand-agent in the background until "agent ready"
    local log=$1 i
    shift
    : >"$log"
    "$bin/strand-agent" "$@" &
    started_pid=$!
    for ((i = 0; i < 300; i++)); do
      grep -q 'agent ready' "$log" 2>/dev/null && return 0
      kill -0 "$started_pid" 2>/dev/null || die "agent exited: $(tail -n 5 "$log")"
      sleep 0.1
    done
    die "agent not ready after 30 s: $(tail -n 5 "$log")"
  }
  contract=unknown   # does the agent report "generation" in /v1/policies (yes|no)
  enforce_ms=
  attach() {  # attach SOURCE_DIR: the strand agent with the pods' endpoints, its source dir
    local dir=$1 h out rc
    start_agent "$T/agent.log" --node "$node" --bpffs /sys/fs/bpf --state-dir "$T/state" --socket "$T/agent.sock" \
      --log-file "$T/agent.log" --http "$http" --source-dir "$dir"
    agent_pid=$started_pid
    grep -q 'attached=2 ' "$T/agent.log" || die "agent did not attach both endpoints: $(tail -n 5 "$T/agent.log")"
    for h in $host_ifs; do
      [ -e "$pins/links/${h}_ingress" ] && [ -e "$pins/links/${h}_egress" ] || die "no tcx links pinned for $h"
      prog_ids+=" $(bpftool -j link show pinned "$pins/links/${h}_ingress" | jq .prog_id)"
      prog_ids+=" $(bpftool -j link show pinned "$pins/links/${h}_egress" | jq .prog_id)"
    done
    set +e
    out=$("$apply" wait --dir "$dir" --http "$http" --timeout-ms 120000)
    rc=$?
    set -e
    case $rc in
      0) contract=yes; enforce_ms=$(jq -r .ms <<<"$out") ;;
      3) contract=no; enforce_ms= ;;
      *) die "the agent did not report generation $(cat "$dir/.generation"): $(tail -n 5 "$T/agent.log")" ;;
    esac
  }
  detach() {
    kill -TERM "$agent_pid"
    wait "$agent_pid" || true
    agent_pid=
    "$bin/strand-agent" --node "$node" --bpffs /sys/fs/bpf --state-dir "$T/state" --socket "$T/agent.sock" \
      --log-file "$T/agent.log" --cleanup || die "--cleanup failed: $(tail -n 5 "$T/agent.log")"
    [ ! -e "$pins" ] || die "pins left after --cleanup: $(find "$pins")"
    local id i
    for id in $prog_ids; do
      for ((i = 0; i < 50; i++)); do bpftool prog show id "$id" >/dev/null 2>&1 || break; sleep 0.1; done
      ! bpftool prog show id "$id" >/dev/null 2>&1 || die "program $id still alive after --cleanup"
    done
    prog_ids=""
  }
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

  # probe PORT: "open" when the client's TCP connect to the server's PORT (a listener runs
  # there) completes within 1 s, "blocked" otherwise.
  probe() {
    local port=$1 srv i r=blocked
    ip netns exec "$p0" "$tcp_rr" server --port "$port" --once &
    srv=$!
    for ((i = 0; i < 50; i++)); do
      ip netns exec "$p0" ss -Hltn "sport = :$port" | grep -q . && break
      sleep 0.05
    done
    if ip netns exec "$p1" timeout 1 bash -c "exec 3<>/dev/tcp/$ip0/$port" 2>/dev/null; then r=open; fi
    kill -KILL "$srv" 2>/dev/null || true
    wait "$srv" 2>/dev/null || true
    echo "$r"
  }

  rr() {  # one TCP_RR sample: pod1 -> pod0
    ip netns exec "$p0" "$tcp_rr" server --port 7001 --once &
    local srv=$! out
    out=$(ip netns exec "$p1" timeout $((seconds + 30)) "$tcp_rr" client --host "$ip0" --port 7001 --seconds "$seconds") ||
      die "tcp_rr client failed (config $cur)"
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
    out=$(ip netns exec "$p1" timeout $((seconds + 30)) iperf3 -c "$ip0" -p 5201 -t "$seconds" -J) ||
      die "iperf3 client failed (config $cur): $out"
    wait "$srv" || true
    echo "$out" | jq -r '.end.sum_received.bits_per_second / 1e9'
  }

  configs=(plain strand-0)
  for n in "${npols[@]}"; do configs+=("strand-$n"); done
  for n in "${npols[@]}"; do configs+=("nft-$n" "legacy-$n"); done
  if [ -n "$only" ]; then
    IFS=, read -r -a wanted <<<"$only"
    for c in "${wanted[@]}"; do [[ " ${configs[*]} " == *" $c "* ]] || die "--configs: unknown config $c (have ${configs[*]})"; done
    configs=("${wanted[@]}")
  fi
  declare -A rr_s ip_s enforced
  phase() {  # phase CONFIG ROUND
    cur=$1
    local r=$2 kind=${1%-*} n=${1##*-} want=blocked got
    case $cur in
      plain) idle_start; want=open ;;
      strand-0) attach "$T/src-0"; want=open ;;
      strand-*) attach "$T/src-$n" ;;
      nft-*|legacy-*) idle_start; iptables_load "$kind" "$n" ;;
    esac
    got=$(probe 7002)
    if [ "$got" = "$want" ]; then
      enforced[$cur]=yes
      [ "$want" = blocked ] || enforced[$cur]=-
    elif [ "$kind" = strand ] && [ "$n" != 0 ]; then
      enforced[$cur]=no
      [ -n "$allow_unenforced" ] ||
        die "$cur: the client reached TCP 7002 through $n policies that deny it: policy is not enforced (contract: $contract). --allow-unenforced measures anyway"
    else
      die "$cur: probe on TCP 7002 is $got, expected $want: the harness is broken"
    fi
    rr_s[$cur.$r]=$(rr)
    ip_s[$cur.$r]=$(iperf)
    case $cur in
      strand-*) detach ;;
      nft-*|legacy-*) iptables_clear "$kind"; idle_stop ;;
      *) idle_stop ;;
    esac
    iptables_check_clean
    printf '%-12s round %d  tcp_rr %10.1f tps  iperf3 %7.3f Gbit/s  enforced %-3s%s\n' "$cur" "$r" "${rr_s[$cur.$r]}" \
      "${ip_s[$cur.$r]}" "${enforced[$cur]}" "${enforce_ms:+  (generation reported ${enforce_ms} ms after ready)}"
    enforce_ms=
  }
  median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  values() {  # values ARRAY CONFIG
    local -n a=$1
    local r
    for ((r = 1; r <= rounds; r++)); do echo "${a[$2.$r]}"; done
  }
  ratios() {  # ratios ARRAY CONFIG BASE: per-round CONFIG/BASE
    local -n a=$1
    local r
    for ((r = 1; r <= rounds; r++)); do awk -v s="${a[$2.$r]}" -v p="${a[$3.$r]}" 'BEGIN { print s / p }'; done
  }

  echo "policy: pods $ip1 -> $ip0, host veths $(echo $host_ifs), $rounds rounds x $seconds s per test," \
    "policies ${npols[*]} (iptables address rules: $(for n in "${npols[@]}"; do printf '%s ' "${nrules[$n]}"; done| sed 's/ $//')," \
    "conntrack first: $([ -n "$ct_first" ] && echo yes || echo no)), $remote_pods remote pods" >&2
  for ((r = 1; r <= rounds; r++)); do
    nc=${#configs[@]}
    for ((i = 0; i < nc; i++)); do phase "${configs[(i + r - 1) % nc]}" "$r"; done
  done

  results=$T/results.txt
  {
    echo
    printf '%-14s %-12s %4s %12s %12s %12s %9s\n' test config n median min max enforced
    for t in rr_s ip_s; do
      name=tcp_rr_tps; [ $t = ip_s ] && name=iperf3_gbps
      for c in "${configs[@]}"; do
        v=$(values $t "$c")
        printf '%-14s %-12s %4d %12.3f %12.3f %12.3f %9s\n' "$name" "$c" "$rounds" "$(echo "$v" | median)" \
          "$(echo "$v" | sort -g | head -1)" "$(echo "$v" | sort -g | tail -1)" "${enforced[$c]}"
      done
    done
    echo
    printf '%-22s %-8s %18s %22s\n' "config/baseline" test "ratio of medians" "median of round ratios"
    for c in "${configs[@]}"; do
      [ "$c" = plain ] && continue
      base=plain
      case $c in strand-0) base=plain ;; strand-*) base=strand-0 ;; esac
      [[ " ${configs[*]} " == *" $base "* ]] || continue
      for t in rr_s ip_s; do
        name=tcp_rr; [ $t = ip_s ] && name=iperf3
        ms=$(values $t "$c" | median) mp=$(values $t $base | median)
        printf '%-22s %-8s %17.3fx %21.3fx\n' "$c/$base" "$name" "$(awk -v s="$ms" -v p="$mp" 'BEGIN { print s / p }')" \
          "$(ratios $t "$c" $base | median)"
      done
    done
  } | tee "$results"

  # Apply latency.
  echo
  if [ "$apply_count" -eq 0 ]; then
    apply_line="apply latency: not run (--apply-count 0)"
  else
    asrc=$T/src-apply
    make_source "$asrc" "$apply_policies" "$apply_pods"
    attach "$asrc"
    echo "apply: agent with $apply_pods remote pods + 2 local, $apply_policies policies; generation contract: $contract${enforce_ms:+ (initial load reported ${enforce_ms} ms after ready)}"
    apply_line="apply latency: n/a (the agent reports no \"generation\" in /v1/policies)"
    if [ "$contract" = yes ]; then
      before=$(probe 7100)
      entries0=$(bpftool -j map dump pinned "$pins/maps/policy" | jq length)
      "$gen" probe "${genargs[@]}" --remote-pods "$apply_pods" --name probe-7100 --port 7100 >"$asrc/.tmp-probe.json"
      mv "$asrc/.tmp-probe.json" "$asrc/probe.json"
      echo $(( $(cat "$asrc/.generation") + 1 )) >"$asrc/.tmp-gen" && mv "$asrc/.tmp-gen" "$asrc/.generation"
      out=$("$apply" wait --dir "$asrc" --http "$http" --timeout-ms 60000) || die "probe policy: generation not reported"
      after=$(probe 7100)
      entries1=$(bpftool -j map dump pinned "$pins/maps/policy" | jq length)
      echo "apply check: TCP 7100 $before before the policy allowing it, $after after generation $(jq -r .generation <<<"$out") ($(jq -r .ms <<<"$out") ms); policy map $entries0 -> $entries1 entries"
      if [ "$before" != blocked ] || [ "$after" != open ] || [ "$entries1" -le "$entries0" ]; then
        [ -n "$allow_unenforced" ] || die "the policy reported applied is not in the datapath"
        echo "apply check: FAILED (the reported generation does not match the datapath)"
      fi
      lat=$("$apply" latency --dir "$asrc" --http "$http" --count "$apply_count" --first-index "$apply_policies" \
        --seed "$seed" --remote-pods "$apply_pods" --server-ip "$ip0" --client-ip "$ip1" --path "$apply_path") ||
        die "apply latency run failed"
      [ "$(jq -r .count <<<"$lat")" -eq "$apply_count" ] || die "apply latency: wrong sample count: $lat"
      apply_line=$(jq -r --arg p "$apply_policies" --arg q "$apply_pods" \
        '"apply latency to the reported generation (\($q) remote pods, \($p) policies, one policy added per sample): n \(.count)  p50 \(.p50_ms * 1000 | round / 1000) ms  p90 \(.p90_ms * 1000 | round / 1000) ms  p99 \(.p99_ms * 1000 | round / 1000) ms  max \(.max_ms * 1000 | round / 1000) ms  (poll round trip p50 \(.poll_rtt_p50_ms * 1000 | round / 1000) ms, /v1/policies \(.body_bytes) bytes)"' <<<"$lat")
      # The same timed in the datapath: sample k's policy also allows the client on TCP
      # 20000+k; t1 is when the client's connect there completes (no HTTP polling).
      gen_now=$(cat "$asrc/.generation")
      ip netns exec "$p0" "$apply" listen --probe-base 20000 --count "$apply_count" &
      lis=$!
      for ((i = 0; i < 100; i++)); do
        ip netns exec "$p0" ss -Hltn "sport = :$((20000 + apply_count - 1))" | grep -q . && break
        sleep 0.05
      done
      lat2=$(ip netns exec "$p1" "$apply" latency --dir "$asrc" --count "$apply_count" \
        --first-index $((apply_policies + apply_count)) --seed "$seed" --remote-pods "$apply_pods" \
        --server-ip "$ip0" --client-ip "$ip1" --probe "$ip0" --probe-base 20000) || die "apply latency (datapath) run failed"
      kill -KILL "$lis" 2>/dev/null || true
      wait "$lis" 2>/dev/null || true
      [ "$(jq -r .count <<<"$lat2")" -eq "$apply_count" ] || die "apply latency (datapath): wrong sample count: $lat2"
      out=$("$apply" wait --dir "$asrc" --http "$http" --timeout-ms 60000) ||
        die "the agent did not report generation $((gen_now + apply_count)) after the datapath samples"
      apply_line+=$'\n'$(jq -r --arg p "$apply_policies" --arg q "$apply_pods" \
        '"apply latency in the datapath (connect probe; \($q) remote pods, \($p) policies, one policy added per sample): n \(.count)  p50 \(.p50_ms * 1000 | round / 1000) ms  p90 \(.p90_ms * 1000 | round / 1000) ms  p99 \(.p99_ms * 1000 | round / 1000) ms  max \(.max_ms * 1000 | round / 1000) ms"' <<<"$lat2")
    fi
    detach
  fi
  echo "$apply_line" | tee -a "$results"

  if [ -n "$tiny" ]; then  # the harness checks its own table
    for c in "${configs[@]}"; do
      for name in tcp_rr_tps iperf3_gbps; do
        awk -v n="$name" -v c="$c" -v r="$rounds" '$1 == n && $2 == c && $3 == r && $4 > 0 && $5 > 0 && $6 >= $5 { ok = 1 } END { exit !ok }' \
          "$results" || die "self-check: no valid $name row for $c in the table"
      done
      [ "$c" = plain ] && continue
      [ "$(grep -c "^$c/" "$results")" -eq 2 ] || die "self-check: no ratio rows for $c"
    done
    for n in "${npols[@]}"; do
      for b in nft legacy; do [ "${enforced[$b-$n]}" = yes ] || die "self-check: $b-$n not enforced"; done
    done
    grep -q '^apply latency' "$results" || die "self-check: no apply latency line"
    echo "policy: self-check passed (strand enforcement: $(for n in "${npols[@]}"; do printf '%s ' "strand-$n=${enforced[strand-$n]}"; done)contract: $contract)"
  fi

  plugin DEL pod0 "$p0" >/dev/null || die "DEL pod0 failed"
  plugin DEL pod1 "$p1" >/dev/null || die "DEL pod1 failed"
  exit 0
fi

# --------------------------------------------------------------------------------------------
# Outside: checks, sweep, work dir, plugin dir, config; then the node.
# --------------------------------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
  echo "policy: SKIP: needs root (network namespaces, bpffs)" >&2
  exit 77
fi
strand_bin=${STRAND_BIN:-$src/build/bin}
[ -n "$tools" ] || tools=$(dirname "$strand_bin")/tests
[ -n "$tcp_rr" ] || tcp_rr=$tools/bench_tcp_rr
[ -x "$tcp_rr" ] || die "$tcp_rr not built (ninja -C build bench_tcp_rr, or --tcp-rr)"
tcp_rr=$(realpath "$tcp_rr")
for t in bench_policy_gen bench_policy_apply; do
  [ -x "$tools/$t" ] || die "$tools/$t not built (ninja -C build bench_policy_gen bench_policy_apply, or --tools DIR)"
done
for c in unshare ip jq iperf3 bpftool ss timeout nft iptables-nft-restore iptables-legacy-restore; do
  command -v "$c" >/dev/null || die "missing command $c"
done
for b in strand strand-agent; do [ -x "$strand_bin/$b" ] || die "$strand_bin/$b not built (set STRAND_BIN)"; done

cenv_sweep "$prefix"
T=/tmp/$prefix$$
mkdir -p "$T/bin"
trap 'cenv_reap "$T" "$prefix$$"' EXIT
for b in strand strand-agent; do ln -s "$(realpath "$strand_bin/$b")" "$T/bin/$b"; done
for t in bench_policy_gen bench_policy_apply; do ln -s "$(realpath "$tools/$t")" "$T/bin/$t"; done
conf='{"cniVersion":"1.1.0","name":"bench","type":"strand","mtu":1500,"agentRequired":false,"agentSocket":"%T/agent.sock","logFile":"%T/strand.log","stateDir":"%T/state","ipam":{"type":"strand-ipam","ranges":[[{"subnet":"10.104.0.0/24"}]],"dataDir":"%T/ipam"}}'
echo "${conf//%T/$T}" | jq . >"$T/conf.json"

args=(--tcp-rr "$tcp_rr" --rounds "$rounds" --seconds "$seconds" --policies "$policies" --remote-pods "$remote_pods"
      --apply-pods "$apply_pods" --apply-policies "$apply_policies" --apply-count "$apply_count" --seed "$seed"
      --apply-path "$apply_path")
[ -z "$only" ] || args+=(--configs "$only")
[ -n "$ct_first" ] || args+=(--no-ct-first)
[ -z "$allow_unenforced" ] || args+=(--allow-unenforced)
[ -z "$tiny" ] || args+=(--tiny)
cenv_enter_node "$T" bash "${BASH_SOURCE[0]}" --inner "$T" "${args[@]}"
