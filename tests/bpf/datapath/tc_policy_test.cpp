// NetworkPolicy in strand_tc: the verdict of a packet that opens a
// connection, from the ipcache identities and the policy LPM entries the
// agent writes (contract in datapath/bpf/include/strand_maps.h), and what
// follows from it: ct entries with their rule id, policy_hits, drop and
// audit counters and events, replies, related ICMP errors, neighbour
// discovery. Every case loads a fresh skeleton; counts are exact.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "datapath/drop_reasons.h"
#include "fixtures.h"
#include "harness.h"
#include "packet.h"

namespace strand::test {
namespace {

constexpr Hook kOut = Hook::kFromPod;
constexpr Hook kIn = Hook::kToPod;
constexpr std::uint8_t kEgress = STRAND_DIR_EGRESS;
constexpr std::uint8_t kIngress = STRAND_DIR_INGRESS;
constexpr std::uint32_t kEnforceBoth = STRAND_EP_F_ENFORCE_INGRESS | STRAND_EP_F_ENFORCE_EGRESS;

// Peers, as the agent's compiler would describe them in ipcache:
//  A   pod, label identity 2000, in no ipBlock              10.2.0.9      2001:db8:2::9
//  B   pod, label identity 2002, in ipBlock region 5000     10.2.0.10     2001:db8:2::a
//  X   pod, label identity 2003, in an except of that block: region 5001 (no rule names it)
//                                                           10.2.0.200    2001:db8:2::c8
//  C   pod, label identity 2004                             10.2.0.11
//  H   the node (HOST)                                      10.1.0.1      2001:db8:1::1
//  W   world, in no ipBlock (0.0.0.0/0, ::/0)               192.0.2.1     2001:db8:ff::1
//  WB  world, in the ipBlock region 5000                    198.51.100.7
constexpr std::uint32_t kIdA = 2000, kIdB = 2002, kIdX = 2003, kIdC = 2004;
constexpr std::uint32_t kCidrBlock = 5000, kCidrExcept = 5001;

const Ip4 kA4{10, 2, 0, 9}, kB4{10, 2, 0, 10}, kX4{10, 2, 0, 200}, kC4{10, 2, 0, 11};
const Ip4 kH4{10, 1, 0, 1}, kW4{192, 0, 2, 1}, kWB4{198, 51, 100, 7}, kRouter4{10, 3, 0, 1};
const Ip6 kA6{0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
const Ip6 kB6{0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a};
const Ip6 kX6{0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc8};
const Ip6 kH6{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const Ip6 kW6{0x20, 0x01, 0x0d, 0xb8, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const Ip6 kLinkLocal6{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

// Rule ids (>= STRAND_RULE_FIRST, as the agent allocates them).
enum : std::uint32_t {
  kRuleA80to96 = 16,   // ingress from A, TCP 80-96 (endPort): 80/12 block + 96/16
  kRuleAUdp = 17,      // ingress from A, every UDP port
  kRuleBlockSctp = 18, // ingress from ipBlock region 5000, SCTP 3868
  kRuleAny8080 = 19,   // ingress from anyone, TCP 8080
  kRuleCAll = 20,      // ingress from C, every protocol and port
  kRuleEgressA443 = 21,  // egress to A, TCP 443
  kRuleEgressBlockUdp53 = 22,  // egress to ipBlock region 5000, UDP 53
  kRuleB8080 = 23,     // ingress from B (label identity), TCP 8080
  kRuleBlock8080 = 24, // ingress from ipBlock region 5000, TCP 8080
};

void seed_policy_ipcache(TcDatapath& dp) {
  dp.add_ipcache(lpm_key({0, 0, 0, 0}, 0), STRAND_IDENTITY_WORLD);
  dp.add_ipcache(lpm_key(std::vector<std::uint8_t>(16, 0), 0), STRAND_IDENTITY_WORLD);
  dp.add_ipcache(lpm_key({198, 51, 100, 0}, 24), STRAND_IDENTITY_WORLD, kCidrBlock);
  dp.add_ipcache(lpm_key(vec(kA4), 32), kIdA);
  dp.add_ipcache(lpm_key(vec(kA6), 128), kIdA);
  dp.add_ipcache(lpm_key(vec(kB4), 32), kIdB, kCidrBlock);
  dp.add_ipcache(lpm_key(vec(kB6), 128), kIdB, kCidrBlock);
  dp.add_ipcache(lpm_key(vec(kX4), 32), kIdX, kCidrExcept);
  dp.add_ipcache(lpm_key(vec(kX6), 128), kIdX, kCidrExcept);
  dp.add_ipcache(lpm_key(vec(kC4), 32), kIdC);
  dp.add_ipcache(lpm_key(vec(kH4), 32), STRAND_IDENTITY_HOST);
  dp.add_ipcache(lpm_key(vec(kH6), 128), STRAND_IDENTITY_HOST);
}

void seed_rules(TcDatapath& dp) {
  dp.add_policy({kEpId, kIdA, kIngress, kProtoTcp, 80, 12, kRuleA80to96});
  dp.add_policy({kEpId, kIdA, kIngress, kProtoTcp, 96, 16, kRuleA80to96});
  dp.add_policy({kEpId, kIdA, kIngress, kProtoUdp, 0, 0, kRuleAUdp});
  dp.add_policy({kEpId, kCidrBlock, kIngress, kProtoSctp, 3868, 16, kRuleBlockSctp});
  dp.add_policy({kEpId, STRAND_POLICY_ANY_IDENTITY, kIngress, kProtoTcp, 8080, 16, kRuleAny8080});
  dp.add_policy({kEpId, kIdC, kIngress, 0, 0, 0, kRuleCAll});
  dp.add_policy({kEpId, kIdA, kEgress, kProtoTcp, 443, 16, kRuleEgressA443});
  dp.add_policy({kEpId, kCidrBlock, kEgress, kProtoUdp, 53, 16, kRuleEgressBlockUdp53});
  dp.add_policy({kEpId, kIdB, kIngress, kProtoTcp, 8080, 16, kRuleB8080});
  dp.add_policy({kEpId, kCidrBlock, kIngress, kProtoTcp, 8080, 16, kRuleBlock8080});
  // Another endpoint's entries must never match ours.
  dp.add_policy({kEpId + 1, kIdA, kIngress, 0, 0, 0, 99});
  dp.add_policy({kEpId + 1, STRAND_POLICY_ANY_IDENTITY, kEgress, 0, 0, 0, 98});
}

void seed_endpoint(TcDatapath& dp, std::uint32_t flags) {
  dp.set_endpoint(kTestIfindex, strand_endpoint{kEpId, kEpIdentity, flags, 0});
}

// A packet with its peer on the far side: from_pod goes pod -> peer, to_pod
// peer -> pod. sport is the side that opens.
Bytes l4_packet(Hook h, const std::vector<std::uint8_t>& peer, std::uint8_t proto,
                std::uint16_t sport, std::uint16_t dport, std::uint8_t tcp_flags = kSyn) {
  PacketBuilder b;
  if (peer.size() == 4) {
    Ip4 p{};
    std::copy(peer.begin(), peer.end(), p.begin());
    b.eth(kEthIp).ipv4(h == kOut ? Ipv4Header{.src = kPod4, .dst = p, .proto = proto}
                                 : Ipv4Header{.src = p, .dst = kPod4, .proto = proto});
  } else {
    Ip6 p{};
    std::copy(peer.begin(), peer.end(), p.begin());
    b.eth(kEthIpv6).ipv6(h == kOut ? Ipv6Header{.src = kPod6, .dst = p, .next = proto}
                                   : Ipv6Header{.src = p, .dst = kPod6, .next = proto});
  }
  switch (proto) {
    case kProtoTcp: b.tcp({.sport = sport, .dport = dport, .flags = tcp_flags}); break;
    case kProtoUdp: b.udp(sport, dport).payload(4); break;
    case kProtoSctp: b.sctp(sport, dport).payload(16); break;
    case kProtoIcmp: b.icmp(8, sport).payload(8); break;    // echo request, id = sport
    case kProtoIcmp6: b.icmp(128, sport).payload(8); break; // echo request, id = sport
    default: b.payload(16); break;
  }
  return b.build();
}

std::vector<std::uint8_t> pod_addr(const std::vector<std::uint8_t>& peer) {
  return peer.size() == 4 ? vec(kPod4) : vec(kPod6);
}

// ---------------------------------------------------------------------------
// One new connection per case, enforced both ways: allowed with a rule id, or
// denied by isolation.
// ---------------------------------------------------------------------------

struct VerdictCase {
  std::string name;
  std::string why;
  Hook hook;
  std::vector<std::uint8_t> peer;
  std::uint8_t proto;
  std::uint16_t sport;
  std::uint16_t dport;
  std::uint32_t rule;  // STRAND_RULE_ISOLATED: denied
  std::uint32_t peer_identity;
  std::uint32_t peer_cidr = 0;
  std::uint32_t flags = kEnforceBoth;
};

void PrintTo(const VerdictCase& c, std::ostream* os) { *os << c.name << ": " << c.why; }

std::vector<VerdictCase> verdict_cases() {
  constexpr std::uint32_t kDenied = STRAND_RULE_ISOLATED;
  const auto a4 = vec(kA4), a6 = vec(kA6), b4 = vec(kB4), b6 = vec(kB6), x4 = vec(kX4),
             x6 = vec(kX6), c4 = vec(kC4), h4 = vec(kH4), h6 = vec(kH6), w4 = vec(kW4),
             w6 = vec(kW6), wb4 = vec(kWB4);
  return {
      // endPort block 80-96 from A: 80/12 covers 80-95, 96/16 the last one.
      {"tcp_port_79_below_range", "A -> pod TCP 79: below 80-96", kIn, a4, kProtoTcp, 40000, 79, kDenied, kIdA},
      {"tcp_port_80_range_start", "A -> pod TCP 80: first port of the /12 block", kIn, a4, kProtoTcp, 40000, 80, kRuleA80to96, kIdA},
      {"tcp_port_95_range_block_end", "A -> pod TCP 95: last port of the /12 block", kIn, a4, kProtoTcp, 40000, 95, kRuleA80to96, kIdA},
      {"tcp_port_96_range_end", "A -> pod TCP 96: the /16 entry", kIn, a4, kProtoTcp, 40000, 96, kRuleA80to96, kIdA},
      {"tcp_port_97_above_range", "A -> pod TCP 97: above 80-96", kIn, a4, kProtoTcp, 40000, 97, kDenied, kIdA},
      {"v6_tcp_port_88_in_range", "A (IPv6) -> pod TCP 88", kIn, a6, kProtoTcp, 40000, 88, kRuleA80to96, kIdA},
      {"v6_tcp_port_97_above_range", "A (IPv6) -> pod TCP 97", kIn, a6, kProtoTcp, 40000, 97, kDenied, kIdA},
      // every port of one protocol
      {"udp_any_port_53", "A -> pod UDP 53: every UDP port", kIn, a4, kProtoUdp, 5353, 53, kRuleAUdp, kIdA},
      {"udp_any_port_65535", "A -> pod UDP 65535", kIn, a4, kProtoUdp, 1, 65535, kRuleAUdp, kIdA},
      {"v6_udp_any_port_1", "A (IPv6) -> pod UDP 1", kIn, a6, kProtoUdp, 1000, 1, kRuleAUdp, kIdA},
      {"sctp_from_a_not_allowed", "A -> pod SCTP 3868: A has TCP and UDP rules only", kIn, a4, kProtoSctp, 3868, 3868, kDenied, kIdA},
      {"icmp_echo_from_a_not_allowed", "A -> pod ICMP echo: no rule without ports for A", kIn, a4, kProtoIcmp, 0x77, 0, kDenied, kIdA},
      // cidr_identity probe: an ipBlock matching a pod IP, and its except
      {"sctp_ipblock_matches_pod_ip", "B (pod in the ipBlock) -> pod SCTP 3868: cidr probe", kIn, b4, kProtoSctp, 3868, 3868, kRuleBlockSctp, kIdB, kCidrBlock},
      {"v6_sctp_ipblock_matches_pod_ip", "B (IPv6) -> pod SCTP 3868: cidr probe", kIn, b6, kProtoSctp, 5000, 3868, kRuleBlockSctp, kIdB, kCidrBlock},
      {"sctp_ipblock_other_port", "B -> pod SCTP 3869", kIn, b4, kProtoSctp, 3868, 3869, kDenied, kIdB, kCidrBlock},
      {"sctp_ipblock_except_region", "X (in the except, region 5001 has no entry) -> pod SCTP 3868", kIn, x4, kProtoSctp, 3868, 3868, kDenied, kIdX, kCidrExcept},
      {"v6_sctp_ipblock_except_region", "X (IPv6, except region) -> pod SCTP 3868", kIn, x6, kProtoSctp, 3868, 3868, kDenied, kIdX, kCidrExcept},
      // ANY probe, and the probe order identity > cidr > ANY
      {"tcp_8080_any_peer_world", "W -> pod TCP 8080: rule without peers", kIn, w4, kProtoTcp, 40000, 8080, kRuleAny8080, STRAND_IDENTITY_WORLD},
      {"v6_tcp_8080_any_peer_world", "W (IPv6) -> pod TCP 8080", kIn, w6, kProtoTcp, 40000, 8080, kRuleAny8080, STRAND_IDENTITY_WORLD},
      {"tcp_8080_identity_probe_first", "B -> pod TCP 8080: B's own rule before the block's and ANY", kIn, b4, kProtoTcp, 40000, 8080, kRuleB8080, kIdB, kCidrBlock},
      {"tcp_8080_cidr_probe_before_any", "WB (world in the block) -> pod TCP 8080: block rule before ANY", kIn, wb4, kProtoTcp, 40000, 8080, kRuleBlock8080, STRAND_IDENTITY_WORLD, kCidrBlock},
      {"tcp_8080_except_falls_to_any", "X -> pod TCP 8080: no identity or cidr rule, ANY allows", kIn, x4, kProtoTcp, 40000, 8080, kRuleAny8080, kIdX, kCidrExcept},
      {"tcp_8081_world_denied", "W -> pod TCP 8081", kIn, w4, kProtoTcp, 40000, 8081, kDenied, STRAND_IDENTITY_WORLD},
      // every protocol
      {"all_protocols_tcp", "C -> pod TCP 1: rule without ports", kIn, c4, kProtoTcp, 40000, 1, kRuleCAll, kIdC},
      {"all_protocols_udp", "C -> pod UDP 9", kIn, c4, kProtoUdp, 1234, 9, kRuleCAll, kIdC},
      {"all_protocols_sctp", "C -> pod SCTP 2905", kIn, c4, kProtoSctp, 2905, 2905, kRuleCAll, kIdC},
      {"all_protocols_icmp_echo", "C -> pod ICMP echo request", kIn, c4, kProtoIcmp, 0x99, 0, kRuleCAll, kIdC},
      {"all_protocols_esp", "C -> pod ESP (no ports)", kIn, c4, kProtoEsp, 0, 0, kRuleCAll, kIdC},
      // egress
      {"egress_tcp_443_to_a", "pod -> A TCP 443", kOut, a4, kProtoTcp, 40000, 443, kRuleEgressA443, kIdA},
      {"v6_egress_tcp_443_to_a", "pod -> A (IPv6) TCP 443", kOut, a6, kProtoTcp, 40000, 443, kRuleEgressA443, kIdA},
      {"egress_tcp_80_to_a_denied", "pod -> A TCP 80: ingress rules do not allow egress", kOut, a4, kProtoTcp, 40000, 80, kDenied, kIdA},
      {"egress_udp_53_to_world_block", "pod -> WB UDP 53: ipBlock egress", kOut, wb4, kProtoUdp, 5353, 53, kRuleEgressBlockUdp53, STRAND_IDENTITY_WORLD, kCidrBlock},
      {"egress_udp_53_to_world_outside_block", "pod -> W UDP 53", kOut, w4, kProtoUdp, 5353, 53, kDenied, STRAND_IDENTITY_WORLD},
      {"egress_icmp_echo_denied", "pod -> A ICMP echo", kOut, a4, kProtoIcmp, 0x42, 0, kDenied, kIdA},
      {"v6_egress_icmp6_echo_denied", "pod -> A (IPv6) ICMPv6 echo", kOut, a6, kProtoIcmp6, 0x42, 0, kDenied, kIdA},
      // the node is always allowed
      {"host_ingress_allowed", "H -> pod TCP 10250 (kubelet probe)", kIn, h4, kProtoTcp, 40000, 10250, STRAND_RULE_HOST, STRAND_IDENTITY_HOST},
      {"v6_host_ingress_allowed", "H (IPv6) -> pod UDP 9", kIn, h6, kProtoUdp, 40000, 9, STRAND_RULE_HOST, STRAND_IDENTITY_HOST},
      {"host_egress_allowed", "pod -> H TCP 6443", kOut, h4, kProtoTcp, 40000, 6443, STRAND_RULE_HOST, STRAND_IDENTITY_HOST},
      // only the enforced direction is judged
      {"ingress_only_egress_free", "pod -> W TCP 80 with only ingress enforced", kOut, w4, kProtoTcp, 40000, 80, STRAND_RULE_NONE, STRAND_IDENTITY_WORLD, 0, STRAND_EP_F_ENFORCE_INGRESS},
      {"egress_only_ingress_free", "W -> pod TCP 79 with only egress enforced", kIn, w4, kProtoTcp, 40000, 79, STRAND_RULE_NONE, STRAND_IDENTITY_WORLD, 0, STRAND_EP_F_ENFORCE_EGRESS},
      {"not_enforced_ingress", "X -> pod SCTP 3869, nothing enforced", kIn, x4, kProtoSctp, 1, 3869, STRAND_RULE_NONE, kIdX, kCidrExcept, 0},
      {"not_enforced_egress", "pod -> W UDP 53, nothing enforced", kOut, w4, kProtoUdp, 5353, 53, STRAND_RULE_NONE, STRAND_IDENTITY_WORLD, 0, 0},
  };
}

class TcPolicyVerdict : public ::testing::TestWithParam<VerdictCase> {};

TEST_P(TcPolicyVerdict, RuleCtHitsCountersEvents) {
  if (!is_root()) GTEST_SKIP() << "needs root to load BPF programs";
  const VerdictCase& c = GetParam();
  SCOPED_TRACE(c.why);
  TcDatapath dp;
  seed_endpoint(dp, c.flags);
  seed_policy_ipcache(dp);
  seed_rules(dp);
  const Bytes pkt = l4_packet(c.hook, c.peer, c.proto, c.sport, c.dport);
  const std::uint8_t d = dir_of(c.hook);
  const bool denied = c.rule == STRAND_RULE_ISOLATED;

  const RunResult r = dp.run(c.hook, pkt);
  EXPECT_EQ(r.retval, static_cast<std::uint32_t>(denied ? TC_ACT_SHOT : TC_ACT_OK));
  EXPECT_EQ(r.out, pkt);

  strand_ep_stats want{};
  if (denied) {
    want.drops[d][STRAND_DROP_POLICY_DENIED] = 1;
    want.events_sent = 1;
  } else {
    want.packets[d] = 1;
    want.bytes[d] = pkt.size();
  }
  const auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  expect_stats_eq(*st, want);

  const auto entries = dp.ct_entries();
  if (denied) {
    EXPECT_TRUE(entries.empty()) << "a denied packet opens no connection";
  } else {
    ASSERT_EQ(entries.size(), 1u);
    const bool out = c.hook == kOut;
    // ICMP echo: the id is the sport (the cases give dport 0); ESP: no ports.
    const strand_ct_key want_key =
        ct_key(out ? pod_addr(c.peer) : c.peer, out ? c.peer : pod_addr(c.peer), c.sport,
               c.dport, c.proto, d);
    EXPECT_TRUE(same_key(entries[0].first, want_key))
        << to_string(entries[0].first) << " != " << to_string(want_key);
    EXPECT_EQ(entries[0].second.rule_id, c.rule);
    EXPECT_EQ(entries[0].second.remote_identity, c.peer_identity);
    EXPECT_EQ(entries[0].second.ep_id, kEpId);
  }

  // Hits: the deciding rule once; NONE is not counted.
  for (std::uint32_t rule : {0u, 1u, 2u, 3u, 16u, 17u, 18u, 19u, 20u, 21u, 22u, 23u, 24u, 98u, 99u}) {
    const std::uint64_t want_hits = rule == c.rule && rule != STRAND_RULE_NONE ? 1 : 0;
    EXPECT_EQ(dp.policy_hits(rule), want_hits) << "policy_hits[" << rule << "]";
  }

  const Events ev = dp.drain_events();
  EXPECT_TRUE(ev.flows.empty());
  if (!denied) {
    EXPECT_TRUE(ev.drops.empty());
    return;
  }
  ASSERT_EQ(ev.drops.size(), 1u);
  const strand_drop_event& e = ev.drops[0];
  EXPECT_EQ(e.hdr.type, STRAND_EV_DROP);
  EXPECT_EQ(e.hdr.dir, d);
  EXPECT_EQ(e.hdr.reason, STRAND_DROP_POLICY_DENIED)
      << datapath::drop_reason_name(e.hdr.reason);
  EXPECT_EQ(e.hdr.ep_id, kEpId);
  EXPECT_EQ(e.ifindex, kTestIfindex);
  EXPECT_EQ(e.identity, kEpIdentity);
  EXPECT_EQ(e.remote_identity, c.peer_identity);
  EXPECT_EQ(e.cidr_identity, c.peer_cidr);
  EXPECT_EQ(e.rule_id, static_cast<std::uint32_t>(STRAND_RULE_ISOLATED));
  EXPECT_EQ(e.pad, 0u);
  EXPECT_EQ(e.pkt_len, pkt.size());
  const std::size_t cap = std::min<std::size_t>(pkt.size(), STRAND_DROP_CAPTURE);
  ASSERT_EQ(e.cap_len, cap);
  EXPECT_EQ(Bytes(e.pkt, e.pkt + cap), cut(pkt, cap));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TcPolicyVerdict, ::testing::ValuesIn(verdict_cases()),
                         [](const ::testing::TestParamInfo<VerdictCase>& i) { return i.param.name; });

TEST(TcPolicyKey, ContractByteOrderAndPrefixes) {
  // 80-95 as a /12 port block: prefix 80 + 12, fields in network order.
  const strand_policy_key k = policy_key({0x01020304, 0x0a0b0c0d, kIngress, kProtoTcp, 80, 12, 16});
  const auto* b = reinterpret_cast<const std::uint8_t*>(&k);
  EXPECT_EQ(k.prefixlen, 92u);
  EXPECT_EQ(Bytes(b + 4, b + 16),
            (Bytes{1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, kIngress, kProtoTcp, 0, 80}));
  EXPECT_EQ(policy_key({1, 2, kEgress, 0, 80, 16, 16}).prefixlen,
            static_cast<std::uint32_t>(STRAND_POLICY_PREFIX_ANY_PROTO));
  EXPECT_EQ(policy_key({1, 2, kEgress, kProtoUdp, 0, 0, 16}).prefixlen,
            static_cast<std::uint32_t>(STRAND_POLICY_PREFIX_ANY_PORT));
}

// ---------------------------------------------------------------------------
// Sequences.
// ---------------------------------------------------------------------------

class TcPolicy : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "needs root to load BPF programs";
  }

  static void load(TcDatapath& dp, std::uint32_t flags) {
    seed_endpoint(dp, flags);
    seed_policy_ipcache(dp);
    seed_rules(dp);
  }

  static void pass(TcDatapath& dp, Hook hook, const Bytes& pkt) {
    const RunResult r = dp.run(hook, pkt);
    ASSERT_EQ(r.retval, static_cast<std::uint32_t>(TC_ACT_OK));
    ASSERT_EQ(r.out, pkt);
  }

  static void denied(TcDatapath& dp, Hook hook, const Bytes& pkt) {
    const RunResult r = dp.run(hook, pkt);
    ASSERT_EQ(r.retval, static_cast<std::uint32_t>(TC_ACT_SHOT));
  }
};

TEST_F(TcPolicy, RepliesOfAllowedConnectionsPassBothWays) {
  TcDatapath dp;
  load(dp, kEnforceBoth);
  // Egress to A:443 is allowed; ingress from A to port 40000 has no rule,
  // yet the replies pass, and so do the rest of the connection's packets.
  const Bytes syn = l4_packet(kOut, vec(kA4), kProtoTcp, 40000, 443, kSyn);
  const Bytes synack = l4_packet(kIn, vec(kA4), kProtoTcp, 443, 40000, kSyn | kAck);
  const Bytes ack = l4_packet(kOut, vec(kA4), kProtoTcp, 40000, 443, kAck);
  const Bytes data_in = l4_packet(kIn, vec(kA4), kProtoTcp, 443, 40000, kAck | kPsh);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, syn));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, synack));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, ack));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, data_in));

  // Ingress from A to 80 is allowed; the pod's replies pass egress, which
  // has no rule for A:40001 -> anything but 443.
  const Bytes syn2 = l4_packet(kIn, vec(kA4), kProtoTcp, 40001, 80, kSyn);
  const Bytes synack2 = l4_packet(kOut, vec(kA4), kProtoTcp, 80, 40001, kSyn | kAck);
  const Bytes ack2 = l4_packet(kIn, vec(kA4), kProtoTcp, 40001, 80, kAck);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, syn2));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, synack2));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, ack2));

  // UDP reply of an allowed egress flow (pod -> WB:53), IPv4.
  const Bytes q = l4_packet(kOut, vec(kWB4), kProtoUdp, 5353, 53);
  const Bytes a = l4_packet(kIn, vec(kWB4), kProtoUdp, 53, 5353);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, q));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, a));

  // IPv6 egress to A:443 and its reply.
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, l4_packet(kOut, vec(kA6), kProtoTcp, 41000, 443, kSyn)));
  ASSERT_NO_FATAL_FAILURE(
      pass(dp, kIn, l4_packet(kIn, vec(kA6), kProtoTcp, 443, 41000, kSyn | kAck)));

  const auto entries = dp.ct_entries();
  ASSERT_EQ(entries.size(), 4u);
  auto e = dp.ct_lookup(ct_key(vec(kPod4), vec(kA4), 40000, 443, kProtoTcp, kEgress));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->rule_id, kRuleEgressA443);
  EXPECT_EQ(e->state, STRAND_CT_ESTABLISHED);
  EXPECT_EQ(e->packets[STRAND_CT_ORIG], 2u);
  EXPECT_EQ(e->packets[STRAND_CT_REPLY], 2u);
  e = dp.ct_lookup(ct_key(vec(kA4), vec(kPod4), 40001, 80, kProtoTcp, kIngress));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->rule_id, kRuleA80to96);
  EXPECT_EQ(e->state, STRAND_CT_ESTABLISHED);
  e = dp.ct_lookup(ct_key(vec(kPod4), vec(kWB4), 5353, 53, kProtoUdp, kEgress));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->rule_id, kRuleEgressBlockUdp53);
  EXPECT_EQ(e->state, STRAND_CT_ESTABLISHED);
  e = dp.ct_lookup(ct_key(vec(kPod6), vec(kA6), 41000, 443, kProtoTcp, kEgress));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->rule_id, kRuleEgressA443);

  // One decision per connection, none for replies.
  EXPECT_EQ(dp.policy_hits(kRuleEgressA443), 2u);
  EXPECT_EQ(dp.policy_hits(kRuleA80to96), 1u);
  EXPECT_EQ(dp.policy_hits(kRuleEgressBlockUdp53), 1u);
  EXPECT_EQ(dp.policy_hits(STRAND_RULE_ISOLATED), 0u);
  const auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->packets[kEgress], 5u);
  EXPECT_EQ(st->packets[kIngress], 6u);
  EXPECT_EQ(st->drops[kEgress][STRAND_DROP_POLICY_DENIED], 0u);
  EXPECT_EQ(st->drops[kIngress][STRAND_DROP_POLICY_DENIED], 0u);
  EXPECT_TRUE(dp.drain_events().drops.empty());
}

