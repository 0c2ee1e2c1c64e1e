#!/usr/bin/env bash
# End-to-end: a CNI plugin driven by containerd the way a node's runtime drives it
# (`ctr run --cni`: go-cni -> libcni -> the conflist in /etc/cni/net.d), on a throw-away node:
# containerd, ctr and the plugins run in a private mount and network namespace
# (hack/containerd-env.sh), so veths, routes, iptables rules and qdiscs stay inside it.
#
#   e2e/local/cni_containerd.sh PLUGIN [SCENARIO...]
#     PLUGIN    strand (strand + strand-ipam from $STRAND_BIN) or ptp (ptp + host-local)
#     SCENARIO  basic    the main plugin alone
#               chained  main plugin, then portmap (hostPort 8080 -> 80) and bandwidth
#               (default: basic chained)
#   env: STRAND_BIN (default <repo>/build/bin), E2E_KEEP=1 keeps the work dir on failure,
#        E2E_TRACE=1 traces every command with a timestamp
#
# Each scenario: container A (busybox httpd, detached) and container B (foreground) get
# addresses in 10.99.0.0/24; B fetches A's page with nc (and pings A); chained: a client
# namespace fetches A through the node's hostPort, B through the node IP too, and A's host veth
# carries the bandwidth qdiscs. A's attachment is deleted as a runtime does it (libcni order,
# netns still present) and deleted again once the netns is gone (DEL is idempotent); ctr
# deletes B's (empty netns). Then nothing may be left: no veth/ifb/route on the node, no
# address in the IPAM dataDir, no libcni cache entry, no endpoint record, no portmap chain.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${STRAND_SRC:-$(cd "$here/../.." && pwd)}
# shellcheck source=../../hack/containerd-env.sh
source "$src/hack/containerd-env.sh"

prefix=ste2e
if [ "${E2E_TRACE:-}" = 1 ]; then
  PS4='+ $(date +%T.%N | cut -c1-12) '
  set -x
fi
fail() { echo "cni_containerd: FAIL: $*" >&2; exit 1; }
log() { echo "cni_containerd: $*" >&2; }

# --------------------------------------------------------------------------------------------
# Inner part: runs inside the node's namespaces (see the end of the file for the outer part).
# --------------------------------------------------------------------------------------------
inner() {
  T=$1 plugin=$2; shift 2
  scenarios=("$@")
  export CENV_NET=e2e   # CENV_NS comes from the outer part
  cenv_node_setup "$T"
  trap inner_cleanup EXIT
  cenv_containerd_start "$T"
  cenv_ctr "$T" image import "$T/busybox.tar" >/dev/null
  mkdir -p "$T/net.d"
  cenv_cni_dirs "$T" "$T/net.d" "$T/bin"

  # The node's uplink and an outside client: node 10.98.0.1/24 <-> client 10.98.0.2/24.
  ip netns add "${prefix}c"
  ip link add "${prefix}up" type veth peer name eth0 netns "${prefix}c"
  ip addr add 10.98.0.1/24 dev "${prefix}up"
  ip link set "${prefix}up" up
  ip -n "${prefix}c" addr add 10.98.0.2/24 dev eth0
  ip -n "${prefix}c" link set eth0 up
  ip -n "${prefix}c" link set lo up

  for s in "${scenarios[@]}"; do
    log "scenario $s (plugin $plugin)"
    scenario "$s"
    log "scenario $s: ok"
  done
}

inner_cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    log "failed (rc=$rc); node state follows"
    ip -o link show >&2 || true
    ip route show >&2 || true
    ls -lR "$T"/ipam-* /var/lib/cni >&2 2>/dev/null || true
    [ -f "$T/strand.log" ] && tail -n 30 "$T/strand.log" >&2
    tail -n 15 "$T/containerd/containerd.log" >&2 2>/dev/null || true
  fi
  cenv_containerd_stop "$T"
  ip netns del "${prefix}c" 2>/dev/null || true
  exit "$rc"
}

