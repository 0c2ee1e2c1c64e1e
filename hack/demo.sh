#!/usr/bin/env bash
# make demo: strand on a local cluster of network namespaces (strand-lab).
# Two nodes with real agents and datapath, two namespaces of labelled pods on
# both nodes, the TCP matrix, a NetworkPolicy, traffic, flows and drops, then
# down. Checks what it shows: with the policy exactly data/db is cut off from
# every pod but shop/cart on TCP 80 (and from shop/cart on UDP 53), `strandctl
# why` agrees with every cell, the probes and the drop name the policy; any
# difference ends it with "demo: FAILED ..." and exit 1. Cleans up on exit or
# interrupt; touches nothing outside its namespaces. The lab is named "demo"
# (STRAND_DEMO_NAME overrides it; e2e/local/demo.sh runs it under ctest).
set -euo pipefail
build_dir=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
bin="$build_dir/bin"
lab="$bin/strand-lab"
name=${STRAND_DEMO_NAME:-demo}
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
failed() { printf '\033[1;31mdemo: FAILED: %s\033[0m\n' "$*" >&2; exit 1; }
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
"$lab" matrix --name "$name" --port 80 -o json > "$work/tcp80.json"
"$lab" matrix --name "$name" --port 80
# What the policy says, cell by cell: data/db takes TCP 80 from shop/cart (and
# itself: a pod always reaches itself); every other cell is open.
matrix_cells() {  # matrix_cells MATRIX-JSON: "FROM TO REACHED" per cell
  jq -r '.reachable | to_entries[] | .key as $f | .value | to_entries[] | "\($f) \(.key) \(.value)"' "$1"
}
check_matrix() {  # check_matrix MATRIX-JSON: every cell as the policy says
  local file=$1 from to got want bad=0 blocked=0 cells=0
  while read -r from to got; do
    cells=$((cells + 1))
    want=true
    [ "$to" != data/db ] || [ "$from" = data/db ] || [ "$from" = shop/cart ] || want=false
    [ "$got" = true ] || blocked=$((blocked + 1))
    if [ "$got" != "$want" ]; then
      echo "  $from -> $to: expected $([ "$want" = true ] && echo reachable || echo blocked) by data/db-from-cart," \
        "got $([ "$got" = true ] && echo reachable || echo blocked)" >&2
      bad=$((bad + 1))
    fi
  done < <(matrix_cells "$file")
  [ "$cells" = 16 ] || failed "the matrix has $cells cells, not 4 x 4"
  [ "$bad" = 0 ] || failed "the matrix differs from the policy in $bad cells"
  echo "$blocked cells blocked, exactly those the policy blocks."
}
check_matrix "$work/tcp80.json"

step "why: strandctl asks node 1's agent to explain both verdicts"
ctl() { nsenter --net="/run/netns/${name}_node1" "$bin/strandctl" --agent 127.0.0.1:9464 "$@"; }
why_rc=0
ctl why --from shop/web --to data/db --port 80 || why_rc=$?
[ "$why_rc" = 3 ] || failed "why shop/web -> data/db 80 exited $why_rc, want 3 (denied)"
echo
ctl why --from shop/cart --to data/db --port 80 || failed "why shop/cart -> data/db 80: not allowed"
ctl why --from shop/web --to data/db --port 80 -o json > "$work/why-web.json" || true
ctl why --from shop/cart --to data/db --port 80 -o json > "$work/why-cart.json"
jq -e '.ingress.isolatedBy == ["data/db-from-cart"]' "$work/why-web.json" > /dev/null ||
  failed "why shop/web -> data/db does not blame data/db-from-cart: $(jq -c .ingress "$work/why-web.json")"
jq -e '.ingress.allowedBy.policy == "data/db-from-cart" and .ingress.allowedBy.index == 0' "$work/why-cart.json" > /dev/null ||
  failed "why shop/cart -> data/db does not name data/db-from-cart ingress[0]: $(jq -c .ingress "$work/why-cart.json")"
[ "$(ctl why --from shop/cart --to data/db --port 53/UDP -o json | jq .allowed)" = false ] ||
  failed "why shop/cart -> data/db 53/UDP is not denied (the policy allows TCP 80 only)"
# And for every cell of the matrix: why's verdict is what the datapath did.
cells=0
while read -r from to got; do
  said=$(ctl why --from "$from" --to "$to" --port 80 -o json | jq .allowed) || true
  [ "$said" = "$got" ] || failed "why $from -> $to 80/TCP says allowed=$said, the datapath reached=$got"
  cells=$((cells + 1))
done < <(matrix_cells "$work/tcp80.json")
echo "why agrees with the datapath on all $cells cells of the matrix."

step "traffic: TCP and UDP echoes, a ping across nodes"
probe() {  # probe WANT(0 reachable|1 blocked) PROBE-ARGS...
  local want=$1 rc=0; shift
  "$lab" probe --name "$name" "$@" || rc=$?
  [ "$rc" = "$want" ] || failed "probe $* exited $rc, want $want"
}
probe 0 --from shop/web --to data/cache --port 80
probe 0 --from shop/cart --to data/db --port 80
probe 1 --from shop/cart --to data/db --port 53 --protocol UDP
probe 1 --from shop/web --to data/db --port 80
cache_ip=$("$lab" get pods --name "$name" -o json | jq -r '.items[] | select(.name=="cache") | .ips[0]')
"$lab" exec --name "$name" shop/web -- ping -c 3 -i 0.2 -q "$cache_ip" | tail -2

step "flows of data/db: each names the rule that allowed it"
"$lab" flows --name "$name" --pod data/db

step "drops, every node: the reason and the policy that isolates the pod"
"$lab" drops --name "$name"
db_node=$("$lab" get pods --name "$name" -o json | jq -r '.items[] | select(.namespace=="data" and .name=="db") | .node')
db_node=${db_node#"${name}-node"}
agent_get "$db_node" "/v1/drops?pod=data/db" |
  jq -e '[.items[] | select(.reason == "policy-denied" and .policy.isolatedBy == ["data/db-from-cart"])] | length > 0' > /dev/null ||
  failed "no policy-denied drop of data/db names data/db-from-cart"

step "policies with their per-rule hits (the agent of data/db's node)"
nsenter --net="/run/netns/${name}_node$db_node" "$bin/strandctl" --agent 127.0.0.1:9464 policies

step "strand-lab down"
"$lab" down --name "$name"
left_ns=$(ls /run/netns 2>/dev/null | grep -c "^${name}_" || true)
left_pins=$(ls /sys/fs/bpf/strand 2>/dev/null | grep -c "^${name}-" || true)
echo "left behind: $left_ns namespaces, $left_pins pin directories"
[ "$left_ns" -eq 0 ] && [ "$left_pins" -eq 0 ]
printf '\n== demo done in %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