TEST_F(TcPolicy, DeniedSynOpensNothingAndItsRetryIsDeniedAgain) {
  TcDatapath dp;
  load(dp, kEnforceBoth);
  const Bytes syn = l4_packet(kIn, vec(kW4), kProtoTcp, 40000, 80, kSyn);
  ASSERT_NO_FATAL_FAILURE(denied(dp, kIn, syn));
  EXPECT_TRUE(dp.ct_entries().empty());
  ASSERT_NO_FATAL_FAILURE(denied(dp, kIn, syn));
  EXPECT_TRUE(dp.ct_entries().empty());
  // Not even the pod's answer to it makes it a connection: a SYN-ACK the
  // pod sends (egress, not allowed to W) is judged on its own and denied.
  ASSERT_NO_FATAL_FAILURE(denied(dp, kOut, l4_packet(kOut, vec(kW4), kProtoTcp, 80, 40000, kSyn | kAck)));
  EXPECT_TRUE(dp.ct_entries().empty());

  EXPECT_EQ(dp.policy_hits(STRAND_RULE_ISOLATED), 3u);
  const auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  strand_ep_stats want{};
  want.drops[kIngress][STRAND_DROP_POLICY_DENIED] = 2;
  want.drops[kEgress][STRAND_DROP_POLICY_DENIED] = 1;
  want.events_sent = 3;
  expect_stats_eq(*st, want);
  const Events ev = dp.drain_events();
  ASSERT_EQ(ev.drops.size(), 3u);
  for (const auto& e : ev.drops) {
    EXPECT_EQ(e.hdr.reason, STRAND_DROP_POLICY_DENIED);
    EXPECT_EQ(e.remote_identity, static_cast<std::uint32_t>(STRAND_IDENTITY_WORLD));
    EXPECT_EQ(e.cidr_identity, 0u);
    EXPECT_EQ(e.rule_id, static_cast<std::uint32_t>(STRAND_RULE_ISOLATED));
  }
  EXPECT_EQ(ev.drops[0].hdr.dir, kIngress);
  EXPECT_EQ(ev.drops[2].hdr.dir, kEgress);
}

