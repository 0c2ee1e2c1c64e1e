// Hand-written cases for the policy compiler, each with the exact entries
// it must produce.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "agent/policy/id_alloc.h"
#include "agent/policy/policy_table.h"
#include "agent/policy/port_blocks.h"
#include "agent/policy/regions.h"
#include "tests/unit/policy/compile_harness.h"

namespace strand::policy::testing {
namespace {

using Map = std::map<PolicyKey, uint32_t>;
constexpr auto kIn = Direction::kIngress;
constexpr auto kEg = Direction::kEgress;
constexpr uint32_t kAnyId = STRAND_POLICY_ANY_IDENTITY;

// x/a {app=a} web:8080/TCP, x/b {app=b}, y/c {app=c} web:9090/TCP; a and b
// are local endpoints 1 and 2; the node is 10.0.0.254.
struct CompileCases : ::testing::Test {
  Cluster c;
  std::vector<LocalEndpoint> eps;
  std::vector<IpAddr> hosts{addr("10.0.0.254")};
  Compiler comp;

  CompileCases() {
    c.namespaces = {{"x", {{"ns", "x"}}}, {"y", {{"ns", "y"}}}};
    c.pods = {
        {"x", "a", {{"app", "a"}}, {addr("10.0.1.1"), addr("fd00::1:1")}, {{"web", 8080, Protocol::kTcp}}},
        {"x", "b", {{"app", "b"}}, {addr("10.0.1.2")}, {}},
        {"y", "c", {{"app", "c"}}, {addr("10.0.2.3")}, {{"web", 9090, Protocol::kTcp}}},
    };
    eps = {{1, "x", "a", {addr("10.0.1.1"), addr("fd00::1:1")}, false}, {2, "x", "b", {addr("10.0.1.2")}, false}};
  }

