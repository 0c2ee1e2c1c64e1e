#!/usr/bin/env bash
# e2e: NetworkPolicy updates under traffic (issue 5: "an update never drops
# traffic that both the old and the new policy allow"). A 2-node lab: x/server
# on node1 isolated by policies that always allow client x/a (node2) on TCP
# and UDP 80 and never allow client x/b (node1). While 13 updates are applied
# one after another (a policy replaced in place, added, deleted; pods and the
# namespace relabelled; an ipBlock rule added and removed; another rule's
# ports changed; x/a isolated for egress and back), `strand-lab traffic`
# keeps opening new flows from both clients (a TCP connection and a UDP
# datagram from a new source port every 15 ms from a, every 100 ms from b) and
# a long-lived TCP connection from a echoes a message every 15 ms. Nothing is
# retried: a timeout, refusal, reset or TCP retransmission is a failure.
# Passes when every attempt of a succeeded, its connection survived with every
# byte echoed, no attempt of b did, and neither agent recorded a policy drop
# of a's packets (while b's were). Cleans up (traffic, lab) even on failure.
# Needs root; exit 77 (skip) without it.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
bin=${STRAND_BIN:?STRAND_BIN is the build/bin directory}
src=${STRAND_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
lab="$bin/strand-lab"
name="upd-$$"
gap=${UPDATE_GAP_S:-1.2}  # traffic time under each policy version
bash "$src/hack/ensure-bpffs.sh"

work=$(mktemp -d /tmp/strand-upd-XXXXXX)
traffic_pids=()
cleanup() {
  for p in "${traffic_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${traffic_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$lab" down --name "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# Leftovers of earlier runs whose pid is gone (a killed ctest).
bash "$src/e2e/sweep_labs.sh" "$lab" upd-

fails=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
now_ms() { date +%s%3N; }
agent_get() {  # agent_get NODE-INDEX PATH
  ip netns exec "${name}_node$1" curl -sf --max-time 5 "http://127.0.0.1:9464$2"
}

t_start=$(now_ms)
"$lab" up --name "$name" --nodes 2 > /dev/null
cat > "$work/cluster.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {ns: x}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-a, namespace: x}
spec:
  podSelector: {matchLabels: {app: server}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {role: client-a}}}]
    ports: [{protocol: TCP, port: 80}, {protocol: UDP, port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: x, labels: {app: server}}
spec:
  nodeName: node1
  containers:
  - name: server
    ports:
    - {name: http, containerPort: 80, protocol: TCP}
    - {name: u80, containerPort: 80, protocol: UDP}
    - {name: alt, containerPort: 81, protocol: TCP}
YAML
for p in "a node2 {role: client-a}" "b node1 {pod: b}" "c node2 {role: other}"; do
  read -r pod node labels <<< "$p"
  printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: x, labels: %s}\nspec:\n  nodeName: %s\n  containers: [{name: c, ports: [{containerPort: 80}]}]\n' \
    "$pod" "$labels" "$node"
done >> "$work/cluster.yaml"
"$lab" apply --name "$name" -f "$work/cluster.yaml" > /dev/null
pods=$("$lab" get pods --name "$name" -o json)
ip_of() { jq -r --arg n "$1" '.items[] | select(.namespace == "x" and .name == $n) | .ips[0]' <<< "$pods"; }
a_ip=$(ip_of a)
b_ip=$(ip_of b)
echo "lab $name up with x/server $(ip_of server) (node1), a $a_ip (node2), b $b_ip (node1) in $(( $(now_ms) - t_start )) ms"
# Before any traffic: the starting point is what the test assumes.
"$lab" probe --name "$name" --from x/a --to x/server --port 80 --timeout-ms 3000 > /dev/null ||
  { echo "FAIL a does not reach x/server under allow-a before the updates"; exit 1; }
if "$lab" probe --name "$name" --from x/b --to x/server --port 80 --timeout-ms 500 > /dev/null; then
  echo "FAIL b reaches x/server under allow-a before the updates"; exit 1
fi

# ---- the policy versions -----------------------------------------------------
policy() {  # policy NAME SPEC-YAML (indented by two): a NetworkPolicy manifest in x
  printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: %s, namespace: x}\nspec:\n%s\n' "$1" "$2"
}
p1_expr='  podSelector: {matchExpressions: [{key: app, operator: In, values: [server]}]}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchExpressions: [{key: role, operator: In, values: [client-a]}]}}]
    ports: [{protocol: TCP, port: 80}, {protocol: UDP, port: 80}]'
# P2: namespace AND pod in one peer, ports by name; a second rule for c.
p2_head='  podSelector: {matchLabels: {app: server}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: x}}
      podSelector: {matchExpressions: [{key: role, operator: In, values: [client-a, client-z]}]}
    ports: [{port: http}, {protocol: UDP, port: u80}]'
