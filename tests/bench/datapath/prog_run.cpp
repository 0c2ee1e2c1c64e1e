// bench_prog_run: the per-packet cost of strand_tc's programs, measured with
// BPF_PROG_TEST_RUN (the kernel times `repeat` runs of one crafted packet)
// against a program that does nothing. Cases: a packet of a tracked
// connection from each side (the fast path nearly every packet takes), and a
// new connection NetworkPolicy denies (judged on every run: no entry is
// made) with a small and a large policy map, to show that the policy's cost
// does not depend on its size. Samples of all cases are interleaved; medians.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_noop.skel.h"
#include "tests/bpf/datapath/fixtures.h"
#include "tests/bpf/datapath/harness.h"
#include "tests/bpf/datapath/packet.h"

namespace strand::test {
namespace {

constexpr std::uint32_t kPeerId = 2000;
constexpr std::uint16_t kAllowedPort = 443, kDeniedPort = 444;

Bytes tcp4(bool from_pod, std::uint16_t pod_port, std::uint16_t peer_port, std::uint8_t flags) {
  PacketBuilder b;
  b.eth(kEthIp).ipv4(from_pod ? Ipv4Header{.src = kPod4, .dst = kRemote4} : Ipv4Header{.src = kRemote4, .dst = kPod4});
  if (from_pod) {
    b.tcp({.sport = pod_port, .dport = peer_port, .flags = flags});
  } else {
    b.tcp({.sport = peer_port, .dport = pod_port, .flags = flags});
  }
  return b.payload(64).build();
}

// The endpoint enforcing both directions, the peer known, egress to it on
// TCP 443 allowed; `extra` more entries for other identities, ports and
// prefixes, as a large cluster's policy would have.
void seed(TcDatapath& dp, std::uint32_t extra) {
  dp.set_endpoint(kTestIfindex,
                  strand_endpoint{kEpId, kEpIdentity, STRAND_EP_F_ENFORCE_INGRESS | STRAND_EP_F_ENFORCE_EGRESS, 0});
  dp.add_ipcache(lpm_key(vec(kRemote4), 32), kPeerId);
  dp.add_policy({kEpId, kPeerId, STRAND_DIR_EGRESS, kProtoTcp, kAllowedPort, 16, 16});
  for (std::uint32_t i = 0; i < extra; ++i) {
    const std::uint32_t id = 3000 + i;
    dp.add_policy({kEpId, id, static_cast<std::uint8_t>(i % 2 ? STRAND_DIR_EGRESS : STRAND_DIR_INGRESS), kProtoTcp,
                   static_cast<std::uint16_t>(1000 + i % 5000), 16, 17 + i});
    if (i % 10 == 0) {
      dp.add_ipcache(lpm_key({10, 3, static_cast<std::uint8_t>(i / 2560 % 256), static_cast<std::uint8_t>(i / 10 % 256)}, 32), id);
    }
  }
}

struct Case {
  std::string name;
  std::function<std::uint32_t(std::uint32_t repeat)> run;
  std::vector<double> samples;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int run(std::uint32_t repeat, int samples, std::uint32_t policies) {
  bench_noop* noop = bench_noop__open_and_load();
  if (noop == nullptr) {
    std::fprintf(stderr, "bench_prog_run: cannot load the no-op program\n");
    return 1;
  }
  TcDatapath small, large;
  seed(small, 0);
  seed(large, policies);
  // Establish one allowed connection in each: SYN, SYN-ACK, ACK.
  for (TcDatapath* dp : {&small, &large}) {
    if (dp->run(Hook::kFromPod, tcp4(true, 40000, kAllowedPort, kSyn)).retval != TC_ACT_OK ||
        dp->run(Hook::kToPod, tcp4(false, 40000, kAllowedPort, kSyn | kAck)).retval != TC_ACT_OK ||
        dp->run(Hook::kFromPod, tcp4(true, 40000, kAllowedPort, kAck)).retval != TC_ACT_OK) {
      std::fprintf(stderr, "bench_prog_run: the allowed connection did not open\n");
      return 1;
    }
  }
  const Bytes out = tcp4(true, 40000, kAllowedPort, kAck);
  const Bytes in = tcp4(false, 40000, kAllowedPort, kAck);
  const Bytes denied = tcp4(true, 40001, kDeniedPort, kSyn);
  __sk_buff ctx{};
  ctx.ifindex = kTestIfindex;
  std::vector<Case> cases = {
      {"noop", [&](std::uint32_t r) {
         bpf_test_run_opts o{};
         o.sz = sizeof(o);
         o.data_in = out.data();
         o.data_size_in = static_cast<std::uint32_t>(out.size());
         o.ctx_in = &ctx;
         o.ctx_size_in = sizeof(ctx);
         o.repeat = r;
         if (bpf_prog_test_run_opts(bpf_program__fd(noop->progs.noop), &o) != 0) throw std::runtime_error("noop test run");
         return o.duration;
       }, {}},
      {"tracked from_pod (opener)", [&](std::uint32_t r) { return small.run_timed(Hook::kFromPod, out, r, TC_ACT_OK); }, {}},
      {"tracked to_pod (reply)", [&](std::uint32_t r) { return small.run_timed(Hook::kToPod, in, r, TC_ACT_OK); }, {}},
      {"new, denied, 1 policy entry", [&](std::uint32_t r) { return small.run_timed(Hook::kFromPod, denied, r, TC_ACT_SHOT); }, {}},
      {"new, denied, " + std::to_string(policies + 1) + " entries",
       [&](std::uint32_t r) { return large.run_timed(Hook::kFromPod, denied, r, TC_ACT_SHOT); }, {}},
  };
  for (int s = 0; s < samples; ++s) {
    for (auto& c : cases) c.samples.push_back(c.run(repeat));
  }
  bench_noop__destroy(noop);
  const double base = median(cases[0].samples);
  std::printf("%u runs per sample, %d samples per case, interleaved; ns per run (kernel's test-run timing)\n", repeat,
              samples);
  std::printf("%-32s %10s %10s %10s %12s\n", "case", "median", "min", "max", "minus noop");
  for (const auto& c : cases) {
    const auto [mn, mx] = std::minmax_element(c.samples.begin(), c.samples.end());
    std::printf("%-32s %10.0f %10.0f %10.0f %12.0f\n", c.name.c_str(), median(c.samples), *mn, *mx,
                median(c.samples) - base);
  }
  return 0;
}

}  // namespace
}  // namespace strand::test

int main(int argc, char** argv) {
  CLI::App app{"per-packet cost of strand_tc's programs (BPF_PROG_TEST_RUN) against a no-op program"};
  std::uint32_t repeat = 200000;
  int samples = 9;
  std::uint32_t policies = 10000;
  app.add_option("--repeat", repeat, "runs per sample")->check(CLI::Range(1u, 100000000u));
  app.add_option("--samples", samples, "samples per case")->check(CLI::Range(1, 1000));
  app.add_option("--policies", policies, "extra policy entries of the large case")->check(CLI::Range(0u, 60000u));
  CLI11_PARSE(app, argc, argv);
  if (!strand::test::is_root()) {
    std::fprintf(stderr, "bench_prog_run: SKIP: needs root to load BPF programs\n");
    return 77;
  }
  try {
    return strand::test::run(repeat, samples, policies);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_prog_run: %s\n", e.what());
    return 1;
  }
}
