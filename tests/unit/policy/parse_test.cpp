// Parsing: the Kubernetes JSON shape, YAML, implied policyTypes, and a table
// of bad or unknown fields, each making the policy not enforced (fail
// closed) with a reason naming the field.
#include <gtest/gtest.h>

#include "agent/policy/k8s_json.h"

namespace strand::policy {
namespace {

using nlohmann::json;

TEST(Parse, KubectlJson) {
  auto obj = json::parse(R"({
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "api", "namespace": "prod", "resourceVersion": "7"},
    "spec": {
      "podSelector": {"matchLabels": {"app": "api"}},
      "policyTypes": ["Ingress"],
      "ingress": [{
        "from": [
          {"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In", "values": ["a", "b"]}]},
           "podSelector": {}},
          {"ipBlock": {"cidr": "10.1.2.3/16", "except": ["10.1.9.0/24"]}}
        ],
        "ports": [{"port": 8080, "endPort": 8090}, {"protocol": "UDP", "port": "dns"}, {"protocol": "SCTP"}]
      }]
    }
  })");
  auto np = parse_network_policy(obj);
  ASSERT_TRUE(np.has_value()) << np.error().message();
  EXPECT_EQ(np->id(), "prod/api");
  EXPECT_EQ(np->pod_selector.match_labels, (Labels{{"app", "api"}}));
  EXPECT_TRUE(np->ingress_type);
  EXPECT_FALSE(np->egress_type);
  ASSERT_EQ(np->ingress.size(), 1u);
  const Rule& r = np->ingress[0];
  ASSERT_EQ(r.peers.size(), 2u);
  ASSERT_TRUE(r.peers[0].namespace_selector.has_value());
  EXPECT_EQ(r.peers[0].namespace_selector->match_expressions[0].op, SelectorOp::kIn);
  EXPECT_EQ(r.peers[0].namespace_selector->match_expressions[0].values, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(r.peers[0].pod_selector.has_value());
  EXPECT_FALSE(r.peers[0].ip_block.has_value());
  ASSERT_TRUE(r.peers[1].ip_block.has_value());
  EXPECT_EQ(r.peers[1].ip_block->cidr.str(), "10.1.0.0/16");  // host bits cleared
  EXPECT_FALSE(r.peers[1].pod_selector.has_value());
  ASSERT_EQ(r.ports.size(), 3u);
  EXPECT_EQ(r.ports[0].protocol, Protocol::kTcp);
  EXPECT_EQ(std::get<uint16_t>(r.ports[0].port), 8080);
  EXPECT_EQ(r.ports[0].end_port, std::optional<uint16_t>(8090));
  EXPECT_EQ(r.ports[1].protocol, Protocol::kUdp);
  EXPECT_EQ(std::get<std::string>(r.ports[1].port), "dns");
  EXPECT_EQ(r.ports[2].protocol, Protocol::kSctp);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(r.ports[2].port));
}

TEST(Parse, ImpliedPolicyTypes) {
  auto types = [](const char* yaml) {
    auto v = parse_network_policies_yaml(yaml);
    EXPECT_TRUE(v.has_value()) << v.error().message();
    return std::pair{v->at(0).ingress_type, v->at(0).egress_type};
  };
  EXPECT_EQ(types("metadata: {name: p}\nspec: {podSelector: {}}"), std::pair(true, false));
  EXPECT_EQ(types("metadata: {name: p}\nspec: {podSelector: {}, egress: [{}]}"), std::pair(true, true));
  EXPECT_EQ(types("metadata: {name: p}\nspec: {podSelector: {}, egress: []}"), std::pair(true, false));
  EXPECT_EQ(types("metadata: {name: p}\nspec: {podSelector: {}, policyTypes: [Egress]}"), std::pair(false, true));
  EXPECT_EQ(types("metadata: {name: p}\nspec: {podSelector: {}, policyTypes: [Ingress], egress: [{}]}"),
            std::pair(true, false));
}

