#!/usr/bin/env bash
# make demo: strand on a local cluster of network namespaces (strand-lab).
# Two nodes with real agents and datapath, two namespaces of labelled pods on
# both nodes, the TCP matrix, a NetworkPolicy, traffic, flows and drops, then
# down. Cleans up on exit or interrupt; touches nothing outside its namespaces.
set -euo pipefail
build_dir=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
bin="$build_dir/bin"
lab="$bin/strand-lab"
name=demo
examples="$src/lab/examples/demo"
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (network namespaces, bpffs)" >&2; exit 1; }
bash "$src/hack/ensure-bpffs.sh"

work=$(mktemp -d /tmp/strand-demo-XXXXXX)
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  "$lab" down --name "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$(date +%s.%N)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
agent_get() {  # agent_get NODE-INDEX PATH: the agent's HTTP API, from inside its node
  nsenter --net="/run/netns/${name}_node$1" curl -sf --max-time 3 "http://127.0.0.1:9464$2"
}

step "strand-lab up: 2 nodes (network namespaces on one bridge), one strand-agent each"
"$lab" up --name "$name" --nodes 2

step "apply: namespaces shop and data, pods on both nodes (CNI ADD as kubelet does it)"
"$lab" apply --name "$name" -f "$examples/01-pods.yaml"
"$lab" get pods --name "$name"

step "matrix, TCP 80: every pod to every pod, same node and across nodes"
"$lab" matrix --name "$name" --port 80

step "NetworkPolicy data/db-from-cart: only shop/cart may reach data/db, on TCP 80"
cat "$examples/02-policy.yaml" | grep -v '^#'
"$lab" apply --name "$name" -f "$examples/02-policy.yaml"
# apply returns once every agent reports the manifests' generation in its datapath.
for node in 1 2; do
  echo "node $node agent /v1/policies:"
  agent_get "$node" /v1/policies |
    jq -c '.items[] | {namespace, name, enforced, selects: [.selects[] | "\(.namespace)/\(.pod)"], local: [.endpoints[] | "\(.namespace)/\(.pod)"]}'
done

step "matrix, TCP 80, with the policy: only shop/cart reaches data/db"
"$lab" matrix --name "$name" --port 80 -o json > "$work/after.json"
"$lab" matrix --name "$name" --port 80
blocked=$(jq '[.reachable[][] | select(. == false)] | length' "$work/after.json")
echo "$blocked cells blocked by the policy."
[ "$blocked" -gt 0 ] || { echo "demo: the policy blocked nothing" >&2; exit 1; }

step "why: strandctl asks node 1's agent to explain both verdicts"
ctl() { nsenter --net="/run/netns/${name}_node1" "$bin/strandctl" --agent 127.0.0.1:9464 "$@"; }
ctl why --from shop/web --to data/db --port 80 || true
echo
ctl why --from shop/cart --to data/db --port 80

step "traffic: TCP and UDP echoes, a ping across nodes"
"$lab" probe --name "$name" --from shop/web --to data/cache --port 80
"$lab" probe --name "$name" --from shop/cart --to data/db --port 80
"$lab" probe --name "$name" --from shop/web --to data/db --port 53 --protocol UDP || true
"$lab" probe --name "$name" --from shop/web --to data/db --port 80 || true
cache_ip=$("$lab" get pods --name "$name" -o json | jq -r '.items[] | select(.name=="cache") | .ips[0]')
"$lab" exec --name "$name" shop/web -- ping -c 3 -i 0.2 -q "$cache_ip" | tail -2

step "flows of data/db: each names the rule that allowed it"
"$lab" flows --name "$name" --pod data/db

step "drops, every node: the reason and the policy that isolates the pod"
"$lab" drops --name "$name"

step "policies with their per-rule hits (the agent of data/db's node)"
db_node=$("$lab" get pods --name "$name" -o json | jq -r '.items[] | select(.namespace=="data" and .name=="db") | .node')
nsenter --net="/run/netns/${name}_${db_node#"${name}-"}" "$bin/strandctl" --agent 127.0.0.1:9464 policies

step "strand-lab down"
"$lab" down --name "$name"
left_ns=$(ls /run/netns 2>/dev/null | grep -c "^${name}_" || true)
left_pins=$(ls /sys/fs/bpf/strand 2>/dev/null | grep -c "^${name}-" || true)
echo "left behind: $left_ns namespaces, $left_pins pin directories"
[ "$left_ns" -eq 0 ] && [ "$left_pins" -eq 0 ]
printf '\n== demo done in %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
