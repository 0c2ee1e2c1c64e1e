// strand_tc over packet sequences: TCP handshakes and teardown, replies of
// UDP and ICMP, two pods on one node, expiry, rate-limited events.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "fixtures.h"
#include "harness.h"
#include "packet.h"

namespace strand::test {
namespace {

constexpr Hook kOut = Hook::kFromPod;
constexpr Hook kIn = Hook::kToPod;

Bytes tcp4(const Ip4& src, const Ip4& dst, std::uint16_t sport, std::uint16_t dport,
           std::uint8_t flags, std::size_t payload = 0) {
  return PacketBuilder()
      .eth(kEthIp)
      .ipv4({.src = src, .dst = dst, .proto = kProtoTcp})
      .tcp({.sport = sport, .dport = dport, .flags = flags})
      .payload(payload)
      .build();
}

Bytes tcp6(const Ip6& src, const Ip6& dst, std::uint16_t sport, std::uint16_t dport,
           std::uint8_t flags) {
  return PacketBuilder()
      .eth(kEthIpv6)
      .ipv6({.src = src, .dst = dst, .next = kProtoTcp})
      .tcp({.sport = sport, .dport = dport, .flags = flags})
      .build();
}

Bytes udp4(const Ip4& src, const Ip4& dst, std::uint16_t sport, std::uint16_t dport,
           std::size_t payload) {
  return PacketBuilder()
      .eth(kEthIp)
      .ipv4({.src = src, .dst = dst, .proto = kProtoUdp})
      .udp(sport, dport)
      .payload(payload)
      .build();
}

Bytes bad_ihl() {
  Ipv4Header h{.src = kPod4, .dst = kRemote4, .proto = kProtoUdp};
  h.ihl = 3;
  return PacketBuilder().eth(kEthIp).ipv4(h).udp(1, 2).build();
}

class TcConntrack : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "needs root to load BPF programs";
  }

  // Runs and expects the packet to pass unchanged.
  static void pass(TcDatapath& dp, Hook hook, const Bytes& pkt) {
    const RunResult r = dp.run(hook, pkt);
    ASSERT_EQ(r.retval, static_cast<std::uint32_t>(TC_ACT_OK));
    ASSERT_EQ(r.out, pkt);
  }
};