TEST_F(TcPolicy, DeniedDropEventsAreRateLimited) {
  TcDatapath dp([](strand_tc_config& c) {
    c.ev_rate = 0;
    c.ev_burst = 2;
  });
  load(dp, kEnforceBoth);
  const Bytes syn = l4_packet(kIn, vec(kX4), kProtoTcp, 40000, 22, kSyn);
  for (int i = 0; i < 5; ++i) ASSERT_NO_FATAL_FAILURE(denied(dp, kIn, syn));
  const auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->drops[kIngress][STRAND_DROP_POLICY_DENIED], 5u);
  EXPECT_EQ(st->events_sent, 2u);
  EXPECT_EQ(st->events_limited, 3u);
  EXPECT_EQ(dp.policy_hits(STRAND_RULE_ISOLATED), 5u);
  const Events ev = dp.drain_events();
  ASSERT_EQ(ev.drops.size(), 2u);
  EXPECT_EQ(ev.drops[1].remote_identity, kIdX);
  EXPECT_EQ(ev.drops[1].cidr_identity, kCidrExcept);
}

TEST_F(TcPolicy, AuditPassesCountsAndReportsOnce) {
  TcDatapath dp;
  load(dp, STRAND_EP_F_ENFORCE_INGRESS | STRAND_EP_F_AUDIT);
  const Bytes syn = l4_packet(kIn, vec(kB4), kProtoTcp, 40000, 22, kSyn);
  const Bytes synack = l4_packet(kOut, vec(kB4), kProtoTcp, 22, 40000, kSyn | kAck);
  const Bytes ack = l4_packet(kIn, vec(kB4), kProtoTcp, 40000, 22, kAck);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, syn));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, synack));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, ack));
  // An allowed connection in audit mode is just allowed.
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, l4_packet(kIn, vec(kA4), kProtoTcp, 40001, 90, kSyn)));

  auto e = dp.ct_lookup(ct_key(vec(kB4), vec(kPod4), 40000, 22, kProtoTcp, kIngress));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->rule_id, static_cast<std::uint32_t>(STRAND_RULE_ISOLATED));
  EXPECT_EQ(e->remote_identity, kIdB);
  EXPECT_EQ(e->state, STRAND_CT_ESTABLISHED);
  e = dp.ct_lookup(ct_key(vec(kA4), vec(kPod4), 40001, 90, kProtoTcp, kIngress));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->rule_id, kRuleA80to96);
  EXPECT_EQ(dp.ct_entries().size(), 2u);

  EXPECT_EQ(dp.policy_hits(STRAND_RULE_ISOLATED), 1u);
  EXPECT_EQ(dp.policy_hits(kRuleA80to96), 1u);
  const auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  strand_ep_stats want{};
  want.packets[kIngress] = 3;
  want.bytes[kIngress] = syn.size() + ack.size() + syn.size();
  want.packets[kEgress] = 1;
  want.bytes[kEgress] = synack.size();
  want.drops[kIngress][STRAND_DROP_POLICY_AUDIT] = 1;
  want.events_sent = 1;
  expect_stats_eq(*st, want);

  const Events ev = dp.drain_events();
  ASSERT_EQ(ev.drops.size(), 1u);
  const strand_drop_event& d = ev.drops[0];
  EXPECT_EQ(d.hdr.reason, STRAND_DROP_POLICY_AUDIT) << datapath::drop_reason_name(d.hdr.reason);
  EXPECT_EQ(d.hdr.dir, kIngress);
  EXPECT_EQ(d.hdr.ep_id, kEpId);
  EXPECT_EQ(d.remote_identity, kIdB);
  EXPECT_EQ(d.cidr_identity, kCidrBlock);
  EXPECT_EQ(d.rule_id, static_cast<std::uint32_t>(STRAND_RULE_ISOLATED));
  EXPECT_EQ(d.pkt_len, syn.size());
}

