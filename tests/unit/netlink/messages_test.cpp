// Builders and parsers on bytes: golden layouts, round trips, and malformed input.
#include "netlink/messages.h"

#include <gtest/gtest.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <net/if.h>

#include <cstring>
#include <initializer_list>

#include "netlink/attr.h"

namespace strand::netlink {
namespace {

Message bytes(std::initializer_list<int> v) {
  Message m;
  for (int b : v) m.push_back(static_cast<std::byte>(b));
  return m;
}

IpAddr ip(std::string_view s) { return *IpAddr::parse(s); }
IpPrefix prefix(std::string_view s) { return *IpPrefix::parse(s); }

const nlmsghdr& header(const Message& m) { return *reinterpret_cast<const nlmsghdr*>(m.data()); }

template <typename T>
T family_header(const Message& m) {
  T h;
  std::memcpy(&h, m.data() + NLMSG_HDRLEN, sizeof(T));
  return h;
}

// The parse failed, with EBADMSG.
template <typename T>
void expect_bad(const Result<T>& r) {
  ASSERT_FALSE(r) << "parsed a malformed message";
  EXPECT_EQ(r.error().err, EBADMSG) << r.error().message();
}

// ---- Golden bytes ---------------------------------------------------------

TEST(NetlinkBuildVethAdd, GoldenBytes) {
  VethSpec spec{.name = "st1",
                .peer_name = "eth0",
                .peer_netns_fd = 5,
                .mtu = 1450,
                .mac = Mac{0x02, 0, 0, 0, 0, 0x01},
                .peer_mac = Mac{0x02, 0, 0, 0, 0, 0x02}};
  // clang-format off
  Message want = bytes({
      // nlmsghdr: len 140, RTM_NEWLINK, REQUEST|EXCL|CREATE, seq 0, pid 0
      0x8c, 0x00, 0x00, 0x00, 0x10, 0x00, 0x01, 0x06, 0, 0, 0, 0, 0, 0, 0, 0,
      // ifinfomsg: all zero (AF_UNSPEC, index 0)
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      // IFLA_IFNAME "st1\0"
      0x08, 0x00, 0x03, 0x00, 's', 't', '1', 0x00,
      // IFLA_MTU 1450
      0x08, 0x00, 0x04, 0x00, 0xaa, 0x05, 0x00, 0x00,
      // IFLA_ADDRESS 02:00:00:00:00:01 + 2 bytes padding
      0x0a, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
      // IFLA_LINKINFO (nested), len 80
      0x50, 0x00, 0x12, 0x80,
      //   IFLA_INFO_KIND "veth\0" + 3 bytes padding
      0x09, 0x00, 0x01, 0x00, 'v', 'e', 't', 'h', 0x00, 0x00, 0x00, 0x00,
      //   IFLA_INFO_DATA (nested), len 64
      0x40, 0x00, 0x02, 0x80,
      //     VETH_INFO_PEER (nested), len 60
      0x3c, 0x00, 0x01, 0x80,
      //       the peer's own ifinfomsg: all zero
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      //       IFLA_IFNAME "eth0\0" + 3 bytes padding
      0x09, 0x00, 0x03, 0x00, 'e', 't', 'h', '0', 0x00, 0x00, 0x00, 0x00,
      //       IFLA_NET_NS_FD 5
      0x08, 0x00, 0x1c, 0x00, 0x05, 0x00, 0x00, 0x00,
      //       IFLA_MTU 1450
      0x08, 0x00, 0x04, 0x00, 0xaa, 0x05, 0x00, 0x00,
      //       IFLA_ADDRESS 02:00:00:00:00:02 + 2 bytes padding
      0x0a, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
  });
  // clang-format on
  ASSERT_EQ(want.size(), 140u);
  EXPECT_EQ(build_veth_add(spec), want);
}

TEST(NetlinkBuildVethAdd, LeavesOutWhatIsUnset) {
  // clang-format off
  Message want = bytes({
      0x58, 0x00, 0x00, 0x00, 0x10, 0x00, 0x01, 0x06, 0, 0, 0, 0, 0, 0, 0, 0,  // nlmsghdr, len 88
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,                          // ifinfomsg
      0x06, 0x00, 0x03, 0x00, 'a', 0x00, 0x00, 0x00,                           // IFLA_IFNAME "a"
      0x30, 0x00, 0x12, 0x80,                                                  // IFLA_LINKINFO, len 48
      0x09, 0x00, 0x01, 0x00, 'v', 'e', 't', 'h', 0x00, 0x00, 0x00, 0x00,      // IFLA_INFO_KIND
      0x20, 0x00, 0x02, 0x80,                                                  // IFLA_INFO_DATA, len 32
      0x1c, 0x00, 0x01, 0x80,                                                  // VETH_INFO_PEER, len 28
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,                          // peer ifinfomsg
      0x06, 0x00, 0x03, 0x00, 'b', 0x00, 0x00, 0x00,                           // IFLA_IFNAME "b"
  });
  // clang-format on
  EXPECT_EQ(build_veth_add(VethSpec{.name = "a", .peer_name = "b"}), want);
}

TEST(NetlinkBuildVethAdd, QueuesGoToBothEnds) {
  // clang-format off
  Message want = bytes({
      0x78, 0x00, 0x00, 0x00, 0x10, 0x00, 0x01, 0x06, 0, 0, 0, 0, 0, 0, 0, 0,  // nlmsghdr, len 120
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,                          // ifinfomsg
      0x06, 0x00, 0x03, 0x00, 'a', 0x00, 0x00, 0x00,                           // IFLA_IFNAME "a"
      0x08, 0x00, 0x1f, 0x00, 0x01, 0x00, 0x00, 0x00,                          // IFLA_NUM_TX_QUEUES 1
      0x08, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00,                          // IFLA_NUM_RX_QUEUES 1
      0x40, 0x00, 0x12, 0x80,                                                  // IFLA_LINKINFO, len 64
      0x09, 0x00, 0x01, 0x00, 'v', 'e', 't', 'h', 0x00, 0x00, 0x00, 0x00,      // IFLA_INFO_KIND
      0x30, 0x00, 0x02, 0x80,                                                  // IFLA_INFO_DATA, len 48
      0x2c, 0x00, 0x01, 0x80,                                                  // VETH_INFO_PEER, len 44
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,                          // peer ifinfomsg
      0x06, 0x00, 0x03, 0x00, 'b', 0x00, 0x00, 0x00,                           // IFLA_IFNAME "b"
      0x08, 0x00, 0x1f, 0x00, 0x01, 0x00, 0x00, 0x00,                          // IFLA_NUM_TX_QUEUES 1
      0x08, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00,                          // IFLA_NUM_RX_QUEUES 1
  });
  // clang-format on
  EXPECT_EQ(build_veth_add(VethSpec{.name = "a", .peer_name = "b", .queues = 1}), want);
}

TEST(NetlinkBuildLinkChange, CarriesOnlyTheRequestedChanges) {
  Message m = build_link_change(LinkChange{.index = 7, .up = true, .mtu = 9000});
  EXPECT_EQ(header(m).nlmsg_type, RTM_SETLINK);
  EXPECT_EQ(header(m).nlmsg_flags, NLM_F_REQUEST);
  auto ifi = family_header<ifinfomsg>(m);
  EXPECT_EQ(ifi.ifi_index, 7);
  EXPECT_EQ(ifi.ifi_flags, static_cast<unsigned>(IFF_UP));
  EXPECT_EQ(ifi.ifi_change, static_cast<unsigned>(IFF_UP));
  // header + ifinfomsg + one IFLA_MTU
  EXPECT_EQ(m.size(), NLMSG_HDRLEN + sizeof(ifinfomsg) + 8);

  auto down = family_header<ifinfomsg>(build_link_change(LinkChange{.index = 7, .up = false}));
  EXPECT_EQ(down.ifi_flags, 0u);
  EXPECT_EQ(down.ifi_change, static_cast<unsigned>(IFF_UP));
  auto none = family_header<ifinfomsg>(build_link_change(LinkChange{.index = 7, .mtu = 1500}));
  EXPECT_EQ(none.ifi_change, 0u);
}

TEST(NetlinkBuildLinkChange, CarriesTheGroup) {
  Message m = build_link_change(LinkChange{.index = 7, .up = false, .group = 0x53540001});
  auto ifi = family_header<ifinfomsg>(m);
  EXPECT_EQ(ifi.ifi_change, static_cast<unsigned>(IFF_UP));
  ASSERT_EQ(m.size(), NLMSG_HDRLEN + sizeof(ifinfomsg) + 8);
  const auto* rta = reinterpret_cast<const rtattr*>(m.data() + NLMSG_HDRLEN + sizeof(ifinfomsg));
  EXPECT_EQ(rta->rta_type, IFLA_GROUP);
  EXPECT_EQ(rta->rta_len, 8);
  uint32_t group = 0;
  std::memcpy(&group, reinterpret_cast<const std::byte*>(rta) + 4, 4);
  EXPECT_EQ(group, 0x53540001u);
}

TEST(NetlinkBuildLinkDelGroup, HasNoIndexAndOnlyTheGroup) {
  Message m = build_link_del_group(42);
  EXPECT_EQ(header(m).nlmsg_type, RTM_DELLINK);
  EXPECT_EQ(header(m).nlmsg_flags, NLM_F_REQUEST);
  EXPECT_EQ(family_header<ifinfomsg>(m).ifi_index, 0);
  ASSERT_EQ(m.size(), NLMSG_HDRLEN + sizeof(ifinfomsg) + 8);
  const auto* rta = reinterpret_cast<const rtattr*>(m.data() + NLMSG_HDRLEN + sizeof(ifinfomsg));
  EXPECT_EQ(rta->rta_type, IFLA_GROUP);
  uint32_t group = 0;
  std::memcpy(&group, reinterpret_cast<const std::byte*>(rta) + 4, 4);
  EXPECT_EQ(group, 42u);
}

TEST(NetlinkBuildDumps, UseStrictFilterHeaders) {
  Message link = build_link_dump();
  EXPECT_EQ(header(link).nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(family_header<ifinfomsg>(link).ifi_index, 0);

  Message addr = build_addr_dump(AF_INET6, 9);
  auto ifa = family_header<ifaddrmsg>(addr);
  EXPECT_EQ(ifa.ifa_family, AF_INET6);
  EXPECT_EQ(ifa.ifa_index, 9u);
  EXPECT_EQ(ifa.ifa_prefixlen, 0);
  EXPECT_EQ(addr.size(), NLMSG_HDRLEN + sizeof(ifaddrmsg));

  // rtmsg + RTA_TABLE + RTA_OIF
  Message route = build_route_dump(AF_INET, 1000, 4);
  EXPECT_EQ(header(route).nlmsg_type, RTM_GETROUTE);
  auto rtm = family_header<rtmsg>(route);
  EXPECT_EQ(rtm.rtm_family, AF_INET);
  EXPECT_EQ(rtm.rtm_table, RT_TABLE_UNSPEC);
  EXPECT_EQ(rtm.rtm_scope, 0);
  EXPECT_EQ(rtm.rtm_type, 0);
  Message want_attrs = bytes({0x08, 0x00, 0x0f, 0x00, 0xe8, 0x03, 0x00, 0x00,    // RTA_TABLE 1000
                              0x08, 0x00, 0x04, 0x00, 0x04, 0x00, 0x00, 0x00});  // RTA_OIF 4
  ASSERT_EQ(route.size(), NLMSG_HDRLEN + sizeof(rtmsg) + want_attrs.size());
  EXPECT_EQ(Message(route.end() - 16, route.end()), want_attrs);
  EXPECT_EQ(family_header<rtmsg>(build_route_dump(AF_INET6, RT_TABLE_MAIN, 0)).rtm_table, RT_TABLE_MAIN);

  // The neighbour link filter is NDA_IFINDEX; the header's ifindex stays 0.
  Message neigh = build_neigh_dump(AF_INET, 3);
  EXPECT_EQ(family_header<ndmsg>(neigh).ndm_ifindex, 0);
  Message want_neigh = bytes({0x08, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00});  // NDA_IFINDEX 3
  ASSERT_EQ(neigh.size(), NLMSG_HDRLEN + sizeof(ndmsg) + 8);
  EXPECT_EQ(Message(neigh.end() - 8, neigh.end()), want_neigh);
}

TEST(NetlinkBuildRoute, DeleteMatchesAnyScopeAndProtocolAndDropsMetrics) {
  Route r{.dst = prefix("10.0.0.5/32"), .oif = 3, .scope = RT_SCOPE_LINK, .protocol = RTPROT_STATIC, .mtu = 1400};
  Message del = build_route_del(r);
  EXPECT_EQ(header(del).nlmsg_type, RTM_DELROUTE);
  auto rtm = family_header<rtmsg>(del);
  EXPECT_EQ(rtm.rtm_scope, RT_SCOPE_NOWHERE);
  EXPECT_EQ(rtm.rtm_protocol, RTPROT_UNSPEC);
  auto parsed = parse_route(del);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_FALSE(parsed->mtu);
  EXPECT_EQ(parsed->oif, 3);
}

TEST(NetlinkBuildRequests, SemanticFlags) {
  Address a{.ifindex = 2, .prefix = prefix("10.0.0.5/24")};
  EXPECT_EQ(header(build_addr_add(a, false)).nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
  EXPECT_EQ(header(build_addr_add(a, true)).nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE);
  Route r{.dst = prefix("0.0.0.0/0"), .gateway = ip("169.254.1.1")};
  EXPECT_EQ(header(build_route_add(r, true)).nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE);
  Neighbor n{.ifindex = 2, .dst = ip("10.0.0.1"), .lladdr = Mac{2, 0, 0, 0, 0, 1}};
  EXPECT_EQ(header(build_neigh_add(n, false)).nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
  EXPECT_EQ(header(build_link_del(4)).nlmsg_type, RTM_DELLINK);
  EXPECT_EQ(family_header<ifinfomsg>(build_link_del(4)).ifi_index, 4);
  EXPECT_EQ(family_header<ifinfomsg>(build_link_get(9)).ifi_index, 9);
}

// ---- Round trips ----------------------------------------------------------

TEST(NetlinkRoundTrip, VethAddParsesAsALink) {
  auto l = parse_link(
      build_veth_add(VethSpec{.name = "st4a1", .peer_name = "eth0", .mtu = 1400, .mac = Mac{0x0a, 1, 2, 3, 4, 5}}));
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->name, "st4a1");
  EXPECT_EQ(l->kind, "veth");
  EXPECT_EQ(l->mtu, 1400u);
  EXPECT_EQ(mac_str(l->mac), "0a:01:02:03:04:05");
}

TEST(NetlinkRoundTrip, LinkChange) {
  Message m =
      build_link_change(LinkChange{.index = 12, .up = true, .mtu = 1450, .mac = Mac{2, 0, 0, 0, 0, 9}, .name = "eth0"});
  // A change request is an RTM_SETLINK; parse it as the RTM_NEWLINK it mirrors.
  reinterpret_cast<nlmsghdr*>(m.data())->nlmsg_type = RTM_NEWLINK;
  auto l = parse_link(m);
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->index, 12);
  EXPECT_TRUE(l->up());
  EXPECT_EQ(l->mtu, 1450u);
  EXPECT_EQ(l->name, "eth0");
  EXPECT_EQ(l->mac, (Mac{2, 0, 0, 0, 0, 9}));
  EXPECT_EQ(l->kind, "");
}

TEST(NetlinkRoundTrip, KernelStyleLinkReply) {
  detail::Builder b(RTM_NEWLINK, 0);
  auto& ifi = b.append<ifinfomsg>();
  ifi.ifi_index = 3;
  ifi.ifi_flags = IFF_UP | IFF_BROADCAST;
  b.put_str(IFLA_IFNAME, "eth0");
  b.put_u32(IFLA_MTU, 1500);
  b.put_u8(IFLA_OPERSTATE, 6);  // IF_OPER_UP
  b.put_u32(IFLA_LINK, 41);
  b.put_u32(IFLA_LINK_NETNSID, 0);
  b.put_u32(IFLA_MASTER, 8);
  Mac mac{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  b.put(IFLA_ADDRESS, mac.data(), mac.size());
  auto l = parse_link(std::move(b).finish());
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->index, 3);
  EXPECT_EQ(l->peer_index, 41);
  EXPECT_EQ(l->link_netnsid, 0);
  EXPECT_EQ(l->master, 8);
  EXPECT_EQ(l->oper_state, 6);
  EXPECT_EQ(l->mac, mac);
  EXPECT_TRUE(l->up());
}

TEST(NetlinkRoundTrip, Addresses) {
  for (Address a : {Address{.ifindex = 4, .prefix = prefix("10.244.1.5/24"), .flags = IFA_F_PERMANENT},
                    Address{.ifindex = 4, .prefix = prefix("fd00::5/128"), .flags = IFA_F_NODAD | IFA_F_NOPREFIXROUTE},
                    Address{.ifindex = 9, .prefix = prefix("fe80::1/64"), .scope = RT_SCOPE_LINK}}) {
    for (bool replace : {false, true}) {
      auto back = parse_addr(build_addr_add(a, replace));
      ASSERT_TRUE(back) << back.error().message();
      EXPECT_EQ(back->ifindex, a.ifindex);
      EXPECT_EQ(back->prefix, a.prefix);
      EXPECT_EQ(back->scope, a.scope);
      EXPECT_EQ(back->flags, a.flags);  // IFA_F_NOPREFIXROUTE only fits IFA_FLAGS
    }
    auto del = parse_addr(build_addr_del(a));
    ASSERT_TRUE(del);
    EXPECT_EQ(del->prefix, a.prefix);
  }
}

void expect_same_route(const Route& got, const Route& want) {
  EXPECT_EQ(got.dst, want.dst);
  EXPECT_EQ(got.gateway, want.gateway);
  EXPECT_EQ(got.oif, want.oif);
  EXPECT_EQ(got.scope, want.scope);
  EXPECT_EQ(got.table, want.table);
  EXPECT_EQ(got.protocol, want.protocol);
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.flags, want.flags);
  EXPECT_EQ(got.priority, want.priority);
  EXPECT_EQ(got.prefsrc, want.prefsrc);
  EXPECT_EQ(got.mtu, want.mtu);
}

TEST(NetlinkRoundTrip, Routes) {
  const Route routes[] = {
      Route{.dst = prefix("10.244.1.5/32"), .oif = 7, .scope = RT_SCOPE_LINK},
      Route{.dst = prefix("0.0.0.0/0"),
            .gateway = ip("169.254.1.1"),
            .oif = 2,
            .protocol = RTPROT_STATIC,
            .flags = RTNH_F_ONLINK,
            .priority = 100,
            .prefsrc = ip("10.244.1.5"),
            .mtu = 1450},
      Route{.dst = prefix("fd00::5/128"), .oif = 7, .table = 1000},
      Route{.dst = prefix("::/0"), .gateway = ip("fe80::1"), .oif = 2, .table = 200, .priority = 1024},
  };
  for (const Route& r : routes) {
    auto back = parse_route(build_route_add(r, false));
    ASSERT_TRUE(back) << back.error().message();
    expect_same_route(*back, r);
  }
}

TEST(NetlinkRoundTrip, Neighbours) {
  for (Neighbor n :
       {Neighbor{.ifindex = 3, .dst = ip("169.254.1.1"), .lladdr = Mac{0xee, 0xee, 0xee, 0xee, 0xee, 0xee}},
        Neighbor{.ifindex = 3, .dst = ip("fe80::1"), .lladdr = Mac{2, 1, 2, 3, 4, 5}, .flags = NTF_ROUTER},
        Neighbor{.ifindex = 5, .dst = ip("10.0.0.9"), .state = NUD_NOARP}}) {
    auto back = parse_neigh(build_neigh_add(n, true));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back->ifindex, n.ifindex);
    EXPECT_EQ(back->dst, n.dst);
    EXPECT_EQ(back->lladdr, n.lladdr);
    EXPECT_EQ(back->state, n.state);
    EXPECT_EQ(back->flags, n.flags);
  }
}

// ---- Malformed input ------------------------------------------------------

TEST(NetlinkParse, TruncatedMessagesAreEbadmsg) {
  Message m = build_veth_add(VethSpec{.name = "st4a1", .peer_name = "eth0", .mtu = 1400});
  // Cut short without fixing nlmsg_len: the header claims more than there is.
  Message cut(m.begin(), m.end() - 4);
  expect_bad(parse_link(cut));
  // nlmsg_len cut inside the last attribute.
  Message inner = m;
  reinterpret_cast<nlmsghdr*>(inner.data())->nlmsg_len -= 6;
  inner.resize(inner.size() - 6);
  expect_bad(parse_link(inner));
  // Shorter than the family header, and shorter than nlmsghdr.
  Message tiny(m.begin(), m.begin() + NLMSG_HDRLEN + 4);
  reinterpret_cast<nlmsghdr*>(tiny.data())->nlmsg_len = static_cast<uint32_t>(tiny.size());
  expect_bad(parse_link(tiny));
  expect_bad(parse_link(Message(m.begin(), m.begin() + 8)));
  expect_bad(parse_link({}));
  // Every prefix of a route message that is not the whole fails cleanly.
  Message r = build_route_add(Route{.dst = prefix("fd00::5/128"), .gateway = ip("fe80::1"), .oif = 3}, false);
  for (size_t len = 0; len < r.size(); ++len) {
    auto p = parse_route(std::span<const std::byte>(r.data(), len));
    expect_bad(p);
  }
}

TEST(NetlinkParse, AttributeWithAWrongLengthIsEbadmsg) {
  {
    detail::Builder b(RTM_NEWLINK, 0);
    b.append<ifinfomsg>();
    uint16_t two = 1500;
    b.put(IFLA_MTU, &two, sizeof(two));
    expect_bad(parse_link(std::move(b).finish()));
  }
  {
    detail::Builder b(RTM_NEWLINK, 0);
    b.append<ifinfomsg>();
    b.put(IFLA_IFNAME, "eth0", 4);  // no NUL
    expect_bad(parse_link(std::move(b).finish()));
  }
  {
    detail::Builder b(RTM_NEWLINK, 0);
    b.append<ifinfomsg>();
    b.put_u32(IFLA_OPERSTATE, 6);  // a u8 sent as u32
    expect_bad(parse_link(std::move(b).finish()));
  }
  {
    detail::Builder b(RTM_NEWROUTE, 0);
    auto& rtm = b.append<rtmsg>();
    rtm.rtm_family = AF_INET6;
    rtm.rtm_dst_len = 128;
    b.put_ip(RTA_DST, ip("10.0.0.1"));  // 4 bytes in an IPv6 route
    expect_bad(parse_route(std::move(b).finish()));
  }
  {
    detail::Builder b(RTM_NEWADDR, 0);
    auto& ifa = b.append<ifaddrmsg>();
    ifa.ifa_family = AF_INET;
    ifa.ifa_prefixlen = 24;
    b.put_ip(IFA_LOCAL, ip("fd00::1"));  // 16 bytes in an IPv4 address
    expect_bad(parse_addr(std::move(b).finish()));
  }
  {
    detail::Builder b(RTM_NEWNEIGH, 0);
    b.append<ndmsg>().ndm_family = AF_INET;
    uint8_t three[3] = {10, 0, 0};
    b.put(NDA_DST, three, sizeof(three));
    expect_bad(parse_neigh(std::move(b).finish()));
  }
  {
    // An attribute header claiming less than its own size.
    Message m = build_link_get(3);
    reinterpret_cast<nlmsghdr*>(m.data())->nlmsg_type = RTM_NEWLINK;
    auto* a = reinterpret_cast<nlattr*>(m.data() + NLMSG_HDRLEN + sizeof(ifinfomsg));
    a->nla_len = 2;
    expect_bad(parse_link(m));
  }
}

TEST(NetlinkParse, NestedAttributesAreCheckedToo) {
  detail::Builder b(RTM_NEWROUTE, 0);
  auto& rtm = b.append<rtmsg>();
  rtm.rtm_family = AF_INET;
  size_t metrics = b.nest_start(RTA_METRICS);
  uint8_t one = 1;
  b.put(RTAX_MTU, &one, sizeof(one));
  b.nest_end(metrics);
  expect_bad(parse_route(std::move(b).finish()));
}

TEST(NetlinkParse, UnknownAttributesAreSkipped) {
  detail::Builder b(RTM_NEWLINK, 0);
  b.append<ifinfomsg>().ifi_index = 5;
  b.put_u32(999, 1);
  uint8_t blob[13] = {};
  b.put(IFLA_STATS64, blob, sizeof(blob));
  b.put_str(IFLA_IFNAME, "eth0");
  size_t info = b.nest_start(IFLA_LINKINFO);
  b.put_u32(IFLA_INFO_DATA + 40, 7);
  b.put_str(IFLA_INFO_KIND, "bridge");
  b.nest_end(info);
  b.put_u32(IFLA_MTU, 1500);
  auto l = parse_link(std::move(b).finish());
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->name, "eth0");
  EXPECT_EQ(l->kind, "bridge");
  EXPECT_EQ(l->mtu, 1500u);