  Delta run() { return comp.update({&c, eps, hosts}); }
  uint32_t id_of(std::string_view ip) { return comp.state().ipcache.at(host(ip)).identity; }
  static IpPrefix host(std::string_view ip) {
    IpAddr a = addr(ip);
    return IpPrefix{a, static_cast<uint8_t>(a.max_prefix())};
  }
  NetworkPolicy& add(std::string ns, std::string name, LabelSelector sel) {
    NetworkPolicy np;
    np.ns = std::move(ns);
    np.name = std::move(name);
    np.pod_selector = std::move(sel);
    c.policies.push_back(np);
    return c.policies.back();
  }
  uint32_t rule0(const std::string& policy) {
    auto ids = comp.rules_of(policy);
    EXPECT_FALSE(ids.empty()) << policy;
    return ids.empty() ? 0 : ids.front();
  }
};

LabelSelector app(std::string v) { return LabelSelector{{{"app", std::move(v)}}, {}}; }
Peer pod_peer(LabelSelector s) { return Peer{s, std::nullopt, std::nullopt}; }
Peer ns_peer(LabelSelector s) { return Peer{std::nullopt, s, std::nullopt}; }
Peer block_peer(std::string_view cidr, std::vector<std::string_view> except = {}) {
  IpBlock b{pfx(cidr), {}};
  for (auto x : except) b.except.push_back(pfx(x));
  return Peer{std::nullopt, std::nullopt, b};
}
PolicyPort tcp(uint16_t port) { return PolicyPort{Protocol::kTcp, port, std::nullopt}; }
PolicyPort named(std::string name) { return PolicyPort{Protocol::kTcp, std::move(name), std::nullopt}; }

TEST(PortBlocks, SplitsRangesIntoAlignedBlocks) {
  EXPECT_EQ(port_blocks(80, 80), (std::vector<PortBlock>{{80, 16}}));
  EXPECT_EQ(port_blocks(0, 65535), (std::vector<PortBlock>{{0, 0}}));
  EXPECT_EQ(port_blocks(999, 1004), (std::vector<PortBlock>{{999, 16}, {1000, 14}, {1004, 16}}));
  EXPECT_EQ(port_blocks(1024, 2047), (std::vector<PortBlock>{{1024, 6}}));
  EXPECT_EQ(port_blocks(5, 4), std::vector<PortBlock>{});
  auto all_but_zero = port_blocks(1, 65535);
  EXPECT_EQ(all_but_zero.size(), 16U);
  EXPECT_EQ(all_but_zero.front(), (PortBlock{1, 16}));
  EXPECT_EQ(all_but_zero.back(), (PortBlock{32768, 1}));
  auto top = port_blocks(65534, 65535);
  EXPECT_EQ(top, (std::vector<PortBlock>{{65534, 15}}));
}

TEST(IdAllocator, ReusesOnlyAfterEveryOtherFreeNumber) {
  IdAllocator a(16, 20);
  EXPECT_EQ(a.allocate(), 16U);
  EXPECT_EQ(a.allocate(), 17U);
  a.release(16);
  EXPECT_EQ(a.allocate(), 18U);
  EXPECT_EQ(a.allocate(), 19U);
  a.release(18);
  EXPECT_EQ(a.allocate(), 16U);
  EXPECT_EQ(a.allocate(), 18U);
  EXPECT_EQ(a.allocate(), std::nullopt);
}

TEST(PolicyTable, LowestRuleWinsAndChangesAreNet) {
  std::map<PolicyKey, uint32_t> m;
  PolicyTable t(m);
  PolicyKey k{1, 300, kIn, 6, 80, 16};
  PolicyKey k2{1, 301, kIn, 6, 80, 16};
  t.add(k, 20);
  t.add(k, 17);
  t.add(k2, 30);
  EXPECT_EQ(m, (std::map<PolicyKey, uint32_t>{{k, 17}, {k2, 30}}));
  std::vector<std::pair<PolicyKey, uint32_t>> up;
  std::vector<PolicyKey> del;
  t.take_changes(up, del);
  EXPECT_EQ(up, (std::vector<std::pair<PolicyKey, uint32_t>>{{k, 17}, {k2, 30}}));
  EXPECT_TRUE(del.empty());
  t.remove(k, 20);  // the loser: nothing changes
  t.remove(k2, 30);
  t.add(k2, 31);    // back with another rule
  up.clear();
  t.take_changes(up, del);
  EXPECT_EQ(up, (std::vector<std::pair<PolicyKey, uint32_t>>{{k2, 31}}));
  EXPECT_TRUE(del.empty());
  t.remove(k, 17);
  t.remove(k2, 31);
  t.add(k2, 31);  // removed and re-added: no change at all
  up.clear();
  t.take_changes(up, del);
  EXPECT_TRUE(up.empty());
  EXPECT_EQ(del, std::vector<PolicyKey>{k});
  EXPECT_EQ(m, (std::map<PolicyKey, uint32_t>{{k2, 31}}));
}

TEST(Regions, SignaturesOfNestedBlocks) {
  std::map<uint32_t, BlockKey> blocks{{1, block_key({pfx("10.0.0.0/8"), {pfx("10.1.0.0/16")}})},
                                      {2, block_key({pfx("10.1.2.0/24"), {}})}};
  auto sigs = region_signatures(blocks);
  std::map<IpPrefix, std::vector<uint32_t>> want{{pfx("0.0.0.0/0"), {}},
                                                 {pfx("::/0"), {}},
                                                 {pfx("10.0.0.0/8"), {1}},
                                                 {pfx("10.1.0.0/16"), {}},
                                                 {pfx("10.1.2.0/24"), {2}}};
  EXPECT_EQ(sigs, want);
}

TEST(PolicyKeyBpf, BytesAndPrefixLengths) {
  strand_policy_key k = PolicyKey{7, 300, kIn, 6, 8080, 16}.to_bpf();
  EXPECT_EQ(k.prefixlen, 96U);
  EXPECT_EQ(ntohl(k.ep_id), 7U);
  EXPECT_EQ(ntohl(k.remote_identity), 300U);
  EXPECT_EQ(k.dir, STRAND_DIR_INGRESS);
  EXPECT_EQ(k.proto, 6);
  EXPECT_EQ(ntohs(k.dport), 8080);
  k = PolicyKey{7, 0, kEg, 17, 1024, 6}.to_bpf();
  EXPECT_EQ(k.prefixlen, 86U);
  EXPECT_EQ(ntohs(k.dport), 1024);
  k = PolicyKey{7, 0, kEg, 0, 0, 0}.to_bpf();
  EXPECT_EQ(k.prefixlen, 72U);
  EXPECT_EQ(k.proto, 0);
  EXPECT_EQ(k.dport, 0);
}

TEST_F(CompileCases, NoPolicyIpcacheAndEndpoints) {
  Delta d = run();
  uint32_t ia = id_of("10.0.1.1"), ib = id_of("10.0.1.2"), ic = id_of("10.0.2.3");
  EXPECT_GE(ia, 256U);
  EXPECT_GE(ib, 256U);
  EXPECT_GE(ic, 256U);
  EXPECT_NE(ia, ib);
  EXPECT_NE(ib, ic);
  std::map<IpPrefix, IpcacheValue> want{
      {pfx("0.0.0.0/0"), {STRAND_IDENTITY_WORLD, 0}}, {pfx("::/0"), {STRAND_IDENTITY_WORLD, 0}},
      {host("10.0.0.254"), {STRAND_IDENTITY_HOST, 0}}, {host("10.0.1.1"), {ia, 0}},
      {host("fd00::1:1"), {ia, 0}},                    {host("10.0.1.2"), {ib, 0}},
      {host("10.0.2.3"), {ic, 0}}};
  EXPECT_EQ(comp.state().ipcache, want);
  EXPECT_EQ(comp.state().endpoints, (std::map<uint32_t, EndpointState>{{1, {ia, 0}}, {2, {ib, 0}}}));
  EXPECT_TRUE(comp.state().policy.empty());
  EXPECT_EQ(d.ipcache_upserts.size(), 7U);
  EXPECT_EQ(d.endpoint_upserts.size(), 2U);
  EXPECT_TRUE(d.ipcache_deletes.empty());
  auto info = comp.identity(ic);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->kind, IdentityInfo::Kind::kPod);
  EXPECT_EQ(info->ns, "y");
  EXPECT_EQ(info->labels, (Labels{{"app", "c"}}));
  EXPECT_EQ(comp.identity(STRAND_IDENTITY_WORLD)->kind, IdentityInfo::Kind::kReserved);
  // Nothing changed: nothing to write.
  EXPECT_TRUE(run().empty());
}

TEST_F(CompileCases, IngressFromPodSelector) {
  add("x", "allow-b", app("a")).ingress = {{{pod_peer(app("b"))}, {tcp(80)}}};
  Delta d = run();
  uint32_t r = rule0("x/allow-b");
  EXPECT_EQ(r, uint32_t{STRAND_RULE_FIRST});
  EXPECT_EQ(comp.state().policy, (Map{{{1, id_of("10.0.1.2"), kIn, 6, 80, 16}, r}}));
  EXPECT_EQ(comp.state().endpoints.at(1).flags, STRAND_EP_F_ENFORCE_INGRESS);
  EXPECT_EQ(comp.state().endpoints.at(2).flags, 0U);
  EXPECT_EQ(comp.rule(r), (RuleInfo{"x/allow-b", kIn, 0}));
  EXPECT_EQ(comp.isolated_by(1, kIn), std::vector<std::string>{"x/allow-b"});
  EXPECT_TRUE(comp.isolated_by(1, kEg).empty());
  EXPECT_EQ(d.new_rules, std::vector<uint32_t>{r});
  EXPECT_TRUE(comp.policy_status("x/allow-b").enforced);
}

TEST_F(CompileCases, NamespaceSelectorAloneAndAndedWithPodSelector) {
  add("x", "ns-y", app("a")).ingress = {{{ns_peer({{{"ns", "y"}}, {}})}, {}}};
  add("x", "ns-y-and", app("b")).ingress = {{{Peer{app("nomatch"), LabelSelector{{{"ns", "y"}}, {}}, std::nullopt}}, {}}};
  run();
  uint32_t r = rule0("x/ns-y");
  EXPECT_EQ(comp.state().policy, (Map{{{1, id_of("10.0.2.3"), kIn, 0, 0, 0}, r}}));
  EXPECT_EQ(comp.state().endpoints.at(2).flags, STRAND_EP_F_ENFORCE_INGRESS);  // isolated, nothing allowed
}

TEST_F(CompileCases, PodSelectorAloneIsThePolicysNamespace) {
  add("x", "all-of-x", app("a")).ingress = {{{pod_peer({})}, {}}};
  run();
  uint32_t r = rule0("x/all-of-x");
  EXPECT_EQ(comp.state().policy,
            (Map{{{1, id_of("10.0.1.1"), kIn, 0, 0, 0}, r}, {{1, id_of("10.0.1.2"), kIn, 0, 0, 0}, r}}));
}

TEST_F(CompileCases, NoPeersProtocolOnlyAndRanges) {
  auto& np = add("x", "ports", app("a"));
  np.egress_type = true;
  np.ingress = {{{}, {}}};
  np.egress = {{{}, {PolicyPort{Protocol::kUdp, std::monostate{}, std::nullopt},
                     PolicyPort{Protocol::kSctp, uint16_t{999}, uint16_t{1004}}}}};
  run();
  auto ids = comp.rules_of("x/ports");
  ASSERT_EQ(ids.size(), 2U);
  EXPECT_EQ(comp.state().policy, (Map{{{1, kAnyId, kEg, 17, 0, 0}, ids[1]},
                                      {{1, kAnyId, kEg, 132, 999, 16}, ids[1]},
                                      {{1, kAnyId, kEg, 132, 1000, 14}, ids[1]},
                                      {{1, kAnyId, kEg, 132, 1004, 16}, ids[1]},
                                      {{1, kAnyId, kIn, 0, 0, 0}, ids[0]}}));
  EXPECT_EQ(comp.state().endpoints.at(1).flags, STRAND_EP_F_ENFORCE_INGRESS | STRAND_EP_F_ENFORCE_EGRESS);
}

TEST_F(CompileCases, NamedPortIngressResolvesAgainstTheLocalPod) {
  add("x", "web", LabelSelector{}).ingress = {{{}, {named("web"), named("nope")}}};
  run();
  uint32_t r = rule0("x/web");
  // a has web:8080; b has no such port: isolated with no entry.
  EXPECT_EQ(comp.state().policy, (Map{{{1, kAnyId, kIn, 6, 8080, 16}, r}}));
  EXPECT_EQ(comp.state().endpoints.at(2).flags, STRAND_EP_F_ENFORCE_INGRESS);
}

TEST_F(CompileCases, NamedPortEgressResolvesPerDestinationIdentity) {
  auto& np = add("x", "to-web", app("a"));
  np.ingress_type = false;
  np.egress_type = true;
  np.egress = {{{ns_peer({})}, {named("web")}}, {{}, {named("web")}}};
  run();
  auto ids = comp.rules_of("x/to-web");
  ASSERT_EQ(ids.size(), 2U);
  uint32_t ia = id_of("10.0.1.1"), ic = id_of("10.0.2.3");
  // b has no "web": no entry for it; the lower rule id wins the shared keys.
  EXPECT_EQ(comp.state().policy, (Map{{{1, ia, kEg, 6, 8080, 16}, ids[0]}, {{1, ic, kEg, 6, 9090, 16}, ids[0]}}));
  // Removing the first rule leaves the second's entries.
  np.egress.erase(np.egress.begin());
  Delta d = run();
  uint32_t r = rule0("x/to-web");
  EXPECT_EQ(comp.state().policy, (Map{{{1, ia, kEg, 6, 8080, 16}, r}, {{1, ic, kEg, 6, 9090, 16}, r}}));
  EXPECT_EQ(d.policy_upserts.size(), 2U);
  EXPECT_TRUE(d.policy_deletes.empty());
}

TEST_F(CompileCases, IpBlockWithExceptCutsRegions) {
  auto& np = add("x", "cidr", app("a"));
  np.ingress_type = false;
  np.egress_type = true;
  np.egress = {{{block_peer("10.0.2.0/24", {"10.0.2.0/30"})}, {}}};
  run();
  uint32_t k = comp.state().ipcache.at(pfx("10.0.2.0/24")).cidr_identity;
  EXPECT_GE(k, 256U);
  EXPECT_EQ(comp.state().ipcache.at(pfx("10.0.2.0/24")), (IpcacheValue{STRAND_IDENTITY_WORLD, k}));
  EXPECT_EQ(comp.state().ipcache.at(pfx("10.0.2.0/30")), (IpcacheValue{STRAND_IDENTITY_WORLD, 0}));
  EXPECT_EQ(comp.state().ipcache.at(host("10.0.2.3")), (IpcacheValue{id_of("10.0.2.3"), 0}));  // in the except
  EXPECT_EQ(comp.state().ipcache.size(), 9U);
  EXPECT_EQ(comp.state().policy, (Map{{{1, k, kEg, 0, 0, 0}, rule0("x/cidr")}}));
  auto info = comp.identity(k);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->kind, IdentityInfo::Kind::kCidr);
  EXPECT_EQ(info->blocks, std::vector<std::string>{"x/cidr egress[0].peer[0]"});

