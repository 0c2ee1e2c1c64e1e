#include <gtest/gtest.h>

#include "lab/manifest.h"

namespace strand::lab {
namespace {

TEST(Manifest, MultiDocumentYamlInOrder) {
  auto objs = parse_manifests(R"(
apiVersion: v1
kind: Namespace
metadata:
  name: x
  labels: {team: a}
---
---
apiVersion: v1
kind: Pod
metadata:
  name: a
  namespace: x
  labels:
    pod: a
    version: "2"
spec:
  nodeName: node1
  containers:
  - name: c
    ports:
    - containerPort: 80
      name: http
    - {containerPort: 81, protocol: UDP}
    - {containerPort: 82, protocol: SCTP, name: s}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny}
spec:
  podSelector: {}
  policyTypes: [Ingress]
)", "t.yaml");
  ASSERT_TRUE(objs) << objs.error().message();
  ASSERT_EQ(objs->size(), 3u);
  EXPECT_EQ((*objs)[0].kind, "Namespace");
  EXPECT_EQ((*objs)[0].key(), "x");
  EXPECT_EQ((*objs)[1].key(), "x/a");
  EXPECT_EQ((*objs)[2].key(), "default/deny");
  EXPECT_EQ((*objs)[2].body["metadata"]["namespace"], "default");
  auto labels = labels_of((*objs)[1].body);
  ASSERT_TRUE(labels);
  EXPECT_EQ(*labels, (Labels{{"pod", "a"}, {"version", "2"}}));
  auto ports = pod_ports((*objs)[1].body);
  ASSERT_TRUE(ports);
  ASSERT_EQ(ports->size(), 3u);
  EXPECT_EQ((*ports)[0], (ContainerPort{"http", 80, "TCP"}));
  EXPECT_EQ((*ports)[1], (ContainerPort{"", 81, "UDP"}));
  EXPECT_EQ((*ports)[2], (ContainerPort{"s", 82, "SCTP"}));
  EXPECT_EQ((*objs)[2].body["spec"]["policyTypes"], nlohmann::json::array({"Ingress"}));
}

TEST(Manifest, ScalarsFollowTheCoreSchema) {
  auto j = yaml_text_to_json("a: 80\nb: \"80\"\nc: true\nd: ~\ne: 1.5\nf: abc\ng: 'true'\nh: -3\n");
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["a"], 80);
  EXPECT_EQ((*j)["b"], "80");
  EXPECT_EQ((*j)["c"], true);
  EXPECT_TRUE((*j)["d"].is_null());
  EXPECT_DOUBLE_EQ((*j)["e"].get<double>(), 1.5);
  EXPECT_EQ((*j)["f"], "abc");
  EXPECT_EQ((*j)["g"], "true");
  EXPECT_EQ((*j)["h"], -3);
}

TEST(Manifest, JsonDocumentsAndLists) {
  auto objs = parse_manifests(R"({"kind":"List","items":[
    {"kind":"Pod","metadata":{"name":"p1","namespace":"y"}},
    {"kind":"Namespace","metadata":{"name":"y","labels":{"n":"1"}}}]}
---
{"kind":"Pod","metadata":{"name":"p2"},"spec":{"containers":[{"ports":[{"containerPort":8080}]}]}})", "t.json");
  ASSERT_TRUE(objs) << objs.error().message();
  ASSERT_EQ(objs->size(), 3u);
  EXPECT_EQ((*objs)[0].key(), "y/p1");
  EXPECT_EQ((*objs)[1].key(), "y");
  EXPECT_EQ((*objs)[2].key(), "default/p2");
  EXPECT_EQ((*labels_of((*objs)[1].body)).at("n"), "1");
  EXPECT_EQ(pod_ports((*objs)[2].body)->at(0).port, 8080);
}

TEST(Manifest, RefusesWhatTheLabCannotModel) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"kind: Service\nmetadata: {name: s}\n", "kind 'Service'"},
      {"kind: Pod\nmetadata: {}\n", "without metadata.name"},
      {"kind: Pod\nmetadata: {name: Bad_Name}\n", "invalid name"},
      {"kind: Pod\nmetadata: {name: p, labels: {a: 1}}\n", "not a string"},
      {"kind: Pod\nmetadata: {name: p}\nspec: {containers: [{ports: [{containerPort: 70000}]}]}\n", "out of range"},
      {"kind: Pod\nmetadata: {name: p}\nspec: {containers: [{ports: [{containerPort: 80, protocol: ICMP}]}]}\n", "ICMP"},
      {"kind: Pod\nmetadata: {name: p\n", "t.yaml"},
  };
  for (const auto& c : cases) {
    auto objs = parse_manifests(c.text, "t.yaml");
    ASSERT_FALSE(objs) << c.text;
    EXPECT_EQ(objs.error().err, EINVAL) << c.text;
    EXPECT_NE(objs.error().message().find(c.says), std::string::npos) << objs.error().message();
  }
}

TEST(Manifest, EmptyDocumentsAreSkipped) {
  auto objs = parse_manifests("---\n---\n# nothing\n", "t.yaml");
  ASSERT_TRUE(objs);
  EXPECT_TRUE(objs->empty());
}

TEST(Manifest, ResolvePortByNumberOrName) {
  std::vector<ContainerPort> ports = {{"http", 80, "TCP"}, {"dns", 53, "UDP"}};
  EXPECT_EQ(resolve_port(ports, "8080", "TCP")->port, 8080);
  EXPECT_EQ(resolve_port(ports, "http", "TCP")->port, 80);
  EXPECT_EQ(resolve_port(ports, "dns", "UDP")->port, 53);
  EXPECT_EQ(resolve_port(ports, "dns", "TCP").error().err, ENOENT);
  EXPECT_EQ(resolve_port(ports, "0", "TCP").error().err, EINVAL);
  EXPECT_EQ(resolve_port(ports, "65536", "TCP").error().err, EINVAL);
}

TEST(Manifest, ValidNames) {
  EXPECT_TRUE(valid_name("a"));
  EXPECT_TRUE(valid_name("web-1.x"));
  EXPECT_FALSE(valid_name(""));
  EXPECT_FALSE(valid_name("-a"));
  EXPECT_FALSE(valid_name("a_b"));
  EXPECT_FALSE(valid_name("A"));
  EXPECT_FALSE(valid_name("a/b"));
}

}  // namespace
}  // namespace strand::lab
