// The watcher's decisions without root: a record, what the kernel has, and
// exactly the repairs expected.
#include "agent/repair/plan.h"

#include <gtest/gtest.h>


namespace strand::agent::repair {
namespace {

IpAddr ip(std::string_view s) { return *IpAddr::parse(s); }
IpPrefix pfx(std::string_view s) { return *IpPrefix::parse(s); }
netlink::Mac mac(std::string_view s) { return *netlink::parse_mac(s); }

constexpr int kHost = 17, kPod = 2;
const char* kHostMac = "02:00:00:00:00:11";
const char* kPodMac = "02:00:00:00:00:22";

EndpointRecord dual_stack() {
  EndpointRecord r;
  r.container_id = "c1";
  r.ifname = "eth0";
  r.netns = "/run/netns/p1";
  r.host_ifname = "st1";
  r.host_ifindex = kHost;
  r.pod_ifindex = kPod;
  r.host_mac = kHostMac;
  r.pod_mac = kPodMac;
  r.ips = {pfx("10.1.0.5/32"), pfx("fd00::5/128")};
  r.state = "ready";
  return r;
}

netlink::Neighbor perm(int ifindex, std::string_view dst, std::string_view m) {
  netlink::Neighbor n;
  n.ifindex = ifindex;
  n.dst = ip(dst);
  n.lladdr = mac(m);
  n.state = NUD_PERMANENT;
  return n;
}

// Everything the CNI and the agent put in place.
Observed intact() {
  Observed o;
  o.host_routes = {host_route(ip("10.1.0.5"), kHost), host_route(ip("fd00::5"), kHost)};
  o.host_neighs = {perm(kHost, "10.1.0.5", kPodMac), perm(kHost, "fd00::5", kPodMac)};
  o.pod_neighs = std::vector{perm(kPod, "169.254.1.1", kHostMac), perm(kPod, "fe80::1", kHostMac)};
  o.attached = true;
  return o;
}

TEST(RepairPlan, GatewaysAreTheLinkLocalOnes) {
  EXPECT_EQ(gateway_for(AF_INET).str(), "169.254.1.1");
  EXPECT_EQ(gateway_for(AF_INET6).str(), "fe80::1");
}

TEST(RepairPlan, KindNames) {
  EXPECT_STREQ(kind_name(Kind::kHostRoute), "host-route");
  EXPECT_STREQ(kind_name(Kind::kHostNeighbour), "host-neighbour");
  EXPECT_STREQ(kind_name(Kind::kPodNeighbour), "pod-neighbour");
  EXPECT_STREQ(kind_name(Kind::kEndpointGone), "endpoint-gone");
  EXPECT_STREQ(kind_name(Kind::kReattach), "reattach");
}

TEST(RepairPlan, NothingWhenIntact) { EXPECT_TRUE(plan(dual_stack(), intact()).empty()); }

TEST(RepairPlan, NothingForARecordWithoutHostIfindex) {
  auto r = dual_stack();
  r.host_ifindex = 0;
  EXPECT_TRUE(plan(r, Observed{.host_link = false}).empty());
}

TEST(RepairPlan, VanishedVethEndsTheEndpointAndNothingElse) {
  Observed o;  // no routes, no neighbours, nothing attached: all went with the device
  o.host_link = false;
  o.attached = false;
  auto p = plan(dual_stack(), o);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].kind, Kind::kEndpointGone);
  EXPECT_EQ(p[0].what, "host veth st1 ifindex 17");
}

TEST(RepairPlan, RetiredVethIsLeftAlone) {
  Observed o;  // what a DEL's retire leaves: no routes, no host neighbours
  o.host_retired = true;
  o.pod_neighs = std::vector<netlink::Neighbor>{};
  o.attached = false;
  EXPECT_TRUE(plan(dual_stack(), o).empty());
}

TEST(RepairPlan, MissingHostRoutePutBackScopeLinkViaTheVeth) {
  auto o = intact();
  o.host_routes.erase(o.host_routes.begin());  // the /32
  auto p = plan(dual_stack(), o);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].kind, Kind::kHostRoute);
  EXPECT_EQ(p[0].why, "missing");
  EXPECT_EQ(p[0].what, "route 10.1.0.5/32 dev st1");
  ASSERT_TRUE(p[0].route);
  EXPECT_EQ(p[0].route->dst, pfx("10.1.0.5/32"));
  EXPECT_EQ(p[0].route->oif, kHost);
  EXPECT_EQ(p[0].route->scope, RT_SCOPE_LINK);
  EXPECT_EQ(p[0].route->table, static_cast<uint32_t>(RT_TABLE_MAIN));
  EXPECT_FALSE(p[0].route->gateway);
}

TEST(RepairPlan, HostRouteThroughAnotherDeviceDoesNotCount) {
  auto o = intact();
  o.host_routes[1].oif = 99;
  auto p = plan(dual_stack(), o);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].kind, Kind::kHostRoute);
  EXPECT_EQ(p[0].route->dst, pfx("fd00::5/128"));
}

TEST(RepairPlan, HostRouteWithOtherScopeOrMetricIsKept) {
  auto o = intact();
  o.host_routes[0].scope = RT_SCOPE_UNIVERSE;
  o.host_routes[0].priority = 100;
  o.host_routes[0].protocol = RTPROT_STATIC;
  EXPECT_TRUE(plan(dual_stack(), o).empty());
}