  // Without the except the pod's address carries the block's identity too.
  np.egress = {{{block_peer("10.0.2.0/24")}, {}}};
  run();
  uint32_t k2 = comp.state().ipcache.at(pfx("10.0.2.0/24")).cidr_identity;
  EXPECT_EQ(comp.state().ipcache.at(host("10.0.2.3")), (IpcacheValue{id_of("10.0.2.3"), k2}));
  EXPECT_FALSE(comp.state().ipcache.contains(pfx("10.0.2.0/30")));
}

TEST_F(CompileCases, Ipv6BlockOverEverythingGivesTheDefaultRouteAnIdentity) {
  auto& np = add("x", "v6", app("b"));
  np.ingress_type = false;
  np.egress_type = true;
  np.egress = {{{block_peer("::/0", {"fd00::1:0/112"})}, {tcp(443)}}};
  run();
  uint32_t k = comp.state().ipcache.at(pfx("::/0")).cidr_identity;
  EXPECT_GE(k, 256U);
  EXPECT_EQ(comp.state().ipcache.at(pfx("::/0")), (IpcacheValue{STRAND_IDENTITY_WORLD, k}));
  EXPECT_EQ(comp.state().ipcache.at(pfx("fd00::1:0/112")), (IpcacheValue{STRAND_IDENTITY_WORLD, 0}));
  EXPECT_EQ(comp.state().ipcache.at(pfx("0.0.0.0/0")), (IpcacheValue{STRAND_IDENTITY_WORLD, 0}));
  EXPECT_EQ(comp.state().ipcache.at(host("fd00::1:1")), (IpcacheValue{id_of("10.0.1.1"), 0}));  // in the except
  EXPECT_EQ(comp.state().policy, (Map{{{2, k, kEg, 6, 443, 16}, rule0("x/v6")}}));
  EXPECT_EQ(comp.state().endpoints.at(2).flags, uint32_t{STRAND_EP_F_ENFORCE_EGRESS});
  EXPECT_EQ(comp.isolated_by(2, kEg), std::vector<std::string>{"x/v6"});
  // The datapath decision: outside v6 addresses pass on 443 only, the pod in
  // the except does not, IPv4 does not.
  const DatapathState& s = comp.state();
  EXPECT_TRUE(side_allowed(s, 2, kEg, addr("2001:db8::1"), 6, 443));
  EXPECT_FALSE(side_allowed(s, 2, kEg, addr("2001:db8::1"), 6, 444));
  EXPECT_FALSE(side_allowed(s, 2, kEg, addr("2001:db8::1"), 17, 443));
  EXPECT_FALSE(side_allowed(s, 2, kEg, addr("fd00::1:1"), 6, 443));
  EXPECT_FALSE(side_allowed(s, 2, kEg, addr("192.0.2.1"), 6, 443));
  EXPECT_TRUE(side_allowed(s, 2, kEg, addr("10.0.0.254"), 6, 1));  // the node
  EXPECT_TRUE(side_allowed(s, 2, kIn, addr("192.0.2.1"), 6, 1));   // ingress not isolated
}

