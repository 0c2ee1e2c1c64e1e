#!/usr/bin/env bash
# Removes the labs a killed e2e run left behind: every lab named PREFIX<PID>
# whose PID no longer runs (the scripts name their lab PREFIX$$).
#   sweep_labs.sh STRAND-LAB PREFIX
lab=$1
prefix=$2
for d in /run/strand-lab/"$prefix"*; do
  [ -d "$d" ] || continue
  n=$(basename "$d")
  kill -0 "${n#"$prefix"}" 2>/dev/null || "$lab" down --name "$n" >/dev/null 2>&1 || true
done
