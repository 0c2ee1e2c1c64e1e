// strand_tc, one packet at a time: every fixture loads a fresh skeleton,
// seeds one endpoint and the ipcache, runs one crafted packet through
// from_pod or to_pod and asserts the verdict, the output bytes, the
// endpoint's counters, the conntrack table and the events, exactly.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "datapath/drop_reasons.h"
#include "fixtures.h"
#include "harness.h"
#include "packet.h"

namespace strand::test {
namespace {

enum class Outcome {
  kTracked,    // passed, one ct entry
  kUntracked,  // passed, counted, no ct entry (RST without a connection)
  kNonIp,      // passed, counted as non_ip
  kFragment,   // passed, counted as a non-first fragment
  kDropped,    // TC_ACT_SHOT, drops[reason], one drop event
};

struct CtExpect {
  std::vector<std::uint8_t> saddr;
  std::vector<std::uint8_t> daddr;
  std::uint16_t sport;
  std::uint16_t dport;
  std::uint8_t proto;
  std::uint8_t state;
  std::uint8_t tcp_flags;
  std::uint8_t flags;
  std::uint32_t remote_identity;
};

struct TcCase {
  std::string name;
  std::string how;  // how the packet was made, for the failure message
  Hook hook;
  Bytes packet;
  Outcome outcome;
  std::uint32_t reason = STRAND_DROP_NONE;
  std::optional<CtExpect> ct;
  // Extra map state on top of seed() (one endpoint, two ipcache prefixes).
  std::function<void(TcDatapath&)> setup = {};
};

void PrintTo(const TcCase& c, std::ostream* os) { *os << c.name << ": " << c.how; }

// Headers as the pod sees them: from_pod carries pod -> remote, to_pod
// carries remote -> pod.
Ipv4Header ip4(Hook h, std::uint8_t proto) {
  return h == Hook::kFromPod ? Ipv4Header{.src = kPod4, .dst = kRemote4, .proto = proto}
                             : Ipv4Header{.src = kRemote4, .dst = kPod4, .proto = proto};
}

Ipv6Header ip6(Hook h, std::uint8_t next) {
  return h == Hook::kFromPod ? Ipv6Header{.src = kPod6, .dst = kRemote6, .next = next}
                             : Ipv6Header{.src = kRemote6, .dst = kPod6, .next = next};
}

CtExpect ct4(Hook h, std::uint16_t sport, std::uint16_t dport, std::uint8_t proto,
             std::uint8_t state, std::uint8_t tcp_flags = 0, std::uint8_t flags = 0) {
  const bool out = h == Hook::kFromPod;
  return {vec(out ? kPod4 : kRemote4), vec(out ? kRemote4 : kPod4), sport, dport, proto, state,
          tcp_flags, flags, kRemoteIdentity4};
}

CtExpect ct6(Hook h, std::uint16_t sport, std::uint16_t dport, std::uint8_t proto,
             std::uint8_t state, std::uint8_t tcp_flags = 0) {
  const bool out = h == Hook::kFromPod;
  return {vec(out ? kPod6 : kRemote6), vec(out ? kRemote6 : kPod6), sport, dport, proto, state,
          tcp_flags, 0, kRemoteIdentity6};
}

constexpr Hook kOut = Hook::kFromPod;
constexpr Hook kIn = Hook::kToPod;

TcpHeader syn(std::uint16_t sport = 40000, std::uint16_t dport = 80) {
  return {.sport = sport, .dport = dport, .flags = kSyn};
}

TcCase drop(std::string name, std::string how, Bytes pkt, std::uint32_t reason,
            Hook hook = kOut) {
  return {std::move(name), std::move(how), hook, std::move(pkt), Outcome::kDropped, reason, {}};
}

std::vector<TcCase> passing_cases() {
  std::vector<TcCase> cs;
  auto tracked = [&](std::string name, std::string how, Hook hook, Bytes pkt, CtExpect ct) {
    cs.push_back({std::move(name), std::move(how), hook, std::move(pkt), Outcome::kTracked,
                  STRAND_DROP_NONE, std::move(ct)});
  };

  tracked("v4_tcp_syn_from_pod", "eth/IPv4/TCP SYN 40000->80", kOut,
          PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoTcp)).tcp(syn()).build(),
          ct4(kOut, 40000, 80, kProtoTcp, STRAND_CT_SYN_SENT, kSyn));
  tracked("v4_tcp_syn_to_pod", "eth/IPv4/TCP SYN remote 40000 -> pod 80", kIn,
          PacketBuilder().eth(kEthIp).ipv4(ip4(kIn, kProtoTcp)).tcp(syn()).build(),
          ct4(kIn, 40000, 80, kProtoTcp, STRAND_CT_SYN_SENT, kSyn));
  tracked("v4_udp_from_pod", "eth/IPv4/UDP 5353->53 + 12 bytes", kOut,
          PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoUdp)).udp(5353, 53).payload(12).build(),
          ct4(kOut, 5353, 53, kProtoUdp, STRAND_CT_NEW));
  tracked("v4_icmp_echo_from_pod", "eth/IPv4/ICMP echo request id 0x4242: id as sport", kOut,
          PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoIcmp)).icmp(8, 0x4242).payload(8).build(),
          ct4(kOut, 0x4242, 0, kProtoIcmp, STRAND_CT_NEW));
  tracked("v4_icmp_unreachable_to_pod", "eth/IPv4/ICMP dest unreachable: no ids", kIn,
          PacketBuilder().eth(kEthIp).ipv4(ip4(kIn, kProtoIcmp)).icmp(3, 0x1111).payload(28).build(),
          ct4(kIn, 0, 0, kProtoIcmp, STRAND_CT_NEW));
  tracked("v4_sctp_from_pod", "eth/IPv4/SCTP common header 3868->3868", kOut,
          PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoSctp)).sctp(3868, 3868).payload(16).build(),
          ct4(kOut, 3868, 3868, kProtoSctp, STRAND_CT_NEW));
  tracked("v4_esp_from_pod", "eth/IPv4/ESP: no ports", kOut,
          PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoEsp)).payload(24).build(),
          ct4(kOut, 0, 0, kProtoEsp, STRAND_CT_NEW));
  {
    Ipv4Header h = ip4(kOut, kProtoTcp);
    h.options = Bytes(8, 1);  // 8 NOP options: IHL 7
    tracked("v4_options_tcp", "eth/IPv4 IHL 7 (8 bytes of NOP options)/TCP SYN", kOut,
            PacketBuilder().eth(kEthIp).ipv4(h).tcp(syn()).build(),
            ct4(kOut, 40000, 80, kProtoTcp, STRAND_CT_SYN_SENT, kSyn));
  }
  {
    Ipv4Header h = ip4(kOut, kProtoUdp);
    h.frag = 0x2000;  // MF, offset 0
    tracked("v4_first_fragment_udp", "eth/IPv4 MF offset 0/UDP 7000->7001 + 64 bytes", kOut,
            PacketBuilder().eth(kEthIp).ipv4(h).udp(7000, 7001).payload(64).build(),
            ct4(kOut, 7000, 7001, kProtoUdp, STRAND_CT_NEW));
  }
  {
    Bytes p = PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoTcp)).tcp(syn()).build();
    p.resize(p.size() + 6, 0);  // Ethernet padding after the IP packet
    tracked("v4_ethernet_padding", "eth/IPv4/TCP SYN + 6 bytes of L2 padding", kOut, p,
            ct4(kOut, 40000, 80, kProtoTcp, STRAND_CT_SYN_SENT, kSyn));
  }
  tracked("v4_vlan_udp", "eth 802.1Q vid 100/IPv4/UDP 5000->6000", kOut,
          PacketBuilder().eth(kEthVlan).vlan(100, kEthIp).ipv4(ip4(kOut, kProtoUdp)).udp(5000, 6000).build(),
          ct4(kOut, 5000, 6000, kProtoUdp, STRAND_CT_NEW));
  tracked("v4_qinq_udp", "eth 802.1ad vid 10 / 802.1Q vid 20 (the bound)/IPv4/UDP", kOut,
          PacketBuilder()
              .eth(kEthQinQ)
              .vlan(10, kEthVlan)
              .vlan(20, kEthIp)
              .ipv4(ip4(kOut, kProtoUdp))
              .udp(5000, 6000)
              .build(),
          ct4(kOut, 5000, 6000, kProtoUdp, STRAND_CT_NEW));
  tracked("v4_tcp_midstream_ack", "eth/IPv4/TCP ACK with no connection: opened midstream", kOut,
          PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoTcp))
              .tcp({.sport = 40000, .dport = 80, .flags = kAck}).payload(10).build(),
          ct4(kOut, 40000, 80, kProtoTcp, STRAND_CT_ESTABLISHED, kAck, STRAND_CT_F_MIDSTREAM));
  {
    CtExpect ct = ct4(kOut, 5353, 53, kProtoUdp, STRAND_CT_NEW);
    ct.daddr = vec(kWorld4);
    ct.remote_identity = STRAND_IDENTITY_UNKNOWN;
    tracked("v4_udp_to_unknown_prefix", "eth/IPv4/UDP to 192.0.2.1, in no ipcache prefix", kOut,
            PacketBuilder().eth(kEthIp)
                .ipv4({.src = kPod4, .dst = kWorld4, .proto = kProtoUdp}).udp(5353, 53).build(),
            ct);
  }

  {
    CtExpect ct = ct4(kIn, 5353, 53, kProtoUdp, STRAND_CT_NEW);
    ct.remote_identity = STRAND_IDENTITY_HOST;
    cs.push_back({"v4_udp_from_longer_ipcache_prefix",
                  "eth/IPv4/UDP from 10.2.0.9 with 10.2.0.9/32 -> host besides 10.2.0.0/16", kIn,
                  PacketBuilder().eth(kEthIp).ipv4(ip4(kIn, kProtoUdp)).udp(5353, 53).build(),
                  Outcome::kTracked, STRAND_DROP_NONE, ct, [](TcDatapath& dp) {
                    dp.add_ipcache(lpm_key(vec(kRemote4), 32), STRAND_IDENTITY_HOST);
                  }});
  }
  tracked("v6_tcp_syn_from_pod", "eth/IPv6/TCP SYN 40000->443", kOut,
          PacketBuilder().eth(kEthIpv6).ipv6(ip6(kOut, kProtoTcp)).tcp(syn(40000, 443)).build(),
          ct6(kOut, 40000, 443, kProtoTcp, STRAND_CT_SYN_SENT, kSyn));
  tracked("v6_udp_to_pod", "eth/IPv6/UDP remote 53 -> pod 5353", kIn,
          PacketBuilder().eth(kEthIpv6).ipv6(ip6(kIn, kProtoUdp)).udp(53, 5353).payload(30).build(),
          ct6(kIn, 53, 5353, kProtoUdp, STRAND_CT_NEW));
  tracked("v6_icmp6_echo_from_pod", "eth/IPv6/ICMPv6 echo request id 7", kOut,
          PacketBuilder().eth(kEthIpv6).ipv6(ip6(kOut, kProtoIcmp6)).icmp(128, 7).build(),
          ct6(kOut, 7, 0, kProtoIcmp6, STRAND_CT_NEW));
  tracked("v6_sctp_to_pod", "eth/IPv6/SCTP 2905->2905", kIn,
          PacketBuilder().eth(kEthIpv6).ipv6(ip6(kIn, kProtoSctp)).sctp(2905, 2905).build(),
          ct6(kIn, 2905, 2905, kProtoSctp, STRAND_CT_NEW));
  tracked("v6_ext_chain_at_bound",
          "eth/IPv6/hop(8)/dst(16)/routing(24)/frag(atomic)/AH(12)/dst(8)/dst(8)/dst(8): "
          "8 extension headers, the bound/TCP SYN",
          kOut,
          PacketBuilder()
              .eth(kEthIpv6)
              .ipv6(ip6(kOut, kExtHop))
              .ext(kExtDest, 8)
              .ext(kExtRouting, 16)
              .ext(kExtFragment, 24)
              .frag6(kProtoAh, 0, false)
              .ah(kExtDest, 12)
              .ext(kExtDest, 8)
              .ext(kExtDest, 8)
              .ext(kProtoTcp, 8)
              .tcp(syn(40000, 443))
              .build(),
          ct6(kOut, 40000, 443, kProtoTcp, STRAND_CT_SYN_SENT, kSyn));
  tracked("v6_first_fragment_udp", "eth/IPv6/frag offset 0 M=1/UDP 7000->7001 + 64 bytes", kOut,
          PacketBuilder().eth(kEthIpv6).ipv6(ip6(kOut, kExtFragment)).frag6(kProtoUdp, 0, true)
              .udp(7000, 7001).payload(64).build(),
          ct6(kOut, 7000, 7001, kProtoUdp, STRAND_CT_NEW));
  tracked("v6_no_next_header", "eth/IPv6 next header 59, no payload", kOut,
          PacketBuilder().eth(kEthIpv6).ipv6(ip6(kOut, kProtoNone)).build(),
          ct6(kOut, 0, 0, kProtoNone, STRAND_CT_NEW));

  cs.push_back({"v4_tcp_rst_without_connection", "eth/IPv4/TCP RST|ACK: opens nothing", kOut,
                PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoTcp))
                    .tcp({.sport = 40000, .dport = 80, .flags = kRst | kAck}).build(),
                Outcome::kUntracked});

  auto non_ip = [&](std::string name, std::string how, Bytes pkt) {
    cs.push_back({std::move(name), std::move(how), kOut, std::move(pkt), Outcome::kNonIp});
  };
  non_ip("arp", "eth/ARP request", PacketBuilder().eth(kEthArp).arp().build());
  non_ip("vlan_arp", "eth 802.1Q/ARP request",
         PacketBuilder().eth(kEthVlan).vlan(5, kEthArp).arp().build());
  non_ip("lldp", "eth type 0x88cc + 32 bytes", PacketBuilder().eth(kEthLldp).payload(32).build());
  non_ip("eth_header_only", "14 bytes: eth type 0x9000, nothing after",
         PacketBuilder().eth(0x9000).build());

  auto fragment = [&](std::string name, std::string how, Hook hook, Bytes pkt) {
    cs.push_back({std::move(name), std::move(how), hook, std::move(pkt), Outcome::kFragment});
  };
  {
    Ipv4Header h = ip4(kOut, kProtoTcp);
    h.frag = 185;  // offset 1480 bytes, last fragment
    fragment("v4_later_fragment", "eth/IPv4 offset 185, no MF, 40 bytes of TCP payload", kOut,
             PacketBuilder().eth(kEthIp).ipv4(h).payload(40).build());
  }
  {
    Ipv4Header h = ip4(kIn, kProtoUdp);
    h.frag = 0x2000 | 1;  // MF, offset 8 bytes: a middle fragment
    fragment("v4_middle_fragment_to_pod", "eth/IPv4 MF offset 1, 3 bytes", kIn,
             PacketBuilder().eth(kEthIp).ipv4(h).payload(3).build());
  }
  fragment("v6_later_fragment", "eth/IPv6/frag offset 100 M=0 (TCP)/40 bytes", kOut,
           PacketBuilder().eth(kEthIpv6).ipv6(ip6(kOut, kExtFragment)).frag6(kProtoTcp, 100, false)
               .payload(40).build());
  fragment("v6_later_fragment_after_hop", "eth/IPv6/hop(8)/frag offset 3 M=1 (UDP)/2 bytes",
           kIn,
           PacketBuilder().eth(kEthIpv6).ipv6(ip6(kIn, kExtHop)).ext(kExtFragment, 8)
               .frag6(kProtoUdp, 3, true).payload(2).build());
  return cs;
}