  detail::Builder r(RTM_NEWROUTE, 0);
  r.append<rtmsg>().rtm_family = AF_INET;
  r.put_u32(RTA_MARK, 1);
  r.put_u8(RTA_PREF, 0);
  auto route = parse_route(std::move(r).finish());
  ASSERT_TRUE(route) << route.error().message();
  EXPECT_EQ(route->dst, prefix("0.0.0.0/0"));
}

TEST(NetlinkParse, NonEthernetHardwareAddressesAreNotMacs) {
  detail::Builder b(RTM_NEWLINK, 0);
  b.append<ifinfomsg>();
  b.put_ip(IFLA_ADDRESS, ip("0.0.0.0"));  // ipip's 4-byte "hardware" address
  auto l = parse_link(std::move(b).finish());
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->mac, Mac{});
}

TEST(NetlinkParse, WrongMessageTypeOrFamily) {
  expect_bad(parse_link(build_addr_add(Address{.ifindex = 1, .prefix = prefix("10.0.0.1/8")}, false)));
  expect_bad(parse_route(build_link_dump()));
  detail::Builder b(RTM_NEWNEIGH, 0);
  b.append<ndmsg>().ndm_family = AF_BRIDGE;
  auto bridge = parse_neigh(std::move(b).finish());
  ASSERT_FALSE(bridge);
  EXPECT_EQ(bridge.error().err, EAFNOSUPPORT);
}

}  // namespace
}  // namespace strand::netlink
