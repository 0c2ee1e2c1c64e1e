// Compiler::resume(): a compiler starting over from what an earlier one left
// in the maps. The earlier one numbers identities in the order objects came
// (pods one at a time, last name first); the resumed one must end in a state
// that agrees with evaluate(), as a fresh compile does, keep every number of
// an unchanged cluster (no ipcache write at all), and give an identity a
// pinned number only where that number stands for the same addresses.
#include <gtest/gtest.h>

#include "agent/policy/identity_carry.h"
#include "tests/unit/policy/compile_harness.h"

namespace strand::policy::testing {
namespace {

// w compiled as it would have grown: namespaces and policies, then pods one
// update each in reverse order (their endpoints with them).
Compiler grown(const World& w) {
  World partial = w;
  partial.cluster.pods.clear();
  partial.endpoints.clear();
  Compiler c;
  (void)c.update(partial.input());
  for (auto it = w.cluster.pods.rbegin(); it != w.cluster.pods.rend(); ++it) {
    partial.cluster.pods.push_back(*it);
    for (const LocalEndpoint& e : w.endpoints) {
      if (e.ns == it->ns && e.name == it->name) partial.endpoints.push_back(e);
    }
    (void)c.update(partial.input());
  }
  (void)c.update(w.input());
  return c;
}

TEST(CompileResume, UnchangedClusterKeepsEveryIdentityNumber) {
  size_t renumbered = 0;
  for (uint32_t seed = 1; seed <= seeds(30); ++seed) {
    Rand r(seed * 4099);
    const World w = random_world(r);
    const Compiler earlier = grown(w);
    const DatapathState pinned = earlier.state();
    Compiler fresh;
    (void)fresh.update(w.input());
    if (fresh.state().ipcache != pinned.ipcache) ++renumbered;
    Compiler c;
    const Delta d = c.resume(pinned, w.input());
    EXPECT_EQ(c.state().ipcache, pinned.ipcache) << "seed " << seed << "\n" << describe(w);
    EXPECT_TRUE(d.ipcache_upserts.empty() && d.ipcache_deletes.empty()) << "seed " << seed;
    EXPECT_TRUE(d.policy_deletes.empty()) << "seed " << seed << ": every pinned policy key is still wanted";
    std::string err;
    EXPECT_EQ(apply_delta(pinned, d, &err), c.state()) << "seed " << seed;
    EXPECT_EQ(canonical(c, nullptr), canonical(fresh, nullptr)) << "seed " << seed;
    EXPECT_EQ(check_decisions(w, c), "") << "seed " << seed;
  }
  EXPECT_GT(renumbered, 0U) << "a fresh compile numbered every world as the earlier one: the test proves nothing";
}

TEST(CompileResume, ChangedClusterKeepsNumbersOnlyForTheSameAddresses) {
  for (uint32_t seed = 1; seed <= seeds(30); ++seed) {
    Rand r(seed * 6007);
    const World before = random_world(r);
    const Compiler earlier = grown(before);
    const DatapathState pinned = earlier.state();
    World w = before;
    std::string what;
    for (int i = r.n(1, 3); i > 0; --i) {
      std::string one;
      mutate(r, w, one);
      what += one + "; ";
    }
    Compiler c;
    const Delta d = c.resume(pinned, w.input());
    std::string err;
    const DatapathState applied = apply_delta(pinned, d, &err);
    ASSERT_EQ(err, "") << "seed " << seed << " after " << what;
    EXPECT_EQ(applied, c.state()) << "seed " << seed << " after " << what;
    EXPECT_EQ(check_decisions(w, c), "") << "seed " << seed << " after " << what << "\n" << describe(w);
    // A number both states use stands for the same addresses in both.
    const std::set<uint32_t> old_numbers = identity_numbers(pinned);
    const auto kept = same_addresses(pinned, c.state());
    for (uint32_t n : identity_numbers(c.state())) {
      if (!old_numbers.contains(n)) continue;
      auto it = kept.find(n);
      EXPECT_TRUE(it != kept.end() && it->second == n)
          << "seed " << seed << " after " << what << ": identity " << n << " names other addresses than it did";
    }
    // Later updates go on from the resumed state as from any other.
    mutate(r, w, what);
    const DatapathState now = c.state();
    const Delta next = c.update(w.input());
    EXPECT_EQ(apply_delta(now, next, &err), c.state()) << "seed " << seed;
    EXPECT_EQ(check_decisions(w, c), "") << "seed " << seed << " after " << what;
  }
}

}  // namespace
}  // namespace strand::policy::testing
