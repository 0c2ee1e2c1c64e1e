// parse_manifest: multi-document YAML, JSON objects and Lists, errors with lines.
#include "agent/sources/manifest.h"

#include <gtest/gtest.h>

namespace strand::sources {
namespace {

using model::Key;
using model::Kind;

std::vector<Key> keys(const Manifest& m) {
  std::vector<Key> out;
  for (const auto& o : m.objects) out.push_back(model::key_of(o));
  return out;
}

TEST(Manifest, MultiDocumentYaml) {
  auto m = parse_manifest(R"(---
apiVersion: v1
kind: Namespace
metadata:
  name: x
  labels: {ns: x}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {pod: a}}
spec:
  nodeName: node-1
  containers:
  - name: c
    ports: [{name: http, containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: x}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: x}
spec: {podSelector: {}}
---
apiVersion: v1
kind: Node
metadata: {name: node-1}
spec: {podCIDRs: [10.244.1.0/24]}
---
)",
                          "lab.yaml");
  ASSERT_TRUE(m.has_value()) << m.error().message();
  EXPECT_EQ(keys(*m), (std::vector<Key>{{Kind::kNamespace, "", "x"},
                                        {Kind::kPod, "x", "a"},
                                        {Kind::kNetworkPolicy, "x", "deny"},
                                        {Kind::kNode, "", "node-1"}}));
  EXPECT_EQ(m->ignored, (std::vector<std::string>{"Service x/web at lab.yaml:17"}));
  EXPECT_EQ(std::get<model::Pod>(m->objects[1]).node_name, "node-1");
}

TEST(Manifest, JsonListWithKindsAndApiServerListWithout) {
  auto list = parse_manifest(R"({
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x"}},
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}
  ]
})",
                             "list.json");
  ASSERT_TRUE(list.has_value()) << list.error().message();
  EXPECT_EQ(keys(*list), (std::vector<Key>{{Kind::kPod, "x", "a"}, {Kind::kNamespace, "", "x"}}));

  // As GET /api/v1/pods returns it: items carry no kind or apiVersion.
  auto pods = parse_manifest(
      R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"42"},"items":[{"metadata":{"name":"a","namespace":"x"}},{"metadata":{"name":"b","namespace":"y"}}]})",
      "pods.json");
  ASSERT_TRUE(pods.has_value()) << pods.error().message();
  EXPECT_EQ(keys(*pods), (std::vector<Key>{{Kind::kPod, "x", "a"}, {Kind::kPod, "y", "b"}}));
}

TEST(Manifest, SingleJsonObject) {
  auto m = parse_manifest(R"({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "z"}})", "ns.json");
  ASSERT_TRUE(m.has_value()) << m.error().message();
  EXPECT_EQ(keys(*m), (std::vector<Key>{{Kind::kNamespace, "", "z"}}));
}

TEST(Manifest, ErrorsNameFileAndLine) {
  struct Case {
    const char* text;
    const char* context;
  } cases[] = {
      // YAML syntax: where the scanner stopped.
      {"kind: Namespace\nmetadata: {name: x\n", "f.yaml:3:1: end of map flow not found"},
      // The second document is malformed: its first line is named.
      {"kind: Namespace\nmetadata: {name: x}\n---\nkind: Pod\nmetadata: {namespace: x}\n",
       "f.yaml:4: metadata.name: required"},
      // The second item of a List.
      {"{\"kind\": \"List\", \"items\": [\n  {\"kind\": \"Namespace\", \"metadata\": {\"name\": \"x\"}},\n"
       "  {\"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"}, \"status\": {\"podIP\": \"10.0.0.300\"}}\n]}",
       "f.yaml:3: items[1]: default/p: status.podIP: not an IP address"},
      {"kind: List\nitems: 3\n", "f.yaml:1: items: must be an array"},
  };
  for (const auto& c : cases) {
    auto m = parse_manifest(c.text, "f.yaml");
    ASSERT_FALSE(m.has_value()) << c.text;
    EXPECT_EQ(m.error().context, c.context) << c.text;
  }
}

TEST(Manifest, PolicyThatDoesNotParseIsLoadedNotEnforced) {
  // Not an error of the manifest: the policy is there, failing closed.
  auto m = parse_manifest("{\"kind\": \"List\", \"items\": [\n"
                          "  {\"kind\": \"NetworkPolicy\", \"metadata\": {\"name\": \"p\"}, \"spec\": {\"policyTypes\": [\"Both\"]}}\n]}",
                          "f.yaml");
  ASSERT_TRUE(m.has_value()) << m.error().message();
  ASSERT_EQ(m->objects.size(), 1u);
  const auto& np = std::get<policy::NetworkPolicy>(m->objects[0]);
  EXPECT_EQ(np.not_enforced, "spec.policyTypes[0]: unknown policy type 'Both' (want Ingress or Egress)");
  EXPECT_TRUE(np.ingress_type);
  EXPECT_TRUE(np.egress_type);
}

TEST(Manifest, Names) {
  EXPECT_TRUE(is_manifest_name("a.yaml"));
  EXPECT_TRUE(is_manifest_name("a.yml"));
  EXPECT_TRUE(is_manifest_name("a.json"));
  EXPECT_FALSE(is_manifest_name(".a.yaml"));
  EXPECT_FALSE(is_manifest_name("a.yaml.tmp.1234"));
  EXPECT_FALSE(is_manifest_name("a.yaml~"));
  EXPECT_FALSE(is_manifest_name("..data"));
}

}  // namespace
}  // namespace strand::sources
