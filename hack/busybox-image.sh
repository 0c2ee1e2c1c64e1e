#!/usr/bin/env bash
# Builds a single-layer OCI image archive from Debian's busybox-static, with no network:
#   hack/busybox-image.sh OUT.tar [NAME]      (NAME defaults to localhost/strand-busybox:test)
# The archive (oci-layout, index.json, blobs/sha256/...) is what `ctr image import` takes; the
# same input gives the same bytes (fixed mtimes, owners, order), so its digest is stable.
# Rootfs: /bin/busybox plus one symlink per applet (sh, nc, httpd, ip, ping, sleep, cat, ...),
# /www/index.html (body "strand-e2e-ok", for `httpd -h /www`), /etc/passwd and /etc/group.
set -euo pipefail

die() { echo "busybox-image: $*" >&2; exit 1; }

out=${1:-}
name=${2:-localhost/strand-busybox:test}
[ -n "$out" ] || die "usage: $0 OUT.tar [NAME]"
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || die "$busybox missing (apt-get install busybox-static)"
if ! "$busybox" --list >/dev/null 2>&1; then
  die "$busybox does not run"
fi
if command -v file >/dev/null && ! file -L "$busybox" | grep -q 'statically linked'; then
  die "$busybox is not static (busybox-static provides a static /bin/busybox)"
fi

case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) die "unsupported machine $(uname -m)" ;;
esac

work=$(mktemp -d /tmp/stbbimg.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- rootfs -------------------------------------------------------------------------------
root=$work/rootfs
umask 022
mkdir -p "$root"/{bin,etc,www,tmp,root,proc,sys,dev}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
install -m 0755 "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  case "$applet" in busybox|*/*) continue ;; esac
  ln -s busybox "$root/bin/$applet"
done
for a in sh nc httpd ip ping sleep cat ifconfig; do
  [ -L "$root/bin/$a" ] || die "busybox has no '$a' applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'strand-e2e-ok\n' >"$root/www/index.html"

# Deterministic tar: sorted names, epoch mtimes, numeric root owner, no atime/ctime.
det_tar() { # det_tar OUT DIR
  local dir=$2
  (cd "$dir" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort) >"$work/list"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
    -C "$dir" -cf "$1" -T "$work/list"
}

# --- blobs --------------------------------------------------------------------------------
blobs=$work/oci/blobs/sha256
mkdir -p "$blobs"
put_blob() { # put_blob FILE -> prints "digest size"
  local d s
  d=$(sha256sum "$1" | cut -d' ' -f1)
  s=$(stat -c %s "$1")
  mv "$1" "$blobs/$d"
  echo "$d $s"
}

det_tar "$work/layer.tar" "$root"
read -r layer_digest layer_size < <(put_blob "$work/layer.tar")

printf '{"architecture":"%s","config":{"Cmd":["/bin/sh"],"Env":["PATH=/bin"],"WorkingDir":"/"},"created":"1970-01-01T00:00:00Z","history":[{"created":"1970-01-01T00:00:00Z","created_by":"hack/busybox-image.sh"}],"os":"linux","rootfs":{"diff_ids":["sha256:%s"],"type":"layers"}}' \
  "$arch" "$layer_digest" >"$work/config.json"
read -r config_digest config_size < <(put_blob "$work/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
  "$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$work/manifest.json"
read -r manifest_digest manifest_size < <(put_blob "$work/manifest.json")

tag=${name##*:}
[ "$tag" != "$name" ] || tag=latest
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
  "$manifest_digest" "$manifest_size" "$arch" "$name" "$tag" >"$work/oci/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"

mkdir -p "$(dirname "$out")"
det_tar "$work/image.tar" "$work/oci"
mv "$work/image.tar" "$out"
echo "busybox-image: $out ($name, manifest sha256:$manifest_digest)" >&2
