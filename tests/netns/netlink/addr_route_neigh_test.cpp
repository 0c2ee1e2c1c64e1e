// Addresses, routes and neighbours on a veth between two fresh namespaces,
// laid out as a CNI ADD does it: host side st0, pod side eth0.
#include <linux/if_addr.h>

#include <algorithm>

#include "netns_fixture.h"

namespace strand::netlink {
namespace {

using testing::err_of;
using testing::NetnsTest;

IpAddr ip(std::string_view s) { return IpAddr::parse(s).value(); }
IpPrefix prefix(std::string_view s) { return IpPrefix::parse(s).value(); }

const Mac kHostMac{0xee, 0xee, 0xee, 0xee, 0xee, 0xee};

class NetlinkWired : public NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_OK(
        veth_add(hs(), VethSpec{.name = "st0", .peer_name = "eth0", .peer_netns_fd = pod_->fd(), .mac = kHostMac}));
    auto h = link_get(hs(), "st0");
    ASSERT_OK(h);
    auto p = link_get(ps(), "eth0");
    ASSERT_OK(p);
    host_if_ = h->index;
    pod_if_ = p->index;
    ASSERT_OK(link_set_up(hs(), host_if_));
    ASSERT_OK(link_set_up(ps(), pod_if_));
  }

  int host_if_ = 0;
  int pod_if_ = 0;
};

template <typename T, typename Pred>
size_t count(const std::vector<T>& v, Pred p) {
  return static_cast<size_t>(std::count_if(v.begin(), v.end(), p));
}

// ---- Addresses -------------------------------------------------------------

TEST_F(NetlinkWired, AddressesAddListDel) {
  Address v4{.ifindex = pod_if_, .prefix = prefix("10.244.1.5/32")};
  Address v6{.ifindex = pod_if_, .prefix = prefix("fd00::5/128"), .flags = IFA_F_NODAD};
  ASSERT_OK(addr_add(ps(), v4));
  ASSERT_OK(addr_add(ps(), v6));

  ASSERT_VALUE(only_v4, addr_list(ps(), AF_INET, pod_if_));
  ASSERT_EQ(only_v4.size(), 1u);
  EXPECT_EQ(only_v4[0].prefix, v4.prefix);
  EXPECT_EQ(only_v4[0].ifindex, pod_if_);
  EXPECT_EQ(only_v4[0].scope, RT_SCOPE_UNIVERSE);

  ASSERT_VALUE(only_v6, addr_list(ps(), AF_INET6, pod_if_));
  auto is_v6 = [&](const Address& a) { return a.prefix == v6.prefix; };
  ASSERT_EQ(count(only_v6, is_v6), 1u);
  auto got6 = *std::find_if(only_v6.begin(), only_v6.end(), is_v6);
  EXPECT_TRUE(got6.flags & IFA_F_NODAD);
  EXPECT_FALSE(got6.flags & IFA_F_TENTATIVE) << "NODAD addresses are usable at once";
  // eth0 is up, so it also has its fe80:: link-local address.
  EXPECT_TRUE(
      std::all_of(only_v6.begin(), only_v6.end(), [](const Address& a) { return a.prefix.family() == AF_INET6; }));

  ASSERT_VALUE(all, addr_list(ps()));
  EXPECT_EQ(count(all, [&](const Address& a) { return a.prefix == v4.prefix; }), 1u);
  EXPECT_EQ(count(all, is_v6), 1u);
  // The link filter held.
  EXPECT_TRUE(std::all_of(only_v4.begin(), only_v4.end(), [&](const Address& a) { return a.ifindex == pod_if_; }));

  EXPECT_EQ(err_of(addr_add(ps(), v4)), EEXIST);
  EXPECT_OK(addr_add(ps(), v4, /*replace=*/true));

  ASSERT_OK(addr_del(ps(), v4));
  ASSERT_OK(addr_del(ps(), v6));
  ASSERT_VALUE(after, addr_list(ps(), 0, pod_if_));
  EXPECT_EQ(count(after, [&](const Address& a) { return a.prefix == v4.prefix || is_v6(a); }), 0u);
  EXPECT_EQ(err_of(addr_del(ps(), v4)), EADDRNOTAVAIL);
}