# The main plugin's entry in the conflist: the one word that picks the plugin under test.
main_plugin() { # main_plugin SCENARIO
  local ipam_dir=$T/ipam-$1
  case "$plugin" in
    strand)
      printf '{"type":"strand","mtu":1500,"agentRequired":false,"logFile":"%s","stateDir":"%s","ipam":{"type":"strand-ipam","ranges":[[{"subnet":"10.99.0.0/24"}]],"dataDir":"%s"}}' \
        "$T/strand.log" "$T/state-$1" "$ipam_dir" ;;
    ptp)
      printf '{"type":"ptp","ipMasq":false,"mtu":1500,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.99.0.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":"%s"}}' \
        "$ipam_dir" ;;
    *) fail "unknown plugin '$plugin' (strand or ptp)" ;;
  esac
}

# write_conflist SCENARIO WITH_PORTS: the only file in /etc/cni/net.d. ctr has no way to pass
# capability args (no --publish), so the port mapping rides in the portmap entry's own
# runtimeConfig; with no capability declared, libcni passes it through untouched. go-cni reads
# the directory at each `ctr run`, so A (ports) and B (none) get different files.
write_conflist() {
  local s=$1 ports=$2 plugins
  plugins=$(main_plugin "$s")
  if [ "$s" = chained ]; then
    local pm='{"type":"portmap","snat":true}'
    [ "$ports" = yes ] &&
      pm='{"type":"portmap","snat":true,"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}}'
    plugins="$plugins,$pm"
    plugins="$plugins,"'{"type":"bandwidth","ingressRate":100000000,"ingressBurst":1048576,"egressRate":100000000,"egressBurst":1048576}'
  fi
  printf '{"cniVersion":"1.0.0","name":"%s","plugins":[%s]}\n' "$CENV_NET" "$plugins" >"$T/net.d/10-e2e.conflist.tmp"
  jq -e . "$T/net.d/10-e2e.conflist.tmp" >/dev/null || fail "bad conflist: $(cat "$T/net.d/10-e2e.conflist.tmp")"
  mv "$T/net.d/10-e2e.conflist.tmp" "$T/net.d/10-e2e.conflist"
}

task_pid() { cenv_ctr "$T" task ls | awk -v id="$1" '$1 == id { print $2 }'; }

# The host side interface of an attachment: the result's interface with no sandbox.
host_ifname() { jq -r '[.interfaces[] | select((.sandbox // "") == "")][0].name // empty' <<<"$1"; }

# The files in the IPAM dataDir that record an allocation: all but the bookkeeping of
# host-local (lock, last_reserved_ip.N) and strand-ipam's spare/ (released files it recycles,
# see cni/ipam/store.h).
ip_files() {
  find "$T/ipam-$1" -type f ! -name lock ! -name 'last_reserved_ip.*' ! -path '*/spare/*' 2>/dev/null | sort
}

node_veths() { ip -o link show type veth | awk -F': ' '{ print $2 }' | cut -d@ -f1 | grep -v "^${prefix}up$" || true; }

# ipam_mentions SCENARIO IP: whether an allocation file is named after IP or contains it.
ipam_mentions() {
  local f
  for f in $(ip_files "$1"); do
    [ "${f##*/}" = "$2" ] && return 0
    grep -qFw "$2" "$f" && return 0
  done
  return 1
}

