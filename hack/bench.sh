#!/usr/bin/env bash
# Runs every benchmark under tests/bench/.
set -euo pipefail
build_dir=${1:-build}
echo "no benchmarks yet"