TEST(RepairPlan, HostNeighbourMissingStaleOrWrongMac) {
  struct Case {
    const char* name;
    std::optional<netlink::Neighbor> have;  // the entry for 10.1.0.5, if any
    std::string why;
  };
  netlink::Neighbor stale = perm(kHost, "10.1.0.5", kPodMac);
  stale.state = NUD_STALE;
  netlink::Neighbor other = perm(kHost, "10.1.0.5", "02:00:00:00:00:99");
  netlink::Neighbor nomac = perm(kHost, "10.1.0.5", kPodMac);
  nomac.lladdr.reset();
  const Case cases[] = {
      {"missing", std::nullopt, "missing"},
      {"stale", stale, "not permanent (state 0x4)"},
      {"other mac", other, "lladdr 02:00:00:00:00:99 instead of 02:00:00:00:00:22"},
      {"no mac", nomac, "no lladdr"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto o = intact();
    o.host_neighs.erase(o.host_neighs.begin());
    if (c.have) o.host_neighs.push_back(*c.have);
    auto p = plan(dual_stack(), o);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].kind, Kind::kHostNeighbour);
    EXPECT_EQ(p[0].why, c.why);
    EXPECT_EQ(p[0].what, "neighbour 10.1.0.5 dev st1");
    ASSERT_TRUE(p[0].neigh);
    EXPECT_EQ(p[0].neigh->ifindex, kHost);
    EXPECT_EQ(p[0].neigh->dst, ip("10.1.0.5"));
    EXPECT_EQ(p[0].neigh->state, NUD_PERMANENT);
    EXPECT_EQ(p[0].neigh->lladdr, mac(kPodMac));
  }
}

TEST(RepairPlan, GatewayNeighboursInThePod) {
  auto o = intact();
  o.pod_neighs->clear();
  netlink::Neighbor reach = perm(kPod, "fe80::1", kHostMac);
  reach.state = NUD_REACHABLE;
  o.pod_neighs->push_back(reach);
  auto p = plan(dual_stack(), o);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].kind, Kind::kPodNeighbour);
  EXPECT_EQ(p[0].why, "missing");
  EXPECT_EQ(p[0].what, "gateway neighbour 169.254.1.1 dev eth0 in /run/netns/p1");
  EXPECT_EQ(p[0].neigh->ifindex, kPod);
  EXPECT_EQ(p[0].neigh->dst, ip("169.254.1.1"));
  EXPECT_EQ(p[0].neigh->lladdr, mac(kHostMac));
  EXPECT_EQ(p[0].neigh->state, NUD_PERMANENT);
  EXPECT_EQ(p[1].kind, Kind::kPodNeighbour);
  EXPECT_EQ(p[1].why, "not permanent (state 0x2)");
  EXPECT_EQ(p[1].neigh->dst, ip("fe80::1"));
}

TEST(RepairPlan, OneGatewayPerFamilyEvenWithTwoAddresses) {
  auto r = dual_stack();
  r.ips.push_back(pfx("10.1.0.6/32"));
  auto o = intact();
  o.host_routes.push_back(host_route(ip("10.1.0.6"), kHost));
  o.host_neighs.push_back(perm(kHost, "10.1.0.6", kPodMac));
  o.pod_neighs->erase(o.pod_neighs->begin());
  auto p = plan(r, o);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].neigh->dst, ip("169.254.1.1"));
}

TEST(RepairPlan, PodNotLookedAtPlansNothingThere) {
  auto o = intact();
  o.pod_neighs.reset();
  EXPECT_TRUE(plan(dual_stack(), o).empty());
}

TEST(RepairPlan, OnlyTheFamiliesOfThePodsAddresses) {
  auto r = dual_stack();
  r.ips = {pfx("10.1.0.5/32")};
  Observed o;
  o.host_routes = {host_route(ip("10.1.0.5"), kHost)};
  o.host_neighs = {perm(kHost, "10.1.0.5", kPodMac)};
  o.pod_neighs = std::vector{perm(kPod, "169.254.1.1", kHostMac)};  // no fe80::1: not needed
  EXPECT_TRUE(plan(r, o).empty());
}

TEST(RepairPlan, Reattach) {
  auto o = intact();
  o.attached = false;
  auto p = plan(dual_stack(), o);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].kind, Kind::kReattach);
  o.attached.reset();  // not checked
  EXPECT_TRUE(plan(dual_stack(), o).empty());
}

TEST(RepairPlan, EverythingMissingInOrder) {
  Observed o;
  o.pod_neighs = std::vector<netlink::Neighbor>{};
  o.attached = false;
  auto p = plan(dual_stack(), o);
  std::vector<Kind> kinds;
  for (const auto& r : p) kinds.push_back(r.kind);
  EXPECT_EQ(kinds, (std::vector<Kind>{Kind::kHostRoute, Kind::kHostRoute, Kind::kHostNeighbour, Kind::kHostNeighbour,
                                      Kind::kPodNeighbour, Kind::kPodNeighbour, Kind::kReattach}));
}

TEST(RepairPlan, UnparsableMacsPlanNoNeighbours) {
  auto r = dual_stack();
  r.host_mac = "";
  r.pod_mac = "zz";
  Observed o;
  o.pod_neighs = std::vector<netlink::Neighbor>{};
  o.host_routes = intact().host_routes;
  EXPECT_TRUE(plan(r, o).empty());
}

}  // namespace
}  // namespace strand::agent::repair
