#!/usr/bin/env bash
# e2e: the NetworkPolicy truth-table suite (e2e/policy/README.md) on a fresh
# 2-node dual-stack strand-lab: up, `strand-lab verify` with cluster.yaml and
# every case, down (also on failure; leftovers of a crashed run of the same
# name are removed by `up`). Needs root; exit 77 (skip) without it.
#   run.sh [CASE...]   only these cases (by name)
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
bin=${STRAND_BIN:?STRAND_BIN is the build/bin directory}
src=${STRAND_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
lab="$bin/strand-lab"
name="pol-$$"
bash "$src/hack/ensure-bpffs.sh"
cleanup() { "$lab" down --name "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
# Leftovers of earlier runs of this suite whose pid is gone (a killed ctest).
bash "$src/e2e/sweep_labs.sh" "$lab" pol-
only=()
for c in "$@"; do only+=(--case "$c"); done
"$lab" up --name "$name" --nodes 2 --ipv6
"$lab" verify --name "$name" --cluster "$src/e2e/policy/cluster.yaml" "${only[@]}" "$src/e2e/policy/cases"
