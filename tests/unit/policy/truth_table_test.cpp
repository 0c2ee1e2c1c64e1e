// Truth tables: each case is a set of policies and the full 9x9 reachability
// grid it implies, worked out by hand from the NetworkPolicy v1 semantics.
// Rows are sources, columns destinations; a pod always reaches itself (loopback).
#include "tests/unit/policy/fixture.h"

namespace strand::policy::testing {
namespace {

constexpr Protocol kTcp = Protocol::kTcp;
constexpr Protocol kUdp = Protocol::kUdp;
constexpr Protocol kSctp = Protocol::kSctp;

const std::string kAllAllowed = grid(R"(
xa ... ... ...
xb ... ... ...
xc ... ... ...
ya ... ... ...
yb ... ... ...
yc ... ... ...
za ... ... ...
zb ... ... ...
zc ... ... ...
)");

// Nothing reaches x's pods except themselves.
const std::string kXIngressDenied = grid(R"(
xa .XX ... ...
xb X.X ... ...
xc XX. ... ...
ya XXX ... ...
yb XXX ... ...
yc XXX ... ...
za XXX ... ...
zb XXX ... ...
zc XXX ... ...
)");

// x's pods reach nothing but themselves.
const std::string kXEgressDenied = grid(R"(
xa .XX XXX XXX
xb X.X XXX XXX
xc XX. XXX XXX
ya ... ... ...
yb ... ... ...
yc ... ... ...
za ... ... ...
zb ... ... ...
zc ... ... ...
)");

TEST(TruthTable, NoPoliciesAllowsEverything) {
  Cluster c = make_cluster();
  EXPECT_EQ(matrix(c, 80, kTcp), kAllAllowed);
  EXPECT_EQ(matrix(c, 81, kUdp), kAllAllowed);
}

TEST(TruthTable, DenyAllIngress) {
  Cluster c = with_policies(R"(
kind: NetworkPolicy
metadata: {name: deny, namespace: x}
spec:
  podSelector: {}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), kXIngressDenied);
  EXPECT_EQ(matrix(c, 81, kUdp), kXIngressDenied);
}

TEST(TruthTable, AllowFromSameNamespace) {
  Cluster c = with_policies(R"(
metadata: {name: same-ns, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from:
    - podSelector: {}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), grid(R"(
xa ... ... ...
xb ... ... ...
xc ... ... ...
ya XXX ... ...
yb XXX ... ...
yc XXX ... ...
za XXX ... ...
zb XXX ... ...
zc XXX ... ...
)"));
}

TEST(TruthTable, EmptyIngressRuleAllowsAll) {
  Cluster c = with_policies(R"(
metadata: {name: allow-all, namespace: x}
spec:
  podSelector: {}
  ingress:
  - {}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), kAllAllowed);
}

TEST(TruthTable, NamespaceSelector) {
  Cluster c = with_policies(R"(
metadata: {name: from-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), grid(R"(
xa ... ... ...
xb X.. ... ...
xc X.. ... ...
ya ... ... ...
yb ... ... ...
yc ... ... ...
za X.. ... ...
zb X.. ... ...
zc X.. ... ...
)"));
}

TEST(TruthTable, PodAndNamespaceSelectorInOnePeerAreAnd) {
  Cluster c = with_policies(R"(
metadata: {name: yb-only, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
      podSelector: {matchLabels: {pod: b}}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), grid(R"(
xa ... ... ...
xb X.. ... ...
xc X.. ... ...
ya X.. ... ...
yb ... ... ...
yc X.. ... ...
za X.. ... ...
zb X.. ... ...
zc X.. ... ...
)"));
}

TEST(TruthTable, TwoPeersAreOr) {
  Cluster c = with_policies(R"(
metadata: {name: y-or-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
    - podSelector: {matchLabels: {pod: b}}
)");
  // podSelector alone is x's b only; zb stays out.
  EXPECT_EQ(matrix(c, 80, kTcp), grid(R"(
xa ... ... ...
xb ... ... ...
xc X.. ... ...
ya ... ... ...
yb ... ... ...
yc ... ... ...
za X.. ... ...
zb X.. ... ...
zc X.. ... ...
)"));
}

TEST(TruthTable, UnionOfTwoPolicies) {
  Cluster c = with_policies(R"(
metadata: {name: from-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
---
metadata: {name: from-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - podSelector: {matchLabels: {pod: b}}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), grid(R"(
xa ... ... ...
xb ... ... ...
xc X.. ... ...
ya ... ... ...
yb ... ... ...
yc ... ... ...
za X.. ... ...
zb X.. ... ...
zc X.. ... ...
)"));
}

TEST(TruthTable, UnionWithDenyAllKeepsAllows) {
  Cluster c = with_policies(R"(
metadata: {name: deny, namespace: x}
spec:
  podSelector: {}
---
metadata: {name: from-z-c, namespace: x}
spec:
  podSelector: {matchLabels: {pod: c}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: z}}
      podSelector: {matchLabels: {pod: c}}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), grid(R"(
xa .XX ... ...
xb X.X ... ...
xc XX. ... ...
ya XXX ... ...
yb XXX ... ...
yc XXX ... ...
za XXX ... ...
zb XXX ... ...
zc XX. ... ...
)"));
}

TEST(TruthTable, MatchExpressionIn) {
  Cluster c = with_policies(R"(
metadata: {name: in, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {}
      podSelector:
        matchExpressions: [{key: pod, operator: In, values: [a, b]}]
)");
  EXPECT_EQ(matrix(c, 80, kTcp), grid(R"(
xa ... ... ...
xb ... ... ...
xc XX. ... ...
ya ... ... ...
yb ... ... ...
yc XXX ... ...
za ... ... ...
zb ... ... ...
zc XXX ... ...
)"));
}

TEST(TruthTable, MatchExpressionNotIn) {
  Cluster c = with_policies(R"(
metadata: {name: notin, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {}
      podSelector:
        matchExpressions: [{key: pod, operator: NotIn, values: [a, b]}]
)");
  EXPECT_EQ(matrix(c, 80, kTcp), grid(R"(
xa .XX ... ...
xb X.X ... ...
xc ... ... ...
ya XXX ... ...
yb XXX ... ...
yc ... ... ...
za XXX ... ...
zb XXX ... ...
zc ... ... ...
)"));
}

TEST(TruthTable, MatchExpressionExists) {
  Cluster c = with_policies(R"(
metadata: {name: exists, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions: [{key: ns, operator: Exists}]
)");
  EXPECT_EQ(matrix(c, 80, kTcp), kAllAllowed);
}

TEST(TruthTable, MatchExpressionDoesNotExist) {
  Cluster c = with_policies(R"(
metadata: {name: doesnotexist, namespace: x}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions: [{key: ns, operator: DoesNotExist}]
)");
  EXPECT_EQ(matrix(c, 80, kTcp), kXIngressDenied);
}

TEST(TruthTable, MatchExpressionDoesNotExistOnPodSelector) {
  // Selects the pods without a "team" label: all of x's.
  Cluster c = with_policies(R"(
metadata: {name: unlabelled, namespace: x}
spec:
  podSelector:
    matchExpressions: [{key: team, operator: DoesNotExist}]
)");
  EXPECT_EQ(matrix(c, 80, kTcp), kXIngressDenied);
}

const std::string kXaNotFromY = grid(R"(
xa ... ... ...
xb ... ... ...
xc ... ... ...
ya X.. ... ...
yb X.. ... ...
yc X.. ... ...
za ... ... ...
zb ... ... ...
zc ... ... ...
)");

TEST(TruthTable, IpBlockV4WithExcept) {
  Cluster c = with_policies(R"(
metadata: {name: cidr, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.0/24]}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), kXaNotFromY);
}

TEST(TruthTable, IpBlockV6WithExcept) {
  Cluster c = with_policies(R"(
metadata: {name: cidr6, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - ipBlock: {cidr: "fd00::/64", except: ["fd00::2:0/112"]}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), kXaNotFromY);
}

TEST(TruthTable, IpBlockEgressToPodIps) {
  Cluster c = with_policies(R"(
metadata: {name: to-z, namespace: y}
spec:
  podSelector: {}
  egress:
  - to:
    - ipBlock: {cidr: 10.0.3.0/24}
)");
  // No policyTypes: Ingress is implied as well, so y is closed to others.
  EXPECT_EQ(matrix(c, 80, kTcp), grid(R"(
xa ... XXX ...
xb ... XXX ...
xc ... XXX ...
ya XXX .XX ...
yb XXX X.X ...
yc XXX XX. ...
za ... XXX ...
zb ... XXX ...
zc ... XXX ...
)"));
}

TEST(TruthTable, NamedPortIngress) {
  Cluster c = with_policies(R"(
metadata: {name: web, namespace: x}
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: web
)");
  // "web" is 8080 on c and 8081 on a and b.
  EXPECT_EQ(matrix(c, 8080, kTcp), grid(R"(
xa .X. ... ...
xb X.. ... ...
xc XX. ... ...
ya XX. ... ...
yb XX. ... ...
yc XX. ... ...
za XX. ... ...
zb XX. ... ...
zc XX. ... ...
)"));
  EXPECT_EQ(matrix(c, 8081, kTcp), grid(R"(
xa ..X ... ...
xb ..X ... ...
xc ... ... ...
ya ..X ... ...
yb ..X ... ...
yc ..X ... ...
za ..X ... ...
zb ..X ... ...
zc ..X ... ...
)"));
  EXPECT_EQ(matrix(c, 80, kTcp), kXIngressDenied);
}

TEST(TruthTable, NamedPortMatchesProtocolToo) {
  Cluster c = with_policies(R"(
metadata: {name: udp81, namespace: x}
spec:
  podSelector: {}
  ingress:
  - ports:
    - {protocol: UDP, port: serve-81-udp}
    - {port: serve-80-udp}
)");
  EXPECT_EQ(matrix(c, 81, kUdp), kAllAllowed);
  EXPECT_EQ(matrix(c, 81, kTcp), kXIngressDenied);
  // serve-80-udp is UDP, but the policy port defaults to TCP: it never matches.
  EXPECT_EQ(matrix(c, 80, kUdp), kXIngressDenied);
  EXPECT_EQ(matrix(c, 80, kTcp), kXIngressDenied);
}

TEST(TruthTable, NamedPortEgressResolvesAtDestination) {
  Cluster c = with_policies(R"(
metadata: {name: web-out, namespace: y}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - ports:
    - port: web
)");
  EXPECT_EQ(matrix(c, 8080, kTcp), grid(R"(
xa ... ... ...
xb ... ... ...
xc ... ... ...
ya XX. .X. XX.
yb XX. X.. XX.
yc XX. XX. XX.
za ... ... ...
zb ... ... ...
zc ... ... ...
)"));
}

TEST(TruthTable, EndPortRange) {
  Cluster c = with_policies(R"(
metadata: {name: range, namespace: x}
spec:
  podSelector: {}
  ingress:
  - ports:
    - {protocol: TCP, port: 80, endPort: 81}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), kAllAllowed);
  EXPECT_EQ(matrix(c, 81, kTcp), kAllAllowed);
  EXPECT_EQ(matrix(c, 79, kTcp), kXIngressDenied);
  EXPECT_EQ(matrix(c, 82, kTcp), kXIngressDenied);
  EXPECT_EQ(matrix(c, 80, kUdp), kXIngressDenied);
}

TEST(TruthTable, EgressDenyAll) {
  Cluster c = with_policies(R"(
metadata: {name: deny-out, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
)");
  EXPECT_EQ(matrix(c, 80, kTcp), kXEgressDenied);
}

TEST(TruthTable, EgressAllowToNamespace) {
  Cluster c = with_policies(R"(
metadata: {name: to-y, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {ns: y}}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), grid(R"(
xa .XX ... XXX
xb X.X ... XXX
xc XX. ... XXX
ya ... ... ...
yb ... ... ...
yc ... ... ...
za ... ... ...
zb ... ... ...
zc ... ... ...
)"));
}

TEST(TruthTable, ExplicitEgressTypeWithoutRulesDeniesEgress) {
  Cluster c = with_policies(R"(
metadata: {name: both, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress:
  - {}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), kXEgressDenied);
}

TEST(TruthTable, ImpliedTypesIncludeIngress) {
  // Only egress rules and no policyTypes: Ingress is implied too, with no
  // ingress rules, so x is closed to others while its egress is open.
  Cluster c = with_policies(R"(
metadata: {name: egress-only-rules, namespace: x}
spec:
  podSelector: {}
  egress:
  - to:
    - namespaceSelector: {}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), kXIngressDenied);
}

TEST(TruthTable, ExplicitEgressOnlyLeavesIngressOpen) {
  Cluster c = with_policies(R"(
metadata: {name: egress-only, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), kAllAllowed);
}

TEST(TruthTable, EgressAndIngressBothNeeded) {
  // z may only send to y's b; y's b only accepts from x: z reaches nothing.
  Cluster c = with_policies(R"(
metadata: {name: z-out, namespace: z}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {ns: y}}
      podSelector: {matchLabels: {pod: b}}
---
metadata: {name: yb-in, namespace: y}
spec:
  podSelector: {matchLabels: {pod: b}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: x}}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), grid(R"(
xa ... ... ...
xb ... ... ...
xc ... ... ...
ya ... .X. ...
yb ... ... ...
yc ... .X. ...
za XXX XXX .XX
zb XXX XXX X.X
zc XXX XXX XX.
)"));
}

TEST(TruthTable, UdpVersusTcp) {
  Cluster c = with_policies(R"(
metadata: {name: udp80, namespace: x}
spec:
  podSelector: {}
  ingress:
  - ports:
    - {protocol: UDP, port: 80}
)");
  EXPECT_EQ(matrix(c, 80, kUdp), kAllAllowed);
  EXPECT_EQ(matrix(c, 80, kTcp), kXIngressDenied);
  EXPECT_EQ(matrix(c, 81, kUdp), kXIngressDenied);
}

TEST(TruthTable, SctpAnyPort) {
  Cluster c = with_policies(R"(
metadata: {name: sctp, namespace: x}
spec:
  podSelector: {}
  ingress:
  - ports:
    - protocol: SCTP
)");
  EXPECT_EQ(matrix(c, 80, kSctp), kAllAllowed);
  EXPECT_EQ(matrix(c, 9999, kSctp), kAllAllowed);
  EXPECT_EQ(matrix(c, 80, kTcp), kXIngressDenied);
}

TEST(TruthTable, PolicyOnlyAppliesInItsNamespace) {
  // pod=a in y and z match the selector but the policy lives in x.
  Cluster c = with_policies(R"(
metadata: {name: deny-a, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
)");
  EXPECT_EQ(matrix(c, 80, kTcp), grid(R"(
xa ... ... ...
xb X.. ... ...
xc X.. ... ...
ya X.. ... ...
yb X.. ... ...
yc X.. ... ...
za X.. ... ...
zb X.. ... ...
zc X.. ... ...
)"));
}

}  // namespace
}  // namespace strand::policy::testing