// ---- Routes ----------------------------------------------------------------

TEST_F(NetlinkWired, HostRoutesToThePodViaDev) {
  Route r4{.dst = prefix("10.244.1.5/32"), .oif = host_if_, .scope = RT_SCOPE_LINK};
  Route r6{.dst = prefix("fd00::5/128"), .oif = host_if_};
  ASSERT_OK(route_add(hs(), r4));
  ASSERT_OK(route_add(hs(), r6));

  ASSERT_VALUE(v4, route_list(hs(), AF_INET));
  auto is_r4 = [&](const Route& r) { return r.dst == r4.dst; };
  ASSERT_EQ(count(v4, is_r4), 1u);
  auto got = *std::find_if(v4.begin(), v4.end(), is_r4);
  EXPECT_EQ(got.oif, host_if_);
  EXPECT_EQ(got.scope, RT_SCOPE_LINK);
  EXPECT_EQ(got.table, static_cast<uint32_t>(RT_TABLE_MAIN));
  EXPECT_EQ(got.protocol, RTPROT_BOOT);
  EXPECT_FALSE(got.gateway);
  EXPECT_TRUE(std::all_of(v4.begin(), v4.end(), [](const Route& r) { return r.family() == AF_INET; }));

  ASSERT_VALUE(v6, route_list(hs(), AF_INET6, RT_TABLE_MAIN, host_if_));
  EXPECT_EQ(count(v6, [&](const Route& r) { return r.dst == r6.dst; }), 1u);
  EXPECT_TRUE(std::all_of(v6.begin(), v6.end(), [&](const Route& r) { return r.oif == host_if_; }));

  EXPECT_EQ(err_of(route_add(hs(), r4)), EEXIST);
  ASSERT_OK(route_del(hs(), r4));
  ASSERT_OK(route_del(hs(), r6));
  ASSERT_VALUE(gone, route_list(hs(), 0));
  EXPECT_EQ(count(gone, [&](const Route& r) { return r.dst == r4.dst || r.dst == r6.dst; }), 0u);
  EXPECT_EQ(err_of(route_del(hs(), r4)), ESRCH);
}

TEST_F(NetlinkWired, PodDefaultRoutesViaLinkLocalGateways) {
  Route def4{.dst = prefix("0.0.0.0/0"), .gateway = ip("169.254.1.1"), .oif = pod_if_, .flags = RTNH_F_ONLINK};
  Route def6{.dst = prefix("::/0"), .gateway = ip("fe80::1"), .oif = pod_if_};
  // As in an ADD, the address comes first: until a namespace has one, its
  // local table does not exist and the kernel refuses any onlink gateway.
  ASSERT_OK(addr_add(ps(), Address{.ifindex = pod_if_, .prefix = prefix("10.244.1.5/32")}));
  ASSERT_OK(route_add(ps(), def4));
  ASSERT_OK(route_add(ps(), def6));

  ASSERT_VALUE(v4, route_list(ps(), AF_INET, RT_TABLE_MAIN, pod_if_));
  auto is_def4 = [&](const Route& r) { return r.dst == def4.dst; };
  ASSERT_EQ(count(v4, is_def4), 1u);
  auto got4 = *std::find_if(v4.begin(), v4.end(), is_def4);
  EXPECT_EQ(got4.gateway, def4.gateway);
  EXPECT_TRUE(got4.flags & RTNH_F_ONLINK);
  EXPECT_EQ(got4.oif, pod_if_);

  ASSERT_VALUE(v6, route_list(ps(), AF_INET6));
  auto is_def6 = [&](const Route& r) { return r.dst == def6.dst; };
  ASSERT_EQ(count(v6, is_def6), 1u);
  EXPECT_EQ(std::find_if(v6.begin(), v6.end(), is_def6)->gateway, def6.gateway);

  // Replace: same key, new MTU and source; still one route.
  Route def4b = def4;
  def4b.mtu = 1400;
  EXPECT_EQ(err_of(route_add(ps(), def4b)), EEXIST);
  ASSERT_OK(route_add(ps(), def4b, /*replace=*/true));
  ASSERT_VALUE(replaced, route_list(ps(), AF_INET));
  ASSERT_EQ(count(replaced, is_def4), 1u);
  EXPECT_EQ(std::find_if(replaced.begin(), replaced.end(), is_def4)->mtu, 1400u);

  ASSERT_OK(route_del(ps(), def4b));
  ASSERT_OK(route_del(ps(), def6));
  ASSERT_VALUE(after, route_list(ps(), 0));
  EXPECT_EQ(count(after, [&](const Route& r) { return is_def4(r) || is_def6(r); }), 0u);
}

