#include "cni/result_json.h"

#include <gtest/gtest.h>

#include <string>

#include "cni/version.h"

namespace strand::cni {
namespace {

using nlohmann::json;

IpPrefix prefix(const char* s) { return *IpPrefix::parse(s); }
IpAddr addr(const char* s) { return *IpAddr::parse(s); }

// What the plugin returns for a dual-stack pod: host veth, pod eth0, a /24 and
// a /64 with link-local gateways, default routes (the v4 one with every 1.1.0
// attribute), cluster DNS.
Result sample() {
  Result r;
  r.interfaces.push_back(Interface{"st1a2b3c4d5e6f", "aa:bb:cc:dd:ee:01", std::nullopt, "", "", ""});
  r.interfaces.push_back(
      Interface{"eth0", "0a:58:0a:f4:01:05", 1450, "/var/run/netns/pod1", "/run/vhost.sock", "0000:00:1f.6"});
  r.ips.push_back(IpConfig{prefix("10.244.1.5/24"), addr("169.254.1.1"), 1});
  r.ips.push_back(IpConfig{prefix("fd00::5/64"), addr("fe80::1"), 1});
  r.routes.push_back(Route{prefix("0.0.0.0/0"), addr("169.254.1.1"), 1450, 1410, 10, 100, 0});
  r.routes.push_back(Route{prefix("::/0"), addr("fe80::1"), {}, {}, {}, {}, {}});
  r.dns = Dns{{"10.96.0.10"}, "cluster.local", {"default.svc.cluster.local", "svc.cluster.local"}, {"ndots:5"}};
  return r;
}

// The sample as a version without the 1.1.0 fields can carry it.
Result without_v11(Result r) {
  for (auto& i : r.interfaces) {
    i.mtu.reset();
    i.socket_path.clear();
    i.pci_id.clear();
  }
  for (auto& rt : r.routes) rt.mtu = rt.advmss = rt.priority = rt.table = rt.scope = std::nullopt;
  return r;
}

Result reduced_for(std::string_view version) {
  Result r = version_less(version, "1.1.0") ? without_v11(sample()) : sample();
  r.cni_version = std::string(version);
  return r;
}

const char* kDns =
    R"({"domain":"cluster.local","nameservers":["10.96.0.10"],"options":["ndots:5"],)"
    R"("search":["default.svc.cluster.local","svc.cluster.local"]})";

std::string golden_1_1_0() {
  return std::string(R"({"cniVersion":"1.1.0","dns":)") + kDns +
         R"(,"interfaces":[{"mac":"aa:bb:cc:dd:ee:01","name":"st1a2b3c4d5e6f"},)"
         R"({"mac":"0a:58:0a:f4:01:05","mtu":1450,"name":"eth0","pciID":"0000:00:1f.6",)"
         R"("sandbox":"/var/run/netns/pod1","socketPath":"/run/vhost.sock"}],)"
         R"("ips":[{"address":"10.244.1.5/24","gateway":"169.254.1.1","interface":1},)"
         R"({"address":"fd00::5/64","gateway":"fe80::1","interface":1}],)"
         R"("routes":[{"advmss":1410,"dst":"0.0.0.0/0","gw":"169.254.1.1","mtu":1450,"priority":10,"scope":0,)"
         R"("table":100},{"dst":"::/0","gw":"fe80::1"}]})";
}

std::string golden_1_0_0() {
  return std::string(R"({"cniVersion":"1.0.0","dns":)") + kDns +
         R"(,"interfaces":[{"mac":"aa:bb:cc:dd:ee:01","name":"st1a2b3c4d5e6f"},)"
         R"({"mac":"0a:58:0a:f4:01:05","name":"eth0","sandbox":"/var/run/netns/pod1"}],)"
         R"("ips":[{"address":"10.244.1.5/24","gateway":"169.254.1.1","interface":1},)"
         R"({"address":"fd00::5/64","gateway":"fe80::1","interface":1}],)"
         R"("routes":[{"dst":"0.0.0.0/0","gw":"169.254.1.1"},{"dst":"::/0","gw":"fe80::1"}]})";
}

std::string golden_0_x(const char* version) {
  return std::string(R"({"cniVersion":")") + version + R"(","dns":)" + kDns +
         R"(,"interfaces":[{"mac":"aa:bb:cc:dd:ee:01","name":"st1a2b3c4d5e6f"},)"
         R"({"mac":"0a:58:0a:f4:01:05","name":"eth0","sandbox":"/var/run/netns/pod1"}],)"
         R"("ips":[{"address":"10.244.1.5/24","gateway":"169.254.1.1","interface":1,"version":"4"},)"
         R"({"address":"fd00::5/64","gateway":"fe80::1","interface":1,"version":"6"}],)"
         R"("routes":[{"dst":"0.0.0.0/0","gw":"169.254.1.1"},{"dst":"::/0","gw":"fe80::1"}]})";
}

TEST(ResultJson, EncodeGoldenPerVersion) {
  EXPECT_EQ(encode_result(sample(), "1.1.0").dump(), golden_1_1_0());
  EXPECT_EQ(encode_result(sample(), "1.0.0").dump(), golden_1_0_0());
  EXPECT_EQ(encode_result(sample(), "0.4.0").dump(), golden_0_x("0.4.0"));
  EXPECT_EQ(encode_result(sample(), "0.3.1").dump(), golden_0_x("0.3.1"));
  EXPECT_EQ(encode_result(sample(), "0.3.0").dump(), golden_0_x("0.3.0"));
}

TEST(ResultJson, EncodeOmitsEmpty) {
  Result empty;
  EXPECT_EQ(encode_result(empty, "1.1.0").dump(), R"({"cniVersion":"1.1.0"})");
  EXPECT_EQ(encode_result(empty, "1.0.0").dump(), R"({"cniVersion":"1.0.0"})");
  // libcni's 0.x result type always writes "dns".
  EXPECT_EQ(encode_result(empty, "0.4.0").dump(), R"({"cniVersion":"0.4.0","dns":{}})");

  // What IPAM returns: no interfaces, no interface index, no gateway.
  Result ipam;
  ipam.ips.push_back(IpConfig{prefix("10.244.1.5/24"), std::nullopt, std::nullopt});
  EXPECT_EQ(encode_result(ipam, "1.1.0").dump(), R"({"cniVersion":"1.1.0","ips":[{"address":"10.244.1.5/24"}]})");

  // Index 0 is a value, not "unset"; table/scope 0 are kept, mtu/advmss/priority 0 are not.
  Result zeros;
  zeros.interfaces.push_back(Interface{"eth0", "", 0, "", "", ""});
  zeros.ips.push_back(IpConfig{prefix("10.0.0.2/32"), std::nullopt, 0});
  zeros.routes.push_back(Route{prefix("10.0.0.0/8"), std::nullopt, 0, 0, 0, 0, 0});
  EXPECT_EQ(encode_result(zeros, "1.1.0").dump(),
            R"({"cniVersion":"1.1.0","interfaces":[{"name":"eth0"}],"ips":[{"address":"10.0.0.2/32","interface":0}],)"
            R"("routes":[{"dst":"10.0.0.0/8","scope":0,"table":0}]})");
}

TEST(ResultJson, DecodeEachVersion) {
  for (std::string_view v : kSupportedVersions) {
    auto r = decode_result(encode_result(sample(), v));
    ASSERT_TRUE(r) << v << ": " << r.error().msg;
    EXPECT_EQ(*r, reduced_for(v)) << v;
  }
  // From text, as a runtime or IPAM writes it.
  auto r = decode_result(json::parse(golden_1_1_0()));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, reduced_for("1.1.0"));
  r = decode_result(json::parse(golden_0_x("0.3.1")));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, reduced_for("0.3.1"));
}

TEST(ResultJson, DecodeLegacyIp4Ip6) {
  auto r = decode_result(json::parse(R"({"cniVersion":"0.2.0",
    "ip4":{"ip":"10.1.0.5/24","gateway":"10.1.0.1","routes":[{"dst":"0.0.0.0/0"},{"dst":"10.9.0.0/16","gw":"10.1.0.254"}]},
    "ip6":{"ip":"fd00::5/64"},
    "dns":{"nameservers":["10.1.0.1"]}})"));
  ASSERT_TRUE(r) << r.error().msg;
  EXPECT_EQ(r->cni_version, "0.2.0");
  ASSERT_EQ(r->ips.size(), 2u);
  EXPECT_EQ(r->ips[0].address.str(), "10.1.0.5/24");
  EXPECT_EQ(r->ips[0].gateway->str(), "10.1.0.1");
  EXPECT_EQ(r->ips[1].address.str(), "fd00::5/64");
  EXPECT_FALSE(r->ips[1].gateway);
  ASSERT_EQ(r->routes.size(), 2u);
  EXPECT_EQ(r->routes[1].gw->str(), "10.1.0.254");
  EXPECT_EQ(r->dns.nameservers, (std::vector<std::string>{"10.1.0.1"}));
  // And up to 1.0.0, as libcni converts it.
  auto up = convert_result(json::parse(R"({"cniVersion":"0.1.0","ip4":{"ip":"10.1.0.5/24","gateway":"10.1.0.1"}})"),
                           "1.0.0");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->dump(), R"({"cniVersion":"1.0.0","ips":[{"address":"10.1.0.5/24","gateway":"10.1.0.1"}]})");
}

