// What strand-ipam costs inside an ADD: medians over many calls on a /24 that
// already holds a few hundred allocations. Printed for docs/benchmarks.md; the
// bounds are loose (several times the measured figures on a shared 2-core VM)
// so that only a change in kind (a scan per call, an fsync) fails them.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "cni/ipam/host_ipam.h"
#include "ipam_test_util.h"

namespace strand::cni::ipam {
namespace {

using nlohmann::json;
using testing::request;
using testing::TempDir;

// Median of the microseconds each step of `steps` took, over `runs` rounds.
std::vector<double> median_us(int runs, const std::vector<std::function<void(int)>>& steps) {
  std::vector<std::vector<double>> us(steps.size());
  for (int i = 0; i < runs; ++i) {
    for (size_t s = 0; s < steps.size(); ++s) {
      auto t0 = std::chrono::steady_clock::now();
      steps[s](i);
      us[s].push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  std::vector<double> out;
  for (auto& v : us) {
    std::nth_element(v.begin(), v.begin() + runs / 2, v.end());
    out.push_back(v[runs / 2]);
  }
  return out;
}

TEST(HostIpamTiming, AddDelAndCheckOnAPopulatedSlash24) {
  TempDir tmp;
  HostIpam ipam;
  const json v4 = testing::one_range("10.7.0.0/24");
  const json dual = {{"ranges", {{{{"subnet", "10.8.0.0/24"}}}, {{{"subnet", "fd08::/64"}}}}}};
  auto pod = [](const char* prefix, int i) { return std::string(prefix) + std::to_string(i); };

  // 200 pods already there, then pods come and go: the usual, sparse case.
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(ipam.add(request(tmp.path(), v4, pod("old", i))));
  auto call = [&](const char* prefix, auto verb) {
    return [&, prefix, verb](int i) { ASSERT_TRUE((ipam.*verb)(request(tmp.path(), v4, pod(prefix, i)))); };
  };
  auto sparse = median_us(401, {call("new", &HostIpam::add), call("new", &HostIpam::add), call("new", &HostIpam::check),
                                call("new", &HostIpam::del), call("new", &HostIpam::del)});
  const double add_new = sparse[0], add_again = sparse[1], check = sparse[2], del = sparse[3];
  // Repeated DEL (runtimes send several): no index left, every file is read.
  const double del_again = sparse[4];

  // 252 of 253 addresses taken: every ADD wraps round the whole range.
  for (int i = 200; i < 252; ++i) ASSERT_TRUE(ipam.add(request(tmp.path(), v4, pod("old", i))));
  const double add_dense = median_us(101, {call("dense", &HostIpam::add), call("dense", &HostIpam::del)})[0];

  // Dual stack with 200 pods.
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(ipam.add(request(tmp.path(), dual, pod("d", i))));
  auto dual_call = [&](auto verb) {
    return [&, verb](int i) { ASSERT_TRUE((ipam.*verb)(request(tmp.path(), dual, pod("dn", i)))); };
  };
  const double add_dual = median_us(201, {dual_call(&HostIpam::add), dual_call(&HostIpam::del)})[0];

  std::printf(
      "strand-ipam medians (us): add %.1f, add again %.1f, check %.1f, del %.1f, del again %.1f, "
      "add in a full /24 %.1f, dual-stack add %.1f\n",
      add_new, add_again, check, del, del_again, add_dense, add_dual);
  RecordProperty("add_us", std::to_string(add_new));
  RecordProperty("add_dual_us", std::to_string(add_dual));
  EXPECT_LT(add_new, 1000.0);
  EXPECT_LT(add_dual, 1000.0);
  EXPECT_LT(add_again, 1000.0);
  EXPECT_LT(del, 1000.0);
  EXPECT_LT(add_dense, 3000.0);
}

}  // namespace
}  // namespace strand::cni::ipam