scenario() {
  local s=$1 a=a-$1 b=b-$1 res_a ip_a hv pid_a out ip_b saved
  local image=$CENV_IMAGE

  # --- A: detached httpd --------------------------------------------------------------------
  write_conflist "$s" yes
  cenv_ctr "$T" run -d --cni "$image" "$a" httpd -f -p 80 -h /www ||
    fail "$s: ctr run --cni of $a failed"
  res_a=$(cenv_cni_result "$T" "$a") || fail "$s: no CNI result cached for $a"
  ip_a=$(jq -r '.ips[0].address // empty' <<<"$res_a" | cut -d/ -f1)
  [[ "$ip_a" == 10.99.0.* ]] || fail "$s: $a got '$ip_a', not an address of 10.99.0.0/24: $res_a"
  out=$(cenv_ctr "$T" task exec --exec-id addr "$a" ip -4 -o addr show dev eth0) ||
    fail "$s: $a has no eth0"
  grep -q "inet $ip_a/" <<<"$out" || fail "$s: $a's eth0 lacks $ip_a: $out"
  hv=$(host_ifname "$res_a")
  [ -n "$hv" ] || fail "$s: the result names no host interface: $res_a"
  ip link show dev "$hv" >/dev/null 2>&1 || fail "$s: host interface $hv of the result does not exist"
  grep -q "dev $hv" <<<"$(ip route get "$ip_a")" || fail "$s: the node does not route $ip_a via $hv: $(ip route get "$ip_a")"
  [ "$(ip_files "$s" | wc -l)" -ge 1 ] || fail "$s: IPAM dataDir $T/ipam-$s records no allocation"
  log "$s: $a has $ip_a (host side $hv)"

  if [ "$s" = chained ]; then
    grep -q tbf <<<"$(tc qdisc show dev "$hv")" || fail "$s: bandwidth put no tbf on $hv: $(tc qdisc show dev "$hv")"
    [ -n "$(ip -o link show type ifb)" ] || fail "$s: bandwidth made no ifb for egress shaping"
    grep -q -- '--dport 8080' <<<"$(iptables-save -t nat)" || fail "$s: portmap installed no DNAT for 8080"
  fi
  # httpd may need a moment after the task starts.
  for _ in $(seq 1 20); do
    cenv_ctr "$T" task exec --exec-id probe "$a" sh -c 'netstat -ltn | grep -q ":80 "' 2>/dev/null && break
    sleep 0.1
  done

  # --- B: foreground client; ctr runs ADD, our commands, then DEL -----------------------------
  write_conflist "$s" no
  local cmd="ip -4 -o addr show dev eth0 && ping -c 1 -W 2 $ip_a >/dev/null && echo ping-ok"
  cmd="$cmd && printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 $ip_a 80"
  [ "$s" = chained ] && cmd="$cmd && printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 10.98.0.1 8080"
  out=$(cenv_ctr "$T" run --rm --cni "$image" "$b" sh -c "$cmd") || fail "$s: $b failed: $out"
  ip_b=$(sed -n 's/.* inet \([0-9.]*\)\/.*/\1/p' <<<"$out" | head -n1)
  [[ "$ip_b" == 10.99.0.* && "$ip_b" != "$ip_a" ]] || fail "$s: $b got '$ip_b' (A has $ip_a): $out"
  grep -q ping-ok <<<"$out" || fail "$s: $b could not ping $ip_a: $out"
  local want=1
  [ "$s" = chained ] && want=2
  [ "$(grep -c strand-e2e-ok <<<"$out")" -eq "$want" ] || fail "$s: $b did not fetch A's page $want time(s): $out"
  log "$s: $b ($ip_b) reached $a"
  [ ! -e "$(cenv_cni_cache_file "$b")" ] || fail "$s: ctr left $b's libcni cache entry (DEL not run?)"
  if ipam_mentions "$s" "$ip_b"; then
    fail "$s: $b's address $ip_b is still allocated after its DEL: $(ip_files "$s")"
  fi
  ipam_mentions "$s" "$ip_a" || fail "$s: $a's address $ip_a is not in the IPAM dataDir"

  # --- from outside the node, through the hostPort ------------------------------------------
  if [ "$s" = chained ]; then
    out=$(ip netns exec "${prefix}c" busybox sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | busybox nc -w 3 10.98.0.1 8080") ||
      fail "$s: client could not connect to 10.98.0.1:8080"
    grep -q strand-e2e-ok <<<"$out" || fail "$s: client got no page through hostPort 8080: $out"
    log "$s: hostPort 8080 on the node reaches $a"
  fi

  # --- DEL of A as a runtime does it (netns present), then again with the netns gone ------------
  pid_a=$(task_pid "$a")
  [ -n "$pid_a" ] || fail "$s: no task pid for $a"
  saved=$T/cache-$a
  cp "$(cenv_cni_cache_file "$a")" "$saved"
  cenv_cni_del "$T" "$a" "/proc/$pid_a/ns/net" || fail "$s: DEL of $a failed"
  if cenv_ctr "$T" task exec --exec-id gone "$a" ip link show eth0 >/dev/null 2>&1; then
    fail "$s: $a still has eth0 after DEL"
  fi
  cenv_ctr "$T" task delete --force "$a" >/dev/null || fail "$s: task delete $a failed"
  cenv_ctr "$T" container delete "$a" >/dev/null || fail "$s: container delete $a failed"
  [ ! -e "/proc/$pid_a" ] || fail "$s: $a's process $pid_a survived"
  cenv_cni_del_file "$saved" "/proc/$pid_a/ns/net" || fail "$s: second DEL of $a (netns gone) failed"
  cenv_cni_del_file "$saved" "" || fail "$s: third DEL of $a (no netns) failed"

  # --- nothing left --------------------------------------------------------------------------
  local left
  left=$(node_veths)
  [ -z "$left" ] || fail "$s: veths left on the node: $left"
  [ -z "$(ip -o link show type ifb)" ] || fail "$s: ifb left: $(ip -o link show type ifb)"
  ! grep -q '10\.99\.0\.' <<<"$(ip route show)" || fail "$s: routes left: $(ip route show | grep '10\.99\.0\.')"
  left=$(ip_files "$s")
  [ -z "$left" ] || fail "$s: IPAM dataDir still holds: $left"
  left=$(find /var/lib/cni -type f)
  [ -z "$left" ] || fail "$s: libcni cache left: $left"
  left=$(ip netns list | grep -v "^${prefix}c\b" || true)
  [ -z "$left" ] || fail "$s: network namespaces left: $left"
  [ -z "$(cenv_ctr "$T" task ls -q)" ] || fail "$s: tasks left: $(cenv_ctr "$T" task ls)"
  [ -z "$(cenv_ctr "$T" container ls -q)" ] || fail "$s: containers left"
  if [ -d "$T/state-$s" ]; then
    left=$(find "$T/state-$s" -type f -name '*.json')
    [ -z "$left" ] || fail "$s: endpoint records left: $left"
  fi
  if grep -q -e 'CNI-DN-' -e "$ip_a" <<<"$(iptables-save -t nat)"; then
    fail "$s: portmap rules left: $(iptables-save -t nat | grep -e 'CNI-DN-' -e "$ip_a")"
  fi
}

# --------------------------------------------------------------------------------------------
# Outer part: checks, sweep, work dir, image, plugin dir; then the node.
# --------------------------------------------------------------------------------------------
if [ "${1:-}" = --inner ]; then
  shift
  inner "$@"
  exit 0
fi

[ $# -ge 1 ] || { echo "usage: $0 strand|ptp [basic|chained]..." >&2; exit 2; }
plugin=$1; shift
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(basic chained)
for s in "${scenarios[@]}"; do
  case "$s" in basic|chained) ;; *) echo "unknown scenario '$s'" >&2; exit 2 ;; esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "cni_containerd: SKIP: needs root (namespaces, containerd)" >&2
  exit 77