TEST_F(CompileCases, OverlappingBlocksShareRegions) {
  auto& p1 = add("x", "wide", app("a"));
  p1.ingress = {{{block_peer("10.0.0.0/8")}, {tcp(1)}}};
  auto& p2 = add("x", "narrow", app("a"));
  p2.ingress = {{{block_peer("10.0.2.0/24")}, {tcp(2)}}};
  run();
  uint32_t kw = comp.state().ipcache.at(pfx("10.0.0.0/8")).cidr_identity;
  uint32_t kn = comp.state().ipcache.at(pfx("10.0.2.0/24")).cidr_identity;
  EXPECT_NE(kw, kn);
  uint32_t rw = rule0("x/wide"), rn = rule0("x/narrow");
  EXPECT_EQ(comp.state().policy, (Map{{{1, kw, kIn, 6, 1, 16}, rw}, {{1, kn, kIn, 6, 1, 16}, rw}, {{1, kn, kIn, 6, 2, 16}, rn}}));
  EXPECT_EQ(comp.identity(kn)->blocks, (std::vector<std::string>{"x/narrow ingress[0].peer[0]", "x/wide ingress[0].peer[0]"}));
  // Pods in the regions carry them.
  EXPECT_EQ(comp.state().ipcache.at(host("10.0.2.3")).cidr_identity, kn);
  EXPECT_EQ(comp.state().ipcache.at(host("10.0.1.2")).cidr_identity, kw);
}

