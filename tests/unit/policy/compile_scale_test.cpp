// The compiler at the scale: 1000 pods (100 label sets), 1000
// policies of 10 rules each (selectors, namespace selectors, ipBlocks with
// except, port ranges, named ports) selecting a few local endpoints. Prints
// the time of the first update and of single-object updates; asserts only
// generous bounds so it cannot flake on a loaded machine.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "tests/unit/policy/compile_harness.h"

namespace strand::policy::testing {
namespace {

#ifdef NDEBUG
constexpr double kSingleUpdateBoundMs = 100;
#else
constexpr double kSingleUpdateBoundMs = 1000;
#endif

std::string app_of(int set) { return "app" + std::to_string(set % 20); }
std::string tier_of(int set) { return "tier" + std::to_string(set / 20); }

PolicyPort port_of(Protocol proto, std::variant<std::monostate, uint16_t, std::string> port,
                   std::optional<uint16_t> end = std::nullopt) {
  PolicyPort pp;
  pp.protocol = proto;
  pp.port = std::move(port);
  pp.end_port = end;
  return pp;
}

NetworkPolicy scale_policy(int j, uint32_t salt) {
  Rand r(static_cast<uint32_t>(j) * 2654435761U + salt);
  NetworkPolicy np;
  int k = j % 10;
  np.ns = "ns" + std::to_string(k);
  np.name = "pol" + std::to_string(j);
  // Sets k and k+10 are the local endpoints of namespace k.
  np.pod_selector.match_labels["app"] = app_of(r.p(0.5) ? k : k + 10);
  np.ingress_type = true;
  np.egress_type = true;
  for (int i = 0; i < 10; ++i) {
    Rule rule;
    bool egress = i >= 5;
    switch ((i + j) % 4) {
      case 0: {
        Peer p;
        SelectorRequirement q{"app", SelectorOp::kIn, {app_of(r.n(0, 19)), app_of(r.n(0, 19))}};
        p.pod_selector = LabelSelector{{}, {q}};
        rule.peers.push_back(p);
        break;
      }
      case 1: {
        Peer p;
        p.namespace_selector = LabelSelector{{{"team", "t" + std::to_string(r.n(0, 2))}}, {}};
        p.pod_selector = LabelSelector{{{"tier", tier_of(r.n(0, 99))}}, {}};
        rule.peers.push_back(p);
        break;
      }
      case 2: {
        int b = (j * 10 + i) % 300;
        IpBlock blk;
        if (b % 3 == 0) {
          blk.cidr = pfx("fd00:2:" + std::to_string(b) + "::/48");
          blk.except = {pfx("fd00:2:" + std::to_string(b) + ":1::/64")};
        } else {
          blk.cidr = pfx("10.2." + std::to_string(b % 256) + ".0/24");
          blk.except = {pfx("10.2." + std::to_string(b % 256) + ".0/28")};
        }
        rule.peers.push_back(Peer{std::nullopt, std::nullopt, blk});
        break;
      }
      default: break;  // every peer
    }
    int np_ports = r.n(1, 2);
    for (int p = 0; p < np_ports; ++p) {
      switch (r.n(0, 3)) {
        case 0: rule.ports.push_back(port_of(Protocol::kTcp, uint16_t{80})); break;
        case 1: rule.ports.push_back(port_of(Protocol::kUdp, uint16_t{53})); break;
        case 2: rule.ports.push_back(port_of(Protocol::kTcp, uint16_t{8000}, uint16_t{8100})); break;
        default:
          if (egress && (i + j) % 4 == 2) {
            rule.ports.push_back(port_of(Protocol::kSctp, std::monostate{}));
          } else {
            rule.ports.push_back(port_of(Protocol::kTcp, std::string("http")));
          }
      }
    }
    (egress ? np.egress : np.ingress).push_back(rule);
  }
  return np;
}

struct Timer {
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  double ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
};

TEST(CompileScale, ThousandPodsThousandPolicies) {
  World w;
  for (int i = 0; i < 10; ++i) w.cluster.namespaces.push_back({"ns" + std::to_string(i), {{"team", "t" + std::to_string(i % 3)}}});
  for (int i = 0; i < 1000; ++i) {
    int set = i % 100;
    Pod p;
    p.ns = "ns" + std::to_string(set % 10);
    p.name = "pod" + std::to_string(i);
    p.labels = {{"app", app_of(set)}, {"tier", tier_of(set)}};
    p.ips = {addr("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)),
             addr("fd00:1::" + std::to_string(i + 1))};
    if (set % 2 == 0) p.ports.push_back({"http", static_cast<uint16_t>(8080 + set % 3), Protocol::kTcp});
    w.cluster.pods.push_back(p);
    if (i < 20) w.endpoints.push_back({static_cast<uint32_t>(i + 1), p.ns, p.name, p.ips, false});
  }
  w.host_ips = {addr("10.1.255.254")};
  w.cluster.node_ips = w.host_ips;
  size_t rules = 0;
  for (int j = 0; j < 1000; ++j) {
    w.cluster.policies.push_back(scale_policy(j, 0));
    rules += 10;
  }

  Compiler c;
  Timer t_first;
  Delta first = c.update(w.input());
  double first_ms = t_first.ms();
  const DatapathState& s = c.state();
  size_t enforced = 0;
  for (const auto& np : w.cluster.policies) enforced += c.policy_status(np.id()).enforced ? 1 : 0;
  std::printf("scale: %zu pods, %zu policies (%zu rules), %zu local endpoints: %zu policy entries, %zu ipcache entries, %zu enforced\n",
              w.cluster.pods.size(), w.cluster.policies.size(), rules, w.endpoints.size(), s.policy.size(),
              s.ipcache.size(), enforced);
  ASSERT_EQ(enforced, w.cluster.policies.size());
  ASSERT_EQ(first.policy_upserts.size(), s.policy.size());

  auto step = [&](const char* what) {
    DatapathState prev = c.state();
    Timer t;
    Delta d = c.update(w.input());
    double ms = t.ms();
    std::string err;
    DatapathState applied = apply_delta(prev, d, &err);
    EXPECT_EQ(err, "") << what;
    EXPECT_TRUE(applied == c.state()) << what;
    std::printf("scale: %-28s %8.2f ms  (+%zu -%zu policy entries, %zu ipcache changes)\n", what, ms,
                d.policy_upserts.size(), d.policy_deletes.size(), d.ipcache_upserts.size() + d.ipcache_deletes.size());
    return ms;
  };

  std::printf("scale: %-28s %8.2f ms\n", "first update", first_ms);
  EXPECT_LT(first_ms, 60000);
  EXPECT_LT(step("no change"), kSingleUpdateBoundMs);
  // A port no other rule names, so the new policy's entries are new keys.
  NetworkPolicy added = scale_policy(1000, 0);
  for (auto* rules : {&added.ingress, &added.egress}) {
    for (Rule& rule : *rules) rule.ports.push_back(port_of(Protocol::kTcp, uint16_t{7777}));
  }
  w.cluster.policies.push_back(added);
  EXPECT_LT(step("add one policy"), kSingleUpdateBoundMs);
  w.cluster.policies[500] = scale_policy(500, 99);
  for (auto* rules : {&w.cluster.policies[500].ingress, &w.cluster.policies[500].egress}) {
    for (Rule& rule : *rules) rule.ports.push_back(port_of(Protocol::kUdp, uint16_t{7777}));
  }
  EXPECT_LT(step("change one policy"), kSingleUpdateBoundMs);
  w.cluster.policies.erase(w.cluster.policies.begin() + 250);
  EXPECT_LT(step("remove one policy"), kSingleUpdateBoundMs);
  w.cluster.pods[555].labels = {{"app", "app3"}, {"tier", "tier9"}};  // a new label set
  EXPECT_LT(step("pod label change (remote)"), kSingleUpdateBoundMs);
  w.cluster.pods[5].labels["extra"] = "x";  // a local endpoint's pod
  EXPECT_LT(step("pod label change (local)"), kSingleUpdateBoundMs);
  w.cluster.pods.push_back({"ns3", "newpod", {{"app", "app13"}, {"tier", "tier0"}}, {addr("10.1.9.9")}, {}});
  EXPECT_LT(step("pod added"), kSingleUpdateBoundMs);
  w.cluster.namespaces[4].labels["team"] = "t9";
  EXPECT_LT(step("namespace label change"), 10 * kSingleUpdateBoundMs);

  // The incremental result is what a fresh compile of the same input gives.
  Compiler fresh;
  (void)fresh.update(w.input());
  std::string e1, e2;
  EXPECT_TRUE(canonical(c, &e1) == canonical(fresh, &e2));
  EXPECT_EQ(e1, "");
  EXPECT_EQ(e2, "");
}

}  // namespace
}  // namespace strand::policy::testing
