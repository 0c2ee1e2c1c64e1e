#!/usr/bin/env bash
# make demo. Until strand-lab lands: the plugin's two-pod ADD / ping / DEL round
# trip on a "node" made of a network namespace, invoked as a runtime invokes it.
# Cleans up on exit or interrupt; touches nothing outside its own namespaces.
set -euo pipefail
build_dir=$(cd "${1:-build}" && pwd)
bin="$build_dir/bin"
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (network namespaces)" >&2; exit 1; }

p="stdemo$$"
node="${p}n"
work=$(mktemp -d /tmp/strand-demo-XXXXXX)
cleanup() {
  for ns in "$node" "${p}a" "${p}b"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
# leftovers of an interrupted earlier demo
for ns in $(ip netns list | awk '{print $1}' | grep '^stdemo' || true); do ip netns del "$ns" || true; done

ip netns add "$node"
ip netns add "${p}a"
ip netns add "${p}b"

cat > "$work/conf.json" <<JSON
{"cniVersion":"1.1.0","name":"demo","type":"strand","mtu":1500,"agentRequired":false,
 "agentSocket":"$work/agent.sock","stateDir":"$work/state","logFile":"$work/strand.log",
 "ipam":{"type":"strand-ipam","dataDir":"$work/ipam",
         "ranges":[[{"subnet":"10.88.0.0/24"}],[{"subnet":"fd88::/64"}]]}}
JSON

cni() {  # cni COMMAND CONTAINER POD-NETNS
  ip netns exec "$node" env CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS="/run/netns/$3" CNI_IFNAME=eth0 \
    CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=demo;K8S_POD_NAME=$2" CNI_PATH="$bin:/usr/lib/cni" \
    "$bin/strand" < "$work/conf.json"
}

echo "== strand CNI demo: node netns $node, pods ${p}a and ${p}b"
for pod in a b; do
  cni ADD "pod-$pod" "${p}$pod" > "$work/$pod.json"
  ips=$(jq -r '[.ips[].address] | join(", ")' "$work/$pod.json")
  host_if=$(jq -r '.interfaces[0].name' "$work/$pod.json")
  printf 'ADD pod-%s: %s on host veth %s\n' "$pod" "$ips" "$host_if"
done
b4=$(jq -r '.ips[] | select(.address | contains(".")) | .address | split("/")[0]' "$work/b.json")
b6=$(jq -r '.ips[] | select(.address | contains(":")) | .address | split("/")[0]' "$work/b.json")
echo "-- inside pod-a:"
ip netns exec "${p}a" ip -br addr show dev eth0
ip netns exec "${p}a" ip route show
ip netns exec "${p}a" ip neigh show
echo "-- on the node:"
ip netns exec "$node" ip route show | grep 10.88 || true
ip netns exec "$node" ip neigh show | grep -E '10.88|fd88' || true
echo "-- pod-a -> pod-b:"
ip netns exec "${p}a" ping -c 3 -i 0.2 -W 2 "$b4" | tail -2
ip netns exec "${p}a" ping -6 -c 3 -i 0.2 -W 2 "$b6" | tail -2
for pod in a b; do
  jq '. + {prevResult: input}' "$work/conf.json" "$work/$pod.json" > "$work/check-$pod.json"
  ip netns exec "$node" env CNI_COMMAND=CHECK CNI_CONTAINERID="pod-$pod" CNI_NETNS="/run/netns/${p}$pod" CNI_IFNAME=eth0 \
    CNI_PATH="$bin:/usr/lib/cni" "$bin/strand" < "$work/check-$pod.json"
  echo "CHECK pod-$pod: ok"
done
for pod in a b; do
  cni DEL "pod-$pod" "${p}$pod"
  echo "DEL pod-$pod: ok"
done
left=$(ip netns exec "$node" ip -o link show | grep -vc ': lo:' || true)
allocs=$(find "$work/ipam/demo" -maxdepth 1 -name '10.*' -o -maxdepth 1 -name 'fd88*' | wc -l)
echo "after DEL: $left host links, $allocs allocations, $(ls "$work/state" | wc -l) endpoint records"
[ "$left" -eq 0 ] && [ "$allocs" -eq 0 ]
echo "== done. The multi-node demo (agents, datapath, policy, flows and drops) arrives with strand-lab."
