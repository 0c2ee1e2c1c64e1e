#!/usr/bin/env bash
# CNI ADD/DEL latency: strand against the reference plugins, on a throw-away node (private
# mount + network namespace; the pod netns live in its private /run), timed by bench_cni_addel.
#
#   tests/bench/cni_addel/run.sh [--configs strand,strand-hostlocal,ptp] [--pods 200]
#       [--rounds 3] [--concurrency 1,16] [--json] [--driver PATH]
#
# Configs (one network config each, the plugin exec'd directly as a runtime does):
#   strand            strand with its built-in strand-ipam, no agent (plugin only): the
#                     strand shim finds no agent and execs strand-plugin
#   strand-plugin     the same config naming strand-plugin, the full plugin, directly
#                     (how a node without an agent can skip the shim)
#   strand-agent      strand with strand-agent running on the node, as deployed: the shim
#                     hands the verb to the agent, which runs it (ADD attaches the
#                     datapath, DEL hands the retired veth to its reaper)
#   strand-hostlocal  strand delegating IPAM to host-local (exec)
#   ptp               ptp (ipMasq false) + host-local: the reference
# Pod netns are created before any timing. After the run every pod netns must be back to lo
# only, the node must have no veth and every IPAM dataDir no allocation: the DELs were complete.
# env: STRAND_BIN (default <repo>/build/bin), CNI_REF_DIR (default /usr/lib/cni).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${STRAND_SRC:-$(cd "$here/../../.." && pwd)}
# shellcheck source=../../../hack/containerd-env.sh
source "$src/hack/containerd-env.sh"
prefix=stbn
die() { echo "cni_addel: $*" >&2; exit 1; }

configs=strand,strand-plugin,strand-agent,strand-hostlocal,ptp
pods=200
rounds=3
concurrency=1,16
json=
driver=
inner=
while [ $# -gt 0 ]; do
  case "$1" in
    --configs) configs=$2; shift 2 ;;
    --pods) pods=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --json) json=--json; shift ;;
    --driver) driver=$2; shift 2 ;;
    --inner) inner=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ "$pods" =~ ^[1-9][0-9]*$ ]] || die "--pods wants a positive number"
[ "$pods" -le 60000 ] || die "--pods at most 60000 (the /16 of each config)"

# --------------------------------------------------------------------------------------------
# Inside the node: pod netns, the driver, then the leak checks.
# --------------------------------------------------------------------------------------------
if [ -n "$inner" ]; then
  T=$inner
  cenv_node_setup "$T"
  ns_prefix=${prefix}$(basename "$T" | tr -dc 0-9)p
  for ((i = 0; i < pods; i++)); do echo "netns add $ns_prefix$i"; done | ip -batch - ||
    die "could not create $pods pod netns"
  args=()
  IFS=, read -r -a names <<<"$configs"
  agent_pid=
  if [[ ",$configs," == *",strand-agent,"* ]]; then
    agent_node=${prefix}$(basename "$T" | tr -dc 0-9)
    "$(dirname "$(readlink "$T/bin/strand")")/strand-agent" --node "$agent_node" --state-dir "$T/state-strand-agent" \
      --socket "$T/agent.sock" --http "" --log-file "$T/agent.log" &
    agent_pid=$!
    trap 'kill $agent_pid 2>/dev/null; wait $agent_pid 2>/dev/null; "$(dirname "$(readlink "$T/bin/strand")")/strand-agent" --node "$agent_node" --state-dir "$T/state-strand-agent" --cleanup --log-file "$T/agent.log"' EXIT
    for _ in $(seq 100); do [ -S "$T/agent.sock" ] && break; sleep 0.05; done
    [ -S "$T/agent.sock" ] || die "strand-agent did not start: $(tail -n 5 "$T/agent.log")"
  fi
  for c in "${names[@]}"; do args+=(--config "$c=$T/conf/$c.json"); done
  reference=ptp
  [[ ",$configs," == *",ptp,"* ]] || reference=${names[0]}
  echo "cni_addel: command: $driver ${args[*]} --cni-path $T/bin --netns-prefix $ns_prefix --pods $pods" \
    "--rounds $rounds --concurrency $concurrency --reference $reference $json" >&2
  "$driver" "${args[@]}" --cni-path "$T/bin" --netns-dir /run/netns --netns-prefix "$ns_prefix" \
    --pods "$pods" --rounds "$rounds" --concurrency "$concurrency" --reference "$reference" \
    --stderr-log "$T/plugins.stderr" $json || {
    echo "cni_addel: the driver failed; plugins' stderr:" >&2
    tail -n 20 "$T/plugins.stderr" >&2
    [ -f "$T/strand.log" ] && tail -n 20 "$T/strand.log" >&2
    exit 1
  }
  # Everything ADD made, DEL must have removed (retired veths: once the agent reaped them).
  for _ in $(seq 100); do
    [ -z "$(ip -o link show type veth)" ] && break
    sleep 0.02
  done
  left=$(ip -o link show type veth | awk -F': ' '{ print $2 }')
  [ -z "$left" ] || die "veths left on the node after DEL: $left"
  for ((i = 0; i < pods; i++)); do
    n=$(ip -n "$ns_prefix$i" -o link show | grep -vc ': lo:' || true)
    [ "$n" -eq 0 ] || die "pod netns $ns_prefix$i still has links: $(ip -n "$ns_prefix$i" -o link show)"
  done
  # Bookkeeping aside (host-local's lock and last_reserved_ip.N, strand-ipam's spare/ of
  # released files it recycles), a file in a dataDir is an allocation.
  left=$(find "$T"/ipam-* -type f ! -name lock ! -name 'last_reserved_ip.*' ! -path '*/spare/*' 2>/dev/null || true)
  [ -z "$left" ] || die "allocations left in the IPAM dataDirs: $left"
  left=$(find "$T"/state-* -type f -name '*.json' 2>/dev/null || true)
  [ -z "$left" ] || die "endpoint records left: $left"
  exit 0
