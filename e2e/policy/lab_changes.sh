#!/usr/bin/env bash
# e2e: what strand-lab does around each change, on a 1-node lab: a Pod's
# manifest exists before its CNI ADD and is removed when the ADD fails (the
# failure is forced by hiding the node's conflist), it gets status.podIPs after
# a good ADD, every change bumps manifests/.generation and waits for the agent,
# and `matrix` over several ports and protocols prints one matrix each.
# Needs root; exit 77 (skip) without it.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
bin=${STRAND_BIN:?STRAND_BIN is the build/bin directory}
src=${STRAND_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
lab="$bin/strand-lab"
name="chg-$$"
root="/run/strand-lab/$name"
bash "$src/hack/ensure-bpffs.sh"
fails=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
work=$(mktemp -d /tmp/strand-lab-chg-XXXXXX)
cleanup() { "$lab" down --name "$name" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
gen() { cat "$root/manifests/.generation" 2>/dev/null || echo 0; }

"$lab" up --name "$name" --nodes 1 > /dev/null
g0=$(gen)
check "up wrote a generation" test "$g0" -ge 1
cat > "$work/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {pod: a}}
spec:
  containers:
  - name: c
    ports:
    - {name: web, containerPort: 80}
    - {name: u81, containerPort: 81, protocol: UDP}
YAML
conf="$root/nodes/$name-node1/10-strand-lab.conflist"
mv "$conf" "$work/conflist"
set +e
"$lab" apply --name "$name" -f "$work/pod.yaml" > "$work/apply1.out" 2> "$work/apply1.err"
rc=$?
set -e
check "apply with a failing CNI ADD exits 1" test "$rc" = 1
check "the failed pod's manifest is removed" test ! -e "$root/manifests/pod_x_a.json"
check "the failed pod's netns is removed" test ! -e "/run/netns/${name}_p_x_a"
check "the failed pod is not in the state" test "$("$lab" get pods --name "$name" -o json | jq '.items | length')" = 0
g1=$(gen)
check "the failed apply synced twice (manifest in, manifest out): $g0 -> $g1" test "$g1" -eq $((g0 + 2))
mv "$work/conflist" "$conf"
"$lab" apply --name "$name" -f "$work/pod.yaml" > /dev/null
m="$root/manifests/pod_x_a.json"
check "the pod's manifest has status.podIPs after the ADD" \
  test "$(jq -r '.status.phase + " " + (.status.podIPs | length | tostring)' "$m")" = "Running 1"
check "the pod's manifest has its node" test "$(jq -r .spec.nodeName "$m")" = "$name-node1"
g2=$(gen)
check "a new pod syncs twice (before and after the ADD): $g1 -> $g2" test "$g2" -eq $((g1 + 2))
check "the agent reports the generation the lab wrote" \
  test "$(ip netns exec "${name}_node1" curl -s http://127.0.0.1:9464/v1/policies | jq .generation)" -ge "$g2"
"$lab" apply --name "$name" -f - > /dev/null <<'YAML'
kind: Pod
metadata: {name: a, namespace: x, labels: {pod: a, team: blue}}
YAML
g3=$(gen)
check "a label change syncs once: $g2 -> $g3" test "$g3" -eq $((g2 + 1))
check "a label change keeps the pod's addresses" test "$(jq '.status.podIPs | length' "$m")" = 1
"$lab" matrix --name "$name" --port 80,81 --protocol TCP,UDP --family all -o json > "$work/m.json"
check "matrix over 2 ports x 2 protocols: 4 matrices with family,port,protocol,pods,reachable" \
  test "$(jq -c '[.matrices[] | keys_unsorted] | unique' "$work/m.json")" = '[["family","port","protocol","pods","reachable"]]' -a \
       "$(jq '.matrices | length' "$work/m.json")" = 4
check "matrix: the pod reaches itself on the ports it serves (TCP 80, UDP 81) and not on the others" \
  test "$(jq -c '[.matrices[] | [.protocol, .port, .reachable["x/a"]["x/a"]]]' "$work/m.json")" = \
       '[["TCP",80,true],["TCP",81,false],["UDP",80,false],["UDP",81,true]]'
"$lab" matrix --name "$name" --port 80 --protocol TCP,UDP > "$work/m.txt"
check "matrix grid: a compact grid per combination" test "$(grep -c '^x/a ' "$work/m.txt")" = 2
"$lab" delete --name "$name" pod x/a > /dev/null
g4=$(gen)
check "delete syncs: $g3 -> $g4" test "$g4" -eq $((g3 + 1))
check "the deleted pod's manifest is gone" test ! -e "$m"
echo "lab_changes: $fails failures"
[ "$fails" = 0 ]