std::vector<TcCase> drop_cases() {
  std::vector<TcCase> cs;
  const Bytes v4_tcp = PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoTcp)).tcp(syn()).payload(10).build();
  const Bytes v6_tcp = PacketBuilder().eth(kEthIpv6).ipv6(ip6(kOut, kProtoTcp)).tcp(syn()).build();

  // L2
  cs.push_back(drop("vlan_tag_cut", "eth 802.1Q + 2 of the tag's 4 bytes",
                    cut(PacketBuilder().eth(kEthVlan).vlan(7, kEthIp).build(), 16),
                    STRAND_DROP_TRUNCATED_L2));
  cs.push_back(drop("vlan_three_tags", "eth 802.1ad/802.1Q/802.1Q/IPv4: one tag past the bound",
                    PacketBuilder().eth(kEthQinQ).vlan(1, kEthVlan).vlan(2, kEthVlan)
                        .vlan(3, kEthIp).ipv4(ip4(kOut, kProtoUdp)).udp(1, 2).build(),
                    STRAND_DROP_VLAN_DEPTH));
  cs.push_back(drop("mpls", "eth type 0x8847, label stack then IPv4",
                    PacketBuilder().eth(kEthMpls).payload(4).ipv4(ip4(kOut, kProtoUdp)).udp(1, 2).build(),
                    STRAND_DROP_UNSUPPORTED_L3));
  cs.push_back(drop("pppoe_session", "eth type 0x8864 + 8 bytes",
                    PacketBuilder().eth(kEthPppoe).payload(8).build(),
                    STRAND_DROP_UNSUPPORTED_L3));
  cs.push_back(drop("vlan_then_ip_cut", "eth 802.1Q/IPv4 ethertype, packet ends after the tag",
                    PacketBuilder().eth(kEthVlan).vlan(7, kEthIp).build(),
                    STRAND_DROP_TRUNCATED_L3));

  // IPv4 cut at each boundary; lengths still describe the whole packet.
  // test_run refuses an untagged IPv4/IPv6 frame too short for the fixed
  // header (EINVAL), so those cuts are made behind a VLAN tag.
  cs.push_back(drop("v4_vlan_cut_in_header", "eth 802.1Q/IPv4 TCP packet cut at 18+19",
                    cut(PacketBuilder().eth(kEthVlan).vlan(7, kEthIp).ipv4(ip4(kOut, kProtoTcp))
                            .tcp(syn()).build(), 37),
                    STRAND_DROP_TRUNCATED_L3));
  cs.push_back(drop("v4_cut_after_header", "IPv4 TCP packet cut at 14+20", cut(v4_tcp, 34),
                    STRAND_DROP_TRUNCATED_L3));
  cs.push_back(drop("v4_cut_in_tcp", "IPv4 TCP packet cut at 14+20+19", cut(v4_tcp, 53),
                    STRAND_DROP_TRUNCATED_L3));
  {
    Ipv4Header h = ip4(kOut, kProtoTcp);
    h.options = Bytes(8, 1);
    cs.push_back(drop("v4_cut_in_options", "IPv4 IHL 7 cut at 14+24 (4 of 8 option bytes)",
                      cut(PacketBuilder().eth(kEthIp).ipv4(h).tcp(syn()).build(), 38),
                      STRAND_DROP_TRUNCATED_L3));
  }
  // IPv4 length fields describing the shortened packet: the L4 header does
  // not fit in the IP payload.
  cs.push_back(drop("v4_short_tcp", "IPv4 total length 39: 19 of 20 TCP header bytes",
                    PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoTcp)).tcp(syn()).shorten(53).build(),
                    STRAND_DROP_TRUNCATED_L4));
  cs.push_back(drop("v4_no_tcp", "IPv4 total length 20, protocol TCP, nothing after",
                    PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoTcp)).build(),
                    STRAND_DROP_TRUNCATED_L4));
  cs.push_back(drop("v4_short_udp", "IPv4/UDP with 7 of 8 header bytes",
                    PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoUdp)).udp(1, 2).shorten(41).build(),
                    STRAND_DROP_TRUNCATED_L4));
  cs.push_back(drop("v4_short_icmp", "IPv4/ICMP echo with 7 of 8 header bytes",
                    PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoIcmp)).icmp(8, 1).shorten(41).build(),
                    STRAND_DROP_TRUNCATED_L4));
  cs.push_back(drop("v4_short_sctp", "IPv4/SCTP with 11 of 12 common header bytes",
                    PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoSctp)).sctp(1, 2).shorten(45).build(),
                    STRAND_DROP_TRUNCATED_L4));
  cs.push_back(drop("v4_tcp_options_cut", "IPv4/TCP data offset 8 (32 bytes), 24 present",
                    PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoTcp))
                        .tcp({.sport = 1, .dport = 2, .flags = kSyn, .doff = 8}).shorten(58).build(),
                    STRAND_DROP_TRUNCATED_L4));
  {
    Ipv4Header h = ip4(kOut, kProtoTcp);
    h.frag = 0x2000;
    cs.push_back(drop("v4_tiny_first_fragment", "IPv4 MF offset 0 with 8 bytes of TCP header",
                      PacketBuilder().eth(kEthIp).ipv4(h).tcp(syn()).shorten(42).build(),
                      STRAND_DROP_TRUNCATED_L4));
  }
  {
    Ipv4Header h = ip4(kOut, kProtoTcp);
    h.ihl = 4;
    cs.push_back(drop("v4_bad_ihl", "IPv4 IHL 4 (16 bytes, below the minimum)",
                      PacketBuilder().eth(kEthIp).ipv4(h).tcp(syn()).build(),
                      STRAND_DROP_MALFORMED_L3));
  }
  {
    Ipv4Header h = ip4(kOut, kProtoTcp);
    h.version = 5;
    cs.push_back(drop("v4_bad_version", "IPv4 ethertype, version nibble 5",
                      PacketBuilder().eth(kEthIp).ipv4(h).tcp(syn()).build(),
                      STRAND_DROP_MALFORMED_L3));
  }
  {
    Ipv4Header h = ip4(kOut, kProtoTcp);
    h.total_len = 16;
    cs.push_back(drop("v4_total_len_below_header", "IPv4 total length 16 < IHL*4 = 20",
                      PacketBuilder().eth(kEthIp).ipv4(h).tcp(syn()).build(),
                      STRAND_DROP_MALFORMED_L3));
  }
  {
    Ipv4Header h = ip4(kOut, kProtoTcp);
    h.total_len = 50;  // 40 present
    cs.push_back(drop("v4_total_len_beyond_packet", "IPv4 total length 50, 40 bytes present",
                      PacketBuilder().eth(kEthIp).ipv4(h).tcp(syn()).build(),
                      STRAND_DROP_TRUNCATED_L3));
  }
  cs.push_back(drop("v4_tcp_doff_4", "IPv4/TCP data offset 4 (16 bytes)",
                    PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoTcp))
                        .tcp({.sport = 1, .dport = 2, .flags = kSyn, .doff = 4}).build(),
                    STRAND_DROP_MALFORMED_L4));
  cs.push_back(drop("v4_tcp_syn_fin", "IPv4/TCP flags SYN|FIN",
                    PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoTcp))
                        .tcp({.sport = 1, .dport = 2, .flags = kSyn | kFin}).build(),
                    STRAND_DROP_CT_INVALID));
  cs.push_back(drop("v4_tcp_syn_rst", "IPv4/TCP flags SYN|RST, to the pod",
                    PacketBuilder().eth(kEthIp).ipv4(ip4(kIn, kProtoTcp))
                        .tcp({.sport = 1, .dport = 2, .flags = kSyn | kRst}).build(),
                    STRAND_DROP_CT_INVALID, kIn));
  cs.push_back(drop("v4_tcp_no_flags", "IPv4/TCP with no flags (null scan)",
                    PacketBuilder().eth(kEthIp).ipv4(ip4(kOut, kProtoTcp))
                        .tcp({.sport = 1, .dport = 2, .flags = 0}).build(),
                    STRAND_DROP_CT_INVALID));

  // IPv6
  cs.push_back(drop("v6_vlan_cut_after_tag", "eth 802.1Q/IPv6 ethertype, ends after the tag",
                    PacketBuilder().eth(kEthVlan).vlan(7, kEthIpv6).build(),
                    STRAND_DROP_TRUNCATED_L3));
  cs.push_back(drop("v6_vlan_cut_in_header", "eth 802.1Q/IPv6 TCP packet cut at 18+39",
                    cut(PacketBuilder().eth(kEthVlan).vlan(7, kEthIpv6).ipv6(ip6(kOut, kProtoTcp))
                            .tcp(syn()).build(), 57),
                    STRAND_DROP_TRUNCATED_L3));
  cs.push_back(drop("v6_cut_after_header", "IPv6 TCP packet cut at 14+40", cut(v6_tcp, 54),
                    STRAND_DROP_TRUNCATED_L3));
  cs.push_back(drop("v6_cut_in_tcp", "IPv6 TCP packet cut at 14+40+10", cut(v6_tcp, 64),
                    STRAND_DROP_TRUNCATED_L3, kOut));
  {
    Ipv6Header h = ip6(kOut, kProtoTcp);
    h.payload_len = 28;  // 20 present
    cs.push_back(drop("v6_payload_len_beyond_packet", "IPv6 payload length 28, 20 present",
                      PacketBuilder().eth(kEthIpv6).ipv6(h).tcp(syn()).build(),
                      STRAND_DROP_TRUNCATED_L3));
  }
  {
    Ipv6Header h = ip6(kOut, kProtoTcp);
    h.payload_len = 0;
    cs.push_back(drop("v6_payload_len_zero", "IPv6 payload length 0 before a 20-byte TCP header",
                      PacketBuilder().eth(kEthIpv6).ipv6(h).tcp(syn()).build(),
                      STRAND_DROP_TRUNCATED_L4));
  }
  {
    Ipv6Header h = ip6(kOut, kProtoTcp);
    h.payload_len = 10;  // 20 present
    cs.push_back(drop("v6_payload_len_short_for_tcp", "IPv6 payload length 10 before a 20-byte TCP header",
                      PacketBuilder().eth(kEthIpv6).ipv6(h).tcp(syn()).build(),
                      STRAND_DROP_TRUNCATED_L4));
  }
  {
    Ipv6Header h = ip6(kOut, kProtoTcp);
    h.version = 4;
    cs.push_back(drop("v6_bad_version", "IPv6 ethertype, version nibble 4",
                      PacketBuilder().eth(kEthIpv6).ipv6(h).tcp(syn()).build(),
                      STRAND_DROP_MALFORMED_L3));
  }
  cs.push_back(drop("v6_ext_chain_beyond_bound",
                    "eth/IPv6/9 destination options headers (one past the bound)/TCP",
                    [] {
                      PacketBuilder b;
                      b.eth(kEthIpv6).ipv6(ip6(kOut, kExtDest));
                      for (int i = 0; i < 8; ++i) b.ext(kExtDest, 8);
                      return b.ext(kProtoTcp, 8).tcp(syn()).build();
                    }(),
                    STRAND_DROP_IPV6_EXT_LIMIT));
  cs.push_back(drop("v6_ext_header_start_cut", "IPv6/hop-by-hop with 4 of its 8 bytes",
                    PacketBuilder().eth(kEthIpv6).ipv6(ip6(kOut, kExtHop)).ext(kProtoTcp, 8).shorten(58).build(),
                    STRAND_DROP_TRUNCATED_L3));
  cs.push_back(drop("v6_ext_header_body_cut", "IPv6/routing header of 16 bytes, 8 present",
                    PacketBuilder().eth(kEthIpv6).ipv6(ip6(kOut, kExtRouting)).ext(kProtoTcp, 16).shorten(62).build(),
                    STRAND_DROP_TRUNCATED_L3));
  cs.push_back(drop("v6_ah_body_cut", "IPv6/AH of 24 bytes, 16 present",
                    PacketBuilder().eth(kEthIpv6).ipv6(ip6(kOut, kProtoAh)).ah(kProtoTcp, 24).shorten(70).build(),
                    STRAND_DROP_TRUNCATED_L3));
  cs.push_back(drop("v6_short_tcp_after_ext", "IPv6/hop(8)/TCP with 10 of 20 header bytes",
                    PacketBuilder().eth(kEthIpv6).ipv6(ip6(kOut, kExtHop)).ext(kProtoTcp, 8).tcp(syn()).shorten(72).build(),
                    STRAND_DROP_TRUNCATED_L4));
  cs.push_back(drop("v6_short_icmp6", "IPv6/ICMPv6 with 7 of 8 header bytes, to the pod",
                    PacketBuilder().eth(kEthIpv6).ipv6(ip6(kIn, kProtoIcmp6)).icmp(129, 1).shorten(61).build(),
                    STRAND_DROP_TRUNCATED_L4, kIn));
  cs.push_back(drop("v6_short_udp", "IPv6/UDP with 4 of 8 header bytes",
                    PacketBuilder().eth(kEthIpv6).ipv6(ip6(kOut, kProtoUdp)).udp(1, 2).shorten(58).build(),
                    STRAND_DROP_TRUNCATED_L4));
  cs.push_back(drop("v6_tiny_first_fragment", "IPv6/frag offset 0 M=1/TCP with 8 header bytes",
                    PacketBuilder().eth(kEthIpv6).ipv6(ip6(kOut, kExtFragment)).frag6(kProtoTcp, 0, true)
                        .tcp(syn()).shorten(70).build(),
                    STRAND_DROP_TRUNCATED_L4));
  return cs;
}