TEST_F(CompileCases, EgressNamedPortWithIpBlockIsNotEnforcedAndFailsClosed) {
  auto& np = add("x", "bad", app("a"));
  np.egress_type = true;
  np.ingress = {{{}, {}}};
  np.egress = {{{block_peer("10.0.2.0/24"), pod_peer({})}, {named("web")}}};
  run();
  PolicyStatus st = comp.policy_status("x/bad");
  EXPECT_FALSE(st.enforced);
  EXPECT_NE(st.reason.find("named port \"web\""), std::string::npos) << st.reason;
  EXPECT_TRUE(comp.state().policy.empty());  // its ingress rule does not count either
  EXPECT_TRUE(comp.rules_of("x/bad").empty());
  EXPECT_EQ(comp.state().endpoints.at(1).flags, STRAND_EP_F_ENFORCE_INGRESS | STRAND_EP_F_ENFORCE_EGRESS);
  EXPECT_FALSE(comp.state().ipcache.contains(pfx("10.0.2.0/24")));
  EXPECT_EQ(comp.isolated_by(1, kEg), std::vector<std::string>{"x/bad"});
}

TEST_F(CompileCases, PolicyThatDidNotParseFailsClosedInItsDirections) {
  // As the parser leaves a policy with an unknown field whose podSelector
  // could not be read: every pod of its namespace, both directions.
  const std::string why = "spec.podSelector.matchFuture: unknown field (not enforceable by this agent)";
  {
    auto& bad = add("x", "future", LabelSelector{});
    bad.not_enforced = why;
    bad.egress_type = true;
  }
  add("x", "allow-b", app("a")).ingress = {{{pod_peer(app("b"))}, {tcp(80)}}};
  run();
  EXPECT_EQ(comp.policy_status("x/future"), (PolicyStatus{false, why}));
  EXPECT_TRUE(comp.rules_of("x/future").empty());
  EXPECT_EQ(comp.policy_statuses(),
            (std::map<std::string, PolicyStatus>{{"x/allow-b", {}}, {"x/future", {false, why}}}));
  const uint32_t both = STRAND_EP_F_ENFORCE_INGRESS | STRAND_EP_F_ENFORCE_EGRESS;
  EXPECT_EQ(comp.state().endpoints.at(1).flags, both);
  EXPECT_EQ(comp.state().endpoints.at(2).flags, both);
  EXPECT_EQ(comp.isolated_by(2, kEg), std::vector<std::string>{"x/future"});
  EXPECT_EQ(comp.isolated_by(1, kIn), (std::vector<std::string>{"x/allow-b", "x/future"}));
  // Only the enforced policy's rule: b reaches a on 80, nothing else passes
  // but the node.
  const DatapathState& s = comp.state();
  EXPECT_EQ(s.policy, (Map{{{1, id_of("10.0.1.2"), kIn, 6, 80, 16}, rule0("x/allow-b")}}));
  EXPECT_TRUE(side_allowed(s, 1, kIn, addr("10.0.1.2"), 6, 80));
  EXPECT_FALSE(side_allowed(s, 2, kIn, addr("10.0.1.1"), 6, 80));
  EXPECT_FALSE(side_allowed(s, 2, kEg, addr("192.0.2.1"), 17, 53));
  EXPECT_TRUE(side_allowed(s, 2, kEg, addr("10.0.0.254"), 17, 53));
  // Evaluate agrees and names it.
  Verdict v = evaluate(c, PodRef{"x", "a"}, PodRef{"x", "b"}, 80, Protocol::kTcp);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.egress.not_enforced, (std::vector<NotEnforced>{{"x/future", why}}));
  EXPECT_EQ(v.egress.reason,
            "egress of x/a isolated by x/future, no rule allows; x/future is not enforced, fails closed "
            "(spec.podSelector.matchFuture: unknown field (not enforceable by this agent))");
  EXPECT_TRUE(evaluate(c, PodRef{"x", "b"}, PodRef{"x", "a"}, 80, Protocol::kTcp).ingress.allowed);
  // Fixed: enforced, nothing isolates b any more.
  c.policies.erase(c.policies.begin());
  run();
  EXPECT_EQ(comp.state().endpoints.at(2).flags, 0U);
  EXPECT_EQ(comp.policy_status("x/future"), (PolicyStatus{false, "unknown policy"}));
}

TEST_F(CompileCases, UnknownPodFailsClosedAndAuditFlag) {
  eps.push_back({3, "x", "ghost", {addr("10.0.1.9")}, true});
  eps[1].audit = true;
  run();
  EXPECT_EQ(comp.state().endpoints.at(3),
            (EndpointState{0, STRAND_EP_F_ENFORCE_INGRESS | STRAND_EP_F_ENFORCE_EGRESS | STRAND_EP_F_AUDIT}));
  EXPECT_EQ(comp.state().endpoints.at(2).flags, uint32_t{STRAND_EP_F_AUDIT});
  EXPECT_EQ(comp.state().ipcache.at(host("10.0.1.9")), (IpcacheValue{0, 0}));
  // The pod appears: its identity and no flags.
  c.pods.push_back({"x", "ghost", {{"app", "g"}}, {addr("10.0.1.9")}, {}});
  Delta d = run();
  EXPECT_EQ(comp.state().endpoints.at(3), (EndpointState{id_of("10.0.1.9"), STRAND_EP_F_AUDIT}));
  // It only loosens: written before its peers move.
  EXPECT_EQ(d.endpoint_loosens.size(), 1U);
  EXPECT_TRUE(d.endpoint_upserts.empty());
  EXPECT_EQ(d.ipcache_upserts.size(), 1U);
}