p2_c81='  - from: [{podSelector: {matchLabels: {role: client-c}}}]
    ports: [{protocol: TCP, port: 81}]'
p2_c8080='  - from: [{podSelector: {matchLabels: {role: client-c}}}]
    ports: [{protocol: TCP, port: 8080, endPort: 8090}]'
p2_block="  - from: [{ipBlock: {cidr: 10.244.0.0/16, except: [$b_ip/32]}}]
    ports: [{protocol: TCP, port: 80}, {protocol: UDP, port: 80}]"
p3='  podSelector: {}
  ingress:
  - from: [{podSelector: {matchExpressions: [{key: role, operator: Exists}]}}]
    ports: [{protocol: TCP, port: 80}, {protocol: UDP, port: 80}]'
a_egress='  podSelector: {matchLabels: {role: client-a}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: server}}}]
    ports: [{protocol: TCP, port: 80}, {protocol: UDP, port: 80}]'
labels() {  # labels KIND NAME LABELS: a Pod (in x) or Namespace with exactly these labels
  if [ "$1" = Namespace ]; then
    printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: %s}\n' "$2" "$3"
  else
    printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: x, labels: %s}\n' "$2" "$3"
  fi
}
apply() { "$lab" apply --name "$name" -f - > /dev/null; }
delete_policy() { "$lab" delete --name "$name" networkpolicy "x/$1" > /dev/null; }

# ---- traffic -----------------------------------------------------------------
"$lab" traffic --name "$name" --from x/a --to x/server --port 80 --protocol TCP,UDP --connection \
  --interval-ms 15 --timeout-ms 3000 -o json > "$work/a.json" 2> "$work/a.err" &
traffic_pids+=($!)
"$lab" traffic --name "$name" --from x/b --to x/server --port 80 --protocol TCP,UDP \
  --interval-ms 100 --timeout-ms 1000 -o json > "$work/b.json" 2> "$work/b.err" &
traffic_pids+=($!)
t_traffic=$(now_ms)
sleep "$gap"

