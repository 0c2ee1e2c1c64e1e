#!/usr/bin/env bash
# Placeholder until strand-lab lands: the plugin's two-pod ADD/ping/DEL round trip.
set -euo pipefail
build_dir=${1:-build}
echo "the demo arrives with strand-lab"