TEST_F(TcConntrack, TcpHandshakeFromPodMeasuresRttAndEndsWithFin) {
  TcDatapath dp;
  seed(dp);
  const Bytes syn = tcp4(kPod4, kRemote4, 40000, 80, kSyn);
  const Bytes synack = tcp4(kRemote4, kPod4, 80, 40000, kSyn | kAck);
  const Bytes ack = tcp4(kPod4, kRemote4, 40000, 80, kAck);
  const Bytes data_in = tcp4(kRemote4, kPod4, 80, 40000, kPsh | kAck, 100);
  const Bytes fin_out = tcp4(kPod4, kRemote4, 40000, 80, kFin | kAck);
  const Bytes fin_in = tcp4(kRemote4, kPod4, 80, 40000, kFin | kAck);
  const strand_ct_key key = ct_key(vec(kPod4), vec(kRemote4), 40000, 80, kProtoTcp,
                                   STRAND_DIR_EGRESS);

  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, syn));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, synack));
  auto e = dp.ct_lookup(key);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, STRAND_CT_SYN_RECV);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, ack));

  ASSERT_EQ(dp.ct_entries().size(), 1u);
  e = dp.ct_lookup(key);
  ASSERT_TRUE(e) << to_string(key);
  EXPECT_EQ(e->state, STRAND_CT_ESTABLISHED);
  EXPECT_EQ(e->packets[STRAND_CT_ORIG], 2u);
  EXPECT_EQ(e->packets[STRAND_CT_REPLY], 1u);
  EXPECT_EQ(e->bytes[STRAND_CT_ORIG], syn.size() + ack.size());
  EXPECT_EQ(e->bytes[STRAND_CT_REPLY], synack.size());
  EXPECT_EQ(e->tcp_flags[STRAND_CT_ORIG], kSyn | kAck);
  EXPECT_EQ(e->tcp_flags[STRAND_CT_REPLY], kSyn | kAck);
  EXPECT_EQ(e->flags, 0);
  EXPECT_EQ(e->syn_ns, e->first_seen_ns);
  EXPECT_GT(e->rtt_ns, 0u);
  EXPECT_LE(e->rtt_ns, e->last_seen_ns - e->first_seen_ns);
  EXPECT_EQ(e->remote_identity, kRemoteIdentity4);
  EXPECT_EQ(e->ep_id, kEpId);
  const std::uint64_t rtt = e->rtt_ns;

  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, data_in));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, fin_out));
  EXPECT_EQ(dp.ct_lookup(key)->state, STRAND_CT_FIN_WAIT);
  EXPECT_TRUE(dp.drain_events().flows.empty());
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, fin_in));

  Events ev = dp.drain_events();
  EXPECT_TRUE(ev.drops.empty());
  ASSERT_EQ(ev.flows.size(), 1u);
  const strand_flow_event& f = ev.flows.front();
  EXPECT_EQ(f.hdr.type, STRAND_EV_FLOW_END);
  EXPECT_EQ(f.hdr.reason, STRAND_FLOW_END_FIN);
  EXPECT_EQ(f.hdr.dir, STRAND_DIR_INGRESS);
  EXPECT_EQ(f.hdr.ep_id, kEpId);
  EXPECT_TRUE(same_key(f.key, key)) << to_string(f.key);
  EXPECT_EQ(f.ct.state, STRAND_CT_TIME_WAIT);
  EXPECT_EQ(f.ct.flags, STRAND_CT_F_ENDED);
  EXPECT_EQ(f.ct.packets[STRAND_CT_ORIG], 3u);
  EXPECT_EQ(f.ct.packets[STRAND_CT_REPLY], 3u);
  EXPECT_EQ(f.ct.bytes[STRAND_CT_ORIG], syn.size() + ack.size() + fin_out.size());
  EXPECT_EQ(f.ct.bytes[STRAND_CT_REPLY], synack.size() + data_in.size() + fin_in.size());
  EXPECT_EQ(f.ct.tcp_flags[STRAND_CT_ORIG], kSyn | kAck | kFin);
  EXPECT_EQ(f.ct.tcp_flags[STRAND_CT_REPLY], kSyn | kAck | kPsh | kFin);
  EXPECT_EQ(f.ct.rtt_ns, rtt);

  // The last ACK is counted but ends nothing twice.
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, ack));
  EXPECT_TRUE(dp.drain_events().flows.empty());
  e = dp.ct_lookup(key);
  EXPECT_EQ(e->state, STRAND_CT_TIME_WAIT);
  EXPECT_EQ(e->packets[STRAND_CT_ORIG], 4u);

  const auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  strand_ep_stats want{};
  want.packets[STRAND_DIR_EGRESS] = 4;
  want.bytes[STRAND_DIR_EGRESS] = syn.size() + 2 * ack.size() + fin_out.size();
  want.packets[STRAND_DIR_INGRESS] = 3;
  want.bytes[STRAND_DIR_INGRESS] = synack.size() + data_in.size() + fin_in.size();
  want.events_sent = 1;
  expect_stats_eq(*st, want);
}

TEST_F(TcConntrack, TcpHandshakeIntoPodOwnsIngressEntry) {
  TcDatapath dp;
  seed(dp);
  const Bytes syn = tcp6(kRemote6, kPod6, 50000, 8080, kSyn);
  const Bytes synack = tcp6(kPod6, kRemote6, 8080, 50000, kSyn | kAck);
  const Bytes ack = tcp6(kRemote6, kPod6, 50000, 8080, kAck);

  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, syn));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, synack));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, ack));

  const auto entries = dp.ct_entries();
  ASSERT_EQ(entries.size(), 1u);
  const auto& [k, e] = entries.front();
  const strand_ct_key want = ct_key(vec(kRemote6), vec(kPod6), 50000, 8080, kProtoTcp,
                                    STRAND_DIR_INGRESS);
  EXPECT_TRUE(same_key(k, want)) << to_string(k);
  EXPECT_EQ(e.state, STRAND_CT_ESTABLISHED);
  EXPECT_EQ(e.packets[STRAND_CT_ORIG], 2u);
  EXPECT_EQ(e.packets[STRAND_CT_REPLY], 1u);
  EXPECT_EQ(e.bytes[STRAND_CT_ORIG], syn.size() + ack.size());
  EXPECT_EQ(e.bytes[STRAND_CT_REPLY], synack.size());
  EXPECT_EQ(e.tcp_flags[STRAND_CT_ORIG], kSyn | kAck);
  EXPECT_EQ(e.tcp_flags[STRAND_CT_REPLY], kSyn | kAck);
  EXPECT_GT(e.rtt_ns, 0u);
  EXPECT_EQ(e.remote_identity, kRemoteIdentity6);
}

