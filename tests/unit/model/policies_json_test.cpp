// The /v1/policies body, exactly.
#include "agent/model/policies_json.h"

#include <gtest/gtest.h>

#include "agent/policy/k8s_json.h"

namespace strand::model {
namespace {

using nlohmann::json;

void apply_yaml(Model& m, const char* yaml) {
  auto j = policy::yaml_to_json(yaml);
  ASSERT_TRUE(j.has_value()) << j.error().message();
  auto obj = parse_object(*j);
  ASSERT_TRUE(obj.has_value()) << obj.error().message();
  ASSERT_TRUE(obj->has_value());
  m.upsert(std::move(**obj));
}

void add_pod(Model& m, const std::string& ns, const std::string& name, const std::string& app) {
  Pod p;
  p.base.ns = ns;
  p.base.name = name;
  p.base.labels = {{"app", app}};
  m.upsert(std::move(p));
}

TEST(PoliciesJson, EmptyModel) { EXPECT_EQ(policies_json(Model{}), json::parse(R"({"items": []})")); }

TEST(PoliciesJson, TypesSelectedPodsAndRules) {
  Model m;
  add_pod(m, "x", "b", "db");
  add_pod(m, "x", "a", "web");
  add_pod(m, "y", "c", "web");
  add_pod(m, "xx", "d", "web");  // a namespace sharing x's prefix: never selected by x's policies
  apply_yaml(m, R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: x}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {}}]
  - ports: [{port: 80}]
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/8}}]
)");
  apply_yaml(m, R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: x}
spec:
  podSelector: {}
)");
  apply_yaml(m, R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-only, namespace: y}
spec:
  podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [web]}]}
  policyTypes: [Egress]
  ingress:
  - from: [{podSelector: {}}]
)");
  const json want = json::parse(R"({"items": [
    {"namespace": "x", "name": "deny-all", "policyTypes": ["Ingress"],
     "enforced": false, "reason": "NetworkPolicy enforcement not implemented yet",
     "selects": [{"namespace": "x", "pod": "a"}, {"namespace": "x", "pod": "b"}],
     "rules": []},
    {"namespace": "x", "name": "web", "policyTypes": ["Ingress", "Egress"],
     "enforced": false, "reason": "NetworkPolicy enforcement not implemented yet",
     "selects": [{"namespace": "x", "pod": "a"}],
     "rules": [{"direction": "ingress", "index": 0}, {"direction": "ingress", "index": 1},
               {"direction": "egress", "index": 0}]},
    {"namespace": "y", "name": "egress-only", "policyTypes": ["Egress"],
     "enforced": false, "reason": "NetworkPolicy enforcement not implemented yet",
     "selects": [],
     "rules": []}
  ]})");
  EXPECT_EQ(policies_json(m), want) << policies_json(m).dump(2);

  // A label change moves a pod into a selection.
  add_pod(m, "x", "b", "web");
  EXPECT_EQ(policies_json(m)["items"][1]["selects"],
            json::parse(R"([{"namespace": "x", "pod": "a"}, {"namespace": "x", "pod": "b"}])"));
}

}  // namespace
}  // namespace strand::model
