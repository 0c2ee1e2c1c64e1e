// strandctl against the agent's own JSON: the bodies of GET /v1/why and
// /v1/policies as agent/enforce/view.cpp and agent/model/policies_json.cpp
// build them from a model (no enforcer: that needs the datapath), rendered by
// strandctl. Catches a drift between the API's shapes and what ctl expects.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/enforce/view.h"
#include "agent/model/model.h"
#include "agent/model/objects.h"
#include "agent/model/policies_json.h"
#include "agent/policy/compile.h"
#include "ctl/policies.h"
#include "ctl/why.h"

namespace strand::ctl {
namespace {

// Namespaces x and y, pods a and b in each (labels pod=<name>, ns=<name>);
// y/deny-all isolates y's ingress, y/allow-web lets x/a reach y/b on 80/TCP,
// x/egress-dns limits x/b's egress to 53/UDP.
constexpr const char* kManifests[] = {
    R"({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labels": {"ns": "x"}}})",
    R"({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "y", "labels": {"ns": "y"}}})",
    R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x", "labels": {"pod": "a"}},
        "spec": {"nodeName": "n1"}, "status": {"podIP": "10.99.0.2", "podIPs": [{"ip": "10.99.0.2"}]}})",
    R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b", "namespace": "x", "labels": {"pod": "b"}},
        "spec": {"nodeName": "n1"}, "status": {"podIP": "10.99.0.3", "podIPs": [{"ip": "10.99.0.3"}]}})",
    R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "y", "labels": {"pod": "a"}},
        "spec": {"nodeName": "n2"}, "status": {"podIP": "10.99.1.2", "podIPs": [{"ip": "10.99.1.2"}]}})",
    R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b", "namespace": "y", "labels": {"pod": "b"}},
        "spec": {"nodeName": "n2"}, "status": {"podIP": "10.99.1.3", "podIPs": [{"ip": "10.99.1.3"}]}})",
    R"({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny-all", "namespace": "y"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})",
    R"({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow-web", "namespace": "y"},
        "spec": {"podSelector": {"matchLabels": {"pod": "b"}}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"ns": "x"}},
                                        "podSelector": {"matchLabels": {"pod": "a"}}}],
                              "ports": [{"protocol": "TCP", "port": 80}]}]}})",
    R"({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "egress-dns", "namespace": "x"},
        "spec": {"podSelector": {"matchLabels": {"pod": "b"}}, "policyTypes": ["Egress"],
                 "egress": [{"ports": [{"protocol": "UDP", "port": 53}]}]}})",
};

class CtlContract : public ::testing::Test {
 protected:
  void SetUp() override {
    model::Update u;
    for (const char* m : kManifests) {
      auto obj = model::parse_object(nlohmann::json::parse(m));
      ASSERT_TRUE(obj && *obj) << m;
      u.upserts.push_back(std::move(**obj));
    }
    model_.apply(std::move(u));
  }

  // The agent's body, as strandctl receives it (through text).
  json why(const std::string& from, const std::string& to, const std::string& port) {
    auto pp = enforce::parse_port_proto(port);
    EXPECT_TRUE(pp) << port;
    enforce::WhyQuery q{from, to, pp->first, pp->second};
    auto body = enforce::why_json(model_, nullptr, q);
    EXPECT_TRUE(body) << (body ? "" : body.error().message());
    return json::parse(body->dump());
  }

  model::Model model_;
};

TEST_F(CtlContract, WhyAllowedByARule) {
  const json body = why("x/a", "y/b", "80/TCP");
  EXPECT_EQ(why_allowed(body), true);
  EXPECT_EQ(render_why(body),
            "ALLOWED  x/a -> y/b 80/TCP\n"
            "  egress of x/a:   allowed: not isolated, no policy selects x/a for egress\n"
            "  ingress of y/b:  allowed by y/allow-web ingress[0]; isolated by y/allow-web, y/deny-all\n"
            "  note: this agent does not enforce NetworkPolicy; the verdict is what the policies say\n");
}

TEST_F(CtlContract, WhyDeniedOnIngress) {
  const json body = why("x/b", "y/b", "80/tcp");
  EXPECT_EQ(why_allowed(body), false);
  EXPECT_EQ(render_why(body),
            "DENIED  x/b -> y/b 80/TCP\n"
            "  egress of x/b:   denied: isolated by x/egress-dns and no egress rule of it allows y/b on 80/TCP\n"
            "  ingress of y/b:  denied: isolated by y/allow-web, y/deny-all and no ingress rule of them allows x/b on "
            "80/TCP\n"
            "  note: this agent does not enforce NetworkPolicy; the verdict is what the policies say\n");
}