// ICMP errors quote the packet they are about: the IP header and at least
// 8 bytes of its L4 header.
Bytes icmp4_error(const Ip4& src, const Ip4& dst, std::uint8_t type, const Ipv4Header& quoted,
                  const std::function<void(PacketBuilder&)>& l4) {
  PacketBuilder b;
  b.eth(kEthIp).ipv4({.src = src, .dst = dst, .proto = kProtoIcmp}).icmp(type, 0, 0).ipv4(quoted);
  l4(b);
  return b.build();
}

Bytes icmp6_error(const Ip6& src, const Ip6& dst, std::uint8_t type, const Ipv6Header& quoted,
                  const std::function<void(PacketBuilder&)>& l4) {
  PacketBuilder b;
  b.eth(kEthIpv6).ipv6({.src = src, .dst = dst, .next = kProtoIcmp6}).icmp(type, 0, 0).ipv6(quoted);
  l4(b);
  return b.build();
}

TEST_F(TcPolicy, IcmpErrorsOfTrackedConnectionsPassUnrelatedOnesAreJudged) {
  TcDatapath dp;
  load(dp, kEnforceBoth);
  // Connections to relate to: pod -> WB:53/UDP (egress rule), pod -> A:443
  // over IPv6 (egress rule), A -> pod:5000/UDP (ingress rule), pod -> H
  // echo (HOST).
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, l4_packet(kOut, vec(kWB4), kProtoUdp, 5353, 53)));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, l4_packet(kOut, vec(kA6), kProtoTcp, 41000, 443, kSyn)));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, l4_packet(kIn, vec(kA4), kProtoUdp, 6000, 5000)));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, l4_packet(kOut, vec(kH4), kProtoIcmp, 0x55, 0)));
  ASSERT_EQ(dp.ct_entries().size(), 4u);
  const std::uint64_t isolated_before = dp.policy_hits(STRAND_RULE_ISOLATED);
  ASSERT_EQ(isolated_before, 0u);

  const Ipv4Header to_wb{.src = kPod4, .dst = kWB4, .proto = kProtoUdp};
  // Port unreachable from the peer itself, and time exceeded from a router
  // on the way (its address is in no rule).
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, icmp4_error(kWB4, kPod4, 3, to_wb, [](PacketBuilder& b) {
                                 b.udp(5353, 53);
                               })));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, icmp4_error(kRouter4, kPod4, 11, to_wb, [](PacketBuilder& b) {
                                 b.udp(5353, 53);
                               })));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, icmp4_error(kRouter4, kPod4, 12, to_wb, [](PacketBuilder& b) {
                                 b.udp(5353, 53).payload(20);
                               })));
  // Packet too big for the IPv6 TCP connection (the quoted TCP header is
  // whole here; only its first 8 bytes are read).
  ASSERT_NO_FATAL_FAILURE(pass(
      dp, kIn,
      icmp6_error(kA6, kPod6, 2, {.src = kPod6, .dst = kA6, .next = kProtoTcp},
                  [](PacketBuilder& b) { b.tcp({.sport = 41000, .dport = 443, .flags = kAck}); })));
  // The pod's own port unreachable about A's UDP packet (egress, where A
  // has no rule): related to the ingress connection.
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, icmp4_error(kPod4, kA4, 3,
                                                     {.src = kA4, .dst = kPod4, .proto = kProtoUdp},
                                                     [](PacketBuilder& b) { b.udp(6000, 5000); })));
  // An error to the pod about its reply on A's connection (the quoted
  // packet is the reply side: found reversed).
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, icmp4_error(kRouter4, kPod4, 3,
                                                    {.src = kPod4, .dst = kA4, .proto = kProtoUdp},
                                                    [](PacketBuilder& b) { b.udp(5000, 6000); })));
  // Time exceeded quoting the pod's echo request (id as the echo's sport).
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, icmp4_error(kRouter4, kPod4, 11,
                                                    {.src = kPod4, .dst = kH4, .proto = kProtoIcmp},
                                                    [](PacketBuilder& b) { b.icmp(8, 0x55); })));
  // Related errors open nothing, decide nothing.
  EXPECT_EQ(dp.ct_entries().size(), 4u);
  EXPECT_EQ(dp.policy_hits(STRAND_RULE_ISOLATED), 0u);
  EXPECT_EQ(dp.policy_hits(STRAND_RULE_RELATED), 0u);

  // Unrelated: another port, another pod address, an error the pod sends to
  // someone else than the quoted source, a quoted reply of no connection, an
  // ICMP type that is no error (redirect), an unreadable quote, an IPv6
  // quote of no connection.
  ASSERT_NO_FATAL_FAILURE(denied(dp, kIn, icmp4_error(kWB4, kPod4, 3, to_wb, [](PacketBuilder& b) {
                                   b.udp(5353, 54);
                                 })));
  ASSERT_NO_FATAL_FAILURE(denied(
      dp, kIn, icmp4_error(kWB4, kPod4, 3, {.src = Ip4{10, 1, 0, 6}, .dst = kWB4, .proto = kProtoUdp},
                           [](PacketBuilder& b) { b.udp(5353, 53); })));
  ASSERT_NO_FATAL_FAILURE(denied(dp, kOut, icmp4_error(kPod4, kW4, 3,
                                                       {.src = kA4, .dst = kPod4, .proto = kProtoUdp},
                                                       [](PacketBuilder& b) { b.udp(6000, 5000); })));
  ASSERT_NO_FATAL_FAILURE(denied(dp, kIn, icmp4_error(kRouter4, kPod4, 3,
                                                      {.src = kPod4, .dst = kA4, .proto = kProtoUdp},
                                                      [](PacketBuilder& b) { b.udp(5000, 6001); })));
  ASSERT_NO_FATAL_FAILURE(denied(dp, kIn, icmp4_error(kWB4, kPod4, 5, to_wb, [](PacketBuilder& b) {
                                   b.udp(5353, 53);
                                 })));
  ASSERT_NO_FATAL_FAILURE(denied(dp, kIn, icmp4_error(kWB4, kPod4, 3, to_wb, [](PacketBuilder& b) {
                                   b.payload(4);  // 4 of the 8 L4 bytes
                                 })));
  ASSERT_NO_FATAL_FAILURE(denied(
      dp, kIn,
      icmp6_error(kA6, kPod6, 1, {.src = kPod6, .dst = kA6, .next = kProtoTcp},
                  [](PacketBuilder& b) { b.tcp({.sport = 41001, .dport = 443, .flags = kAck}); })));
  EXPECT_EQ(dp.ct_entries().size(), 4u);
  EXPECT_EQ(dp.policy_hits(STRAND_RULE_ISOLATED), 7u);

  // An error from a peer ingress allows on every protocol passes as a new
  // (ICMP) connection of its own, even unrelated.
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, icmp4_error(kC4, kPod4, 3, to_wb, [](PacketBuilder& b) {
                                 b.udp(1, 2);
                               })));
  EXPECT_EQ(dp.ct_entries().size(), 5u);
  EXPECT_EQ(dp.policy_hits(kRuleCAll), 1u);

  const auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->packets[kIngress], 1u + 6u + 1u);
  EXPECT_EQ(st->packets[kEgress], 3u + 1u);
  EXPECT_EQ(st->drops[kIngress][STRAND_DROP_POLICY_DENIED], 6u);
  EXPECT_EQ(st->drops[kEgress][STRAND_DROP_POLICY_DENIED], 1u);
}

