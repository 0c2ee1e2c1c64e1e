// Endpoints outside the pod grid (outside addresses, nodes) and the
// explanation each verdict carries.
#include "tests/unit/policy/fixture.h"

namespace strand::policy::testing {
namespace {

TEST(Evaluate, UnrestrictedExplains) {
  Cluster c = make_cluster();
  Verdict v = evaluate(c, PodRef{"x", "a"}, PodRef{"y", "b"}, 80, Protocol::kTcp);
  EXPECT_TRUE(v.allowed);
  EXPECT_TRUE(v.egress.isolated_by.empty());
  EXPECT_TRUE(v.ingress.isolated_by.empty());
  EXPECT_EQ(v.egress.reason, "egress of x/a not isolated");
  EXPECT_EQ(v.ingress.reason, "ingress of y/b not isolated");
}

TEST(Evaluate, NamesIsolatingPoliciesAndAllowingRule) {
  Cluster c = with_policies(R"(
metadata: {name: deny, namespace: x}
spec:
  podSelector: {}
---
metadata: {name: from-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {ns: z}}}]
  - from: [{namespaceSelector: {matchLabels: {ns: y}}}]
)");
  Verdict ok = evaluate(c, PodRef{"y", "c"}, PodRef{"x", "a"}, 80, Protocol::kTcp);
  EXPECT_TRUE(ok.allowed);
  EXPECT_EQ(ok.ingress.isolated_by, (std::vector<std::string>{"x/deny", "x/from-y"}));
  ASSERT_TRUE(ok.ingress.allowed_by.has_value());
  EXPECT_EQ(ok.ingress.allowed_by->policy, "x/from-y");
  EXPECT_EQ(ok.ingress.allowed_by->index, 1u);
  EXPECT_EQ(ok.ingress.reason, "ingress of x/a allowed by x/from-y ingress[1]");

  Verdict no = evaluate(c, PodRef{"x", "b"}, PodRef{"x", "a"}, 80, Protocol::kTcp);
  EXPECT_FALSE(no.allowed);
  EXPECT_TRUE(no.egress.allowed);
  EXPECT_FALSE(no.ingress.allowed);
  EXPECT_FALSE(no.ingress.allowed_by.has_value());
  EXPECT_EQ(no.ingress.reason, "ingress of x/a isolated by x/deny, x/from-y, no rule allows");
  EXPECT_EQ(no.reason,
            "denied x/b -> x/a 80/TCP: egress of x/b not isolated; "
            "ingress of x/a isolated by x/deny, x/from-y, no rule allows");
}

TEST(Evaluate, OutsideAddressesOnlyMatchIpBlocks) {
  Cluster c = with_policies(R"(
metadata: {name: out, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress, Ingress]
  egress:
  - to:
    - namespaceSelector: {}
    - ipBlock: {cidr: 192.0.2.0/24, except: [192.0.2.128/25]}
  ingress:
  - from:
    - podSelector: {}
    - ipBlock: {cidr: "2001:db8::/32"}
)");
  EXPECT_TRUE(evaluate(c, PodRef{"x", "a"}, ip("192.0.2.1"), 443, Protocol::kTcp).allowed);
  EXPECT_FALSE(evaluate(c, PodRef{"x", "a"}, ip("192.0.2.200"), 443, Protocol::kTcp).allowed);
  EXPECT_FALSE(evaluate(c, PodRef{"x", "a"}, ip("198.51.100.1"), 443, Protocol::kTcp).allowed);
  // namespaceSelector {} selects every pod, never an outside address.
  EXPECT_TRUE(evaluate(c, PodRef{"x", "a"}, PodRef{"z", "c"}, 443, Protocol::kTcp).allowed);
  EXPECT_TRUE(evaluate(c, ip("2001:db8::5"), PodRef{"x", "a"}, 80, Protocol::kTcp).allowed);
  EXPECT_FALSE(evaluate(c, ip("2001:db9::5"), PodRef{"x", "a"}, 80, Protocol::kTcp).allowed);
  EXPECT_FALSE(evaluate(c, ip("10.0.2.1"), PodRef{"x", "a"}, 80, Protocol::kTcp).allowed);  // y/a
  EXPECT_TRUE(evaluate(c, ip("10.0.1.2"), PodRef{"x", "a"}, 80, Protocol::kTcp).allowed);   // x/b
  // An outside source has no egress policy of its own.
  Verdict v = evaluate(c, ip("2001:db8::5"), PodRef{"x", "a"}, 80, Protocol::kTcp);
  EXPECT_TRUE(v.egress.allowed);
  EXPECT_TRUE(v.egress.isolated_by.empty());
}

TEST(Evaluate, NamedPortNeverMatchesOutsideAddress) {
  Cluster c = with_policies(R"(
metadata: {name: named-out, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 0.0.0.0/0}
    ports:
    - port: serve-80-tcp
)");
  EXPECT_FALSE(evaluate(c, PodRef{"x", "a"}, ip("192.0.2.1"), 80, Protocol::kTcp).allowed);
  EXPECT_TRUE(evaluate(c, PodRef{"x", "a"}, PodRef{"y", "a"}, 80, Protocol::kTcp).allowed);
  EXPECT_FALSE(evaluate(c, PodRef{"x", "a"}, PodRef{"y", "a"}, 81, Protocol::kTcp).allowed);
}

TEST(Evaluate, NodeTrafficPasses) {
  Cluster c = with_policies(R"(
metadata: {name: lockdown, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
)");
  c.node_ips = {ip("172.16.0.10")};
  EXPECT_TRUE(evaluate(c, ip("172.16.0.10"), PodRef{"x", "a"}, 8080, Protocol::kTcp).allowed);
  EXPECT_TRUE(evaluate(c, PodRef{"x", "a"}, ip("172.16.0.10"), 10250, Protocol::kTcp).allowed);
  EXPECT_FALSE(evaluate(c, ip("172.16.0.11"), PodRef{"x", "a"}, 8080, Protocol::kTcp).allowed);
  EXPECT_FALSE(evaluate(c, PodRef{"x", "a"}, ip("172.16.0.11"), 8080, Protocol::kTcp).allowed);
}

TEST(Evaluate, PodAddressIsThePod) {
  // Reaching y/b by its address is judged like reaching the pod.
  Cluster c = with_policies(R"(
metadata: {name: from-x, namespace: y}
spec:
  podSelector: {matchLabels: {pod: b}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {ns: x}}}]
)");
  EXPECT_TRUE(evaluate(c, PodRef{"x", "c"}, ip("10.0.2.2"), 80, Protocol::kTcp).allowed);
  EXPECT_FALSE(evaluate(c, PodRef{"z", "c"}, ip("fd00::2:2"), 80, Protocol::kTcp).allowed);
}

}  // namespace
}  // namespace strand::policy::testing

namespace strand::policy::testing {
namespace {

TEST(Evaluate, UnknownPodIsDenied) {
  Cluster c = make_cluster();
  Verdict v = evaluate(c, PodRef{"x", "q"}, PodRef{"x", "a"}, 80, Protocol::kTcp);
  EXPECT_FALSE(v.allowed);
  EXPECT_FALSE(v.egress.allowed);
  EXPECT_EQ(v.reason, "unknown pod x/q");
  Verdict w = evaluate(c, PodRef{"x", "a"}, PodRef{"w", "a"}, 80, Protocol::kTcp);
  EXPECT_FALSE(w.allowed);
  EXPECT_FALSE(w.ingress.allowed);
  EXPECT_EQ(w.reason, "unknown pod w/a");
}

}  // namespace
}  // namespace strand::policy::testing
