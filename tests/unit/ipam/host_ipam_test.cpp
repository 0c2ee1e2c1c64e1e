#include "cni/ipam/host_ipam.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "ipam_test_util.h"

namespace strand::cni::ipam {
namespace {

using nlohmann::json;
using testing::net_dir;
using testing::one_range;
using testing::TempDir;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class HostIpamTest : public ::testing::Test {
 protected:
  Request req(const json& ipam, const std::string& id, const std::string& ifname = "eth0") const {
    return testing::request(tmp_.path(), ipam, id, ifname);
  }
  // The first address ADD gives `id`, "" (and a test failure) on error.
  std::string add(const json& ipam, const std::string& id, const std::string& ifname = "eth0") {
    auto r = ipam_.add(req(ipam, id, ifname));
    EXPECT_TRUE(r) << id << ": " << (r ? "" : r.error().msg);
    if (!r || r->ips.empty()) return "";
    return r->ips[0].address.addr.str();
  }
  // Address files in the network directory.
  std::set<std::string> files() const {
    std::set<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(net_dir(tmp_.path()), ec)) {
      std::string n = e.path().filename();
      if (e.is_regular_file() && IpAddr::parse(n)) out.insert(n);
    }
    return out;
  }
  std::string file(const std::string& name) const { return net_dir(tmp_.path()) + "/" + name; }

