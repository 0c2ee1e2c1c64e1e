// Which notifications send the watcher to an endpoint, on messages built as
// the kernel sends them (same layout as the requests our builders make).
#include "agent/repair/events.h"

#include <gtest/gtest.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <cstring>

#include "netlink/messages.h"

namespace strand::agent::repair {
namespace {

IpAddr ip(std::string_view s) { return *IpAddr::parse(s); }

netlink::Neighbor neigh(int ifindex, std::string_view dst, uint16_t state) {
  netlink::Neighbor n;
  n.ifindex = ifindex;
  n.dst = ip(dst);
  n.lladdr = netlink::Mac{2, 0, 0, 0, 0, 1};
  n.state = state;
  return n;
}

// A tcmsg notification: header, tcmsg, TCA_KIND.
netlink::Message tc_msg(uint16_t type, int ifindex, std::string_view kind) {
  const size_t kind_len = kind.size() + 1;
  const size_t attr_len = NLA_HDRLEN + kind_len;
  const size_t len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(tcmsg)) + NLA_ALIGN(attr_len);
  netlink::Message m(len);
  auto* nlh = reinterpret_cast<nlmsghdr*>(m.data());
  nlh->nlmsg_len = static_cast<uint32_t>(len);
  nlh->nlmsg_type = type;
  auto* t = reinterpret_cast<tcmsg*>(m.data() + NLMSG_HDRLEN);
  t->tcm_family = AF_UNSPEC;
  t->tcm_ifindex = ifindex;
  t->tcm_handle = 1;
  t->tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
  t->tcm_info = (1u << 16) | 0x0300;  // prio 1, ETH_P_ALL in network order
  auto* a = reinterpret_cast<nlattr*>(m.data() + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(tcmsg)));
  a->nla_len = static_cast<uint16_t>(attr_len);
  a->nla_type = TCA_KIND;
  std::memcpy(reinterpret_cast<char*>(a) + NLA_HDRLEN, kind.data(), kind.size());
  return m;
}

template <typename M>
netlink::Message with_type(M m, uint16_t type) {
  reinterpret_cast<nlmsghdr*>(m.data())->nlmsg_type = type;
  return m;
}

TEST(RepairEvents, RouteDeletedPointsAtItsDevice) {
  netlink::Route r;
  r.dst = *IpPrefix::parse("10.1.0.5/32");
  r.oif = 17;
  r.scope = RT_SCOPE_LINK;
  auto t = node_event(netlink::build_route_del(r));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ifindex, 17);
  EXPECT_EQ(t->what, "RTM_DELROUTE 10.1.0.5/32");
  // A new route (our own repair announcing itself) is no trigger.
  EXPECT_FALSE(node_event(netlink::build_route_add(r, true)));
}

TEST(RepairEvents, LinkDeleted) {
  auto t = node_event(netlink::build_link_del(23));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ifindex, 23);
  EXPECT_FALSE(node_event(with_type(netlink::build_link_del(23), RTM_NEWLINK)));
}

TEST(RepairEvents, NeighbourDeletedOrMadeDynamic) {
  auto del = node_event(netlink::build_neigh_del(neigh(17, "10.1.0.5", NUD_PERMANENT)));
  ASSERT_TRUE(del);
  EXPECT_EQ(del->ifindex, 17);
  EXPECT_EQ(del->what, "RTM_DELNEIGH 10.1.0.5");
  auto dyn = pod_event(netlink::build_neigh_add(neigh(2, "169.254.1.1", NUD_REACHABLE), true));
  ASSERT_TRUE(dyn);
  EXPECT_EQ(dyn->ifindex, 2);
  EXPECT_EQ(dyn->what, "RTM_NEWNEIGH 169.254.1.1");
  // Permanent entries appearing (the CNI's, or our repairs) are no trigger.
  EXPECT_FALSE(pod_event(netlink::build_neigh_add(neigh(2, "169.254.1.1", NUD_PERMANENT), true)));
  EXPECT_FALSE(node_event(netlink::build_neigh_add(neigh(17, "fd00::5", NUD_PERMANENT), true)));
}

TEST(RepairEvents, FilterOrQdiscDeleted) {
  auto f = node_event(tc_msg(RTM_DELTFILTER, 17, "bpf"));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->ifindex, 17);
  EXPECT_EQ(f->what, "RTM_DELTFILTER bpf");
  auto q = node_event(tc_msg(RTM_DELQDISC, 18, "clsact"));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->ifindex, 18);
  EXPECT_FALSE(node_event(tc_msg(RTM_NEWTFILTER, 17, "bpf")));
}

TEST(RepairEvents, PodSocketsOnlyCareAboutNeighbours) {
  EXPECT_FALSE(pod_event(netlink::build_link_del(2)));
  EXPECT_FALSE(pod_event(tc_msg(RTM_DELTFILTER, 2, "bpf")));
}

TEST(RepairEvents, GarbageIsIgnored) {
  netlink::Message tiny(8);
  EXPECT_FALSE(node_event(tiny));
  auto cut = tc_msg(RTM_DELTFILTER, 17, "bpf");
  reinterpret_cast<nlmsghdr*>(cut.data())->nlmsg_len = NLMSG_HDRLEN + 4;  // shorter than tcmsg
  EXPECT_FALSE(node_event(cut));
}

}  // namespace
}  // namespace strand::agent::repair