TEST_F(TcConntrack, RstClosesAndANewSynReopens) {
  TcDatapath dp;
  seed(dp);
  const Bytes syn = tcp4(kPod4, kRemote4, 40001, 81, kSyn);
  const Bytes rst = tcp4(kRemote4, kPod4, 81, 40001, kRst | kAck);
  const strand_ct_key key = ct_key(vec(kPod4), vec(kRemote4), 40001, 81, kProtoTcp,
                                   STRAND_DIR_EGRESS);

  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, syn));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, rst));
  auto e = dp.ct_lookup(key);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, STRAND_CT_CLOSED);
  EXPECT_EQ(e->rtt_ns, 0u) << "a refused connection has no handshake";
  Events ev = dp.drain_events();
  ASSERT_EQ(ev.flows.size(), 1u);
  EXPECT_EQ(ev.flows[0].hdr.reason, STRAND_FLOW_END_RST);
  EXPECT_EQ(ev.flows[0].ct.packets[STRAND_CT_ORIG], 1u);
  EXPECT_EQ(ev.flows[0].ct.packets[STRAND_CT_REPLY], 1u);

  // The tuple is reused: the closed entry is replaced, silently (its end
  // was reported already).
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, syn));
  e = dp.ct_lookup(key);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, STRAND_CT_SYN_SENT);
  EXPECT_EQ(e->flags, 0);
  EXPECT_EQ(e->packets[STRAND_CT_ORIG], 1u);
  EXPECT_EQ(e->packets[STRAND_CT_REPLY], 0u);
  EXPECT_EQ(e->tcp_flags[STRAND_CT_REPLY], 0);
  EXPECT_TRUE(dp.drain_events().flows.empty());
  EXPECT_EQ(dp.ct_entries().size(), 1u);
}

TEST_F(TcConntrack, UdpReplyEstablishes) {
  TcDatapath dp;
  seed(dp);
  const Bytes q = udp4(kPod4, kRemote4, 5353, 53, 20);
  const Bytes a = udp4(kRemote4, kPod4, 53, 5353, 120);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, q));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, a));
  const auto entries = dp.ct_entries();
  ASSERT_EQ(entries.size(), 1u);
  const auto& [k, e] = entries.front();
  EXPECT_TRUE(same_key(k, ct_key(vec(kPod4), vec(kRemote4), 5353, 53, kProtoUdp,
                                 STRAND_DIR_EGRESS)))
      << to_string(k);
  EXPECT_EQ(e.state, STRAND_CT_ESTABLISHED);
  EXPECT_EQ(e.packets[STRAND_CT_ORIG], 1u);
  EXPECT_EQ(e.packets[STRAND_CT_REPLY], 1u);
  EXPECT_EQ(e.bytes[STRAND_CT_ORIG], q.size());
  EXPECT_EQ(e.bytes[STRAND_CT_REPLY], a.size());
  EXPECT_EQ(e.tcp_flags[0] | e.tcp_flags[1], 0);
}

TEST_F(TcConntrack, IcmpEchoReplyFindsTheRequest) {
  TcDatapath dp;
  seed(dp);
  const Bytes req4 = PacketBuilder().eth(kEthIp)
                         .ipv4({.src = kPod4, .dst = kRemote4, .proto = kProtoIcmp})
                         .icmp(8, 0x77).payload(56).build();
  const Bytes rep4 = PacketBuilder().eth(kEthIp)
                         .ipv4({.src = kRemote4, .dst = kPod4, .proto = kProtoIcmp})
                         .icmp(0, 0x77).payload(56).build();
  const Bytes req6 = PacketBuilder().eth(kEthIpv6)
                         .ipv6({.src = kRemote6, .dst = kPod6, .next = kProtoIcmp6})
                         .icmp(128, 0x99).build();
  const Bytes rep6 = PacketBuilder().eth(kEthIpv6)
                         .ipv6({.src = kPod6, .dst = kRemote6, .next = kProtoIcmp6})
                         .icmp(129, 0x99).build();
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, req4));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, rep4));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, req6));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, rep6));

  ASSERT_EQ(dp.ct_entries().size(), 2u);
  auto e4 = dp.ct_lookup(ct_key(vec(kPod4), vec(kRemote4), 0x77, 0, kProtoIcmp, STRAND_DIR_EGRESS));
  ASSERT_TRUE(e4);
  EXPECT_EQ(e4->state, STRAND_CT_ESTABLISHED);
  EXPECT_EQ(e4->packets[STRAND_CT_ORIG], 1u);
  EXPECT_EQ(e4->packets[STRAND_CT_REPLY], 1u);
  auto e6 = dp.ct_lookup(
      ct_key(vec(kRemote6), vec(kPod6), 0x99, 0, kProtoIcmp6, STRAND_DIR_INGRESS));
  ASSERT_TRUE(e6);
  EXPECT_EQ(e6->state, STRAND_CT_ESTABLISHED);
  EXPECT_EQ(e6->packets[STRAND_CT_ORIG], 1u);
  EXPECT_EQ(e6->packets[STRAND_CT_REPLY], 1u);
  EXPECT_EQ(e6->bytes[STRAND_CT_REPLY], rep6.size());
}

