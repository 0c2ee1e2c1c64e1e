#!/usr/bin/env bash
# Runs the whole CTest suite. Privileged labels need root; bpffs is mounted when missing.
set -euo pipefail
build_dir=${1:-build}
shift || true
if [ "$(id -u)" -eq 0 ]; then
  bash "$(dirname "$0")/ensure-bpffs.sh"
fi
cd "$build_dir"
exec ctest --output-on-failure --timeout 600 "$@"
