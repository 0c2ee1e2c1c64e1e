// strand_xdp on the uplink: per-family node counters, the CIDR deny list
// (10.66.0.0/16 and 2001:db8:66::/48 here), everything else passes.
#include <gtest/gtest.h>

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "fixtures.h"
#include "harness.h"
#include "packet.h"

namespace strand::test {
namespace {

const Ip4 kDenied4{10, 66, 1, 1};
const Ip4 kBeside4{10, 67, 0, 1};
const Ip6 kDenied6{0x20, 0x01, 0x0d, 0xb8, 0, 0x66, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

const strand_lpm_key kDeny4 = lpm_key({10, 66, 0, 0}, 16);
const strand_lpm_key kDeny6 = lpm_key({0x20, 0x01, 0x0d, 0xb8, 0, 0x66}, 48);

struct XdpCase {
  std::string name;
  std::string how;
  Bytes packet;
  std::uint32_t verdict;
  std::uint32_t family;  // STRAND_NODE_*
  bool unparsed = false;
  const strand_lpm_key* hit = nullptr;  // the deny entry that drops it
};

void PrintTo(const XdpCase& c, std::ostream* os) { *os << c.name << ": " << c.how; }

Bytes v4_from(const Ip4& src, std::uint16_t eth = kEthIp) {
  PacketBuilder b;
  if (eth == kEthVlan) {
    b.eth(kEthVlan).vlan(42, kEthIp);
  } else {
    b.eth(kEthIp);
  }
  return b.ipv4({.src = src, .dst = kPod4, .proto = kProtoUdp}).udp(9, 9).payload(18).build();
}

std::vector<XdpCase> xdp_cases() {
  std::vector<XdpCase> cs;
  cs.push_back({"v4_pass", "eth/IPv4/UDP from 10.2.0.9", v4_from(kRemote4), XDP_PASS,
                STRAND_NODE_IPV4});
  cs.push_back({"v4_beside_prefix", "eth/IPv4/UDP from 10.67.0.1, next to 10.66/16",
                v4_from(kBeside4), XDP_PASS, STRAND_NODE_IPV4});
  cs.push_back({"v4_denied", "eth/IPv4/UDP from 10.66.1.1", v4_from(kDenied4), XDP_DROP,
                STRAND_NODE_IPV4, false, &kDeny4});
  cs.push_back({"v4_vlan_denied", "eth 802.1Q/IPv4/UDP from 10.66.1.1",
                v4_from(kDenied4, kEthVlan), XDP_DROP, STRAND_NODE_IPV4, false, &kDeny4});
  {
    Ipv4Header h{.src = kDenied4, .dst = kPod4, .proto = kProtoUdp};
    h.ihl = 3;
    cs.push_back({"v4_malformed_denied",
                  "eth/IPv4 IHL 3 from 10.66.1.1: the source is readable, so it is denied",
                  PacketBuilder().eth(kEthIp).ipv4(h).udp(1, 2).build(), XDP_DROP,
                  STRAND_NODE_IPV4, false, &kDeny4});
  }
  cs.push_back({"v4_truncated", "eth/IPv4 with 10 header bytes: passed, unparsed",
                cut(v4_from(kDenied4), 24), XDP_PASS, STRAND_NODE_IPV4, true});
  cs.push_back({"v6_pass", "eth/IPv6/TCP SYN from 2001:db8:2::9",
                PacketBuilder().eth(kEthIpv6).ipv6({.src = kRemote6, .dst = kPod6})
                    .tcp({.sport = 1, .dport = 2, .flags = kSyn}).build(),
                XDP_PASS, STRAND_NODE_IPV6});
  cs.push_back({"v6_denied", "eth/IPv6/TCP SYN from 2001:db8:66::1",
                PacketBuilder().eth(kEthIpv6).ipv6({.src = kDenied6, .dst = kPod6})
                    .tcp({.sport = 1, .dport = 2, .flags = kSyn}).build(),
                XDP_DROP, STRAND_NODE_IPV6, false, &kDeny6});
  cs.push_back({"v6_denied_long_ext_chain",
                "eth/IPv6 from 2001:db8:66::1/10 destination options headers/UDP",
                [] {
                  PacketBuilder b;
                  b.eth(kEthIpv6).ipv6({.src = kDenied6, .dst = kPod6, .next = kExtDest});
                  for (int i = 0; i < 9; ++i) b.ext(kExtDest, 8);
                  return b.ext(kProtoUdp, 8).udp(1, 2).build();
                }(),
                XDP_DROP, STRAND_NODE_IPV6, false, &kDeny6});
  cs.push_back({"v6_truncated", "eth/IPv6 with 39 header bytes",
                cut(PacketBuilder().eth(kEthIpv6).ipv6({.src = kDenied6, .dst = kPod6}).build(), 53),
                XDP_PASS, STRAND_NODE_IPV6, true});
  cs.push_back({"arp", "eth/ARP request", PacketBuilder().eth(kEthArp).arp().build(), XDP_PASS,
                STRAND_NODE_OTHER});
  cs.push_back({"vlan_depth", "eth with three VLAN tags around IPv4 from 10.66.1.1",
                PacketBuilder().eth(kEthQinQ).vlan(1, kEthVlan).vlan(2, kEthVlan).vlan(3, kEthIp)
                    .ipv4({.src = kDenied4, .dst = kPod4, .proto = kProtoUdp}).udp(1, 2).build(),
                XDP_PASS, STRAND_NODE_OTHER});
  return cs;
}

class XdpPacket : public ::testing::TestWithParam<XdpCase> {};

TEST_P(XdpPacket, VerdictAndCounters) {
  if (!is_root()) GTEST_SKIP() << "needs root to load BPF programs";
  const XdpCase& c = GetParam();
  SCOPED_TRACE(c.how);
  XdpDatapath dp;
  dp.deny(kDeny4);
  dp.deny(kDeny6);

  const RunResult r = dp.run(c.packet);
  EXPECT_EQ(r.retval, c.verdict);
  EXPECT_EQ(r.out, c.packet);

  const strand_node_stats s = dp.node_stats();
  for (std::uint32_t f = 0; f < 3; ++f) {
    EXPECT_EQ(s.packets[f], f == c.family ? 1u : 0u) << "packets[" << f << "]";
    EXPECT_EQ(s.bytes[f], f == c.family ? c.packet.size() : 0u) << "bytes[" << f << "]";
  }
  EXPECT_EQ(s.unparsed, c.unparsed ? 1u : 0u);
  EXPECT_EQ(s.pad, 0u);
  for (std::uint32_t d = 0; d < STRAND_DROP_SLOTS; ++d) {
    const bool want = c.hit != nullptr && d == STRAND_DROP_PREFILTER_DENIED;
    EXPECT_EQ(s.drops[d], want ? 1u : 0u) << "drops[" << d << "]";
  }
  for (const strand_lpm_key* k : {&kDeny4, &kDeny6}) {
    const auto hits = dp.prefilter_hits(*k);
    ASSERT_TRUE(hits);
    EXPECT_EQ(hits->packets, k == c.hit ? 1u : 0u);
    EXPECT_EQ(hits->bytes, k == c.hit ? c.packet.size() : 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, XdpPacket, ::testing::ValuesIn(xdp_cases()),
                         [](const ::testing::TestParamInfo<XdpCase>& i) { return i.param.name; });

TEST(Xdp, CountersAccumulateAcrossPackets) {
  if (!is_root()) GTEST_SKIP() << "needs root to load BPF programs";
  XdpDatapath dp;
  dp.deny(kDeny4);
  std::uint64_t bytes4 = 0;
  for (const Ip4& src : {kRemote4, kDenied4, kDenied4, kBeside4}) {
    const Bytes p = v4_from(src);
    bytes4 += p.size();
    dp.run(p);
  }
  const Bytes arp = PacketBuilder().eth(kEthArp).arp().build();
  dp.run(arp);
  const strand_node_stats s = dp.node_stats();
  EXPECT_EQ(s.packets[STRAND_NODE_IPV4], 4u);
  EXPECT_EQ(s.bytes[STRAND_NODE_IPV4], bytes4);
  EXPECT_EQ(s.packets[STRAND_NODE_IPV6], 0u);
  EXPECT_EQ(s.packets[STRAND_NODE_OTHER], 1u);
  EXPECT_EQ(s.bytes[STRAND_NODE_OTHER], arp.size());
  EXPECT_EQ(s.drops[STRAND_DROP_PREFILTER_DENIED], 2u);
  EXPECT_EQ(dp.prefilter_hits(kDeny4)->packets, 2u);
  EXPECT_EQ(dp.prefilter_hits(kDeny4)->bytes, 2 * v4_from(kDenied4).size());
}

}  // namespace
}  // namespace strand::test
