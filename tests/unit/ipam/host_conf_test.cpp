#include "cni/ipam/host_conf.h"

#include <gtest/gtest.h>

#include "cni/ipam/resolv_conf.h"

namespace strand::cni::ipam {
namespace {

using nlohmann::json;

json netconf(json ipam) { return {{"cniVersion", "1.1.0"}, {"name", "k8s"}, {"ipam", std::move(ipam)}}; }

TEST(HostConf, FillsHostLocalDefaults) {
  auto c = parse_host_ipam_conf(netconf({{"ranges", {{{{"subnet", "10.244.1.77/24"}}}, {{{"subnet", "fd00:1::/64"}}}}}}));
  ASSERT_TRUE(c) << c.error().msg;
  EXPECT_EQ(c->network, "k8s");
  EXPECT_EQ(c->data_dir, "/var/lib/cni/networks");
  ASSERT_EQ(c->range_sets.size(), 2u);
  const Range& v4 = c->range_sets[0][0];
  EXPECT_EQ(v4.subnet.str(), "10.244.1.0/24");
  EXPECT_EQ(v4.gateway.str(), "10.244.1.1");
  EXPECT_EQ(v4.start.str(), "10.244.1.1");
  EXPECT_EQ(v4.end.str(), "10.244.1.254");
  const Range& v6 = c->range_sets[1][0];
  EXPECT_EQ(v6.gateway.str(), "fd00:1::1");
  EXPECT_EQ(v6.end.str(), "fd00:1::ffff:ffff:ffff:ffff");
}

TEST(HostConf, ReadsEveryField) {
  auto c = parse_host_ipam_conf(netconf({{"dataDir", "/run/ipam"},
                                         {"resolvConf", "/etc/resolv.conf"},
                                         {"ranges",
                                          {{{{"subnet", "10.0.0.0/24"},
                                             {"rangeStart", "10.0.0.10"},
                                             {"rangeEnd", "10.0.0.20"},
                                             {"gateway", "10.0.0.254"}},
                                            {{"subnet", "10.0.1.0/24"}}}}},
                                         {"routes", {{{"dst", "0.0.0.0/0"}}, {{"dst", "192.168.0.0/16"}, {"gw", "10.0.0.254"}, {"mtu", 1400}}}}}));
  ASSERT_TRUE(c) << c.error().msg;
  EXPECT_EQ(c->data_dir, "/run/ipam");
  EXPECT_EQ(c->resolv_conf, "/etc/resolv.conf");
  ASSERT_EQ(c->range_sets.size(), 1u);
  ASSERT_EQ(c->range_sets[0].size(), 2u);
  EXPECT_EQ(c->range_sets[0][0].str(), "10.0.0.10-10.0.0.20 in 10.0.0.0/24");
  EXPECT_EQ(c->range_sets[0][0].gateway.str(), "10.0.0.254");
  ASSERT_EQ(c->routes.size(), 2u);
  EXPECT_EQ(c->routes[0].dst.str(), "0.0.0.0/0");
  EXPECT_FALSE(c->routes[0].gw);
  EXPECT_EQ(c->routes[1].gw->str(), "10.0.0.254");
  EXPECT_EQ(c->routes[1].mtu, 1400);
}

TEST(HostConf, LegacySingleRangeComesFirst) {
  auto c = parse_host_ipam_conf(netconf({{"subnet", "10.1.0.0/16"},
                                         {"rangeStart", "10.1.2.0"},
                                         {"rangeEnd", "10.1.2.255"},
                                         {"gateway", "10.1.0.1"},
                                         {"ranges", {{{{"subnet", "fd00::/64"}}}}}}));
  ASSERT_TRUE(c) << c.error().msg;
  ASSERT_EQ(c->range_sets.size(), 2u);
  EXPECT_EQ(c->range_sets[0][0].str(), "10.1.2.0-10.1.2.255 in 10.1.0.0/16");
  EXPECT_TRUE(c->range_sets[1][0].start.is_v6());
}

TEST(HostConf, V4Slash30IsTheSmallestSubnet) {
  auto c = parse_host_ipam_conf(netconf({{"subnet", "10.0.0.0/30"}}));
  ASSERT_TRUE(c) << c.error().msg;
  EXPECT_EQ(c->range_sets[0][0].str(), "10.0.0.1-10.0.0.2 in 10.0.0.0/30");
}

struct ConfError {
  const char* name;
  json conf;  // whole netconf
  const char* message;  // substring of the error message
};

TEST(HostConf, EveryErrorIsCode7NamingTheField) {
  auto r = [](json range) { return netconf({{"ranges", {{std::move(range)}}}}); };
  const ConfError cases[] = {
      {"not an object", json::array(), "netconf: must be an object"},
      {"no name", {{"ipam", {{"subnet", "10.0.0.0/24"}}}}, "name: missing"},
      {"name with slash", {{"name", "a/b"}, {"ipam", {{"subnet", "10.0.0.0/24"}}}}, "name: 'a/b' cannot be"},
      {"name not string", {{"name", 3}, {"ipam", {{"subnet", "10.0.0.0/24"}}}}, "name: must be a string"},
      {"no ipam", {{"name", "k8s"}}, "ipam: missing"},
      {"no ranges", netconf(json::object()), "ipam.ranges: no IP ranges given"},
      {"empty ranges", netconf({{"ranges", json::array()}}), "ipam.ranges: no IP ranges given"},
      {"ranges not a list", netconf({{"ranges", "10.0.0.0/24"}}), "ipam.ranges: must be a list"},
      {"empty range set", netconf({{"ranges", {json::array()}}}), "ipam.ranges[0]: empty range set"},
      {"range set not a list", netconf({{"ranges", {{{"subnet", "10.0.0.0/24"}}}}}), "ipam.ranges[0]: must be a list"},
      {"range not an object", netconf({{"ranges", {{"10.0.0.0/24"}}}}), "ipam.ranges[0][0]: must be an object"},
      {"missing subnet", r({{"rangeStart", "10.0.0.2"}}), "ipam.ranges[0][0].subnet: missing"},
      {"bad subnet", r({{"subnet", "10.0.0/24"}}), "ipam.ranges[0][0].subnet: '10.0.0/24' is not a subnet"},
      {"bad prefix length", r({{"subnet", "10.0.0.0/33"}}), "ipam.ranges[0][0].subnet: '10.0.0.0/33'"},
      {"subnet not a string", r({{"subnet", 10}}), "ipam.ranges[0][0].subnet: must be a string"},
      {"v4 /31", r({{"subnet", "10.0.0.0/31"}}), "ipam.ranges[0][0].subnet: 10.0.0.0/31 is too small"},
      {"v4 /32", r({{"subnet", "10.0.0.1/32"}}), "ipam.ranges[0][0].subnet: 10.0.0.1/32 is too small"},
      {"v6 /127", r({{"subnet", "fd00::/127"}}), "ipam.ranges[0][0].subnet: fd00::/127 is too small"},
      {"bad gateway", r({{"subnet", "10.0.0.0/24"}, {"gateway", "x"}}), "ipam.ranges[0][0].gateway: 'x' is not an IP"},
      {"gateway outside", r({{"subnet", "10.0.0.0/24"}, {"gateway", "10.0.1.1"}}),
       "ipam.ranges[0][0].gateway: 10.0.1.1 is outside subnet 10.0.0.0/24"},
      {"gateway other family", r({{"subnet", "10.0.0.0/24"}, {"gateway", "fd00::1"}}), "ipam.ranges[0][0].gateway: fd00::1 is outside"},
      {"rangeStart outside", r({{"subnet", "10.0.0.0/24"}, {"rangeStart", "10.0.1.5"}}),
       "ipam.ranges[0][0].rangeStart: 10.0.1.5 is outside subnet 10.0.0.0/24"},
      {"rangeEnd outside", r({{"subnet", "10.0.0.0/24"}, {"rangeEnd", "10.0.1.5"}}),
       "ipam.ranges[0][0].rangeEnd: 10.0.1.5 is outside subnet 10.0.0.0/24"},
      {"reversed", r({{"subnet", "10.0.0.0/24"}, {"rangeStart", "10.0.0.9"}, {"rangeEnd", "10.0.0.3"}}),
       "ipam.ranges[0][0]: rangeStart 10.0.0.9 is after rangeEnd 10.0.0.3"},
      {"only the gateway", r({{"subnet", "10.0.0.0/30"}, {"rangeStart", "10.0.0.1"}, {"rangeEnd", "10.0.0.1"}}),
       "ipam.ranges[0][0]: no allocatable address"},
      {"mixed families", netconf({{"ranges", {{{{"subnet", "10.0.0.0/24"}}, {{"subnet", "fd00::/64"}}}}}}),
       "ipam.ranges[0][1]: mixes address families"},
      {"overlap in a set",
       netconf({{"ranges", {{{{"subnet", "10.0.0.0/24"}, {"rangeEnd", "10.0.0.100"}}, {{"subnet", "10.0.0.0/24"}, {"rangeStart", "10.0.0.100"}}}}}}),
       "ipam.ranges: range set 0 range 1 (10.0.0.100-10.0.0.254 in 10.0.0.0/24) overlaps range set 0 range 0"},
      {"overlap across sets", netconf({{"ranges", {{{{"subnet", "10.0.0.0/16"}}}, {{{"subnet", "10.0.5.0/24"}}}}}}),
       "ipam.ranges: range set 1 range 0 (10.0.5.1-10.0.5.254 in 10.0.5.0/24) overlaps range set 0 range 0"},
      {"legacy overlaps ranges", netconf({{"subnet", "10.0.0.0/24"}, {"ranges", {{{{"subnet", "10.0.0.0/24"}}}}}}),
       "overlaps range set 0 range 0"},
      {"legacy bad subnet", netconf({{"subnet", "nope"}}), "ipam.subnet: 'nope' is not a subnet"},
      {"routes not a list", netconf({{"subnet", "10.0.0.0/24"}, {"routes", "0.0.0.0/0"}}), "ipam.routes: must be a list"},
      {"route without dst", netconf({{"subnet", "10.0.0.0/24"}, {"routes", {{{"gw", "10.0.0.1"}}}}}), "ipam.routes[0].dst: missing"},
      {"route bad dst", netconf({{"subnet", "10.0.0.0/24"}, {"routes", {{{"dst", "default"}}}}}), "ipam.routes[0].dst: 'default'"},
      {"route bad gw", netconf({{"subnet", "10.0.0.0/24"}, {"routes", {{{"dst", "0.0.0.0/0"}, {"gw", "fd00::1"}}}}}),
       "ipam.routes[0].gw: fd00::1 is not of dst's family"},
      {"route bad mtu", netconf({{"subnet", "10.0.0.0/24"}, {"routes", {{{"dst", "0.0.0.0/0"}, {"mtu", "big"}}}}}),
       "ipam.routes[0].mtu: must be an integer"},
      {"dataDir not a string", netconf({{"subnet", "10.0.0.0/24"}, {"dataDir", 1}}), "ipam.dataDir: must be a string"},
  };
  for (const auto& c : cases) {
    auto got = parse_host_ipam_conf(c.conf);
    ASSERT_FALSE(got) << c.name;
    EXPECT_EQ(got.error().code, static_cast<int>(Code::kInvalidConfig)) << c.name;
    EXPECT_NE(got.error().msg.find(c.message), std::string::npos) << c.name << ": got '" << got.error().msg << "'";
  }
}

TEST(ResolvConf, ParsesKeywordsAndSkipsComments) {
  Dns d = parse_resolv_conf(
      "# generated\n"
      "nameserver 10.96.0.10\n"
      "nameserver\tfd00::a\r\n"
      "; comment\n"
      "domain cluster.local\n"
      "search a.svc.cluster.local svc.cluster.local\n"
      "options ndots:5\n"
      "options timeout:1 attempts:2\n"
      "sortlist 10.0.0.0\n");
  EXPECT_EQ(d.nameservers, (std::vector<std::string>{"10.96.0.10", "fd00::a"}));
  EXPECT_EQ(d.domain, "cluster.local");
  EXPECT_EQ(d.search, (std::vector<std::string>{"a.svc.cluster.local", "svc.cluster.local"}));
  EXPECT_EQ(d.options, (std::vector<std::string>{"ndots:5", "timeout:1", "attempts:2"}));
  EXPECT_TRUE(parse_resolv_conf("").empty());
}

TEST(ResolvConf, MissingFileIsAnError) {
  auto d = read_resolv_conf("/nonexistent/strand/resolv.conf");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().err, ENOENT);
}

}  // namespace
}  // namespace strand::cni::ipam