TEST_F(TcPolicy, NeighbourDiscoveryAndMldPassAnIsolatedEndpoint) {
  TcDatapath dp;
  // Isolated both ways and no rule for this endpoint at all.
  seed_endpoint(dp, kEnforceBoth);
  seed_policy_ipcache(dp);
  const Ip6 solicited{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 5};
  const Ip6 all_mld{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16};
  std::size_t bytes_out = 0, bytes_in = 0, n_out = 0, n_in = 0;
  for (std::uint8_t type : {130, 131, 132, 133, 134, 135, 136, 137, 143}) {
    SCOPED_TRACE("ICMPv6 type " + std::to_string(type));
    const Bytes out = PacketBuilder()
                          .eth(kEthIpv6)
                          .ipv6({.src = kPod6, .dst = type == 143 ? all_mld : solicited, .next = kProtoIcmp6})
                          .icmp(type, 0, 0)
                          .payload(16)
                          .build();
    const Bytes in = PacketBuilder()
                         .eth(kEthIpv6)
                         .ipv6({.src = kLinkLocal6, .dst = kPod6, .next = kProtoIcmp6})
                         .icmp(type, 0, 0)
                         .payload(16)
                         .build();
    ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, out));
    ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, in));
    bytes_out += out.size();
    bytes_in += in.size();
    ++n_out;
    ++n_in;
  }
  EXPECT_TRUE(dp.ct_entries().empty()) << "neighbour discovery opens no connection";
  // Other ICMPv6 is judged: echo and a node information query (139).
  ASSERT_NO_FATAL_FAILURE(denied(dp, kIn, l4_packet(kIn, vec(kA6), kProtoIcmp6, 9, 0)));
  ASSERT_NO_FATAL_FAILURE(denied(
      dp, kIn,
      PacketBuilder().eth(kEthIpv6).ipv6({.src = kA6, .dst = kPod6, .next = kProtoIcmp6}).icmp(139, 0).build()));
  ASSERT_NO_FATAL_FAILURE(denied(dp, kOut, l4_packet(kOut, vec(kA6), kProtoIcmp6, 9, 0)));

  const auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  strand_ep_stats want{};
  want.packets[kEgress] = n_out;
  want.bytes[kEgress] = bytes_out;
  want.packets[kIngress] = n_in;
  want.bytes[kIngress] = bytes_in;
  want.drops[kIngress][STRAND_DROP_POLICY_DENIED] = 2;
  want.drops[kEgress][STRAND_DROP_POLICY_DENIED] = 1;
  want.events_sent = 3;
  expect_stats_eq(*st, want);
  EXPECT_EQ(dp.policy_hits(STRAND_RULE_ISOLATED), 3u);
}