  TempDir tmp_;
  HostIpam ipam_;
};

TEST_F(HostIpamTest, ExhaustedRangeFailsAddAndStatus) {
  const json ipam = one_range("10.0.0.0/29", "10.0.0.2", "10.0.0.5");
  EXPECT_TRUE(ipam_.status(req(ipam, "")));  // nothing allocated, no directory yet
  std::set<std::string> got;
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(ipam_.status(req(ipam, "")));
    got.insert(add(ipam, "c" + std::to_string(i)));
  }
  EXPECT_EQ(got, (std::set<std::string>{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"}));

  auto full = ipam_.add(req(ipam, "c4"));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, static_cast<int>(Code::kTryAgainLater));
  EXPECT_EQ(full.error().msg,
            "strand-ipam: no free address in range set 0 (10.0.0.2-10.0.0.5 in 10.0.0.0/29) of network testnet");
  // The failed ADD left nothing behind.
  EXPECT_FALSE(std::filesystem::exists(file("by-attachment/c4:eth0")));
  EXPECT_EQ(files().size(), 4u);

  auto st = ipam_.status(req(ipam, ""));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, static_cast<int>(Code::kPluginNotAvailable));
  EXPECT_NE(st.error().msg.find("range set 0 (10.0.0.2-10.0.0.5 in 10.0.0.0/29)"), std::string::npos) << st.error().msg;

  ASSERT_TRUE(ipam_.del(req(ipam, "c1")));
  EXPECT_TRUE(ipam_.status(req(ipam, "")));
}

TEST_F(HostIpamTest, RangeStartAndEndAreHonoured) {
  const json ipam = one_range("10.0.0.0/24", "10.0.0.10", "10.0.0.12");
  std::set<std::string> got;
  for (int i = 0; i < 3; ++i) got.insert(add(ipam, "c" + std::to_string(i)));
  EXPECT_EQ(got, (std::set<std::string>{"10.0.0.10", "10.0.0.11", "10.0.0.12"}));
  EXPECT_FALSE(ipam_.add(req(ipam, "c3")));
}

TEST_F(HostIpamTest, GatewayNetworkAndBroadcastAreNeverHandedOut) {
  json ipam = one_range("10.0.0.0/29", "10.0.0.0", "10.0.0.7");
  ipam["ranges"][0][0]["gateway"] = "10.0.0.3";
  std::set<std::string> got;
  for (int i = 0; i < 5; ++i) got.insert(add(ipam, "c" + std::to_string(i)));
  EXPECT_EQ(got, (std::set<std::string>{"10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"}));
  EXPECT_FALSE(ipam_.add(req(ipam, "c5")));
  EXPECT_EQ(ipam_.status(req(ipam, "")).error().code, 50);
}

TEST_F(HostIpamTest, DualStackGivesOneAddressPerRangeSet) {
  const json ipam = {{"ranges", {{{{"subnet", "10.244.1.0/24"}}}, {{{"subnet", "fd00:1::/64"}}}}},
                     {"routes", {{{"dst", "0.0.0.0/0"}}, {{"dst", "::/0"}, {"gw", "fd00:1::1"}}}}};
  auto r = ipam_.add(req(ipam, "pod1"));
  ASSERT_TRUE(r) << r.error().msg;
  EXPECT_EQ(r->cni_version, "1.1.0");
  ASSERT_EQ(r->ips.size(), 2u);
  EXPECT_EQ(r->ips[0].address.str(), "10.244.1.2/24");
  EXPECT_EQ(r->ips[0].gateway->str(), "10.244.1.1");
  EXPECT_FALSE(r->ips[0].interface);
  EXPECT_EQ(r->ips[1].address.str(), "fd00:1::2/64");
  EXPECT_EQ(r->ips[1].gateway->str(), "fd00:1::1");
  ASSERT_EQ(r->routes.size(), 2u);
  EXPECT_EQ(r->routes[1].dst.str(), "::/0");
  EXPECT_EQ(r->routes[1].gw->str(), "fd00:1::1");
  EXPECT_TRUE(r->dns.empty());
  EXPECT_EQ(files(), (std::set<std::string>{"10.244.1.2", "fd00:1::2"}));
  EXPECT_EQ(slurp(file("fd00:1::2")), "pod1\r\neth0");
  EXPECT_EQ(slurp(file("last_reserved_ip.0")), "10.244.1.2");
  EXPECT_EQ(slurp(file("last_reserved_ip.1")), "fd00:1::2");
}

TEST_F(HostIpamTest, AddIsIdempotentPerAttachment) {
  const json ipam = {{"ranges", {{{{"subnet", "10.0.0.0/24"}}}, {{{"subnet", "fd00::/64"}}}}}};
  auto first = ipam_.add(req(ipam, "pod1"));
  ASSERT_TRUE(first);
  auto again = ipam_.add(req(ipam, "pod1"));
  ASSERT_TRUE(again);
  EXPECT_EQ(first->ips, again->ips);
  EXPECT_EQ(files().size(), 2u);
  EXPECT_EQ(slurp(file("last_reserved_ip.0")), "10.0.0.2");
  // Another interface of the same container is another attachment.
  auto net1 = ipam_.add(req(ipam, "pod1", "net1"));
  ASSERT_TRUE(net1);
  EXPECT_EQ(net1->ips[0].address.str(), "10.0.0.3/24");
  EXPECT_EQ(files().size(), 4u);
}

TEST_F(HostIpamTest, DelReleasesAndAddReusesTheAddress) {
  const json ipam = one_range("10.0.0.0/29", "10.0.0.2", "10.0.0.5");
  for (int i = 0; i < 4; ++i) add(ipam, "c" + std::to_string(i));
  const std::string freed = slurp(file("by-attachment/c2:eth0"));
  ASSERT_TRUE(ipam_.del(req(ipam, "c2")));
  EXPECT_EQ(files().size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(file("by-attachment/c2:eth0")));
  EXPECT_EQ(add(ipam, "c9") + "\n", freed);
  // DEL is idempotent, and of an unknown attachment a success.
  EXPECT_TRUE(ipam_.del(req(ipam, "c2")));
  EXPECT_TRUE(ipam_.del(req(ipam, "never")));
  EXPECT_EQ(files().size(), 4u);
}

TEST_F(HostIpamTest, DelWithoutDataDirSucceedsAndCreatesNothing) {
  const json ipam = one_range("10.0.0.0/24");
  EXPECT_TRUE(ipam_.del(req(ipam, "c1")));
  EXPECT_TRUE(ipam_.gc(req(ipam, ""), {}));
  EXPECT_FALSE(std::filesystem::exists(net_dir(tmp_.path())));
}

TEST_F(HostIpamTest, RoundRobinContinuesAfterLastReserved) {
  const json ipam = one_range("10.0.0.0/24");
  EXPECT_EQ(add(ipam, "a"), "10.0.0.2");
  EXPECT_EQ(add(ipam, "b"), "10.0.0.3");
  ASSERT_TRUE(ipam_.del(req(ipam, "a")));
  EXPECT_EQ(add(ipam, "c"), "10.0.0.4");  // not .2: round robin
  EXPECT_EQ(slurp(file("last_reserved_ip.0")), "10.0.0.4");
  // host-local's hint is honoured as it wrote it.
  std::ofstream(file("last_reserved_ip.0"), std::ios::trunc) << "10.0.0.250";
  EXPECT_EQ(add(ipam, "d"), "10.0.0.251");
  EXPECT_EQ(add(ipam, "e"), "10.0.0.252");
  EXPECT_EQ(add(ipam, "f"), "10.0.0.253");
  EXPECT_EQ(add(ipam, "g"), "10.0.0.254");
  EXPECT_EQ(add(ipam, "h"), "10.0.0.2");  // wrapped; .255 is the broadcast, .1 the gateway
  EXPECT_EQ(add(ipam, "i"), "10.0.0.5");  // .3 and .4 are taken
}

TEST_F(HostIpamTest, DenseRangeAfterWrapStillFindsTheLastFreeAddress) {
  // More taken addresses than probes before listing the directory.
  const json ipam = one_range("10.0.0.0/24", "10.0.0.10", "10.0.0.60");
  for (int i = 0; i <= 50; ++i) add(ipam, "c" + std::to_string(i));
  EXPECT_FALSE(ipam_.add(req(ipam, "x")));
  ASSERT_TRUE(ipam_.del(req(ipam, "c20")));  // held 10.0.0.30
  EXPECT_EQ(add(ipam, "x"), "10.0.0.30");
}

TEST_F(HostIpamTest, LegacySingleSubnetForm) {
  const json ipam = {{"subnet", "10.5.0.0/24"}, {"gateway", "10.5.0.254"}, {"routes", {{{"dst", "0.0.0.0/0"}}}}};
  auto r = ipam_.add(req(ipam, "pod1"));
  ASSERT_TRUE(r) << r.error().msg;
  ASSERT_EQ(r->ips.size(), 1u);
  EXPECT_EQ(r->ips[0].address.str(), "10.5.0.1/24");
  EXPECT_EQ(r->ips[0].gateway->str(), "10.5.0.254");
  ASSERT_EQ(r->routes.size(), 1u);
}

TEST_F(HostIpamTest, ResolvConfFillsDns) {
  const std::string path = tmp_.path() + "/resolv.conf";
  std::ofstream(path) << "nameserver 10.96.0.10\nsearch svc.cluster.local\noptions ndots:5\n";
  json ipam = one_range("10.0.0.0/24");
  ipam["resolvConf"] = path;
  auto r = ipam_.add(req(ipam, "pod1"));
  ASSERT_TRUE(r) << r.error().msg;
  EXPECT_EQ(r->dns.nameservers, std::vector<std::string>{"10.96.0.10"});
  EXPECT_EQ(r->dns.search, std::vector<std::string>{"svc.cluster.local"});

  ipam["resolvConf"] = tmp_.path() + "/missing";
  auto bad = ipam_.add(req(ipam, "pod2"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, static_cast<int>(Code::kInvalidConfig));
  EXPECT_NE(bad.error().msg.find("ipam.resolvConf"), std::string::npos);
  EXPECT_EQ(files().size(), 1u);
}

TEST_F(HostIpamTest, ConfErrorsAreCode7OnEveryVerb) {
  const json bad = one_range("10.0.0.0/31");
  const int code = static_cast<int>(Code::kInvalidConfig);
  EXPECT_EQ(ipam_.add(req(bad, "c1")).error().code, code);
  EXPECT_EQ(ipam_.del(req(bad, "c1")).error().code, code);
  EXPECT_EQ(ipam_.check(req(bad, "c1")).error().code, code);
  EXPECT_EQ(ipam_.gc(req(bad, ""), {}).error().code, code);
  EXPECT_EQ(ipam_.status(req(bad, "")).error().code, code);
  auto no_name = req(one_range("10.0.0.0/24"), "c1");
  no_name.netconf.erase("name");
  auto e = ipam_.add(no_name);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, code);
  EXPECT_EQ(e.error().msg.rfind("name: missing", 0), 0u) << e.error().msg;
}

TEST_F(HostIpamTest, UnusableContainerIdOrIfnameIsCode4) {
  const json ipam = one_range("10.0.0.0/24");
  const int code = static_cast<int>(Code::kInvalidEnv);
  for (auto [id, ifname] : std::vector<std::pair<std::string, std::string>>{
           {"", "eth0"}, {"a/b", "eth0"}, {"..", "eth0"}, {"a\nb", "eth0"}, {"c1", ""}, {"c1", "et:h0"},
           {"c1", "eth/0"}, {"c1", "eth 0"}, {"c1", "sixteen-chars-xx"}}) {
    auto r = ipam_.add(req(ipam, id, ifname));
    ASSERT_FALSE(r) << id << "/" << ifname;
    EXPECT_EQ(r.error().code, code) << id << "/" << ifname;
    EXPECT_EQ(ipam_.del(req(ipam, id, ifname)).error().code, code);
  }
  EXPECT_TRUE(files().empty());
}

TEST_F(HostIpamTest, CheckFindsTheAllocation) {
  const json ipam = {{"ranges", {{{{"subnet", "10.0.0.0/24"}}}, {{{"subnet", "fd00::/64"}}}}}};
  auto unknown = ipam_.check(req(ipam, "pod1"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, static_cast<int>(Code::kUnknownContainer));
  ASSERT_TRUE(ipam_.add(req(ipam, "pod1")));
  EXPECT_TRUE(ipam_.check(req(ipam, "pod1")));
  EXPECT_EQ(ipam_.check(req(ipam, "pod2")).error().code, static_cast<int>(Code::kUnknownContainer));
  EXPECT_EQ(ipam_.check(req(ipam, "pod1", "net1")).error().code, static_cast<int>(Code::kUnknownContainer));

  std::filesystem::remove(file("fd00::2"));
  auto partial = ipam_.check(req(ipam, "pod1"));
  ASSERT_FALSE(partial);
  EXPECT_EQ(partial.error().code, static_cast<int>(Code::kInternal));
  EXPECT_NE(partial.error().msg.find("range set 1"), std::string::npos) << partial.error().msg;
  // ADD repairs it, keeping the IPv4 address.
  auto r = ipam_.add(req(ipam, "pod1"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ips[0].address.str(), "10.0.0.2/24");
  EXPECT_EQ(r->ips[1].address.str(), "fd00::3/64");
  EXPECT_TRUE(ipam_.check(req(ipam, "pod1")));

  ASSERT_TRUE(ipam_.del(req(ipam, "pod1")));
  EXPECT_EQ(ipam_.check(req(ipam, "pod1")).error().code, static_cast<int>(Code::kUnknownContainer));
}

TEST_F(HostIpamTest, GcReleasesExactlyTheInvalidAttachments) {
  const json ipam = one_range("10.0.0.0/24");
  const std::string a = add(ipam, "a");
  const std::string b0 = add(ipam, "b");
  const std::string b1 = add(ipam, "b", "net1");
  const std::string c = add(ipam, "c");
  // host-local's old format: container id only.
  std::ofstream(file("10.0.0.100")) << "a";
  std::ofstream(file("10.0.0.101")) << "zz\n";

  ASSERT_TRUE(ipam_.gc(req(ipam, ""), {{"a", "eth0"}, {"b", "net1"}}));
  EXPECT_EQ(files(), (std::set<std::string>{a, b1, "10.0.0.100"}));
  EXPECT_TRUE(std::filesystem::exists(file("by-attachment/a:eth0")));
  EXPECT_TRUE(std::filesystem::exists(file("by-attachment/b:net1")));
  EXPECT_FALSE(std::filesystem::exists(file("by-attachment/b:eth0")));
  EXPECT_FALSE(std::filesystem::exists(file("by-attachment/c:eth0")));
  EXPECT_TRUE(std::filesystem::exists(file("lock")));
  EXPECT_TRUE(std::filesystem::exists(file("last_reserved_ip.0")));
  EXPECT_TRUE(ipam_.check(req(ipam, "a")));
  EXPECT_TRUE(ipam_.check(req(ipam, "b", "net1")));
  EXPECT_FALSE(ipam_.check(req(ipam, "c")));

  ASSERT_TRUE(ipam_.gc(req(ipam, ""), {}));
  EXPECT_TRUE(files().empty());
}

TEST_F(HostIpamTest, CrashLeftEmptyFileIsHeldUntilGc) {
  // An O_EXCL writer (host-local) killed before writing leaves an empty file.
  const json ipam = one_range("10.0.0.0/29", "10.0.0.2", "10.0.0.3");
  ASSERT_TRUE(std::filesystem::create_directories(net_dir(tmp_.path())));
  std::ofstream(file("10.0.0.2")).flush();
  EXPECT_EQ(add(ipam, "x"), "10.0.0.3");
  EXPECT_EQ(ipam_.status(req(ipam, "")).error().code, 50);
  ASSERT_TRUE(ipam_.del(req(ipam, "x")));
  ASSERT_TRUE(ipam_.del(req(ipam, "other")));
  EXPECT_EQ(files(), std::set<std::string>{"10.0.0.2"});
  ASSERT_TRUE(ipam_.gc(req(ipam, ""), {{"other", "eth0"}}));
  EXPECT_TRUE(files().empty());
  EXPECT_EQ(add(ipam, "y"), "10.0.0.2");
}

TEST_F(HostIpamTest, IndexNamingAnAddressHeldByOthersIsNotTrusted) {
  // A crash between writing the index and linking the address file, after
  // which another pod took that address.
  const json ipam = one_range("10.0.0.0/24");
  EXPECT_EQ(add(ipam, "other"), "10.0.0.2");
  std::ofstream(file("by-attachment/c1:eth0")) << "10.0.0.2\n";
  EXPECT_FALSE(ipam_.check(req(ipam, "c1")));
  EXPECT_EQ(add(ipam, "c1"), "10.0.0.3");
  EXPECT_EQ(slurp(file("by-attachment/c1:eth0")), "10.0.0.3\n");
  std::ofstream(file("by-attachment/c1:eth0"), std::ios::app) << "10.0.0.2\n";
  ASSERT_TRUE(ipam_.del(req(ipam, "c1")));
  EXPECT_EQ(files(), std::set<std::string>{"10.0.0.2"});
  EXPECT_EQ(slurp(file("10.0.0.2")), "other\r\neth0");
}

TEST_F(HostIpamTest, DelReleasesWhatHostLocalAllocated) {
  // No index: host-local made these; DEL finds them by reading the files.
  const json ipam = one_range("10.0.0.0/24");
  ASSERT_TRUE(std::filesystem::create_directories(net_dir(tmp_.path())));
  std::ofstream(file("10.0.0.7")) << "hl\r\neth0";
  std::ofstream(file("10.0.0.8")) << "hl\r\nnet1";
  std::ofstream(file("10.0.0.9")) << "old";
  EXPECT_TRUE(ipam_.check(req(ipam, "hl")));
  ASSERT_TRUE(ipam_.del(req(ipam, "hl")));
  ASSERT_TRUE(ipam_.del(req(ipam, "old", "eth3")));
  EXPECT_EQ(files(), std::set<std::string>{"10.0.0.8"});
}

TEST_F(HostIpamTest, ChangedRangesMoveTheAttachment) {
  const json before = one_range("10.0.0.0/24");
  EXPECT_EQ(add(before, "pod1"), "10.0.0.2");
  const json after = one_range("10.1.0.0/24");
  EXPECT_EQ(add(after, "pod1"), "10.1.0.2");
  EXPECT_EQ(files(), std::set<std::string>{"10.1.0.2"});
  EXPECT_EQ(slurp(file("by-attachment/pod1:eth0")), "10.1.0.2\n");
}

}  // namespace
}  // namespace strand::cni::ipam