TEST_F(CtlContract, WhyToAnOutsideAddress) {
  const json body = why("x/b", "192.0.2.10", "53/UDP");
  EXPECT_EQ(why_allowed(body), true);
  EXPECT_EQ(render_why(body),
            "ALLOWED  x/b -> 192.0.2.10 53/UDP\n"
            "  egress of x/b:          allowed by x/egress-dns egress[0]; isolated by x/egress-dns\n"
            "  ingress of 192.0.2.10:  allowed: not a pod, no ingress policy applies\n"
            "  note: this agent does not enforce NetworkPolicy; the verdict is what the policies say\n");
  const json denied = why("x/b", "192.0.2.10", "443");
  EXPECT_EQ(why_allowed(denied), false);
}

TEST_F(CtlContract, WhyDeniedByAPolicyWithAnUnknownField) {
  // x/future has a field this agent does not know: it isolates x/a (its
  // podSelector) and allows nothing, so x/a fails closed on ingress.
  auto obj = model::parse_object(nlohmann::json::parse(
      R"({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "future", "namespace": "x"},
          "spec": {"podSelector": {"matchLabels": {"pod": "a"}}, "policyTypes": ["Ingress"],
                   "ingress": [{"from": [{"podSelector": {}}], "futureField": true}]}})"));
  ASSERT_TRUE(obj && *obj);
  model_.upsert(std::move(**obj));
  const json body = why("x/b", "x/a", "80");
  EXPECT_EQ(why_allowed(body), false);
  EXPECT_EQ(body["ingress"]["notEnforced"],
            json::parse(R"js([{"policy": "x/future",
                               "reason": "spec.ingress[0].futureField: unknown field (not enforceable by this agent)"}])js"));
  EXPECT_EQ(render_why(body),
            "DENIED  x/b -> x/a 80/TCP\n"
            "  egress of x/b:   denied: isolated by x/egress-dns and no egress rule of it allows x/a on 80/TCP\n"
            "  ingress of x/a:  denied: isolated by x/future and no ingress rule of it allows x/b on 80/TCP; x/future is "
            "not enforced, fails closed: spec.ingress[0].futureField: unknown field (not enforceable by this agent)\n"
            "  note: this agent does not enforce NetworkPolicy; the verdict is what the policies say\n");
}

TEST_F(CtlContract, WhyDeniedByAPolicyTheCompilerKeptOut) {
  // One rule id only: x/egress-dns (first in admission order) takes it,
  // y/allow-web does not fit and is not enforced; y/b fails closed.
  policy::Cluster cluster = model_.cluster();
  policy::CompilerLimits lim;
  lim.max_rules = STRAND_RULE_FIRST + 1;
  policy::Compiler comp(lim);
  (void)comp.update({&cluster, {}, {}});
  ASSERT_FALSE(comp.policy_status("y/allow-web").enforced);
  auto body = enforce::why_answer(cluster, &comp, {"x/a", "y/b", 80, policy::Protocol::kTcp});
  ASSERT_TRUE(body) << body.error().message();
  EXPECT_EQ(why_allowed(*body), false);
  EXPECT_EQ(render_why(json::parse(body->dump())),
            "DENIED  x/a -> y/b 80/TCP\n"
            "  egress of x/a:   allowed: not isolated, no policy selects x/a for egress\n"
            "  ingress of y/b:  denied: isolated by y/allow-web, y/deny-all and no ingress rule of them allows x/a on "
            "80/TCP; y/allow-web is not enforced, fails closed: rule ids exhausted: 1 needed, 0 free\n");
  // The enforced policy names its rule id.
  auto dns = enforce::why_answer(cluster, &comp, {"x/b", "192.0.2.10", 53, policy::Protocol::kUdp});
  ASSERT_TRUE(dns);
  EXPECT_EQ((*dns)["egress"]["allowedBy"]["ruleId"], STRAND_RULE_FIRST);
}

TEST_F(CtlContract, PoliciesFromTheModel) {
  // Without an enforcer: model::policies_json only (not enforced, no local
  // endpoints, no hits, no versions).
  const json body = json::parse(model::policies_json(model_).dump());
  EXPECT_EQ(render_policies(body),
            "NAMESPACE  NAME        TYPES    ENFORCED  SELECTS  LOCAL  RULES  HITS\n"
            "x          egress-dns  Egress   no        b        -      1      -\n"
            "y          allow-web   Ingress  no        b        -      1      -\n"
            "y          deny-all    Ingress  no        a,b      -      0      -\n"
            "not enforced: x/egress-dns: " + std::string(model::kNotEnforcedReason) + "\n"
            "not enforced: y/allow-web: " + std::string(model::kNotEnforcedReason) + "\n"
            "not enforced: y/deny-all: " + std::string(model::kNotEnforcedReason) + "\n");
}

}  // namespace
}  // namespace strand::ctl