TEST_F(CompileCases, HostNetworkPodsLeaveTheNodeItsHostIdentity) {
  // Two hostNetwork pods of this node share its address; one of another
  // node has that node's. Their labels match what the policy isolates.
  Pod probe{"x", "probe", {{"app", "a"}}, {addr("10.0.0.254")}, {}};
  probe.host_network = true;
  probe.phase = "Running";
  Pod agent = probe;
  agent.ns = "y";
  agent.name = "agent";
  Pod remote = probe;
  remote.name = "remote";
  remote.ips = {addr("192.168.7.7")};
  c.pods.insert(c.pods.end(), {probe, agent, remote});
  add("x", "allow-a", app("b")).ingress = {{{pod_peer(app("a"))}, {tcp(80)}}};
  run();
  const DatapathState& s = comp.state();
  EXPECT_EQ(s.ipcache.at(host("10.0.0.254")), (IpcacheValue{STRAND_IDENTITY_HOST, 0}));
  EXPECT_FALSE(s.ipcache.contains(host("192.168.7.7")));
  EXPECT_EQ(s.ipcache.size(), 7U);  // as without them
  // kubelet probes (the node) reach the isolated pod on any port.
  EXPECT_EQ(side_rule(s, 2, kIn, addr("10.0.0.254"), 6, 8081), std::optional<uint32_t>(STRAND_RULE_HOST));
  // The other node's hostNetwork pod is not x/a: its address is outside.
  EXPECT_FALSE(side_allowed(s, 2, kIn, addr("192.168.7.7"), 6, 80));
  EXPECT_TRUE(side_allowed(s, 2, kIn, addr("10.0.1.1"), 6, 80));
  // Only pods that own their addresses have identities.
  std::set<uint32_t> ids;
  for (const auto& [p, v] : s.ipcache) {
    if (v.identity >= 256) ids.insert(v.identity);
  }
  EXPECT_EQ(ids.size(), 3U);
  // Evaluate agrees: the probe is its node, the remote one an outside address.
  c.node_ips = hosts;
  EXPECT_EQ(evaluate(c, PodRef{"x", "probe"}, PodRef{"x", "b"}, 8081, Protocol::kTcp).reason,
            "node traffic: x/probe to x/b always passes");
  Verdict v = evaluate(c, PodRef{"x", "remote"}, PodRef{"x", "b"}, 80, Protocol::kTcp);
  EXPECT_FALSE(v.allowed) << v.reason;
  EXPECT_EQ(v.egress.reason, "no egress policy (hostNetwork pod: its node's traffic)");
  EXPECT_TRUE(evaluate(c, addr("10.0.0.254"), PodRef{"x", "b"}, 8081, Protocol::kTcp).allowed);
}

TEST_F(CompileCases, FinishedPodsLeaveTheirAddressesAndFailClosed) {
  // x/old finished; x/new (a later pod) got its address. x/gone finished
  // while its endpoint is still here.
  Pod old{"x", "old", {{"app", "b"}}, {addr("10.0.2.9")}, {}};
  old.phase = "Succeeded";
  Pod fresh{"x", "new", {{"app", "n"}}, {addr("10.0.2.9")}, {}};
  fresh.phase = "Running";
  Pod gone{"x", "gone", {{"app", "a"}}, {addr("10.0.1.5")}, {}};
  gone.phase = "Failed";
  c.pods.insert(c.pods.end(), {old, fresh, gone});
  eps.push_back({3, "x", "gone", {addr("10.0.1.5")}, false});
  add("x", "allow-b", app("a")).ingress = {{{pod_peer(app("b"))}, {tcp(80)}}};
  run();
  const DatapathState& s = comp.state();
  EXPECT_EQ(s.ipcache.at(host("10.0.2.9")).identity, id_of("10.0.2.9"));
  EXPECT_EQ(comp.identity(id_of("10.0.2.9"))->labels, (Labels{{"app", "n"}}));
  EXPECT_FALSE(s.ipcache.contains(host("10.0.1.5")));
  // x/new is no app=b: a does not let it in (the finished pod would have been).
  EXPECT_FALSE(side_allowed(s, 1, kIn, addr("10.0.2.9"), 6, 80));
  // The finished pod's endpoint: not selected, fails closed (only the node).
  EXPECT_EQ(s.endpoints.at(3), (EndpointState{0, STRAND_EP_F_ENFORCE_INGRESS | STRAND_EP_F_ENFORCE_EGRESS}));
  EXPECT_TRUE(comp.isolated_by(3, kIn).empty());
  EXPECT_EQ(comp.isolated_by(1, kIn), std::vector<std::string>{"x/allow-b"});
  // Evaluate agrees.
  EXPECT_FALSE(evaluate(c, addr("10.0.2.9"), PodRef{"x", "a"}, 80, Protocol::kTcp).allowed);
  Verdict v = evaluate(c, PodRef{"x", "old"}, PodRef{"x", "a"}, 80, Protocol::kTcp);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.reason, "pod x/old has finished (Succeeded)");
  // The pod runs again (a restarted static pod): it is back in.
  c.pods[5].phase = "Running";
  c.pods[5].ips = {addr("10.0.1.5")};
  run();
  EXPECT_EQ(comp.state().endpoints.at(3), (EndpointState{id_of("10.0.1.5"), STRAND_EP_F_ENFORCE_INGRESS}));
  EXPECT_EQ(comp.isolated_by(3, kIn), std::vector<std::string>{"x/allow-b"});
}