TEST(ResultJson, DecodeVersionFallback) {
  json j = {{"ips", json::array({{{"address", "10.0.0.2/24"}, {"version", "4"}}})}};
  auto none = decode_result(j);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, 6);
  EXPECT_EQ(none.error().msg, "result has no cniVersion");
  auto r = decode_result(j, "0.4.0");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cni_version, "0.4.0");
}

struct DecodeCase {
  const char* name;
  const char* text;
  int code;
  const char* message;
};

TEST(ResultJson, DecodeErrors) {
  const DecodeCase cases[] = {
      {"not object", R"([1])", 6, "result must be a JSON object"},
      {"version number", R"({"cniVersion":1})", 6, "field \"cniVersion\" must be a string"},
      {"0.5.0", R"({"cniVersion":"0.5.0"})", 1, "result cniVersion \"0.5.0\" is not supported"},
      {"2.0.0", R"({"cniVersion":"2.0.0"})", 1, "(supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0)"},
      {"junk version", R"({"cniVersion":"one"})", 1, "result cniVersion \"one\" is not supported"},
      {"ips object", R"({"cniVersion":"1.0.0","ips":{}})", 6, "field \"ips\" must be a list"},
      {"ips item string", R"({"cniVersion":"1.0.0","ips":["10.0.0.1/24"]})", 6, "field \"ips[0]\" must be an object"},
      {"ip without address", R"({"cniVersion":"1.0.0","ips":[{"gateway":"10.0.0.1"}]})", 6,
       "field \"ips[0].address\" is required"},
      {"ip without prefix", R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1"}]})", 6,
       "field \"ips[0].address\": \"10.0.0.1\" is not an IP address with a prefix length"},
      {"ip bad prefix len", R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/33"}]})", 6,
       "field \"ips[0].address\": \"10.0.0.1/33\""},
      {"bad gateway", R"({"cniVersion":"1.1.0","ips":[{"address":"10.0.0.2/24","gateway":"x"}]})", 6,
       "field \"ips[0].gateway\": \"x\" is not an IP address"},
      {"negative interface", R"({"cniVersion":"1.1.0","ips":[{"address":"10.0.0.2/24","interface":-1}]})", 6,
       "field \"ips[0].interface\" is out of range: -1"},
      {"string interface", R"({"cniVersion":"1.1.0","ips":[{"address":"10.0.0.2/24","interface":"0"}]})", 6,
       "field \"ips[0].interface\" must be an integer"},
      {"0.4.0 version mismatch", R"({"cniVersion":"0.4.0","ips":[{"address":"10.0.0.2/24","version":"6"}]})", 6,
       "field \"ips[0].version\": \"6\" does not match address 10.0.0.2/24"},
      {"interface without name", R"({"cniVersion":"1.0.0","interfaces":[{"mac":"aa:bb:cc:dd:ee:ff"}]})", 6,
       "field \"interfaces[0].name\" is required"},
      {"interface mtu string", R"({"cniVersion":"1.1.0","interfaces":[{"name":"eth0","mtu":"1500"}]})", 6,
       "field \"interfaces[0].mtu\" must be an integer"},
      {"route without dst", R"({"cniVersion":"1.0.0","routes":[{"gw":"10.0.0.1"}]})", 6,
       "field \"routes[0].dst\" is required"},
      {"route table string", R"({"cniVersion":"1.1.0","routes":[{"dst":"0.0.0.0/0","table":"main"}]})", 6,
       "field \"routes[0].table\" must be an integer"},
      {"route bad gw", R"({"cniVersion":"1.1.0","routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0","gw":"fe80::g"}]})", 6,
       "field \"routes[1].gw\": \"fe80::g\" is not an IP address"},
      {"dns search number", R"({"cniVersion":"1.1.0","dns":{"search":1}})", 6,
       "field \"dns.search\" must be a list of strings"},
      {"legacy ip4 without ip", R"({"cniVersion":"0.2.0","ip4":{"gateway":"10.0.0.1"}})", 6,
       "field \"ip4.ip\" is required"},
      {"legacy route bad", R"({"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.2/24","routes":[{"dst":"x"}]}})", 6,
       "field \"ip4.routes[0].dst\": \"x\""},
  };
  for (const auto& c : cases) {
    auto r = decode_result(json::parse(c.text));
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().msg;
    EXPECT_NE(r.error().msg.find(c.message), std::string::npos) << c.name << ": " << r.error().msg;
  }
}

