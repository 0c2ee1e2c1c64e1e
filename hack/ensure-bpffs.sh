#!/usr/bin/env bash
# Mounts bpffs at /sys/fs/bpf when it is not mounted (needs root).
set -euo pipefail
if ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf
fi