// Pod A and pod B on one node: A's host veth sees the connection leave, B's
// sees it arrive. Each endpoint owns its own entry and counters. The test
// has one interface, so the endpoint record is switched between runs.
TEST_F(TcConntrack, TwoPodsOnOneNodeOwnSeparateEntries) {
  TcDatapath dp;
  seed(dp);
  const Ip4 pod_b{10, 1, 0, 6};
  const strand_endpoint a{kEpId, kEpIdentity, 0, 0};
  const strand_endpoint b{8, 1001, 0, 0};
  const Bytes req = udp4(kPod4, pod_b, 7000, 8000, 10);
  const Bytes rep = udp4(pod_b, kPod4, 8000, 7000, 30);

  dp.set_endpoint(kTestIfindex, a);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, req));  // leaves A
  dp.set_endpoint(kTestIfindex, b);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, req));   // enters B
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, rep));  // leaves B
  dp.set_endpoint(kTestIfindex, a);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, rep));   // enters A

  ASSERT_EQ(dp.ct_entries().size(), 2u);
  auto ea = dp.ct_lookup(ct_key(vec(kPod4), vec(pod_b), 7000, 8000, kProtoUdp, STRAND_DIR_EGRESS));
  auto eb = dp.ct_lookup(ct_key(vec(kPod4), vec(pod_b), 7000, 8000, kProtoUdp, STRAND_DIR_INGRESS));
  ASSERT_TRUE(ea);
  ASSERT_TRUE(eb);
  for (const auto* e : {&*ea, &*eb}) {
    EXPECT_EQ(e->state, STRAND_CT_ESTABLISHED);
    EXPECT_EQ(e->packets[STRAND_CT_ORIG], 1u);
    EXPECT_EQ(e->packets[STRAND_CT_REPLY], 1u);
    EXPECT_EQ(e->bytes[STRAND_CT_ORIG], req.size());
    EXPECT_EQ(e->bytes[STRAND_CT_REPLY], rep.size());
  }
  EXPECT_EQ(ea->ep_id, kEpId);
  EXPECT_EQ(eb->ep_id, 8u);

  strand_ep_stats want_a{};
  want_a.packets[STRAND_DIR_EGRESS] = 1;
  want_a.bytes[STRAND_DIR_EGRESS] = req.size();
  want_a.packets[STRAND_DIR_INGRESS] = 1;
  want_a.bytes[STRAND_DIR_INGRESS] = rep.size();
  strand_ep_stats want_b{};
  want_b.packets[STRAND_DIR_INGRESS] = 1;
  want_b.bytes[STRAND_DIR_INGRESS] = req.size();
  want_b.packets[STRAND_DIR_EGRESS] = 1;
  want_b.bytes[STRAND_DIR_EGRESS] = rep.size();
  const auto sa = dp.ep_stats(kEpId);
  const auto sb = dp.ep_stats(8);
  ASSERT_TRUE(sa && sb);
  expect_stats_eq(*sa, want_a);
  expect_stats_eq(*sb, want_b);
}

TEST_F(TcConntrack, IdleEntryExpiresWithAnEvent) {
  TcDatapath dp([](strand_tc_config& c) { c.ct_other_ns = 1; });
  seed(dp);
  const Bytes q = udp4(kPod4, kRemote4, 5353, 53, 20);
  const strand_ct_key key = ct_key(vec(kPod4), vec(kRemote4), 5353, 53, kProtoUdp,
                                   STRAND_DIR_EGRESS);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, q));
  const auto first = dp.ct_lookup(key);
  ASSERT_TRUE(first);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, q));

  Events ev = dp.drain_events();
  ASSERT_EQ(ev.flows.size(), 1u);
  EXPECT_EQ(ev.flows[0].hdr.reason, STRAND_FLOW_END_EXPIRED);
  EXPECT_TRUE(same_key(ev.flows[0].key, key));
  EXPECT_EQ(ev.flows[0].ct.packets[STRAND_CT_ORIG], 1u);
  EXPECT_EQ(ev.flows[0].ct.first_seen_ns, first->first_seen_ns);

  const auto second = dp.ct_lookup(key);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->packets[STRAND_CT_ORIG], 1u) << "a new flow, counted from zero";
  EXPECT_GT(second->first_seen_ns, first->first_seen_ns);
  EXPECT_EQ(second->state, STRAND_CT_NEW);
}