# ---- the updates, each with a's allowance kept and b still denied ------------
updates=()  # "START_MS END_MS DESCRIPTION"
update() {  # update DESCRIPTION COMMAND...: the change, then traffic under it for $gap s
  local what=$1; shift
  local t0 t1 rc=0
  t0=$(now_ms)
  "$@" || rc=$?
  t1=$(now_ms)
  updates+=("$t0 $t1 $what")
  printf '  +%5d ms  %-58s applied in %4d ms\n' $((t0 - t_traffic)) "$what" $((t1 - t0))
  [ "$rc" = 0 ] || { echo "FAIL update \"$what\" exited $rc"; fails=$((fails + 1)); }
  sleep "$gap"
}
echo "updates under traffic (a: TCP+UDP every 15 ms and one connection; b: every 100 ms):"
update "P1 replaced in place: matchLabels -> matchExpressions" apply < <(policy allow-a "$p1_expr")
update "P2 added: namespace AND pod selector, named ports" apply < <(policy allow-a-v2 "$p2_head
$p2_c81")
update "P1 deleted (P2 allows a)" delete_policy allow-a
update "P3 added: every pod of x, from pods with a role" apply < <(policy from-any-role "$p3")
update "unrelated pod c relabelled role=other -> client-c" apply < <(labels Pod c '{role: client-c}')
update "P2 gains an ipBlock rule (10.244.0.0/16 except b)" apply < <(policy allow-a-v2 "$p2_head
$p2_c81
$p2_block")
update "P2 loses the ipBlock rule" apply < <(policy allow-a-v2 "$p2_head
$p2_c81")
update "P2's rule for c: TCP 81 -> 8080-8090" apply < <(policy allow-a-v2 "$p2_head
$p2_c8080")
update "a isolated for egress (allowed to the server)" apply < <(policy a-egress "$a_egress")
update "a's egress policy deleted" delete_policy a-egress
update "a relabelled (new identity): + tier=front" apply < <(labels Pod a '{role: client-a, tier: front}')
update "namespace x relabelled: + env=test (every identity in x)" apply < <(labels Namespace x '{ns: x, env: test}')
update "P2 deleted (P3 allows a)" delete_policy allow-a-v2

for p in "${traffic_pids[@]}"; do kill -TERM "$p"; done
for p in "${traffic_pids[@]}"; do wait "$p" || true; done
traffic_pids=()
t_end=$(now_ms)

# ---- what the clients saw ----------------------------------------------------
for c in a b; do
  jq -e . "$work/$c.json" > /dev/null 2>&1 || { echo "FAIL no report from $c's traffic:"; cat "$work/$c.err"; exit 1; }
done
loop() {  # loop CLIENT PROTOCOL FIELD
  jq -r --arg p "$2" --arg f "$3" '.loops[] | select(.protocol == $p) | .[$f]' "$work/$1.json"
}
conn() { jq -r --arg f "$1" '.connection[$f]' "$work/a.json"; }
echo "a -> x/server over $(( (t_end - t_traffic) / 1000 )) s:"
for p in TCP UDP; do
  echo "  $p/80 new flows: $(loop a $p ok) ok, $(loop a $p failed) failed, slowest $(loop a $p maxMs) ms"
done
echo "  TCP/80 connection: $(conn exchanges) exchanges, $(conn echoedBytes)/$(conn sentBytes) bytes echoed," \
  "$(conn retransmits) retransmits, failure: $(jq -c .connection.failure "$work/a.json")"
echo "b -> x/server: TCP $(loop b TCP ok)/$(loop b TCP attempts), UDP $(loop b UDP ok)/$(loop b UDP attempts) reached"

# A failure is shown with the update that was last applied before it.
during() {  # during UNIX_MS: the update in force then
  local t=$1 u what="(before the first update)"
  for u in "${updates[@]}"; do
    read -r t0 _ rest <<< "$u"
    [ "$t0" -le "$t" ] && what="after \"$rest\""
  done
  echo "$what"
}
while read -r proto at time detail; do
  echo "  a $proto failed at +${at%.*} ms: $detail, $(during "$time")"
done < <(jq -r '.loops[] as $l | $l.failures[:10][] | "\($l.protocol)/\($l.port) \(.atMs) \(.timeMs) \(.detail)"' "$work/a.json")
for p in TCP UDP; do
  n=$(loop a $p failed)
  [ "$n" -le 10 ] || echo "  ... and $((n - 10)) more $p failures of a"
done
if [ "$(jq '.connection.failure != null' "$work/a.json")" = true ]; then
  echo "  a's connection broke: $(jq -r .connection.failure.detail "$work/a.json"), $(during "$(jq .connection.failure.timeMs "$work/a.json")")"
fi

for p in TCP UDP; do
  check "a: $p every new flow echoed ($(loop a $p ok) of $(loop a $p attempts))" \
    test "$(loop a $p failed)" = 0 -a "$(loop a $p attempts)" -ge 500
  check "b: $p no new flow reached the server ($(loop b $p ok) of $(loop b $p attempts))" \
    test "$(loop b $p ok)" = 0 -a "$(loop b $p attempts)" -ge 50
done
check "a: the long-lived connection survived every update" test "$(jq '.connection.failure' "$work/a.json")" = null
check "a: every byte sent on it was echoed ($(conn echoedBytes) bytes, $(conn exchanges) exchanges)" \
  test "$(conn echoedBytes)" = "$(conn sentBytes)" -a "$(conn exchanges)" -ge 500
check "a: no TCP segment of the connection was retransmitted" test "$(conn retransmits)" = 0

# ---- what the agents saw -----------------------------------------------------
drops_a=0 drops_b=0 lost=0
for n in 1 2; do
  agent_get "$n" "/v1/drops?limit=100000" > "$work/drops$n.json"
  drops_a=$((drops_a + $(jq --arg a "$a_ip" '[.items[] | select(.reason == "policy-denied" and (.src == $a or .dst == $a))] | length' "$work/drops$n.json")))
  drops_b=$((drops_b + $(jq --arg b "$b_ip" '[.items[] | select(.reason == "policy-denied" and .src == $b)] | length' "$work/drops$n.json")))
  lost=$((lost + $(jq '.lost' "$work/drops$n.json")))
done
agent_get 2 /v1/endpoints > "$work/endpoints2.json"
a_counted=$(jq '[.items[] | select(.namespace == "x" and .pod == "a") | .stats.drops["policy-denied"] // 0] | add // 0' "$work/endpoints2.json")
check "agents: no policy-denied drop event of a's packets ($drops_a)" test "$drops_a" = 0
check "agents: no drop event was lost, so that count is complete (lost $lost)" test "$lost" = 0
check "node2: a's endpoint counted no policy-denied drop ($a_counted)" test "$a_counted" = 0
check "agents: b's packets were dropped by policy ($drops_b drop events)" test "$drops_b" -gt 0
if [ "$drops_a" != 0 ]; then
  echo "the first policy-denied drops of a's packets:"
  jq -c --arg a "$a_ip" '.items[] | select(.reason == "policy-denied" and (.src == $a or .dst == $a))' \
    "$work/drops1.json" "$work/drops2.json" | head -5 || true
fi

echo "update_traffic: $fails failures in $(( ($(now_ms) - t_start) / 1000 )) s"
[ "$fails" = 0 ]
