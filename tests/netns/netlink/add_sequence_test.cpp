// The netlink part of a pod ADD, end to end and timed: veth with its peer in
// the pod, pod side renamed/up/addressed/routed/neighboured in one socket,
// host side up with its /32 route. Every step is checked; the median time is
// printed (and recorded as a test property) for docs/benchmarks.md.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "netns_fixture.h"

namespace strand::netlink {
namespace {

using testing::NetnsTest;

class NetlinkAddSequence : public NetnsTest {};

TEST_F(NetlinkAddSequence, CompletesAndIsTimed) {
  constexpr int kRuns = 40;
  const Mac gw_mac{0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
  const IpAddr gw = IpAddr::parse("169.254.1.1").value();
  std::vector<double> ms;
  for (int i = 0; i < kRuns; ++i) {
    std::string host_name = "stp" + std::to_string(i);
    std::string tmp_name = "stt" + std::to_string(i);
    IpPrefix pod_ip{IpAddr::v4(10, 244, 1, static_cast<uint8_t>(i + 2)), 32};

    auto start = std::chrono::steady_clock::now();
    // 1. veth: host end here, pod end straight into the pod under a temporary name.
    ASSERT_OK(veth_add(
        hs(),
        VethSpec{.name = host_name, .peer_name = tmp_name, .peer_netns_fd = pod_->fd(), .mtu = 1450, .mac = gw_mac}));
    ASSERT_VALUE(pod, link_get(ps(), tmp_name));
    // 2. pod side: eth<i> (a real ADD uses eth0, one pod per netns), up, in one message.
    ASSERT_OK(link_set(ps(), LinkChange{.index = pod.index, .up = true, .name = "eth" + std::to_string(i)}));
    ASSERT_OK(addr_add(ps(), Address{.ifindex = pod.index, .prefix = pod_ip}));
    ASSERT_OK(neigh_add(ps(), Neighbor{.ifindex = pod.index, .dst = gw, .lladdr = gw_mac}));
    if (i == 0) {
      ASSERT_OK(route_add(
          ps(),
          Route{.dst = IpPrefix::parse("0.0.0.0/0").value(), .gateway = gw, .oif = pod.index, .flags = RTNH_F_ONLINK}));
    }
    // 3. host side: up and the /32 route to the pod.
    ASSERT_OK(link_set_up(hs(), pod.peer_index));
    ASSERT_OK(route_add(hs(), Route{.dst = pod_ip, .oif = pod.peer_index, .scope = RT_SCOPE_LINK}));
    auto end = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  ASSERT_VALUE(routes, route_list(hs(), AF_INET));
  EXPECT_EQ(routes.size(), static_cast<size_t>(kRuns));
  ASSERT_VALUE(addrs, addr_list(ps(), AF_INET));
  EXPECT_EQ(addrs.size(), static_cast<size_t>(kRuns));

  std::sort(ms.begin(), ms.end());
  double median = ms[ms.size() / 2];
  std::printf("netlink ADD sequence: median %.3f ms, min %.3f ms, max %.3f ms over %d runs\n", median, ms.front(),
              ms.back(), kRuns);
  RecordProperty("median_us", static_cast<int>(median * 1000));
}

}  // namespace
}  // namespace strand::netlink