// Every pair of versions: what survives is what the older of the two can carry.
TEST(ResultJson, ConvertEveryPair) {
  for (std::string_view from : kSupportedVersions) {
    for (std::string_view to : kSupportedVersions) {
      auto out = convert_result(encode_result(sample(), from), to);
      ASSERT_TRUE(out) << from << " -> " << to << ": " << out.error().msg;
      std::string_view lowest = version_less(from, to) ? from : to;
      EXPECT_EQ(*out, encode_result(reduced_for(lowest), to)) << from << " -> " << to;
      auto back = decode_result(*out);
      ASSERT_TRUE(back);
      Result want = reduced_for(lowest);
      want.cni_version = std::string(to);
      EXPECT_EQ(*back, want) << from << " -> " << to;
    }
  }
}

TEST(ResultJson, ConvertDocumentedDifferences) {
  // 1.1.0 -> 1.0.0 drops the 1.1.0-only fields; the rest is byte-identical.
  EXPECT_EQ(convert_result(json::parse(golden_1_1_0()), "1.0.0")->dump(), golden_1_0_0());
  // 1.0.0 -> 0.4.0 adds ip versions.
  EXPECT_EQ(convert_result(json::parse(golden_1_0_0()), "0.4.0")->dump(), golden_0_x("0.4.0"));
  // 0.4.0 -> 1.1.0 removes them again (nothing to add back).
  json up = *convert_result(json::parse(golden_0_x("0.4.0")), "1.1.0");
  json want = json::parse(golden_1_0_0());
  want["cniVersion"] = "1.1.0";
  EXPECT_EQ(up, want);
  // An empty 0.4.0 result's "dns":{} disappears in 1.x.
  EXPECT_EQ(convert_result(json::parse(R"({"cniVersion":"0.4.0","dns":{}})"), "1.0.0")->dump(),
            R"({"cniVersion":"1.0.0"})");
}

TEST(ResultJson, ConvertToUnsupportedVersion) {
  auto out = convert_result(json::parse(golden_1_0_0()), "0.2.0");
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, 1);
  EXPECT_NE(out.error().msg.find("cannot convert a result to cniVersion \"0.2.0\""), std::string::npos);
}

TEST(ResultJson, DnsRoundTrip) {
  Dns dns{{"10.96.0.10", "fd00::a"}, "cluster.local", {"svc.cluster.local"}, {"ndots:5", "edns0"}};
  auto back = decode_dns(encode_dns(dns), "dns", Code::kInvalidConfig);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, dns);
  EXPECT_EQ(encode_dns(Dns{}).dump(), "{}");
  auto bad = decode_dns(json::array(), "x.dns", Code::kInvalidConfig);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, 7);
  EXPECT_EQ(bad.error().msg, "field \"x.dns\" must be an object");
}

}  // namespace
}  // namespace strand::cni