TEST_F(TcConntrack, DropEventsStopAtTheBurstWithoutRefill) {
  TcDatapath dp([](strand_tc_config& c) {
    c.ev_burst = 2;
    c.ev_rate = 0;
  });
  seed(dp);
  const Bytes pkt = bad_ihl();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(dp.run(kOut, pkt).retval, static_cast<std::uint32_t>(TC_ACT_SHOT));
  }
  EXPECT_EQ(dp.drain_events().drops.size(), 2u);
  strand_ep_stats want{};
  want.drops[STRAND_DIR_EGRESS][STRAND_DROP_MALFORMED_L3] = 5;
  want.events_sent = 2;
  want.events_limited = 3;
  const auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  expect_stats_eq(*st, want);
}

TEST_F(TcConntrack, DropEventsRefillAtTheRate) {
  TcDatapath dp([](strand_tc_config& c) {
    c.ev_burst = 1;
    c.ev_rate = 1;
  });
  seed(dp);
  const Bytes pkt = bad_ihl();
  dp.run(kOut, pkt);
  dp.run(kOut, pkt);  // within the same second: no token
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  dp.run(kOut, pkt);
  EXPECT_EQ(dp.drain_events().drops.size(), 2u);
  const auto st = dp.ep_stats(kEpId);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->events_sent, 2u);
  EXPECT_EQ(st->events_limited, 1u);
  EXPECT_EQ(st->drops[STRAND_DIR_EGRESS][STRAND_DROP_MALFORMED_L3], 3u);
}

TEST_F(TcConntrack, EventKindsCanBeDisabled) {
  TcDatapath dp([](strand_tc_config& c) { c.events = STRAND_EVENTS_DROP; });
  seed(dp);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, tcp4(kPod4, kRemote4, 1, 2, kSyn)));
  ASSERT_NO_FATAL_FAILURE(pass(dp, kIn, tcp4(kRemote4, kPod4, 2, 1, kRst)));
  EXPECT_EQ(dp.run(kOut, bad_ihl()).retval, static_cast<std::uint32_t>(TC_ACT_SHOT));
  const Events ev = dp.drain_events();
  EXPECT_TRUE(ev.flows.empty()) << "flow events are off";
  EXPECT_EQ(ev.drops.size(), 1u);
  EXPECT_EQ(dp.ep_stats(kEpId)->events_sent, 1u);

  TcDatapath quiet([](strand_tc_config& c) { c.events = 0; });
  seed(quiet);
  EXPECT_EQ(quiet.run(kOut, bad_ihl()).retval, static_cast<std::uint32_t>(TC_ACT_SHOT));
  EXPECT_TRUE(quiet.drain_events().drops.empty());
  strand_ep_stats want{};
  want.drops[STRAND_DIR_EGRESS][STRAND_DROP_MALFORMED_L3] = 1;
  expect_stats_eq(*quiet.ep_stats(kEpId), want);
}

TEST_F(TcConntrack, InterfaceWithoutEndpointCountsUnderZero) {
  TcDatapath dp;  // no endpoint record for the test interface
  const Bytes q = udp4(kPod4, kRemote4, 5353, 53, 20);
  ASSERT_NO_FATAL_FAILURE(pass(dp, kOut, q));
  EXPECT_EQ(dp.run(kOut, bad_ihl()).retval, static_cast<std::uint32_t>(TC_ACT_SHOT));

  const auto entries = dp.ct_entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].second.ep_id, 0u);
  EXPECT_EQ(entries[0].second.remote_identity, STRAND_IDENTITY_UNKNOWN) << "ipcache is empty";
  const Events ev = dp.drain_events();
  ASSERT_EQ(ev.drops.size(), 1u);
  EXPECT_EQ(ev.drops[0].hdr.ep_id, 0u);
  EXPECT_EQ(ev.drops[0].identity, 0u);
  strand_ep_stats want{};
  want.packets[STRAND_DIR_EGRESS] = 1;
  want.bytes[STRAND_DIR_EGRESS] = q.size();
  want.drops[STRAND_DIR_EGRESS][STRAND_DROP_MALFORMED_L3] = 1;
  want.events_sent = 1;
  const auto st = dp.ep_stats(0);
  ASSERT_TRUE(st);
  expect_stats_eq(*st, want);
}

}  // namespace
}  // namespace strand::test