TEST_F(CompileCases, SameKeyFromTwoRulesLowestIdWinsAndSurvivesRemoval) {
  add("x", "p1", app("a")).ingress = {{{pod_peer(app("b"))}, {tcp(80)}}};
  add("x", "p2", app("a")).ingress = {{{pod_peer(app("b"))}, {tcp(80)}}};
  run();
  uint32_t r1 = rule0("x/p1"), r2 = rule0("x/p2");
  ASSERT_LT(r1, r2);
  PolicyKey k{1, id_of("10.0.1.2"), kIn, 6, 80, 16};
  EXPECT_EQ(comp.state().policy, (Map{{k, r1}}));
  // Removing the loser changes nothing in the map.
  auto p2 = c.policies[1];
  c.policies.pop_back();
  Delta d = run();
  EXPECT_TRUE(d.policy_upserts.empty());
  EXPECT_TRUE(d.policy_deletes.empty());
  // Back again (new id), then the winner goes: the entry stays, naming p2.
  c.policies.push_back(p2);
  run();
  uint32_t r2b = rule0("x/p2");
  EXPECT_EQ(comp.state().policy, (Map{{k, r1}}));
  c.policies.erase(c.policies.begin());
  d = run();
  EXPECT_EQ(comp.state().policy, (Map{{k, r2b}}));
  EXPECT_EQ(d.policy_upserts, (std::vector<std::pair<PolicyKey, uint32_t>>{{k, r2b}}));
  EXPECT_TRUE(d.policy_deletes.empty());
}

TEST_F(CompileCases, RuleIdsStableFreedAndReusedLast) {
  comp = Compiler(CompilerLimits{STRAND_POLICY_MAX, STRAND_IPCACHE_MAX, STRAND_RULE_FIRST + 4});
  auto pol = [&](std::string name) {
    NetworkPolicy np;
    np.ns = "x";
    np.name = std::move(name);
    np.pod_selector = app("a");
    np.ingress = {{{pod_peer(app("b"))}, {tcp(80)}}};
    return np;
  };
  c.policies = {pol("a"), pol("b")};
  Delta d = run();
  EXPECT_EQ(d.new_rules, (std::vector<uint32_t>{16, 17}));
  c.policies = {pol("b")};
  d = run();
  EXPECT_TRUE(d.new_rules.empty());
  EXPECT_EQ(comp.rules_of("x/b"), std::vector<uint32_t>{17});  // unchanged policy keeps its id
  EXPECT_FALSE(comp.rule(16).has_value());
  c.policies = {pol("b"), pol("c")};
  d = run();
  EXPECT_EQ(d.new_rules, std::vector<uint32_t>{18});  // not 16: fresh ids first
  c.policies = {pol("b"), pol("c"), pol("d"), pol("e")};
  d = run();
  EXPECT_EQ(comp.rules_of("x/d"), std::vector<uint32_t>{19});
  EXPECT_EQ(comp.rules_of("x/e"), std::vector<uint32_t>{16});  // the only free one left
  EXPECT_EQ(d.new_rules, (std::vector<uint32_t>{16, 19}));
  // No id left: the next policy is not enforced, its pods fail closed.
  c.policies.push_back(pol("f"));
  d = run();
  EXPECT_FALSE(comp.policy_status("x/f").enforced);
  EXPECT_NE(comp.policy_status("x/f").reason.find("rule ids"), std::string::npos);
  EXPECT_TRUE(comp.rules_of("x/f").empty());
  // Room again: it is retried.
  c.policies.erase(c.policies.begin());
  d = run();
  EXPECT_TRUE(comp.policy_status("x/f").enforced);
  EXPECT_EQ(comp.rules_of("x/f"), std::vector<uint32_t>{17});
}

TEST_F(CompileCases, PolicyMapLimitRejectsTheLatestPolicy) {
  comp = Compiler(CompilerLimits{3, STRAND_IPCACHE_MAX, STRAND_RULES_MAX});
  add("x", "p1", app("a")).ingress = {{{pod_peer(app("b"))}, {tcp(80), tcp(81)}}};
  add("x", "p2", app("b")).ingress = {{{pod_peer(app("a"))}, {tcp(80), tcp(81)}}};
  run();
  EXPECT_TRUE(comp.policy_status("x/p1").enforced);
  EXPECT_FALSE(comp.policy_status("x/p2").enforced);
  EXPECT_NE(comp.policy_status("x/p2").reason.find("policy map full"), std::string::npos);
  EXPECT_EQ(comp.state().policy.size(), 2U);
  EXPECT_EQ(comp.state().endpoints.at(2).flags, STRAND_EP_F_ENFORCE_INGRESS);  // fails closed
  // Growth of an enforced policy (a new matching pod) evicts the latest.
  c.pods.push_back({"x", "b2", {{"app", "b"}, {"v", "2"}}, {addr("10.0.1.5")}, {}});
  run();
  EXPECT_LE(comp.state().policy.size(), 3U);
  EXPECT_FALSE(comp.policy_status("x/p1").enforced);
  EXPECT_TRUE(comp.state().policy.empty() || comp.policy_status("x/p2").enforced);
  // Room again: both fit once p1 is gone.
  c.policies.erase(c.policies.begin());
  c.pods.pop_back();
  run();
  EXPECT_TRUE(comp.policy_status("x/p2").enforced);
  EXPECT_EQ(comp.state().policy.size(), 2U);
}

