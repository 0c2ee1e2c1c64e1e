# shellcheck shell=bash
# A throw-away "node" for CNI tests: containerd, ctr and the CNI plugins in a private mount
# namespace and a private network namespace, so nothing they do reaches the machine.
# Source it; every function takes the test's work directory T (e.g. /tmp/ste2e1234).
#
#   cenv_sweep PREFIX               kill/remove what a crashed run with PREFIX<pid> left behind
#   cenv_reap T CGNAME              backstop after a run: kill what is still alive, remove T
#   cenv_enter_node T CMD...        run CMD in new mount+net namespaces (propagation private)
#   cenv_node_setup T               (inside) tmpfs /run, a sysfs of this netns, lo up, and
#                                   overlays so /etc/cni, /opt/cni, /var/lib/cni can exist
#   cenv_cni_dirs T CONFDIR BINDIR  (inside) bind CONFDIR on /etc/cni/net.d, BINDIR on /opt/cni/bin
#   cenv_containerd_start T         (inside) containerd with root/state/socket under T, CRI off
#   cenv_containerd_stop T          (inside) delete tasks/containers, stop containerd and shims
#   cenv_ctr T ARGS...              ctr against that containerd, namespace $CENV_NS
#   cenv_cni_result T CTR_ID        the cached CNI result of a container (libcni's cache)
#   cenv_cni_del T CTR_ID NETNS     DEL of a container's attachment as libcni does it (plugins
#                                   in reverse, cached prevResult), for detached containers
#
# `ctr run --cni` runs the CNI plugins itself (go-cni -> libcni) from /etc/cni/net.d (the first
# conflist) and /opt/cni/bin, with container id "<ctr namespace>-<id>", ifname eth0 and
# netns /proc/<task pid>/ns/net; libcni caches each result in /var/lib/cni/results. A
# foreground `ctr run` calls DEL (with an empty CNI_NETNS) after the task exits; a detached
# one (-d) never does: use cenv_cni_del.

CENV_NS=${CENV_NS:-strand-e2e}
CENV_IMAGE=${CENV_IMAGE:-localhost/strand-busybox:test}

cenv_die() { echo "containerd-env: $*" >&2; return 1; }