fi

# --------------------------------------------------------------------------------------------
# Outside: checks, sweep, work dir, plugin dir, configs; then the node.
# --------------------------------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
  echo "cni_addel: SKIP: needs root (network namespaces)" >&2
  exit 77
fi
strand_bin=${STRAND_BIN:-$src/build/bin}
cni_dir=${CNI_REF_DIR:-/usr/lib/cni}
[ -n "$driver" ] || driver=$(dirname "$strand_bin")/tests/bench_cni_addel
[ -x "$driver" ] || die "driver $driver not built (cmake --build build --target bench_cni_addel, or --driver)"
driver=$(realpath "$driver")
for c in unshare ip jq; do command -v "$c" >/dev/null || die "missing command $c"; done

cenv_sweep "$prefix"
T=/tmp/$prefix$$
mkdir -p "$T/bin" "$T/conf"
trap '[ -n "${BENCH_KEEP:-}" ] && cp "$T"/*.log /tmp/ 2>/dev/null; cenv_reap "$T" "$prefix$$"' EXIT

for p in ptp host-local; do
  [ -x "$cni_dir/$p" ] || die "missing reference plugin $cni_dir/$p (containernetworking-plugins)"
  ln -s "$cni_dir/$p" "$T/bin/$p"
done
IFS=, read -r -a names <<<"$configs"
for c in "${names[@]}"; do
  case "$c" in
    strand|strand-plugin|strand-agent|strand-hostlocal)
      [ -x "$strand_bin/strand" ] || die "$strand_bin/strand not built (config $c; set STRAND_BIN)"
      [ -e "$T/bin/strand" ] || ln -s "$strand_bin/strand" "$T/bin/strand"
      [ -e "$T/bin/strand-plugin" ] || ln -s "$strand_bin/strand-plugin" "$T/bin/strand-plugin"
      if [ ! -e "$T/bin/strand-ipam" ]; then
        if [ -x "$strand_bin/strand-ipam" ]; then ln -s "$strand_bin/strand-ipam" "$T/bin/strand-ipam"
        else ln -s "$strand_bin/strand" "$T/bin/strand-ipam"; fi
      fi ;;
  esac
  case "$c" in
    strand) conf='{"cniVersion":"1.0.0","name":"bench","type":"strand","mtu":1500,"agentRequired":false,"logFile":"%T/strand.log","stateDir":"%T/state-strand","ipam":{"type":"strand-ipam","ranges":[[{"subnet":"10.100.0.0/16"}]],"dataDir":"%T/ipam-strand"}}' ;;
    strand-plugin) conf='{"cniVersion":"1.0.0","name":"bench","type":"strand-plugin","mtu":1500,"agentRequired":false,"logFile":"%T/strand.log","stateDir":"%T/state-strand-plugin","ipam":{"type":"strand-ipam","ranges":[[{"subnet":"10.104.0.0/16"}]],"dataDir":"%T/ipam-strand-plugin"}}' ;;
    strand-agent) conf='{"cniVersion":"1.0.0","name":"bench","type":"strand","mtu":1500,"agentRequired":true,"agentSocket":"%T/agent.sock","logFile":"%T/strand.log","stateDir":"%T/state-strand-agent","ipam":{"type":"strand-ipam","ranges":[[{"subnet":"10.103.0.0/16"}]],"dataDir":"%T/ipam-strand-agent"}}' ;;
    strand-hostlocal) conf='{"cniVersion":"1.0.0","name":"bench","type":"strand","mtu":1500,"agentRequired":false,"logFile":"%T/strand.log","stateDir":"%T/state-strand-hostlocal","ipam":{"type":"host-local","ranges":[[{"subnet":"10.101.0.0/16"}]],"dataDir":"%T/ipam-strand-hostlocal"}}' ;;
    ptp) conf='{"cniVersion":"1.0.0","name":"bench","type":"ptp","ipMasq":false,"mtu":1500,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.102.0.0/16"}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":"%T/ipam-ptp"}}' ;;
    *) die "unknown config '$c' (strand, strand-plugin, strand-agent, strand-hostlocal, ptp)" ;;
  esac
  echo "${conf//%T/$T}" | jq . >"$T/conf/$c.json"
done

cenv_enter_node "$T" bash "${BASH_SOURCE[0]}" --inner "$T" --driver "$driver" --configs "$configs" \
  --pods "$pods" --rounds "$rounds" --concurrency "$concurrency" $json