TEST_F(TcPolicy, NotEnforcedEndpointIsUnaffectedByRules) {
  TcDatapath dp;
  load(dp, 0);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, l4_packet(kIn, vec(kW4), kProtoTcp, 40000, 22, kSyn)));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, l4_packet(kOut, vec(kW4), kProtoTcp, 40001, 22, kSyn)));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, l4_packet(kIn, vec(kA4), kProtoTcp, 40002, 80, kSyn)));
  for (const auto& [k, e] : dp.ct_entries()) {
    EXPECT_EQ(e.rule_id, static_cast<std::uint32_t>(STRAND_RULE_NONE)) << to_string(k);
  }
  EXPECT_EQ(dp.ct_entries().size(), 3u);
  for (std::uint32_t rule : {0u, 1u, 2u, 3u, 16u, 19u, 21u}) {
    EXPECT_EQ(dp.policy_hits(rule), 0u) << rule;
  }
  EXPECT_TRUE(dp.drain_events().drops.empty());
}

TEST_F(TcPolicy, PolicyHitsCountEveryNewConnectionOfARule) {
  TcDatapath dp;
  load(dp, kEnforceBoth);
  for (std::uint16_t port = 80; port <= 96; ++port) {
    ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, l4_packet(kIn, vec(kA4), kProtoTcp, 30000, port, kSyn)));
  }
  for (std::uint16_t sport = 1; sport <= 5; ++sport) {
    ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, l4_packet(kIn, vec(kA6), kProtoUdp, sport, 7)));
    ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, l4_packet(kIn, vec(kA6), kProtoUdp, sport, 7)));
  }
  EXPECT_EQ(dp.policy_hits(kRuleA80to96), 17u);
  EXPECT_EQ(dp.policy_hits(kRuleAUdp), 5u) << "the second datagram of each flow is tracked";
  EXPECT_EQ(dp.ct_entries().size(), 22u);
}

// ---------------------------------------------------------------------------
// Tracked connections after a policy change: the agent bumps the endpoint's
// policy_rev once a change is written; the next packet from the opening
// side of a connection judged under another revision is judged again.
// ---------------------------------------------------------------------------

void set_rev(TcDatapath& dp, std::uint32_t flags, std::uint32_t rev) {
  dp.set_endpoint(kTestIfindex, strand_endpoint{kEpId, kEpIdentity, flags, rev});
}

// The two entries of kRuleA80to96 (TCP 80-96 from A).
const PolicyEntry kA80Block{kEpId, kIdA, kIngress, kProtoTcp, 80, 12, kRuleA80to96};
const PolicyEntry kA96{kEpId, kIdA, kIngress, kProtoTcp, 96, 16, kRuleA80to96};

