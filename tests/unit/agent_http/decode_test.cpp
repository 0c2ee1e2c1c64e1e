// Pure decoders of the datapath's records: ringbuf bytes -> structs, ct
// entries and drop events -> the API's JSON, captured frames -> 5-tuples.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <vector>

#include "agent/flows/decode.h"
#include "agent/flows/store.h"

namespace strand::agent::flows {
namespace {

std::span<const std::byte> bytes_of(const auto& v, size_t n) { return {reinterpret_cast<const std::byte*>(&v), n}; }

void put16(std::vector<uint8_t>& f, size_t off, uint16_t v) {
  f[off] = static_cast<uint8_t>(v >> 8);
  f[off + 1] = static_cast<uint8_t>(v);
}

// Ethernet + IPv4 (IHL 5) + 4 bytes of L4 ports.
std::vector<uint8_t> ipv4_frame(uint8_t proto, const char* src, const char* dst, uint16_t sport, uint16_t dport) {
  std::vector<uint8_t> f(14 + 20 + 20, 0);
  put16(f, 12, 0x0800);
  f[14] = 0x45;
  put16(f, 16, 40);
  f[14 + 8] = 64;
  f[14 + 9] = proto;
  ::inet_pton(AF_INET, src, &f[14 + 12]);
  ::inet_pton(AF_INET, dst, &f[14 + 16]);
  put16(f, 34, sport);
  put16(f, 36, dport);
  return f;
}

strand_ct_key v4_key(const char* s, const char* d, uint16_t sport, uint16_t dport, uint8_t proto, uint8_t dir) {
  strand_ct_key k{};
  ::inet_pton(AF_INET, s, &k.saddr[0]);
  ::inet_pton(AF_INET, d, &k.daddr[0]);
  k.sport = htons(sport);
  k.dport = htons(dport);
  k.proto = proto;
  k.family = STRAND_FAMILY_IPV4;
  k.dir = dir;
  return k;
}

constexpr int64_t kSec = 1000000000;
// 2026-11-23T19:04:05Z at monotonic 0.
const TimeBase kTb{1795460645 * kSec};

TEST(Rfc3339, NanosecondsUtc) {
  EXPECT_EQ(rfc3339_ns(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(rfc3339_ns(1795460645 * kSec + 123456789), "2026-11-23T19:04:05.123456789Z");
  EXPECT_EQ(rfc3339_ns(-1), "1969-12-31T23:59:59.999999999Z");
}

TEST(DecodeEvent, RejectsShortAndUnknownRecords) {
  strand_drop_event d{};
  d.hdr.type = STRAND_EV_DROP;
  EXPECT_FALSE(decode_event(bytes_of(d, 15)));
  EXPECT_FALSE(decode_event(bytes_of(d, sizeof(d) - 1)));
  d.hdr.type = 9;
  auto bad = decode_event(bytes_of(d, sizeof(d)));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().err, EINVAL);
  EXPECT_EQ(bad.error().context, "unknown event type 9");
  strand_flow_event f{};
  f.hdr.type = STRAND_EV_FLOW_END;
  EXPECT_FALSE(decode_event(bytes_of(f, sizeof(f) - 1)));
}

TEST(DecodeEvent, DropAndFlowRoundTrip) {
  strand_drop_event d{};
  d.hdr = {STRAND_EV_DROP, STRAND_DIR_INGRESS, STRAND_DROP_CT_INVALID, 12, 5 * kSec};
  d.ifindex = 12;
  d.pkt_len = 54;
  d.cap_len = 200;  // corrupt: clamped to the capture size
  auto ev = decode_event(bytes_of(d, sizeof(d)));
  ASSERT_TRUE(ev);
  const auto& got = std::get<strand_drop_event>(*ev);
  EXPECT_EQ(got.hdr.reason, STRAND_DROP_CT_INVALID);
  EXPECT_EQ(got.hdr.ep_id, 12u);
  EXPECT_EQ(got.pkt_len, 54u);
  EXPECT_EQ(got.cap_len, STRAND_DROP_CAPTURE);
  EXPECT_EQ(got.remote_identity, 0u);
  EXPECT_EQ(got.rule_id, 0u);

  // A policy drop carries the peer's identities and the rule (bytes laid
  // out as the datapath writes them).
  strand_drop_event p{};
  p.hdr = {STRAND_EV_DROP, STRAND_DIR_EGRESS, STRAND_DROP_POLICY_DENIED, 12, 6 * kSec};
  p.remote_identity = 2000;
  p.cidr_identity = 5001;
  p.rule_id = STRAND_RULE_ISOLATED;
  std::vector<std::byte> raw(sizeof(p));
  std::memcpy(raw.data(), &p, sizeof(p));
  const uint32_t wire[3] = {2000, 5001, STRAND_RULE_ISOLATED};
  ASSERT_EQ(std::memcmp(raw.data() + 32, wire, sizeof(wire)), 0) << "offsets of the policy fields";
  auto pev = decode_event(raw);
  ASSERT_TRUE(pev);
  const auto& gp = std::get<strand_drop_event>(*pev);
  EXPECT_EQ(gp.hdr.reason, STRAND_DROP_POLICY_DENIED);
  EXPECT_EQ(gp.remote_identity, 2000u);
  EXPECT_EQ(gp.cidr_identity, 5001u);
  EXPECT_EQ(gp.rule_id, static_cast<uint32_t>(STRAND_RULE_ISOLATED));

  strand_flow_event f{};
  f.hdr = {STRAND_EV_FLOW_END, STRAND_DIR_EGRESS, STRAND_FLOW_END_RST, 7, 9};
  f.key = v4_key("10.0.0.1", "10.0.0.2", 1000, 80, IPPROTO_TCP, STRAND_DIR_EGRESS);
  f.ct.bytes[1] = 777;
  // A ringbuf record may be padded past the struct: extra bytes are ignored.
  std::vector<std::byte> padded(sizeof(f) + 8);
  std::memcpy(padded.data(), &f, sizeof(f));
  auto ev2 = decode_event(padded);
  ASSERT_TRUE(ev2);
  const auto& gf = std::get<strand_flow_event>(*ev2);
  EXPECT_EQ(std::memcmp(&gf.key, &f.key, sizeof(f.key)), 0);
  EXPECT_EQ(gf.ct.bytes[1], 777u);
  EXPECT_EQ(gf.hdr.reason, STRAND_FLOW_END_RST);
}

TEST(DecodeEvent, FlowCutByPolicyCarriesTheRevision) {
  // A connection judged again after a policy change and denied: reason
  // policy, the entry's policy_rev right after the entry's flags (bytes laid
  // out as the datapath writes them).
  strand_flow_event f{};
  f.hdr = {STRAND_EV_FLOW_END, STRAND_DIR_INGRESS, STRAND_FLOW_END_POLICY, 7, 9};
  f.key = v4_key("10.0.0.2", "10.0.0.1", 5000, 53, IPPROTO_UDP, STRAND_DIR_INGRESS);
  f.ct.rule_id = 17;
  f.ct.policy_rev = 41;
  std::vector<std::byte> raw(sizeof(f));
  std::memcpy(raw.data(), &f, sizeof(f));
  const uint32_t wire = 41;
  ASSERT_EQ(std::memcmp(raw.data() + 56 + 80, &wire, sizeof(wire)), 0) << "offset of policy_rev";
  auto ev = decode_event(raw);
  ASSERT_TRUE(ev);
  const auto& got = std::get<strand_flow_event>(*ev);
  EXPECT_EQ(got.hdr.reason, STRAND_FLOW_END_POLICY);
  EXPECT_EQ(got.ct.policy_rev, 41u);
  EXPECT_EQ(got.ct.rule_id, 17u);
  EXPECT_EQ(flow_end_name(static_cast<FlowEnd>(got.hdr.reason)), "policy");
  EXPECT_EQ(flow_end_name(FlowEnd::kExpired), "expired");
  EXPECT_EQ(flow_end_name(FlowEnd::kActive), "");
}

TEST(SummarizePacket, Ipv4Tcp) {
  auto f = ipv4_frame(IPPROTO_TCP, "10.78.0.2", "10.78.0.3", 40000, 8080);
  auto s = summarize_packet(f);
  EXPECT_EQ(s.family, 4);
  EXPECT_EQ(s.proto, IPPROTO_TCP);
  EXPECT_EQ(s.src, "10.78.0.2");
  EXPECT_EQ(s.dst, "10.78.0.3");
  EXPECT_EQ(s.sport, 40000);
  EXPECT_EQ(s.dport, 8080);
}

TEST(SummarizePacket, VlanTagged) {
  auto f = ipv4_frame(IPPROTO_UDP, "1.2.3.4", "5.6.7.8", 53, 5353);
  std::vector<uint8_t> tagged(f.begin(), f.begin() + 12);
  tagged.insert(tagged.end(), {0x81, 0x00, 0x00, 0x05});
  tagged.insert(tagged.end(), f.begin() + 12, f.end());
  auto s = summarize_packet(tagged);
  EXPECT_EQ(s.family, 4);
  EXPECT_EQ(s.src, "1.2.3.4");
  EXPECT_EQ(s.sport, 53);
  EXPECT_EQ(s.dport, 5353);
}

TEST(SummarizePacket, LaterFragmentHasNoPorts) {
  auto f = ipv4_frame(IPPROTO_UDP, "1.2.3.4", "5.6.7.8", 53, 5353);
  put16(f, 14 + 6, 0x00b9);  // fragment offset 185
  auto s = summarize_packet(f);
  EXPECT_EQ(s.family, 4);
  EXPECT_EQ(s.proto, IPPROTO_UDP);
  EXPECT_FALSE(s.sport);
  EXPECT_FALSE(s.dport);
}

TEST(SummarizePacket, Ipv6WithHopByHop) {
  std::vector<uint8_t> f(14 + 40 + 8 + 8, 0);
  put16(f, 12, 0x86dd);
  f[14] = 0x60;
  f[14 + 6] = 0;  // hop-by-hop
  ::inet_pton(AF_INET6, "fd00::1", &f[14 + 8]);
  ::inet_pton(AF_INET6, "fd00::2", &f[14 + 24]);
  f[54] = IPPROTO_UDP;  // next header
  f[55] = 0;            // 8 bytes
  put16(f, 62, 1234);
  put16(f, 64, 53);
  auto s = summarize_packet(f);
  EXPECT_EQ(s.family, 6);
  EXPECT_EQ(s.proto, IPPROTO_UDP);
  EXPECT_EQ(s.src, "fd00::1");
  EXPECT_EQ(s.dst, "fd00::2");
  EXPECT_EQ(s.sport, 1234);
  EXPECT_EQ(s.dport, 53);
}

TEST(SummarizePacket, TruncatedAndNotIp) {
  auto f = ipv4_frame(IPPROTO_TCP, "10.0.0.1", "10.0.0.2", 1, 2);
  EXPECT_EQ(summarize_packet(std::span(f).first(13)).family, 0);
  EXPECT_EQ(summarize_packet(std::span(f).first(14 + 19)).family, 0);
  auto s = summarize_packet(std::span(f).first(14 + 20 + 3));  // ports cut short
  EXPECT_EQ(s.family, 4);
  EXPECT_FALSE(s.sport);
  put16(f, 12, 0x0806);  // ARP
  EXPECT_EQ(summarize_packet(f).family, 0);
}

TEST(Names, FlagsStatesProtocols) {
  EXPECT_EQ(tcp_flags_string(STRAND_TCP_SYN | STRAND_TCP_ACK | STRAND_TCP_PSH), "SYN|ACK|PSH");
  EXPECT_EQ(tcp_flags_string(0xff), "SYN|ACK|PSH|FIN|RST|URG|ECE|CWR");
  EXPECT_EQ(tcp_flags_string(0), "");
  EXPECT_EQ(ct_state_name(STRAND_CT_ESTABLISHED), "established");
  EXPECT_EQ(ct_state_name(STRAND_CT_TIME_WAIT), "time-wait");
  EXPECT_EQ(ct_state_name(99), "unknown");
  EXPECT_EQ(protocol_name(IPPROTO_ICMPV6), "ICMPv6");
  EXPECT_EQ(protocol_name(47), "47");
}

TEST(CtTimeout, FollowsStateAndProtocol) {
  strand_tc_config cfg{};
  cfg.ct_syn_ns = 60 * kSec;
  cfg.ct_tcp_ns = 3600 * kSec;
  cfg.ct_close_ns = 10 * kSec;
  cfg.ct_other_ns = 30 * kSec;
  strand_ct_entry e{};
  e.last_seen_ns = 100 * kSec;
  e.state = STRAND_CT_ESTABLISHED;
  EXPECT_FALSE(ct_expired(e, IPPROTO_TCP, cfg, 200 * kSec));
  EXPECT_TRUE(ct_expired(e, IPPROTO_TCP, cfg, 3701 * kSec));
  e.state = STRAND_CT_TIME_WAIT;
  EXPECT_FALSE(ct_expired(e, IPPROTO_TCP, cfg, 110 * kSec));  // exactly the timeout: not past it
  EXPECT_TRUE(ct_expired(e, IPPROTO_TCP, cfg, 110 * kSec + 1));
  e.state = STRAND_CT_SYN_SENT;
  EXPECT_EQ(ct_timeout_ns(e, IPPROTO_TCP, cfg), static_cast<uint64_t>(60 * kSec));
  EXPECT_TRUE(ct_expired(e, IPPROTO_UDP, cfg, 131 * kSec));
  EXPECT_FALSE(ct_expired(e, IPPROTO_UDP, cfg, 50 * kSec));  // last seen after "now"
}

TEST(FlowJson, EgressTcpFlowOfAPod) {
  Flow f;
  f.seq = 17;
  f.key = v4_key("10.244.1.5", "10.244.2.7", 40312, 8080, IPPROTO_TCP, STRAND_DIR_EGRESS);
  f.ct.first_seen_ns = 1 * kSec + 5;
  f.ct.last_seen_ns = 3 * kSec;
  f.ct.packets[STRAND_CT_ORIG] = 6;
  f.ct.bytes[STRAND_CT_ORIG] = 470;
  f.ct.packets[STRAND_CT_REPLY] = 4;
  f.ct.bytes[STRAND_CT_REPLY] = 330;
  f.ct.tcp_flags[STRAND_CT_ORIG] = STRAND_TCP_SYN | STRAND_TCP_ACK | STRAND_TCP_PSH;
  f.ct.tcp_flags[STRAND_CT_REPLY] = STRAND_TCP_SYN | STRAND_TCP_ACK;
  f.ct.rtt_ns = 41001;
  f.ct.ep_id = 12;
  f.ct.state = STRAND_CT_ESTABLISHED;
  const PodIndex pods = {{12, {"default", "web-1"}}};
  auto want = nlohmann::json::parse(R"({
    "seq": 17, "namespace": "default", "pod": "web-1", "direction": "egress",
    "family": 4, "protocol": "TCP",
    "src": "10.244.1.5", "srcPort": 40312, "dst": "10.244.2.7", "dstPort": 8080,
    "state": "established", "active": true, "end": null,
    "tx": {"packets": 6, "bytes": 470}, "rx": {"packets": 4, "bytes": 330},
    "tcpFlags": {"tx": "SYN|ACK|PSH", "rx": "SYN|ACK"},
    "handshakeRttUs": 42, "handshakeRttNs": 41001,
    "firstSeen": "2026-11-23T19:04:06.000000005Z", "firstSeenMs": 1795460646000,
    "lastSeen": "2026-11-23T19:04:08.000000000Z", "lastSeenMs": 1795460648000,
    "remoteIdentity": 0, "verdict": "allowed", "policy": null, "rule": null})");
  EXPECT_EQ(flow_json(f, pods, kTb), want) << flow_json(f, pods, kTb).dump(2);
}

TEST(FlowJson, VerdictIsAuditOnlyWhenIsolationWouldHaveDenied) {
  Flow f;
  f.key = v4_key("10.244.2.7", "10.244.1.5", 5000, 80, IPPROTO_TCP, STRAND_DIR_INGRESS);
  for (const auto& [rule, verdict] : std::vector<std::pair<uint32_t, const char*>>{
           {STRAND_RULE_NONE, "allowed"},
           {STRAND_RULE_HOST, "allowed"},
           {STRAND_RULE_ISOLATED, "audit"},  // passed only by audit mode
           {STRAND_RULE_RELATED, "allowed"},
           {STRAND_RULE_FIRST, "allowed"},
           {STRAND_RULE_FIRST + 40, "allowed"}}) {
    f.ct.rule_id = rule;
    EXPECT_EQ(flow_json(f, {}, kTb)["verdict"], verdict) << "rule " << rule;
  }
}

TEST(FlowJson, IngressUdpFlowEndedAndUnknownPod) {
  Flow f;
  f.seq = 3;
  f.key = v4_key("10.244.2.7", "10.244.1.5", 5000, 53, IPPROTO_UDP, STRAND_DIR_INGRESS);
  f.ct.packets[STRAND_CT_ORIG] = 5;  // the peer opened it: its packets are the pod's rx
  f.ct.bytes[STRAND_CT_ORIG] = 500;
  f.ct.packets[STRAND_CT_REPLY] = 2;
  f.ct.bytes[STRAND_CT_REPLY] = 120;
  f.ct.ep_id = 99;
  f.ct.state = STRAND_CT_ESTABLISHED;
  f.end = FlowEnd::kExpired;
  auto j = flow_json(f, {}, kTb);
  EXPECT_EQ(j["namespace"], nullptr);
  EXPECT_EQ(j["pod"], nullptr);
  EXPECT_EQ(j["direction"], "ingress");
  EXPECT_EQ(j["tx"], (nlohmann::json{{"packets", 2}, {"bytes", 120}}));
  EXPECT_EQ(j["rx"], (nlohmann::json{{"packets", 5}, {"bytes", 500}}));
  EXPECT_EQ(j["tcpFlags"], nullptr);
  EXPECT_EQ(j["handshakeRttUs"], nullptr);
  EXPECT_EQ(j["active"], false);
  EXPECT_EQ(j["end"], "expired");
  EXPECT_EQ(j["srcPort"], 5000);
  EXPECT_EQ(j["dstPort"], 53);
}

TEST(FlowJson, IcmpHasNoPortsAndIpv6Addresses) {
  Flow f;
  f.key.family = STRAND_FAMILY_IPV6;
  f.key.proto = IPPROTO_ICMPV6;
  ::inet_pton(AF_INET6, "fd00::5", f.key.saddr);
  ::inet_pton(AF_INET6, "fd00::7", f.key.daddr);
  f.key.sport = htons(33);
  auto j = flow_json(f, {}, kTb);
  EXPECT_EQ(j["family"], 6);
  EXPECT_EQ(j["protocol"], "ICMPv6");
  EXPECT_EQ(j["src"], "fd00::5");
  EXPECT_EQ(j["dst"], "fd00::7");
  EXPECT_EQ(j["srcPort"], nullptr);
  EXPECT_EQ(j["dstPort"], nullptr);
}

TEST(DropJson, DecodesTheCapturedPacket) {
  DropRecord d;
  d.seq = 3;
  d.ev.hdr = {STRAND_EV_DROP, STRAND_DIR_EGRESS, STRAND_DROP_CT_INVALID, 12, 2 * kSec + 500000};
  d.ev.ifindex = 12;
  d.ev.pkt_len = 54;
  auto f = ipv4_frame(IPPROTO_TCP, "10.244.1.5", "10.244.2.7", 50000, 8080);
  std::memcpy(d.ev.pkt, f.data(), f.size());
  d.ev.cap_len = static_cast<uint32_t>(f.size());
  auto want = nlohmann::json::parse(R"({
    "seq": 3, "time": "2026-11-23T19:04:07.000500000Z", "timeMs": 1795460647000,
    "namespace": "default", "pod": "web-1", "direction": "egress", "reason": "ct-invalid",
    "family": 4, "protocol": "TCP",
    "src": "10.244.1.5", "srcPort": 50000, "dst": "10.244.2.7", "dstPort": 8080,
    "length": 54, "ifindex": 12, "policy": null, "rule": null})");
  EXPECT_EQ(drop_json(d, {{12, {"default", "web-1"}}}, kTb), want);
}

TEST(DropJson, UnreadablePacketHasNullTuple) {
  DropRecord d;
  d.ev.hdr = {STRAND_EV_DROP, STRAND_DIR_INGRESS, STRAND_DROP_TRUNCATED_L3, 1, 0};
  d.ev.pkt_len = 20;
  d.ev.cap_len = 20;
  auto f = ipv4_frame(IPPROTO_TCP, "10.0.0.1", "10.0.0.2", 1, 2);
  std::memcpy(d.ev.pkt, f.data(), 20);
  auto j = drop_json(d, {}, kTb);
  EXPECT_EQ(j["reason"], "truncated-l3");
  EXPECT_EQ(j["direction"], "ingress");
  EXPECT_EQ(j["family"], nullptr);
  EXPECT_EQ(j["protocol"], nullptr);
  EXPECT_EQ(j["src"], nullptr);
  EXPECT_EQ(j["srcPort"], nullptr);
  EXPECT_EQ(j["length"], 20);
}

TEST(FlowIdentity, KeyAndOpeningTime) {
  auto k = v4_key("10.0.0.1", "10.0.0.2", 1, 2, IPPROTO_TCP, 0);
  strand_ct_entry a{}, b{};
  a.first_seen_ns = b.first_seen_ns = 5;
  b.bytes[0] = 100;  // counters are not part of the identity
  EXPECT_EQ(flow_id(k, a), flow_id(k, b));
  b.first_seen_ns = 6;  // the tuple reused by a later connection
  EXPECT_NE(flow_id(k, a), flow_id(k, b));
}

TEST(BoundedStore, EvictsOldestAndFindsBySeq) {
  BoundedStore<DropRecord> s(3);
  for (uint64_t seq : {2, 4, 5}) EXPECT_FALSE(s.push(DropRecord{seq, {}}));
  auto evicted = s.push(DropRecord{9, {}});
  ASSERT_TRUE(evicted);
  EXPECT_EQ(evicted->seq, 2u);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s.items().front().seq, 4u);
  EXPECT_EQ(s.items().back().seq, 9u);
  ASSERT_NE(s.find(5), nullptr);
  EXPECT_EQ(s.find(5)->seq, 5u);
  EXPECT_EQ(s.find(2), nullptr);
  EXPECT_EQ(s.find(6), nullptr);
}

}  // namespace
}  // namespace strand::agent::flows