fi
for c in containerd ctr runc jq unshare ip iptables iptables-save tc busybox base64; do
  command -v "$c" >/dev/null || fail "missing command $c (hack/install-deps.sh)"
done
cni_dir=${CNI_REF_DIR:-/usr/lib/cni}
strand_bin=${STRAND_BIN:-$src/build/bin}

cenv_sweep "$prefix"
T=/tmp/$prefix$$
mkdir -p "$T"
trap 'rc=$?; if [ "$rc" -ne 0 ] && [ "${E2E_KEEP:-}" = 1 ]; then cenv__rm_cgroups "$prefix$$"; echo "kept $T" >&2; else cenv_reap "$T" "$prefix$$"; fi; exit $rc' EXIT

mkdir -p "$T/bin"
for p in ptp host-local portmap bandwidth loopback; do
  [ -x "$cni_dir/$p" ] || fail "missing reference plugin $cni_dir/$p (containernetworking-plugins)"
  ln -s "$cni_dir/$p" "$T/bin/$p"
done
if [ "$plugin" = strand ]; then
  [ -x "$strand_bin/strand" ] || fail "$strand_bin/strand not built (set STRAND_BIN)"
  ln -s "$strand_bin/strand" "$T/bin/strand"
  if [ -x "$strand_bin/strand-ipam" ]; then
    ln -s "$strand_bin/strand-ipam" "$T/bin/strand-ipam"
  else
    ln -s "$strand_bin/strand" "$T/bin/strand-ipam"
  fi
fi
bash "$src/hack/busybox-image.sh" "$T/busybox.tar" "$CENV_IMAGE" 2>/dev/null ||
  fail "could not build the busybox image"

# runc puts a container's cgroups under /<containerd namespace>/<id>: naming the namespace
# after this run lets cenv_reap/cenv_sweep find them.
export CENV_NS=$prefix$$
cenv_enter_node "$T" bash "${BASH_SOURCE[0]}" --inner "$T" "$plugin" "${scenarios[@]}"
echo "cni_containerd: PASS ($plugin: ${scenarios[*]})"
