#include <gtest/gtest.h>

#include "lab/objects.h"

namespace strand::lab {
namespace {

using nlohmann::json;

NodeState node2() { return {"s-node2", 2, "s_node2", {"10.100.0.2", "fd00:100::2"}, {"10.244.2.0/24", "fd00:10:244:2::/64"}, 0}; }

TEST(Objects, StrandConflist) {
  LabState s;
  auto c = node_conflist(s, node2(), {"/r/sock", "/r/ep", "/r/ipam", "/r/cni.log"}, 1450);
  EXPECT_EQ(c["cniVersion"], "1.1.0");
  ASSERT_EQ(c["plugins"].size(), 1u);
  const auto& p = c["plugins"][0];
  EXPECT_EQ(p["type"], "strand");
  EXPECT_EQ(p["mtu"], 1450);
  EXPECT_EQ(p["agentSocket"], "/r/sock");
  EXPECT_EQ(p["agentRequired"], true);
  EXPECT_EQ(p["stateDir"], "/r/ep");
  EXPECT_EQ(p["ipam"], json::parse(R"({"type":"strand-ipam","dataDir":"/r/ipam",
     "ranges":[[{"subnet":"10.244.2.0/24"}],[{"subnet":"fd00:10:244:2::/64"}]]})"));
}

TEST(Objects, PtpConflistForTheBenchmark) {
  LabState s;
  s.cni = "ptp";
  auto c = node_conflist(s, node2(), {"/r/sock", "/r/ep", "/r/ipam", "/r/cni.log"}, 1500);
  EXPECT_EQ(c["cniVersion"], "1.0.0");
  auto p = c["plugins"][0];
  EXPECT_EQ(p["type"], "ptp");
  EXPECT_EQ(p["ipMasq"], false);
  EXPECT_EQ(p["ipam"]["type"], "host-local");
  EXPECT_EQ(p["ipam"]["dataDir"], "/r/ipam");
  EXPECT_EQ(p["ipam"]["routes"], json::parse(R"([{"dst":"0.0.0.0/0"},{"dst":"::/0"}])"));
}

TEST(Objects, PluginConfAsLibcniBuildsIt) {
  json list = json::parse(R"({"cniVersion":"1.1.0","name":"n","plugins":[{"type":"a","x":1},{"type":"b"}]})");
  EXPECT_EQ(plugin_conf(list, 0, json()), json::parse(R"({"type":"a","x":1,"name":"n","cniVersion":"1.1.0"})"));
  json prev = {{"ips", json::array()}};
  EXPECT_EQ(plugin_conf(list, 1, prev)["prevResult"], prev);
}

TEST(Objects, NodeObject) {
  EXPECT_EQ(node_object(node2()), json::parse(R"({"apiVersion":"v1","kind":"Node",
    "metadata":{"name":"s-node2","labels":{"kubernetes.io/hostname":"s-node2"}},
    "spec":{"podCIDR":"10.244.2.0/24","podCIDRs":["10.244.2.0/24","fd00:10:244:2::/64"]},
    "status":{"addresses":[{"type":"InternalIP","address":"10.100.0.2"},{"type":"InternalIP","address":"fd00:100::2"},
                           {"type":"Hostname","address":"s-node2"}]}})"));
}

TEST(Objects, NamespaceCarriesItsNameLabel) {
  auto n = namespace_object("x", {{"team", "a"}});
  EXPECT_EQ(n["metadata"]["labels"], json::parse(R"({"team":"a","kubernetes.io/metadata.name":"x"})"));
}

TEST(Objects, PodObjectStatusFromTheCniResult) {
  PodState p;
  p.ns = "x";
  p.name = "a";
  p.uid = "u1";
  p.node = "s-node2";
  p.ips = {"10.244.2.5", "fd00:10:244:2::5"};
  p.labels = {{"pod", "new"}};
  json applied = json::parse(R"({"kind":"Pod","metadata":{"name":"a","labels":{"pod":"old"}},"spec":{"containers":[]}})");
  auto o = pod_object(applied, p, node2());
  EXPECT_EQ(o["apiVersion"], "v1");
  EXPECT_EQ(o["metadata"]["namespace"], "x");
  EXPECT_EQ(o["metadata"]["uid"], "u1");
  EXPECT_EQ(o["metadata"]["labels"], json::parse(R"({"pod":"new"})"));
  EXPECT_EQ(o["spec"]["nodeName"], "s-node2");
  EXPECT_EQ(o["status"], json::parse(R"({"phase":"Running","podIP":"10.244.2.5",
    "podIPs":[{"ip":"10.244.2.5"},{"ip":"fd00:10:244:2::5"}],"hostIP":"10.100.0.2"})"));
}

TEST(Objects, PodObjectBeforeTheCniAddHasNoAddresses) {
  PodState p;
  p.ns = "x";
  p.name = "a";
  p.uid = "u1";
  p.node = "s-node2";
  p.labels = {{"pod", "a"}};
  json applied = json::parse(R"({"kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[]}})");
  auto o = pod_object(applied, p, node2());
  EXPECT_EQ(o["spec"]["nodeName"], "s-node2");
  EXPECT_EQ(o["metadata"]["labels"], json::parse(R"({"pod":"a"})"));
  EXPECT_EQ(o["status"], json::parse(R"({"phase":"Pending","hostIP":"10.100.0.2"})"));
}

TEST(Objects, ResultIpsIPv4First) {
  auto ips = result_ips(json::parse(R"({"ips":[{"address":"fd00::5/64"},{"address":"10.0.0.5/24"}]})"));
  ASSERT_TRUE(ips);
  EXPECT_EQ(*ips, (std::vector<std::string>{"10.0.0.5", "fd00::5"}));
  EXPECT_EQ(result_ips(json::parse(R"({"ips":[]})")).error().err, EINVAL);
  EXPECT_EQ(result_ips(json::parse(R"({})")).error().err, EINVAL);
}

TEST(Objects, ManifestFileNames) {
  EXPECT_EQ(manifest_file("Pod", "x", "a"), "pod_x_a.json");
  EXPECT_EQ(manifest_file("Namespace", "", "x"), "namespace_x.json");
  EXPECT_EQ(manifest_file("NetworkPolicy", "x", "p"), "networkpolicy_x_p.json");
}

}  // namespace
}  // namespace strand::lab