# Pids (not ours) whose command line mentions $1.
cenv__pids_mentioning() {
  local f p
  for f in $(grep -laF -- "$1" /proc/[0-9]*/cmdline 2>/dev/null); do
    p=${f#/proc/}
    p=${p%/cmdline}
    [ "$p" = "$$" ] || [ "$p" = "${BASHPID:-$$}" ] || echo "$p"
  done
}

# Pids in the cgroups runc made for containerd namespace $1 (cgroup v1 and v2 layouts).
cenv__cgroup_pids() {
  local name=$1 f
  for f in /sys/fs/cgroup/*/"$name"/*/cgroup.procs /sys/fs/cgroup/"$name"/*/cgroup.procs; do
    [ -r "$f" ] && cat "$f" 2>/dev/null
  done | sort -u
}

cenv__rm_cgroups() {
  local name=$1 d
  for d in /sys/fs/cgroup/*/"$name" /sys/fs/cgroup/"$name"; do
    [ -d "$d" ] || continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

# cenv_reap T CGNAME: kill (by pid) every process of this run still alive -- container
# processes in our cgroups, containerd/shims/ctr naming T -- then remove cgroups and T.
# Safe to call more than once. Mounts vanish with the namespaces once the processes are gone.
cenv_reap() {
  local t=$1 cg=$2 pids i
  [ -n "$t" ] && [ "$t" != / ] || return 0
  for i in 1 2 3 4 5 6 7 8 9 10; do
    pids=$( { cenv__cgroup_pids "$cg"; cenv__pids_mentioning "$t/"; } | sort -u)
    [ -z "$pids" ] && break
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.2
  done
  cenv__rm_cgroups "$cg"
  rm -rf "$t" 2>/dev/null || { sleep 1; rm -rf "$t"; } || echo "containerd-env: could not remove $t" >&2
}

# cenv_sweep PREFIX: work dirs /tmp/PREFIX<pid> whose pid is dead are leftovers of a crashed run.
cenv_sweep() {
  local prefix=$1 d pid
  for d in /tmp/"$prefix"[0-9]*; do
    [ -d "$d" ] || continue
    pid=${d#/tmp/"$prefix"}
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    if [ -d "/proc/$pid" ] && [ "$pid" != "$$" ]; then continue; fi
    echo "containerd-env: sweeping leftover $d" >&2
    cenv_reap "$d" "$prefix$pid"
  done
  for d in /sys/fs/cgroup/*/"$prefix"[0-9]* /sys/fs/cgroup/"$prefix"[0-9]*; do
    [ -d "$d" ] || continue
    pid=${d##*/"$prefix"}
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    [ -d "/proc/$pid" ] && [ "$pid" != "$$" ] && continue
    cenv__rm_cgroups "$prefix$pid"
  done
}

# cenv_enter_node T CMD...: CMD runs in a new mount namespace (all mounts private: nothing
# propagates to the host) and a new network namespace (the node's "host" side).
cenv_enter_node() {
  local t=$1; shift
  # libmount would otherwise create /run/mount (utab) on the host before /run is replaced.
  LIBMOUNT_UTAB=$t/utab unshare --mount --net --propagation private -- "$@"
}

# Overlay DIR with an empty writable layer under T, so we can create mount points in it.
cenv__overlay() {
  local t=$1 dir=$2 key
  key=$(echo "$dir" | tr / _)
  mkdir -p "$t/ovl/$key/upper" "$t/ovl/$key/work"
  mount -t overlay overlay -o "lowerdir=$dir,upperdir=$t/ovl/$key/upper,workdir=$t/ovl/$key/work" "$dir"
}

# cenv_node_setup T: run inside cenv_enter_node.
cenv_node_setup() {
  local t=$1 m
  [ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] ||
    cenv_die "cenv_node_setup must run in a private mount namespace" || return 1
  [ "$(readlink /proc/self/ns/net)" != "$(readlink /proc/1/ns/net)" ] ||
    cenv_die "cenv_node_setup must run in a private network namespace" || return 1
  mount --make-rprivate /
  # /run: shim sockets, fifos, runc state, xtables.lock and `ip netns` files stay in here.
  mount -t tmpfs -o mode=0755 tmpfs /run
  mkdir -p /run/netns
  # A sysfs that shows this netns (like `ip netns exec`), keeping the cgroup mounts runc needs.
  mkdir -p "$t/cgroup"
  mount --rbind /sys/fs/cgroup "$t/cgroup"
  mount -t sysfs sysfs /sys
  mount --rbind "$t/cgroup" /sys/fs/cgroup
  umount -l "$t/cgroup"
  [ -d /sys/fs/bpf ] && { mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true; }
  for m in /etc /opt /var/lib; do cenv__overlay "$t" "$m"; done
  ip link set lo up
}

# cenv_cni_dirs T CONFDIR BINDIR: the conf and plugin dirs go-cni uses by default, and an empty
# libcni cache (/var/lib/cni) under T.
cenv_cni_dirs() {
  local t=$1 conf=$2 bin=$3
  mkdir -p /etc/cni/net.d /opt/cni/bin /var/lib/cni "$t/cni-cache"
  mount --bind "$conf" /etc/cni/net.d
  mount --bind "$bin" /opt/cni/bin
  mount --bind "$t/cni-cache" /var/lib/cni
}

cenv_ctr() {
  local t=$1; shift
  ctr --address "$t/containerd/containerd.sock" -n "$CENV_NS" "$@"
}

# cenv_containerd_start T: containerd with everything under T/containerd; CRI and the plugins
# that would write outside T are disabled. Snapshotter: overlayfs (native when
# CENV_SNAPSHOTTER=native). Log in T/containerd/containerd.log.
cenv_containerd_start() {
  local t=$1 d=$1/containerd i
  mkdir -p "$d"
  cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$d/containerd.sock"

[ttrpc]
  address = "$d/containerd.sock.ttrpc"

[debug]
  address = ""
  level = "info"

[plugins."io.containerd.service.v1.diff-service"]
  default = ["walking"]
EOF
  containerd --config "$d/config.toml" >>"$d/containerd.log" 2>&1 &
  echo $! >"$d/containerd.pid"
  for i in $(seq 1 100); do
    if ! kill -0 "$(cat "$d/containerd.pid")" 2>/dev/null; then
      tail -n 20 "$d/containerd.log" >&2
      cenv_die "containerd exited during start (log: $d/containerd.log)"
      return 1
    fi
    if ctr --address "$d/containerd.sock" version >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$d/containerd.log" >&2
  cenv_die "containerd did not answer on $d/containerd.sock within 10s"
}

# cenv_containerd_stop T: remove our tasks and containers, then stop containerd (TERM, then
# KILL) and any shim still naming T. Errors are reported, not fatal (it runs in traps).
cenv_containerd_stop() {
  local t=$1 d=$1/containerd pid id i
  [ -f "$d/containerd.pid" ] || return 0
  pid=$(cat "$d/containerd.pid")
  if kill -0 "$pid" 2>/dev/null; then
    for id in $(cenv_ctr "$t" task ls -q 2>/dev/null); do
      cenv_ctr "$t" task delete --force "$id" >/dev/null 2>&1 || echo "containerd-env: task delete $id failed" >&2
    done
    for id in $(cenv_ctr "$t" container ls -q 2>/dev/null); do
      cenv_ctr "$t" container delete "$id" >/dev/null 2>&1 || echo "containerd-env: container delete $id failed" >&2
    done
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  local left
  left=$(cenv__pids_mentioning "$d/")
  # shellcheck disable=SC2086
  [ -z "$left" ] || kill -KILL $left 2>/dev/null || true
  rm -f "$d/containerd.pid"
}

# cenv_cni_cache_file CTR_ID: libcni's cached result for network $CENV_NET, ifname eth0.
cenv_cni_cache_file() {
  echo "/var/lib/cni/results/${CENV_NET:-e2e}-$CENV_NS-$1-eth0"
}

# cenv_cni_result T CTR_ID: the CNI result (JSON) ADD returned for that container.
cenv_cni_result() {
  local f
  f=$(cenv_cni_cache_file "$2")
  [ -f "$f" ] || cenv_die "no cached CNI result $f" || return 1
  jq -c .result "$f"
}

# cenv_cni_del T CTR_ID NETNS: what libcni's DelNetworkList does with the cached attachment:
# every plugin of the cached conflist in reverse order, with cniVersion, name and the cached
# result as prevResult, then the cache entry is removed. Fails on the first plugin error.
cenv_cni_del() {
  local f
  f=$(cenv_cni_cache_file "$2")
  [ -f "$f" ] || cenv_die "no cached CNI result $f" || return 1
  cenv_cni_del_file "$f" "$3" && rm -f "$f"
}

# cenv_cni_del_file CACHE_FILE NETNS: the DEL calls of cenv_cni_del from a (copy of a) cache
# entry, leaving the file alone: calling it twice checks that DEL is idempotent.
cenv_cni_del_file() {
  local f=$1 netns=$2 id conflist n i plugin type conf args out
  id=$(jq -r .containerId "$f")
  conflist=$(jq -r .config "$f" | base64 -d)
  args=$(jq -r '[.cniArgs // [] | .[] | "\(.[0])=\(.[1])"] | join(";")' "$f")
  n=$(jq '.plugins | length' <<<"$conflist")
  for ((i = n - 1; i >= 0; i--)); do
    plugin=$(jq -c ".plugins[$i]" <<<"$conflist")
    type=$(jq -r .type <<<"$plugin")
    conf=$(jq -c --argjson prev "$(jq -c .result "$f")" --argjson list "$conflist" \
      '. + {cniVersion: $list.cniVersion, name: $list.name, prevResult: $prev}' <<<"$plugin")
    if ! out=$(CNI_COMMAND=DEL CNI_CONTAINERID="$id" CNI_NETNS="$netns" \
      CNI_IFNAME="$(jq -r .ifName "$f")" CNI_ARGS="$args" CNI_PATH=/opt/cni/bin \
      /opt/cni/bin/"$type" <<<"$conf"); then
      cenv_die "DEL by $type for $id (netns '$netns') failed: $out"
      return 1
    fi
  done
}