std::vector<TcCase> all_cases() {
  std::vector<TcCase> cs = passing_cases();
  for (TcCase& c : drop_cases()) cs.push_back(std::move(c));
  return cs;
}

strand_ep_stats expected_stats(const TcCase& c) {
  strand_ep_stats s{};
  const std::uint8_t d = dir_of(c.hook);
  if (c.outcome == Outcome::kDropped) {
    s.drops[d][c.reason] = 1;
    s.events_sent = 1;
    return s;
  }
  s.packets[d] = 1;
  s.bytes[d] = c.packet.size();
  if (c.outcome == Outcome::kNonIp) s.non_ip[d] = 1;
  if (c.outcome == Outcome::kFragment) s.fragments[d] = 1;
  return s;
}

class TcPacket : public ::testing::TestWithParam<TcCase> {};

TEST_P(TcPacket, VerdictCountersConntrackEvents) {
  if (!is_root()) GTEST_SKIP() << "needs root to load BPF programs";
  const TcCase& c = GetParam();
  SCOPED_TRACE(c.how);
  TcDatapath dp;
  seed(dp);
  if (c.setup) c.setup(dp);

  const RunResult r = dp.run(c.hook, c.packet);

  EXPECT_EQ(r.retval, c.outcome == Outcome::kDropped ? TC_ACT_SHOT : TC_ACT_OK);
  EXPECT_EQ(r.out, c.packet) << "the datapath does not rewrite packets";

  const auto stats = dp.ep_stats(kEpId);
  ASSERT_TRUE(stats.has_value()) << "no ep_stats entry for endpoint " << kEpId;
  expect_stats_eq(*stats, expected_stats(c));
  EXPECT_FALSE(dp.ep_stats(0).has_value()) << "counted as an unknown endpoint";

  const auto entries = dp.ct_entries();
  if (c.ct) {
    ASSERT_EQ(entries.size(), 1u);
    const auto& [key, e] = entries.front();
    const strand_ct_key want =
        ct_key(c.ct->saddr, c.ct->daddr, c.ct->sport, c.ct->dport, c.ct->proto, dir_of(c.hook));
    EXPECT_TRUE(same_key(key, want)) << to_string(key) << " != " << to_string(want);
    EXPECT_EQ(e.packets[STRAND_CT_ORIG], 1u);
    EXPECT_EQ(e.packets[STRAND_CT_REPLY], 0u);
    EXPECT_EQ(e.bytes[STRAND_CT_ORIG], c.packet.size());
    EXPECT_EQ(e.bytes[STRAND_CT_REPLY], 0u);
    EXPECT_EQ(e.state, c.ct->state);
    EXPECT_EQ(e.tcp_flags[STRAND_CT_ORIG], c.ct->tcp_flags);
    EXPECT_EQ(e.tcp_flags[STRAND_CT_REPLY], 0);
    EXPECT_EQ(e.flags, c.ct->flags);
    EXPECT_EQ(e.ep_id, kEpId);
    EXPECT_EQ(e.remote_identity, c.ct->remote_identity);
    EXPECT_EQ(e.rule_id, 0u);
    EXPECT_EQ(e.rtt_ns, 0u);
    EXPECT_NE(e.first_seen_ns, 0u);
    EXPECT_EQ(e.first_seen_ns, e.last_seen_ns);
    EXPECT_EQ(e.syn_ns, c.ct->state == STRAND_CT_SYN_SENT ? e.first_seen_ns : 0u);
  } else {
    EXPECT_TRUE(entries.empty()) << entries.size() << " ct entries, first "
                                 << to_string(entries.front().first);
  }

  const Events ev = dp.drain_events();
  EXPECT_TRUE(ev.flows.empty());
  if (c.outcome == Outcome::kDropped) {
    ASSERT_EQ(ev.drops.size(), 1u);
    const strand_drop_event& d = ev.drops.front();
    EXPECT_EQ(d.hdr.type, STRAND_EV_DROP);
    EXPECT_EQ(d.hdr.dir, dir_of(c.hook));
    EXPECT_EQ(d.hdr.reason, c.reason) << datapath::drop_reason_name(d.hdr.reason);
    EXPECT_EQ(d.hdr.ep_id, kEpId);
    EXPECT_NE(d.hdr.ts_ns, 0u);
    EXPECT_EQ(d.ifindex, kTestIfindex);
    EXPECT_EQ(d.identity, kEpIdentity);
    EXPECT_EQ(d.pkt_len, c.packet.size());
    const std::size_t cap = std::min<std::size_t>(c.packet.size(), STRAND_DROP_CAPTURE);
    ASSERT_EQ(d.cap_len, cap);
    EXPECT_EQ(Bytes(d.pkt, d.pkt + cap), cut(c.packet, cap));
    EXPECT_EQ(Bytes(d.pkt + cap, d.pkt + STRAND_DROP_CAPTURE), Bytes(STRAND_DROP_CAPTURE - cap, 0));
  } else {
    EXPECT_TRUE(ev.drops.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TcPacket, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<TcCase>& i) { return i.param.name; });

// Drop reasons must reach the counters by number: the reason each fixture
// expects is a real entry of the shared list.
TEST(TcPacketTable, EveryExpectedReasonIsNamed) {
  for (const TcCase& c : all_cases()) {
    if (c.outcome != Outcome::kDropped) continue;
    EXPECT_NE(datapath::drop_reason_name(c.reason), "unknown") << c.name;
    EXPECT_NE(c.reason, static_cast<std::uint32_t>(STRAND_DROP_NONE)) << c.name;
  }
}

}  // namespace
}  // namespace strand::test
