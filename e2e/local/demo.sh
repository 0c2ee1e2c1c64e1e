#!/usr/bin/env bash
# e2e: `make demo`'s script (hack/demo.sh) against the binaries already built
# (no make, no install), so the demo and its checks cannot rot: it exits
# non-zero when the matrix differs from its policy, `strandctl why` disagrees
# with the datapath, or a probe or drop says otherwise. Its lab gets a name of
# its own so a demo someone runs at the same time is left alone.
# Needs root; exit 77 (skip) without it.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
bin=${STRAND_BIN:?STRAND_BIN is the build/bin directory}
src=${STRAND_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
# Leftovers of earlier runs whose pid is gone (a killed ctest).
bash "$src/e2e/sweep_labs.sh" "$bin/strand-lab" demo-e2e-
STRAND_DEMO_NAME="demo-e2e-$$" exec bash "$src/hack/demo.sh" "$(dirname "$bin")"
