// The compiler against the reference semantics: random clusters, the BPF
// decision emulated over state() compared with evaluate() for every local
// endpoint, peer, port and protocol, both directions; and incremental
// updates against a fresh compile of the same input.
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/unit/policy/compile_harness.h"

namespace strand::policy::testing {
namespace {

TEST(CompileDifferential, RandomClustersAgreeWithEvaluate) {
  size_t checked = 0;
  size_t entries = 0;
  for (uint32_t seed = 1; seed <= seeds(250); ++seed) {
    Rand r(seed);
    World w = random_world(r);
    Compiler c;
    Delta d = c.update(w.input());
    std::string err;
    DatapathState applied = apply_delta({}, d, &err);
    ASSERT_EQ(err, "") << "seed " << seed;
    ASSERT_EQ(applied, c.state()) << "seed " << seed;
    std::string m = check_decisions(w, c, &checked);
    ASSERT_EQ(m, "") << "seed " << seed << "\n" << m;
    entries += c.state().policy.size();
  }
  std::printf("decisions checked: %zu, policy entries: %zu\n", checked, entries);
}

// Pods that do not own their addresses: hostNetwork pods on this node's
// address and on another node's, and finished pods whose addresses a later
// pod reuses (some with a local endpoint still there). Compiled from
// scratch and as an update of the world without them.
TEST(CompileDifferential, HostNetworkAndFinishedPodsAgreeWithEvaluate) {
  for (uint32_t seed = 1; seed <= seeds(100); ++seed) {
    Rand r(seed * 31337);
    World w = random_world(r);
    Compiler inc;
    (void)inc.update(w.input());
    auto nss = w.ns_names();
    int extra = 0;
    for (const IpAddr& node : {w.host_ips[0], w.host_ips[0], addr("10.0.3.250")}) {
      Pod hn = random_pod(r, nss, 900 + extra++, w.used);
      hn.host_network = true;
      hn.ips = {node};
      w.cluster.pods.push_back(hn);
    }
    w.used.insert(addr("10.0.3.250"));
    const size_t n = w.cluster.pods.size();
    for (size_t i = 0; i < n; ++i) {
      if (w.cluster.pods[i].host_network || !r.p(0.3)) continue;
      w.cluster.pods[i].phase = r.p(0.5) ? "Succeeded" : "Failed";
      if (r.p(0.7)) {
        Pod again = random_pod(r, nss, 900 + extra++, w.used);
        again.ips = w.cluster.pods[i].ips;
        again.phase = "Running";
        if (r.p(0.5)) w.endpoints.push_back({static_cast<uint32_t>(900 + extra), again.ns, again.name, again.ips, false});
        w.cluster.pods.push_back(again);
      }
    }
    (void)inc.update(w.input());
    Compiler fresh;
    (void)fresh.update(w.input());
    std::string e1, e2;
    ASSERT_EQ(canonical(inc, &e1), canonical(fresh, &e2)) << "seed " << seed << "\n" << describe(w);
    std::string m = check_decisions(w, fresh);
    ASSERT_EQ(m, "") << "seed " << seed << "\n" << m;
  }
}

TEST(CompileDifferential, IncrementalEqualsFromScratch) {
  size_t steps = 0;
  for (uint32_t seed = 1; seed <= seeds(40); ++seed) {
    Rand r(seed * 7919);
    World w = random_world(r);
    Compiler inc;
    (void)inc.update(w.input());
    for (int step = 0; step < 25; ++step) {
      std::string what;
      mutate(r, w, what);
      DatapathState prev = inc.state();
      Delta d = inc.update(w.input());
      std::string err;
      DatapathState applied = apply_delta(prev, d, &err);
      ASSERT_EQ(err, "") << "seed " << seed << " step " << step << " " << what;
      ASSERT_EQ(applied, inc.state()) << "seed " << seed << " step " << step << " " << what;
      for (uint32_t id : d.new_rules) ASSERT_TRUE(inc.rule(id).has_value());

      Compiler fresh;
      (void)fresh.update(w.input());
      std::string e1, e2;
      auto ci = canonical(inc, &e1);
      auto cf = canonical(fresh, &e2);
      ASSERT_EQ(e1, "") << "seed " << seed << " step " << step;
      if (ci != cf) {
        std::vector<std::string> only_inc, only_fresh;
        std::ranges::set_difference(ci, cf, std::back_inserter(only_inc));
        std::ranges::set_difference(cf, ci, std::back_inserter(only_fresh));
        std::string msg;
        for (size_t i = 0; i < only_inc.size() && i < 10; ++i) msg += "  incremental only: " + only_inc[i] + "\n";
        for (size_t i = 0; i < only_fresh.size() && i < 10; ++i) msg += "  fresh only: " + only_fresh[i] + "\n";
        FAIL() << "seed " << seed << " step " << step << " after " << what << "\n" << msg << describe(w);
      }
      if (step % 8 == 7) {
        std::string m = check_decisions(w, inc);
        ASSERT_EQ(m, "") << "seed " << seed << " step " << step << " after " << what << "\n" << m;
      }
      ++steps;
    }
  }
  std::printf("incremental steps checked: %zu\n", steps);
}

// Tight limits: the policies that do not fit are reported not enforced and
// fail closed; the rest still agrees with evaluate() (with the rejected
// policies' rules removed) and no limit is ever exceeded.
TEST(CompileDifferential, TightLimitsNeverExceededAndFailClosed) {
  size_t rejected = 0;
  size_t by_reason[3] = {0, 0, 0};
  size_t truncated_steps = 0;
  for (uint32_t seed = 1; seed <= seeds(25); ++seed) {
    Rand r(seed * 104729);
    World w = random_world(r);
    CompilerLimits lim;
    lim.max_policy_entries = static_cast<size_t>(r.n(2, 40));
    lim.max_rules = STRAND_RULE_FIRST + static_cast<uint32_t>(r.n(2, 12));
    std::set<IpAddr> base(w.host_ips.begin(), w.host_ips.end());
    for (const auto& p : w.cluster.pods) base.insert(p.ips.begin(), p.ips.end());
    for (const auto& e : w.endpoints) base.insert(e.ips.begin(), e.ips.end());
    lim.max_ipcache_entries = 2 + base.size() + static_cast<size_t>(r.n(1, 6));
    Compiler inc(lim);
    DatapathState prev;
    for (int step = 0; step < 15; ++step) {
      std::string what = "initial";
      if (step > 0) mutate(r, w, what);
      Delta d = inc.update(w.input());
      std::string err;
      DatapathState applied = apply_delta(prev, d, &err);
      ASSERT_EQ(err, "") << "seed " << seed << " step " << step << " " << what;
      ASSERT_EQ(applied, inc.state()) << "seed " << seed << " step " << step << " " << what;
      const DatapathState& s = inc.state();
      ASSERT_LE(s.policy.size(), lim.max_policy_entries);
      ASSERT_LE(s.ipcache.size(), lim.max_ipcache_entries);
      std::set<uint32_t> live;
      for (const auto& np : w.cluster.policies) {
        for (uint32_t id : inc.rules_of(np.id())) {
          ASSERT_GE(id, uint32_t{STRAND_RULE_FIRST});
          ASSERT_LT(id, lim.max_rules);
          ASSERT_TRUE(live.insert(id).second) << "rule id " << id << " used twice";
        }
        PolicyStatus st = inc.policy_status(np.id());
        if (!st.enforced) ++rejected;
        if (st.reason.starts_with("policy map full")) ++by_reason[0];
        if (st.reason.starts_with("rule ids")) ++by_reason[1];
        if (st.reason.starts_with("ipcache full")) ++by_reason[2];
      }
      for (const auto& [k, v] : s.policy) ASSERT_TRUE(live.contains(v));
      // When pods alone overflow the ipcache, the last pod addresses are
      // left out (they resolve as outside addresses): no decision check.
      auto missing = [&](const IpAddr& ip) {
        return !s.ipcache.contains(IpPrefix{ip, static_cast<uint8_t>(ip.max_prefix())});
      };
      bool truncated =
          std::ranges::any_of(w.cluster.pods, [&](const Pod& p) { return std::ranges::any_of(p.ips, missing); }) ||
          std::ranges::any_of(w.endpoints, [&](const LocalEndpoint& e) { return std::ranges::any_of(e.ips, missing); });
      for (const IpAddr& h : w.host_ips) {
        // The node's addresses go only when they alone do not fit.
        ASSERT_TRUE(!missing(h) || lim.max_ipcache_entries < 2 + w.host_ips.size()) << "seed " << seed;
      }
      if (truncated) {
        ++truncated_steps;
      } else {
        std::string m = check_decisions(w, inc);
        ASSERT_EQ(m, "") << "seed " << seed << " step " << step << " after " << what << "\n" << m;
      }
      prev = s;
    }
  }
  std::printf("policy states not enforced: %zu (policy map full %zu, rule ids %zu, ipcache full %zu), steps with pods cut from the ipcache: %zu\n",
              rejected, by_reason[0], by_reason[1], by_reason[2], truncated_steps);
  EXPECT_GT(by_reason[0], 0U);
  EXPECT_GT(by_reason[1], 0U);
  EXPECT_GT(by_reason[2], 0U);
}

}  // namespace
}  // namespace strand::policy::testing
