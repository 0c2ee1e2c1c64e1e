#!/usr/bin/env bash
# Installs the Debian packages Strand needs to build, test, demo and benchmark.
# apt-get only; idempotent; fast (a dpkg query) when everything is present.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build musl-tools
  clang-14 llvm-14 libbpf-dev bpftool libelf-dev zlib1g-dev linux-libc-dev
  libcli11-dev libyaml-cpp-dev libfmt-dev libspdlog-dev
  nlohmann-json3-dev libcpp-httplib-dev libssl-dev libgtest-dev libgmock-dev
  iproute2 iputils-ping iperf3 iptables nftables procps psmisc kmod util-linux jq
  containerd runc containernetworking-plugins busybox-static
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}) and not root; install them with apt-get" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
