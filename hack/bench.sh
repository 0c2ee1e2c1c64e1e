#!/usr/bin/env bash
# make bench: every benchmark under tests/bench/, each comparing strand with its
# reference in one interleaved run. Results go to stdout; record them with the
# command in docs/benchmarks.md.
set -euo pipefail
build_dir=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (network namespaces)" >&2; exit 1; }
bash "$src/hack/ensure-bpffs.sh"
echo "== cni_addel: ADD/DEL latency, strand vs ptp + host-local"
STRAND_BIN="$build_dir/bin" bash "$src/tests/bench/cni_addel/run.sh" --driver "$build_dir/tests/bench_cni_addel" \
  --pods "${BENCH_PODS:-200}" --rounds "${BENCH_ROUNDS:-3}" --concurrency 1,16
echo "== datapath: TCP_RR and iperf3 between two pods, strand's programs vs plain veth routing"
STRAND_BIN="$build_dir/bin" bash "$src/tests/bench/datapath/run.sh" --tcp-rr "$build_dir/tests/bench_tcp_rr" \
  --rounds "${BENCH_DP_ROUNDS:-5}" --seconds "${BENCH_DP_SECONDS:-10}" --bpf-stats
echo "== prog_run: per-packet cost of strand's programs (BPF_PROG_TEST_RUN) against a no-op program"
"$build_dir/tests/bench_prog_run" --repeat 200000 --samples 9 --policies 10000
echo "== pod_start: 100 pods on 2 strand-lab nodes until reachable, strand vs ptp + host-local"
STRAND_BIN="$build_dir/bin" bash "$src/tests/bench/pod_start/run.sh" --pods "${BENCH_LAB_PODS:-100}" --rounds "${BENCH_ROUNDS:-3}"
echo "== policy: TCP_RR and iperf3 with 0/100/1000 NetworkPolicies vs the same rules as iptables (nft, legacy); apply latency"
STRAND_BIN="$build_dir/bin" bash "$src/tests/bench/policy/run.sh" --tools "$build_dir/tests" \
  --rounds "${BENCH_POL_ROUNDS:-5}" --seconds "${BENCH_POL_SECONDS:-10}" --apply-count "${BENCH_POL_APPLY:-100}"
echo "== policy, iptables without the conntrack shortcut: every packet walks the chain"
STRAND_BIN="$build_dir/bin" bash "$src/tests/bench/policy/run.sh" --tools "$build_dir/tests" --no-ct-first \
  --configs plain,nft-100,legacy-100,nft-1000,legacy-1000 --apply-count 0 \
  --rounds "${BENCH_POL_ROUNDS:-5}" --seconds "${BENCH_POL_SECONDS:-10}"