TEST_F(CompileCases, IpcacheLimitRejectsPoliciesWithBlocks) {
  // 7 entries without blocks; one block adds one prefix.
  comp = Compiler(CompilerLimits{STRAND_POLICY_MAX, 8, STRAND_RULES_MAX});
  add("x", "b1", app("a")).ingress = {{{block_peer("192.0.2.0/24")}, {}}};
  add("x", "b2", app("a")).ingress = {{{block_peer("198.51.100.0/24")}, {}}};
  run();
  EXPECT_TRUE(comp.policy_status("x/b1").enforced);
  EXPECT_FALSE(comp.policy_status("x/b2").enforced);
  EXPECT_NE(comp.policy_status("x/b2").reason.find("ipcache full"), std::string::npos);
  EXPECT_EQ(comp.state().ipcache.size(), 8U);
  EXPECT_FALSE(comp.state().ipcache.contains(pfx("198.51.100.0/24")));
}

TEST_F(CompileCases, PodLabelChangeMovesTheAddress) {
  add("x", "from-b", app("a")).ingress = {{{pod_peer(app("b"))}, {tcp(80)}}};
  run();
  uint32_t ib = id_of("10.0.1.2");
  uint32_t r = rule0("x/from-b");
  c.pods[1].labels = {{"app", "z"}};
  Delta d = run();
  uint32_t iz = id_of("10.0.1.2");
  EXPECT_NE(iz, ib);
  EXPECT_FALSE(comp.identity(ib).has_value());  // unused: dropped
  EXPECT_TRUE(comp.state().policy.empty());
  EXPECT_EQ(d.policy_deletes, (std::vector<PolicyKey>{PolicyKey{1, ib, kIn, 6, 80, 16}}));
  EXPECT_EQ(d.ipcache_upserts, (std::vector<std::pair<IpPrefix, IpcacheValue>>{{host("10.0.1.2"), {iz, 0}}}));
  EXPECT_EQ(d.endpoint_upserts, (std::vector<std::pair<uint32_t, EndpointState>>{{2, {iz, 0}}}));
  // And back: a new identity matches the rule again.
  c.pods[1].labels = {{"app", "b"}};
  d = run();
  uint32_t ib2 = id_of("10.0.1.2");
  EXPECT_EQ(comp.state().policy, (Map{{{1, ib2, kIn, 6, 80, 16}, r}}));
  EXPECT_EQ(d.policy_upserts.size(), 1U);
}

// Delta order (compile.h): an endpoint entry loosens before the ipcache
// changes and tightens after them; one that does both gets two writes.
TEST_F(CompileCases, EndpointEntriesLoosenBeforeThePeersMoveAndTightenAfter) {
  add("x", "p", app("a")).ingress = {{{block_peer("192.0.2.0/24")}, {}}};
  run();
  const uint32_t ia = id_of("10.0.1.1"), ib = id_of("10.0.1.2");
  EXPECT_EQ(comp.state().endpoints.at(1), (EndpointState{ia, STRAND_EP_F_ENFORCE_INGRESS}));
  // a: ingress-only becomes egress-only (its block goes); b enters audit.
  NetworkPolicy& p = c.policies.back();
  p.ingress.clear();
  p.ingress_type = false;
  p.egress_type = true;
  p.egress = {{{pod_peer(app("b"))}, {}}};
  eps[1].audit = true;
  Delta d = run();
  using Entries = std::vector<std::pair<uint32_t, EndpointState>>;
  EXPECT_EQ(d.endpoint_loosens, (Entries{{1, {ia, 0}}, {2, {ib, STRAND_EP_F_AUDIT}}}));
  EXPECT_EQ(d.endpoint_upserts, (Entries{{1, {ia, STRAND_EP_F_ENFORCE_EGRESS}}}));
  EXPECT_EQ(d.ipcache_deletes, std::vector<IpPrefix>{pfx("192.0.2.0/24")});
  // b leaves audit: after the peers move.
  eps[1].audit = false;
  d = run();
  EXPECT_TRUE(d.endpoint_loosens.empty());
  EXPECT_EQ(d.endpoint_upserts, (Entries{{2, {ib, 0}}}));
}

TEST_F(CompileCases, NamespaceLabelChange) {
  add("x", "from-team", app("a")).ingress = {{{ns_peer({{{"team", "t"}}, {}})}, {}}};
  run();
  EXPECT_TRUE(comp.state().policy.empty());
  c.namespaces[1].labels["team"] = "t";
  run();
  EXPECT_EQ(comp.state().policy, (Map{{{1, id_of("10.0.2.3"), kIn, 0, 0, 0}, rule0("x/from-team")}}));
}

}  // namespace
}  // namespace strand::policy::testing