TEST(Parse, YamlEmptyFromAndIngressDiffer) {
  auto v = parse_network_policies_yaml(R"(
metadata: {name: p, namespace: n}
spec:
  podSelector: {}
  ingress:
  - from: []
    ports: []
)");
  ASSERT_TRUE(v.has_value()) << v.error().message();
  ASSERT_EQ(v->size(), 1u);
  EXPECT_EQ(v->at(0).ingress.size(), 1u);  // one rule, matching everything
  EXPECT_TRUE(v->at(0).ingress[0].peers.empty());
  EXPECT_EQ(v->at(0).ns, "n");
}

TEST(Parse, YamlQuotedNumberIsPortName) {
  auto v = parse_network_policies_yaml("metadata: {name: p}\nspec:\n  ingress: [{ports: [{port: \"80\"}]}]\n");
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_NE(v->at(0).not_enforced.find("spec.ingress[0].ports[0].port"), std::string::npos) << v->at(0).not_enforced;
}

TEST(Parse, PodAndNamespace) {
  auto pod = parse_pod(json::parse(R"({
    "kind": "Pod", "metadata": {"name": "a", "namespace": "x", "labels": {"pod": "a"}},
    "spec": {"containers": [{"name": "c", "ports": [
      {"name": "http", "containerPort": 80},
      {"containerPort": 53, "protocol": "UDP"}]}]},
    "status": {"podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]}
  })"));
  ASSERT_TRUE(pod.has_value()) << pod.error().message();
  EXPECT_EQ(pod->labels.at("pod"), "a");
  ASSERT_EQ(pod->ips.size(), 2u);
  EXPECT_EQ(pod->ips[1].str(), "fd00::1");
  ASSERT_EQ(pod->ports.size(), 2u);
  EXPECT_EQ(pod->ports[0].name, "http");
  EXPECT_EQ(pod->ports[0].protocol, Protocol::kTcp);
  EXPECT_EQ(pod->ports[1].port, 53);
  EXPECT_EQ(pod->ports[1].protocol, Protocol::kUdp);

  auto ns = parse_namespace(json::parse(R"({"kind": "Namespace", "metadata": {"name": "x", "labels": {"ns": "x"}}})"));
  ASSERT_TRUE(ns.has_value()) << ns.error().message();
  EXPECT_EQ(ns->name, "x");
  EXPECT_EQ(ns->labels.at("ns"), "x");

  auto bad = parse_pod(json::parse(R"({"metadata": {"name": "a"}, "status": {"podIPs": [{"ip": "10.0.0.300"}]}})"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().context.find("status.podIPs[0].ip"), std::string::npos) << bad.error().message();
}

TEST(Parse, PodHostNetworkAndPhase) {
  auto pod = parse_pod(json::parse(R"({
    "kind": "Pod", "metadata": {"name": "kube-proxy-x", "namespace": "kube-system"},
    "spec": {"hostNetwork": true, "containers": [{"name": "c"}]},
    "status": {"phase": "Running", "podIP": "172.16.0.10", "podIPs": [{"ip": "172.16.0.10"}]}
  })"));
  ASSERT_TRUE(pod.has_value()) << pod.error().message();
  EXPECT_TRUE(pod->host_network);
  EXPECT_EQ(pod->phase, "Running");
  EXPECT_FALSE(pod->finished());
  EXPECT_FALSE(pod->owns_ips());
  for (const char* phase : {"Succeeded", "Failed"}) {
    auto done = parse_pod(json::parse(std::string(R"({"kind": "Pod", "metadata": {"name": "job"},
      "status": {"phase": ")") + phase + R"(", "podIP": "10.0.0.7"}})"));
    ASSERT_TRUE(done.has_value()) << done.error().message();
    EXPECT_FALSE(done->host_network);
    EXPECT_TRUE(done->finished()) << phase;
    EXPECT_FALSE(done->owns_ips()) << phase;
  }
  for (const char* phase : {"Pending", "Running", "Unknown", ""}) {
    Pod p;
    p.phase = phase;
    EXPECT_TRUE(p.owns_ips()) << phase;
  }
  auto bad = parse_pod(json::parse(R"({"metadata": {"name": "a"}, "spec": {"hostNetwork": "yes"}})"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().context.find("spec.hostNetwork"), std::string::npos) << bad.error().message();
}

struct BadCase {
  const char* name;
  const char* spec;   // YAML of the spec only
  const char* field;  // must appear in the error
};

class ParseErrors : public ::testing::TestWithParam<BadCase> {};

// Never skipped (that would leave its pods unrestricted: failing open): the
// policy is kept, without rules, with the reason.
TEST_P(ParseErrors, NotEnforcedNamingTheField) {
  const BadCase& c = GetParam();
  std::string yaml = std::string("metadata: {name: bad, namespace: x}\nspec:\n") + c.spec;
  auto v = parse_network_policies_yaml(yaml);
  ASSERT_TRUE(v.has_value()) << c.name << ": " << v.error().message();
  ASSERT_EQ(v->size(), 1u);
  const NetworkPolicy& np = v->at(0);
  EXPECT_EQ(np.id(), "x/bad");
  EXPECT_TRUE(np.ingress.empty());
  EXPECT_TRUE(np.egress.empty());
  EXPECT_TRUE(np.not_enforced.starts_with(c.field)) << np.not_enforced;
}

const BadCase kBad[] = {
    {"unknown_protocol", "  ingress: [{ports: [{protocol: ICMP, port: 1}]}]", "spec.ingress[0].ports[0].protocol"},
    {"lowercase_protocol", "  egress: [{ports: [{protocol: tcp}]}]", "spec.egress[0].ports[0].protocol"},
    {"port_zero", "  ingress: [{ports: [{port: 0}]}]", "spec.ingress[0].ports[0].port"},
    {"port_too_big", "  ingress: [{ports: [{port: 65536}]}]", "spec.ingress[0].ports[0].port"},
    {"bad_port_name", "  ingress: [{ports: [{port: Web_Port}]}]", "spec.ingress[0].ports[0].port"},
    {"endport_without_port", "  ingress: [{ports: [{endPort: 90}]}]", "spec.ingress[0].ports[0].endPort"},
    {"endport_with_name", "  ingress: [{ports: [{port: web, endPort: 90}]}]", "spec.ingress[0].ports[0].endPort"},
    {"endport_below_port", "  ingress: [{ports: [{port: 100, endPort: 90}]}]", "spec.ingress[0].ports[0].endPort"},
    {"bad_cidr", "  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]", "spec.ingress[0].from[0].ipBlock.cidr"},
    {"bad_cidr6", "  egress: [{to: [{ipBlock: {cidr: \"fd00::/129\"}}]}]", "spec.egress[0].to[0].ipBlock.cidr"},
    {"cidr_no_length", "  ingress: [{from: [{ipBlock: {cidr: 10.0.0.1}}]}]", "spec.ingress[0].from[0].ipBlock.cidr"},
    {"cidr_missing", "  ingress: [{from: [{ipBlock: {except: [10.0.0.0/24]}}]}]",
     "spec.ingress[0].from[0].ipBlock.cidr"},
    {"except_outside", "  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}]",
     "spec.ingress[0].from[0].ipBlock.except[0]"},
    {"except_equal", "  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/16]}}]}]",
     "spec.ingress[0].from[0].ipBlock.except[0]"},
    {"except_wider", "  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/8]}}]}]",
     "spec.ingress[0].from[0].ipBlock.except[0]"},
    {"except_other_family", "  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [\"fd00::/64\"]}}]}]",
     "spec.ingress[0].from[0].ipBlock.except[0]"},
    {"except6_outside", "  ingress: [{from: [{ipBlock: {cidr: \"fd00::/64\", except: [\"fd01::/96\"]}}]}]",
     "spec.ingress[0].from[0].ipBlock.except[0]"},
    {"ipblock_and_selector", "  ingress: [{from: [{podSelector: {}, ipBlock: {cidr: 10.0.0.0/8}}]}]",
     "spec.ingress[0].from[0]"},
    {"empty_peer", "  egress: [{to: [{}]}]", "spec.egress[0].to[0]"},
    {"unknown_operator", "  podSelector: {matchExpressions: [{key: a, operator: Equals, values: [b]}]}",
     "spec.podSelector.matchExpressions[0].operator"},
    {"in_without_values", "  podSelector: {matchExpressions: [{key: a, operator: In}]}",
     "spec.podSelector.matchExpressions[0].values"},
    {"exists_with_values", "  podSelector: {matchExpressions: [{key: a, operator: Exists, values: [b]}]}",
     "spec.podSelector.matchExpressions[0].values"},
    {"label_not_string", "  podSelector: {matchLabels: {a: [b]}}", "spec.podSelector.matchLabels.a"},
    {"unknown_policy_type", "  policyTypes: [Ingress, Both]", "spec.policyTypes[1]"},
    {"ingress_not_list", "  ingress: {from: []}", "spec.ingress"},
    {"ports_not_list", "  egress: [{ports: 80}]", "spec.egress[0].ports"},
    {"expression_not_object", "  podSelector: {matchExpressions: [a]}", "spec.podSelector.matchExpressions[0]"},
    // Fields this agent does not know: a newer NetworkPolicy feature.
    {"unknown_spec_field", "  podSelector: {}\n  futureField: {a: 1}", "spec.futureField: unknown field"},
    {"unknown_rule_field", "  ingress: [{from: [], action: Deny}]", "spec.ingress[0].action: unknown field"},
    {"unknown_peer_field", "  egress: [{to: [{podSelector: {}, serviceAccount: x}]}]",
     "spec.egress[0].to[0].serviceAccount: unknown field"},
    {"unknown_port_field", "  ingress: [{ports: [{port: 80, portRange: 90}]}]",
     "spec.ingress[0].ports[0].portRange: unknown field"},
    {"unknown_selector_field", "  ingress: [{from: [{namespaceSelector: {matchNames: [a]}}]}]",
     "spec.ingress[0].from[0].namespaceSelector.matchNames: unknown field"},
    {"unknown_expression_field", "  podSelector: {matchExpressions: [{key: a, operator: Exists, weight: 1}]}",
     "spec.podSelector.matchExpressions[0].weight: unknown field"},
    {"unknown_ipblock_field", "  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, exceptPorts: [1]}}]}]",
     "spec.egress[0].to[0].ipBlock.exceptPorts: unknown field"},
};

INSTANTIATE_TEST_SUITE_P(Table, ParseErrors, ::testing::ValuesIn(kBad),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Parse, NotEnforcedPolicySelectsWhatItCanRead) {
  auto one = [](const char* spec) {
    auto v = parse_network_policies_yaml(std::string("metadata: {name: p, namespace: x}\n") + spec);
    EXPECT_TRUE(v.has_value()) << spec;
    return v->at(0);
  };
  // Its podSelector and policyTypes parse: kept.
  NetworkPolicy np = one("spec:\n  podSelector: {matchLabels: {app: a}}\n  policyTypes: [Egress]\n"
                         "  egress: [{to: [{ipBlock: {cidr: nope}}]}]\n");
  EXPECT_FALSE(np.not_enforced.empty());
  EXPECT_EQ(np.pod_selector.match_labels, (Labels{{"app", "a"}}));
  EXPECT_EQ(std::pair(np.ingress_type, np.egress_type), std::pair(false, true));
  // Implied types: egress only with egress rules, parsed or not.
  np = one("spec:\n  podSelector: {}\n  ingress: [{ports: [{port: 0}]}]\n");
  EXPECT_EQ(std::pair(np.ingress_type, np.egress_type), std::pair(true, false));
  np = one("spec:\n  podSelector: {}\n  egress: [{ports: [{port: 0}]}]\n");
  EXPECT_EQ(std::pair(np.ingress_type, np.egress_type), std::pair(true, true));
  // Unreadable podSelector: every pod of the namespace.
  np = one("spec:\n  podSelector: {matchLabels: {app: a}, matchExpressions: [{key: b, operator: Near}]}\n"
           "  policyTypes: [Ingress]\n");
  EXPECT_EQ(np.pod_selector, LabelSelector{});
  EXPECT_EQ(std::pair(np.ingress_type, np.egress_type), std::pair(true, false));
  EXPECT_EQ(np.not_enforced, "spec.podSelector.matchExpressions[0].operator: unknown operator 'Near' (want In, NotIn, "
                             "Exists or DoesNotExist)");
  // Unreadable policyTypes or egress: both directions.
  np = one("spec:\n  podSelector: {matchLabels: {app: a}}\n  policyTypes: [Ingress, Sideways]\n");
  EXPECT_EQ(std::pair(np.ingress_type, np.egress_type), std::pair(true, true));
  EXPECT_EQ(np.pod_selector.match_labels, (Labels{{"app", "a"}}));
  np = one("spec:\n  podSelector: {}\n  egress: {to: []}\n");
  EXPECT_EQ(std::pair(np.ingress_type, np.egress_type), std::pair(true, true));
  // No spec at all: every pod, both directions.
  np = one("kind: NetworkPolicy\n");
  EXPECT_EQ(np.not_enforced, "spec: required");
  EXPECT_EQ(np.pod_selector, LabelSelector{});
  EXPECT_EQ(std::pair(np.ingress_type, np.egress_type), std::pair(true, true));
  // A null field is no field (the API server leaves them out).
  np = one("spec:\n  podSelector: {}\n  futureField: null\n  ingress: [{from: null, ports: [{port: 80, endPort: null}]}]\n");
  EXPECT_EQ(np.not_enforced, "");
  EXPECT_EQ(np.ingress.size(), 1u);
}

TEST(Parse, MissingMetadataAndKind) {
  EXPECT_FALSE(parse_network_policy(json::parse(R"({"spec": {}})")).has_value());
  auto wrong = parse_network_policy(json::parse(R"({"kind": "Pod", "metadata": {"name": "p"}, "spec": {}})"));
  ASSERT_FALSE(wrong.has_value());
  EXPECT_NE(wrong.error().context.find("kind"), std::string::npos);
  auto yaml = parse_network_policies_yaml("metadata: {name: [unclosed");
  ASSERT_FALSE(yaml.has_value());
  EXPECT_EQ(yaml.error().op, "parse yaml");
}

}  // namespace
}  // namespace strand::policy

namespace strand::policy {
namespace {

TEST(Parse, ClusterFromKubectlList) {
  auto c = parse_cluster(nlohmann::json::parse(R"({"kind": "List", "items": [
    {"kind": "Namespace", "metadata": {"name": "x", "labels": {"ns": "x"}}},
    {"kind": "Pod", "metadata": {"name": "a", "namespace": "x"}, "status": {"podIP": "10.0.0.1"}},
    {"kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "x"}, "spec": {"podSelector": {}}},
    {"kind": "Node", "metadata": {"name": "n1"}, "status": {"addresses": [
      {"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "172.16.0.10"}]}},
    {"kind": "Service", "metadata": {"name": "skipped", "namespace": "x"}}
  ]})"));
  ASSERT_TRUE(c.has_value()) << c.error().message();
  ASSERT_EQ(c->namespaces.size(), 1u);
  ASSERT_EQ(c->pods.size(), 1u);
  ASSERT_EQ(c->policies.size(), 1u);
  EXPECT_EQ(c->policies[0].id(), "x/deny");
  ASSERT_EQ(c->node_ips.size(), 1u);
  EXPECT_EQ(c->node_ips[0].str(), "172.16.0.10");

  auto bad = parse_cluster(nlohmann::json::parse(R"({"items": [{"kind": "Namespace", "metadata": {}}]})"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().context.find("items[0]"), std::string::npos) << bad.error().message();
  EXPECT_NE(bad.error().context.find("metadata.name"), std::string::npos) << bad.error().message();
}

}  // namespace
}  // namespace strand::policy