TEST_F(TcPolicy, RevisionBumpCutsATcpConnectionItsRuleNoLongerAllows) {
  TcDatapath dp;
  load(dp, kEnforceBoth);
  const Bytes syn = l4_packet(kIn, vec(kA4), kProtoTcp, 40001, 80, kSyn);
  const Bytes synack = l4_packet(kOut, vec(kA4), kProtoTcp, 80, 40001, kSyn | kAck);
  const Bytes ack = l4_packet(kIn, vec(kA4), kProtoTcp, 40001, 80, kAck);
  const Bytes data_in = l4_packet(kIn, vec(kA4), kProtoTcp, 40001, 80, kAck | kPsh);
  const Bytes data_out = l4_packet(kOut, vec(kA4), kProtoTcp, 80, 40001, kAck | kPsh);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, syn));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, synack));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, ack));
  const strand_ct_key key = ct_key(vec(kA4), vec(kPod4), 40001, 80, kProtoTcp, kIngress);
  auto e = dp.ct_lookup(key);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->policy_rev, 0u);
  EXPECT_EQ(e->rule_id, kRuleA80to96);

  // The rule goes (both its entries), then the revision moves.
  dp.remove_policy(kA80Block);
  dp.remove_policy(kA96);
  set_rev(dp, kEnforceBoth, 1);

  // Replies are not judged again: the pod's side still passes.
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, data_out));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, data_out));
  e = dp.ct_lookup(key);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->policy_rev, 0u) << "a reply stamps nothing";
  EXPECT_EQ(e->packets[STRAND_CT_REPLY], 3u);

  // The opener's next packet is judged again: denied, the connection ends.
  ASSERT_NO_FATAL_FAILURE(denied(dp, kIn, data_in));
  EXPECT_FALSE(dp.ct_lookup(key));
  EXPECT_TRUE(dp.ct_entries().empty());

  EXPECT_EQ(dp.policy_hits(kRuleA80to96), 1u);
  EXPECT_EQ(dp.policy_hits(STRAND_RULE_ISOLATED), 0u) << "a revalidation is no new connection";
  auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  strand_ep_stats want{};
  want.packets[kIngress] = 2;
  want.bytes[kIngress] = syn.size() + ack.size();
  want.packets[kEgress] = 3;
  want.bytes[kEgress] = synack.size() + 2 * data_out.size();
  want.drops[kIngress][STRAND_DROP_POLICY_DENIED] = 1;
  want.events_sent = 2;  // flow end + drop
  expect_stats_eq(*st, want);

  Events ev = dp.drain_events();
  ASSERT_EQ(ev.flows.size(), 1u);
  const strand_flow_event& f = ev.flows[0];
  EXPECT_EQ(f.hdr.reason, STRAND_FLOW_END_POLICY);
  EXPECT_EQ(f.hdr.dir, kIngress);
  EXPECT_EQ(f.hdr.ep_id, kEpId);
  EXPECT_EQ(std::memcmp(&f.key, &key, sizeof(key)), 0) << to_string(f.key);
  EXPECT_EQ(f.ct.rule_id, kRuleA80to96);
  EXPECT_EQ(f.ct.policy_rev, 0u);
  EXPECT_EQ(f.ct.packets[STRAND_CT_ORIG], 2u) << "the dropped packet is not accounted";
  EXPECT_EQ(f.ct.packets[STRAND_CT_REPLY], 3u);
  EXPECT_EQ(f.ct.state, STRAND_CT_ESTABLISHED);
  ASSERT_EQ(ev.drops.size(), 1u);
  const strand_drop_event& d = ev.drops[0];
  EXPECT_EQ(d.hdr.reason, STRAND_DROP_POLICY_DENIED);
  EXPECT_EQ(d.hdr.dir, kIngress);
  EXPECT_EQ(d.remote_identity, kIdA);
  EXPECT_EQ(d.cidr_identity, 0u);
  EXPECT_EQ(d.rule_id, static_cast<std::uint32_t>(STRAND_RULE_ISOLATED));
  EXPECT_EQ(d.pkt_len, data_in.size());

  // With no entry left, the next packet is a new (midstream) connection,
  // judged and denied as such; the pod's reply opens nothing either.
  ASSERT_NO_FATAL_FAILURE(denied(dp, kIn, data_in));
  ASSERT_NO_FATAL_FAILURE(denied(dp, kOut, data_out));
  EXPECT_TRUE(dp.ct_entries().empty());
  EXPECT_EQ(dp.policy_hits(STRAND_RULE_ISOLATED), 2u);
  ev = dp.drain_events();
  EXPECT_TRUE(ev.flows.empty());
  EXPECT_EQ(ev.drops.size(), 2u);
}

TEST_F(TcPolicy, RevisionBumpWithTheConnectionStillAllowedRestampsIt) {
  TcDatapath dp;
  load(dp, kEnforceBoth);
  // Egress to A:443 and ingress from A to 90, both allowed.
  const Bytes out_syn = l4_packet(kOut, vec(kA4), kProtoTcp, 40000, 443, kSyn);
  const Bytes out_ack = l4_packet(kOut, vec(kA4), kProtoTcp, 40000, 443, kAck);
  const Bytes out_synack = l4_packet(kIn, vec(kA4), kProtoTcp, 443, 40000, kSyn | kAck);
  const Bytes in_syn = l4_packet(kIn, vec(kA4), kProtoTcp, 40001, 90, kSyn);
  const Bytes in_synack = l4_packet(kOut, vec(kA4), kProtoTcp, 90, 40001, kSyn | kAck);
  const Bytes in_ack = l4_packet(kIn, vec(kA4), kProtoTcp, 40001, 90, kAck);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, out_syn));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, out_synack));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, in_syn));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, in_synack));
  const strand_ct_key out_key = ct_key(vec(kPod4), vec(kA4), 40000, 443, kProtoTcp, kEgress);
  const strand_ct_key in_key = ct_key(vec(kA4), vec(kPod4), 40001, 90, kProtoTcp, kIngress);

  // Nothing changed but the revision: same rules, new stamp.
  set_rev(dp, kEnforceBoth, 5);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, out_ack));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, in_ack));
  auto e = dp.ct_lookup(out_key);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->policy_rev, 5u);
  EXPECT_EQ(e->rule_id, kRuleEgressA443);
  EXPECT_EQ(e->state, STRAND_CT_ESTABLISHED);
  EXPECT_EQ(e->packets[STRAND_CT_ORIG], 2u);
  e = dp.ct_lookup(in_key);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->policy_rev, 5u);
  EXPECT_EQ(e->rule_id, kRuleA80to96);
  EXPECT_EQ(e->remote_identity, kIdA);
  EXPECT_EQ(e->state, STRAND_CT_ESTABLISHED);

  // Another rule now allows 90 from A, and A's identity changed (labels):
  // the entry takes the new rule and identity at the next revision.
  constexpr std::uint32_t kRuleA90 = 30;
  dp.remove_policy(kA80Block);
  dp.add_policy({kEpId, kIdC, kIngress, kProtoTcp, 90, 16, kRuleA90});
  dp.add_ipcache(lpm_key(vec(kA4), 32), kIdC);
  set_rev(dp, kEnforceBoth, 6);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, l4_packet(kOut, vec(kA4), kProtoTcp, 90, 40001, kAck)));
  e = dp.ct_lookup(in_key);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->policy_rev, 5u) << "the reply side stamps nothing";
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, in_ack));
  e = dp.ct_lookup(in_key);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->policy_rev, 6u);
  EXPECT_EQ(e->rule_id, kRuleA90);
  EXPECT_EQ(e->remote_identity, kIdC);
  EXPECT_EQ(e->packets[STRAND_CT_ORIG], 3u);

  // Revalidations count no hits.
  EXPECT_EQ(dp.policy_hits(kRuleEgressA443), 1u);
  EXPECT_EQ(dp.policy_hits(kRuleA80to96), 1u);
  EXPECT_EQ(dp.policy_hits(kRuleA90), 0u);
  EXPECT_EQ(dp.ct_entries().size(), 2u);
  const auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->packets[kEgress], 4u);
  EXPECT_EQ(st->packets[kIngress], 4u);
  EXPECT_EQ(st->events_sent, 0u);
  const Events ev = dp.drain_events();
  EXPECT_TRUE(ev.drops.empty());
  EXPECT_TRUE(ev.flows.empty());
}