TEST_F(NetlinkWired, RouteTablesFilterTheList) {
  Route in_table{.dst = prefix("10.9.0.0/16"), .oif = host_if_, .scope = RT_SCOPE_LINK, .table = 1000};
  ASSERT_OK(route_add(hs(), in_table));
  ASSERT_VALUE(t1000, route_list(hs(), AF_INET, 1000));
  ASSERT_EQ(t1000.size(), 1u);
  EXPECT_EQ(t1000[0].dst, in_table.dst);
  EXPECT_EQ(t1000[0].table, 1000u);
  ASSERT_VALUE(main_table, route_list(hs(), AF_INET));
  EXPECT_EQ(count(main_table, [&](const Route& r) { return r.dst == in_table.dst; }), 0u);
  ASSERT_VALUE(every_table, route_list(hs(), AF_INET, 0));
  EXPECT_EQ(count(every_table, [&](const Route& r) { return r.dst == in_table.dst; }), 1u);
  ASSERT_OK(route_del(hs(), in_table));
}

// ---- Neighbours ------------------------------------------------------------

TEST_F(NetlinkWired, PermanentNeighboursAddListDel) {
  Neighbor n4{.ifindex = pod_if_, .dst = ip("169.254.1.1"), .lladdr = kHostMac};
  Neighbor n6{.ifindex = pod_if_, .dst = ip("fe80::1"), .lladdr = kHostMac};
  ASSERT_OK(neigh_add(ps(), n4));
  ASSERT_OK(neigh_add(ps(), n6));
  // The default is replace: adding again is fine.
  ASSERT_OK(neigh_add(ps(), n4));
  EXPECT_EQ(err_of(neigh_add(ps(), n4, /*replace=*/false)), EEXIST);

  ASSERT_VALUE(v4, neigh_list(ps(), AF_INET, pod_if_));
  auto is_n4 = [&](const Neighbor& n) { return n.dst == n4.dst; };
  ASSERT_EQ(count(v4, is_n4), 1u);
  auto got = *std::find_if(v4.begin(), v4.end(), is_n4);
  EXPECT_EQ(got.lladdr, kHostMac);
  EXPECT_EQ(got.state, NUD_PERMANENT);
  EXPECT_EQ(got.ifindex, pod_if_);

  ASSERT_VALUE(v6, neigh_list(ps(), AF_INET6, pod_if_));
  auto is_n6 = [&](const Neighbor& n) { return n.dst == n6.dst; };
  ASSERT_EQ(count(v6, is_n6), 1u);
  EXPECT_EQ(std::find_if(v6.begin(), v6.end(), is_n6)->state, NUD_PERMANENT);
  EXPECT_TRUE(std::all_of(v6.begin(), v6.end(), [](const Neighbor& n) { return n.dst.is_v6(); }));

  ASSERT_VALUE(all, neigh_list(ps()));
  EXPECT_EQ(count(all, [&](const Neighbor& n) { return is_n4(n) || is_n6(n); }), 2u);
  // Nothing on the host side's link.
  ASSERT_VALUE(host_side, neigh_list(hs(), 0, host_if_));
  EXPECT_EQ(count(host_side, [](const Neighbor& n) { return n.state == NUD_PERMANENT; }), 0u);

  ASSERT_OK(neigh_del(ps(), n4));
  ASSERT_OK(neigh_del(ps(), n6));
  ASSERT_VALUE(after, neigh_list(ps(), 0, pod_if_));
  EXPECT_EQ(count(after, [&](const Neighbor& n) { return is_n4(n) || is_n6(n); }), 0u);
  EXPECT_EQ(err_of(neigh_del(ps(), n4)), ENOENT);
}

}  // namespace
}  // namespace strand::netlink
