// parse_object: the kinds the model keeps, as the API server shapes them.
#include "agent/model/objects.h"

#include <gtest/gtest.h>

namespace strand::model {
namespace {

using nlohmann::json;

TEST(ParseObject, PodWithUidNodeIpsAndPorts) {
  auto obj = parse_object(json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web-1", "namespace": "shop", "uid": "6f1c-11", "labels": {"app": "web"}},
    "spec": {"nodeName": "node-2", "containers": [
      {"name": "c", "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                              {"containerPort": 53, "protocol": "UDP"}]}]},
    "status": {"podIP": "10.244.2.5", "podIPs": [{"ip": "10.244.2.5"}, {"ip": "fd00:10:244:2::5"}]}})"));
  ASSERT_TRUE(obj.has_value()) << obj.error().message();
  ASSERT_TRUE(obj->has_value());
  const auto& p = std::get<Pod>(**obj);
  EXPECT_EQ(p.base.ns, "shop");
  EXPECT_EQ(p.base.name, "web-1");
  EXPECT_EQ(p.uid, "6f1c-11");
  EXPECT_EQ(p.node_name, "node-2");
  EXPECT_EQ(p.base.labels, (policy::Labels{{"app", "web"}}));
  EXPECT_EQ(p.base.ips, (std::vector<IpAddr>{IpAddr::parse("10.244.2.5").value(),
                                             IpAddr::parse("fd00:10:244:2::5").value()}));
  EXPECT_EQ(p.base.ports, (std::vector<policy::ContainerPort>{{"http", 8080, policy::Protocol::kTcp},
                                                              {"", 53, policy::Protocol::kUdp}}));
  EXPECT_EQ(key_of(**obj), (Key{Kind::kPod, "shop", "web-1"}));
}

TEST(ParseObject, NamespaceWithAnnotations) {
  auto obj = parse_object(json::parse(R"({"apiVersion": "v1", "kind": "Namespace",
    "metadata": {"name": "x", "labels": {"ns": "x"}, "annotations": {"strand.io/policy-audit": "true"}}})"));
  ASSERT_TRUE(obj.has_value()) << obj.error().message();
  EXPECT_EQ(std::get<Namespace>(**obj),
            (Namespace{{"x", {{"ns", "x"}}}, {{"strand.io/policy-audit", "true"}}}));
  EXPECT_EQ(key_of(**obj), (Key{Kind::kNamespace, "", "x"}));
}

TEST(ParseObject, NodeWithAddressesAndPodCidrs) {
  auto obj = parse_object(json::parse(R"({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
    "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24", "fd00:10:244:1::/64"]},
    "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.2"}, {"type": "Hostname", "address": "n1"}]}})"));
  ASSERT_TRUE(obj.has_value()) << obj.error().message();
  const auto& n = std::get<Node>(**obj);
  EXPECT_EQ(n.name, "n1");
  EXPECT_EQ(n.addresses, (std::vector<NodeAddress>{{"InternalIP", "192.168.0.2"}, {"Hostname", "n1"}}));
  EXPECT_EQ(n.pod_cidrs, (std::vector<IpPrefix>{IpPrefix::parse("10.244.1.0/24").value(),
                                                IpPrefix::parse("fd00:10:244:1::/64").value()}));
  EXPECT_EQ(n.ips(), (std::vector<IpAddr>{IpAddr::parse("192.168.0.2").value()}));
}

TEST(ParseObject, NodeWithOnlyTheSinglePodCidr) {
  auto obj = parse_object(json::parse(R"({"kind": "Node", "metadata": {"name": "n1"}, "spec": {"podCIDR": "10.244.1.0/24"}})"));
  ASSERT_TRUE(obj.has_value()) << obj.error().message();
  EXPECT_EQ(std::get<Node>(**obj).pod_cidrs, (std::vector<IpPrefix>{IpPrefix::parse("10.244.1.0/24").value()}));
}

TEST(ParseObject, NetworkPolicy) {
  auto obj = parse_object(json::parse(R"({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "deny", "namespace": "x"}, "spec": {"podSelector": {}}})"));
  ASSERT_TRUE(obj.has_value()) << obj.error().message();
  EXPECT_EQ(key_of(**obj), (Key{Kind::kNetworkPolicy, "x", "deny"}));
}

TEST(ParseObject, OtherKindsAreNotKept) {
  auto obj = parse_object(json::parse(R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}})"));
  ASSERT_TRUE(obj.has_value());
  EXPECT_FALSE(obj->has_value());
}

TEST(ParseObject, Errors) {
  struct Case {
    const char* json;
    const char* context;
  } cases[] = {
      {R"({"apiVersion": "extensions/v1beta1", "kind": "NetworkPolicy", "metadata": {"name": "p"}, "spec": {}})",
       "apiVersion: NetworkPolicy wants networking.k8s.io/v1, got extensions/v1beta1"},
      {R"({"metadata": {"name": "p"}})", "kind: required"},
      {R"({"kind": "Node", "metadata": {"name": "n"}, "spec": {"podCIDRs": ["10.1.0.0"]}})",
       "n: spec.podCIDRs[0]: '10.1.0.0' is not a CIDR"},
      {R"({"kind": "Node", "metadata": {}})", "metadata.name: required"},
      {R"({"kind": "Namespace", "metadata": {"name": "x", "annotations": {"a": 1}}})",
       "x: metadata.annotations.a: must be a string"},
  };
  for (const auto& c : cases) {
    auto obj = parse_object(json::parse(c.json));
    ASSERT_FALSE(obj.has_value()) << c.json;
    EXPECT_EQ(obj.error().err, EINVAL) << c.json;
    EXPECT_EQ(obj.error().context, c.context) << c.json;
  }
}

}  // namespace
}  // namespace strand::model