TEST_F(TcPolicy, UdpTupleReusedAfterAPolicyChangeIsJudgedAgain) {
  TcDatapath dp;
  load(dp, kEnforceBoth);
  // pod -> WB:53 (egress, ipBlock region) and A -> pod:7 (ingress, UDP from A).
  const Bytes q = l4_packet(kOut, vec(kWB4), kProtoUdp, 5353, 53);
  const Bytes a = l4_packet(kIn, vec(kWB4), kProtoUdp, 53, 5353);
  const Bytes in_q = l4_packet(kIn, vec(kA6), kProtoUdp, 6000, 7);
  const Bytes in_a = l4_packet(kOut, vec(kA6), kProtoUdp, 7, 6000);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, q));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, a));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, in_q));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, in_a));
  EXPECT_EQ(dp.ct_entries().size(), 2u);

  dp.remove_policy({kEpId, kCidrBlock, kEgress, kProtoUdp, 53, 16, kRuleEgressBlockUdp53});
  dp.remove_policy({kEpId, kIdA, kIngress, kProtoUdp, 0, 0, kRuleAUdp});
  set_rev(dp, kEnforceBoth, 2);

  // A later exchange on the same tuples, while the entries still live.
  ASSERT_NO_FATAL_FAILURE(denied(dp, kOut, q));
  ASSERT_NO_FATAL_FAILURE(denied(dp, kIn, in_q));
  EXPECT_TRUE(dp.ct_entries().empty());
  // The answers have no connection to ride on any more: judged as new.
  ASSERT_NO_FATAL_FAILURE(denied(dp, kIn, a));
  ASSERT_NO_FATAL_FAILURE(denied(dp, kOut, in_a));
  EXPECT_TRUE(dp.ct_entries().empty());

  EXPECT_EQ(dp.policy_hits(STRAND_RULE_ISOLATED), 2u) << "the two answers only";
  const auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->drops[kEgress][STRAND_DROP_POLICY_DENIED], 2u);
  EXPECT_EQ(st->drops[kIngress][STRAND_DROP_POLICY_DENIED], 2u);
  EXPECT_EQ(st->events_sent, 6u);
  const Events ev = dp.drain_events();
  ASSERT_EQ(ev.flows.size(), 2u);
  EXPECT_EQ(ev.flows[0].hdr.reason, STRAND_FLOW_END_POLICY);
  EXPECT_EQ(ev.flows[0].hdr.dir, kEgress);
  EXPECT_EQ(ev.flows[0].ct.rule_id, kRuleEgressBlockUdp53);
  EXPECT_EQ(ev.flows[0].ct.state, STRAND_CT_ESTABLISHED);
  EXPECT_EQ(ev.flows[1].hdr.reason, STRAND_FLOW_END_POLICY);
  EXPECT_EQ(ev.flows[1].hdr.dir, kIngress);
  EXPECT_EQ(ev.flows[1].ct.rule_id, kRuleAUdp);
  EXPECT_EQ(ev.flows[1].key.family, STRAND_FAMILY_IPV6);
  ASSERT_EQ(ev.drops.size(), 4u);
  EXPECT_EQ(ev.drops[0].remote_identity, static_cast<std::uint32_t>(STRAND_IDENTITY_WORLD));
  EXPECT_EQ(ev.drops[0].cidr_identity, kCidrBlock);
  EXPECT_EQ(ev.drops[1].remote_identity, kIdA);
  for (const auto& d : ev.drops) {
    EXPECT_EQ(d.hdr.reason, STRAND_DROP_POLICY_DENIED);
    EXPECT_EQ(d.rule_id, static_cast<std::uint32_t>(STRAND_RULE_ISOLATED));
  }
}

TEST_F(TcPolicy, AuditRevalidationPassesCountsAndReportsOnce) {
  TcDatapath dp;
  const std::uint32_t flags = STRAND_EP_F_ENFORCE_INGRESS | STRAND_EP_F_AUDIT;
  load(dp, flags);
  const Bytes syn = l4_packet(kIn, vec(kA4), kProtoTcp, 40001, 80, kSyn);
  const Bytes synack = l4_packet(kOut, vec(kA4), kProtoTcp, 80, 40001, kSyn | kAck);
  const Bytes ack = l4_packet(kIn, vec(kA4), kProtoTcp, 40001, 80, kAck);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, syn));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, synack));
  dp.remove_policy(kA80Block);
  set_rev(dp, flags, 1);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, ack));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, ack));  // same revision now: nothing more
  const strand_ct_key key = ct_key(vec(kA4), vec(kPod4), 40001, 80, kProtoTcp, kIngress);
  auto e = dp.ct_lookup(key);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->rule_id, static_cast<std::uint32_t>(STRAND_RULE_ISOLATED));
  EXPECT_EQ(e->policy_rev, 1u);
  EXPECT_EQ(e->state, STRAND_CT_ESTABLISHED);
  EXPECT_EQ(e->packets[STRAND_CT_ORIG], 3u);

  EXPECT_EQ(dp.policy_hits(kRuleA80to96), 1u);
  EXPECT_EQ(dp.policy_hits(STRAND_RULE_ISOLATED), 0u);
  const auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  strand_ep_stats want{};
  want.packets[kIngress] = 3;
  want.bytes[kIngress] = syn.size() + 2 * ack.size();
  want.packets[kEgress] = 1;
  want.bytes[kEgress] = synack.size();
  want.drops[kIngress][STRAND_DROP_POLICY_AUDIT] = 1;
  want.events_sent = 1;
  expect_stats_eq(*st, want);
  const Events ev = dp.drain_events();
  EXPECT_TRUE(ev.flows.empty());
  ASSERT_EQ(ev.drops.size(), 1u);
  EXPECT_EQ(ev.drops[0].hdr.reason, STRAND_DROP_POLICY_AUDIT);
  EXPECT_EQ(ev.drops[0].remote_identity, kIdA);
  EXPECT_EQ(ev.drops[0].rule_id, static_cast<std::uint32_t>(STRAND_RULE_ISOLATED));
}

TEST_F(TcPolicy, RevalidationOfADirectionNoLongerEnforcedStampsAndPasses) {
  TcDatapath dp;
  load(dp, kEnforceBoth);
  const Bytes syn = l4_packet(kIn, vec(kA4), kProtoTcp, 40001, 80, kSyn);
  const Bytes ack = l4_packet(kIn, vec(kA4), kProtoTcp, 40001, 80, kAck);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, syn));
  // The last policy selecting the pod for ingress went: no ingress rules,
  // ingress no longer enforced.
  dp.remove_policy(kA80Block);
  dp.remove_policy(kA96);
  set_rev(dp, STRAND_EP_F_ENFORCE_EGRESS, 3);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, ack));
  const auto e = dp.ct_lookup(ct_key(vec(kA4), vec(kPod4), 40001, 80, kProtoTcp, kIngress));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->rule_id, static_cast<std::uint32_t>(STRAND_RULE_NONE));
  EXPECT_EQ(e->policy_rev, 3u);
  EXPECT_EQ(e->remote_identity, kIdA);
  EXPECT_EQ(e->packets[STRAND_CT_ORIG], 2u);
  EXPECT_EQ(dp.policy_hits(STRAND_RULE_NONE), 0u);
  EXPECT_EQ(dp.policy_hits(kRuleA80to96), 1u);
  const auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->packets[kIngress], 2u);
  EXPECT_EQ(st->events_sent, 0u);
  EXPECT_TRUE(dp.drain_events().drops.empty());
}

TEST_F(TcPolicy, SameRevisionTrackedPacketsAreNotJudged) {
  TcDatapath dp;
  seed_policy_ipcache(dp);
  seed_rules(dp);
  set_rev(dp, kEnforceBoth, 9);
  const Bytes syn = l4_packet(kIn, vec(kA4), kProtoTcp, 40001, 80, kSyn);
  const Bytes ack = l4_packet(kIn, vec(kA4), kProtoTcp, 40001, 80, kAck);
  const Bytes q = l4_packet(kOut, vec(kWB4), kProtoUdp, 5353, 53);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, syn));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, q));
  const strand_ct_key key = ct_key(vec(kA4), vec(kPod4), 40001, 80, kProtoTcp, kIngress);
  auto e = dp.ct_lookup(key);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->policy_rev, 9u) << "a new entry records the endpoint's revision";
  const auto before = dp.ep_stats(kEpId);
  ASSERT_TRUE(before);

  // The rules go but the revision stays: tracked packets are not judged
  // (what the agent's bump after a complete change is for).
  dp.remove_policy(kA80Block);
  dp.remove_policy({kEpId, kCidrBlock, kEgress, kProtoUdp, 53, 16, kRuleEgressBlockUdp53});
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, ack));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, q));
  e = dp.ct_lookup(key);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->rule_id, kRuleA80to96);
  EXPECT_EQ(e->policy_rev, 9u);
  EXPECT_EQ(dp.policy_hits(kRuleA80to96), 1u);
  EXPECT_EQ(dp.policy_hits(kRuleEgressBlockUdp53), 1u);
  EXPECT_EQ(dp.policy_hits(STRAND_RULE_ISOLATED), 0u);
  const auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  strand_ep_stats want = *before;
  want.packets[kIngress] += 1;
  want.bytes[kIngress] += ack.size();
  want.packets[kEgress] += 1;
  want.bytes[kEgress] += q.size();
  expect_stats_eq(*st, want);
  EXPECT_EQ(st->events_sent, 0u);
  EXPECT_TRUE(dp.drain_events().drops.empty());
}

}  // namespace
}  // namespace strand::test
