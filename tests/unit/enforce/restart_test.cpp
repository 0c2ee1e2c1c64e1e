// Agent restart, one map write at a time. An earlier agent (a real Enforcer
// over the fake kernel, fake_kernel.h) numbers identities in the order the
// objects reached it: pods one by one in reverse name order, then policies.
// It is killed and its maps stay. A new Enforcer over a new model starts as
// strand-agent does (Endpoints::restore: restoring(), then admit() and the
// endpoint entry for every record; then start()), numbering a cluster it
// sees all at once in name order. After every single map write of that
// start, every (endpoint, direction, peer, protocol, port) that the pinned
// state and the new state both let through must pass, and every one both
// deny must be dropped; at the end the maps judge everything as the new
// state does. Over the same cluster, and over one that changed while no
// agent ran.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/enforce/enforcer.h"
#include "agent/enforce/host_addrs.h"
#include "agent/model/model.h"
#include "tests/unit/enforce/decisions.h"
#include "tests/unit/enforce/fake_kernel.h"
#include "tests/unit/policy/compile_harness.h"

namespace strand::policy::testing {
namespace {

using enforce::testing::FakeKernel;
using enforce::testing::g_kernel;
using enforce::testing::kFakeFds;

model::Object pod_object(const Pod& p) { return model::Pod{p, "uid-" + p.name, "n"}; }

// What the CNI left in the state directory for endpoint e.
EndpointRecord record_of(const LocalEndpoint& e) {
  EndpointRecord r;
  r.container_id = "c" + std::to_string(e.ep_id);
  r.ifname = "eth0";
  r.host_ifname = "st" + std::to_string(e.ep_id);
  r.pod_namespace = e.ns;
  r.pod_name = e.name;
  for (const IpAddr& ip : e.ips) r.ips.push_back(IpPrefix{ip, static_cast<uint8_t>(ip.max_prefix())});
  r.state = "ready";
  return r;
}

enforce::EnforcerOptions options() {
  enforce::EnforcerOptions o;
  o.pod_wait = std::chrono::milliseconds(0);  // the ghost endpoint's pod never comes
  return o;
}

// Waits until e has the model's version in the maps.
void wait_applied(const enforce::Enforcer& e, const model::Model& m) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (e.stats().applied_version < m.version()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "model version " << m.version() << " not applied";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// The earlier agent: w's objects reach it one at a time, pods in reverse
// name order with their endpoints admitted as they come, then policies in
// reverse order; then it dies and leaves its maps.
void run_earlier_agent(const World& w) {
  model::Model m;
  enforce::Enforcer e(m, kFakeFds, options());
  for (const Namespace& n : w.cluster.namespaces) m.upsert(model::Namespace{n, {}});
  ASSERT_TRUE(e.start().has_value());
  std::vector<Pod> pods = w.cluster.pods;
  std::ranges::sort(pods, std::ranges::greater{}, [](const Pod& p) { return std::pair{p.ns, p.name}; });
  for (const Pod& p : pods) {
    m.upsert(pod_object(p));
    ASSERT_NO_FATAL_FAILURE(wait_applied(e, m));
    for (const LocalEndpoint& ep : w.endpoints) {
      if (ep.ns == p.ns && ep.name == p.name) {
        ASSERT_TRUE(e.admit(record_of(ep), ep.ep_id).has_value());
      }
    }
  }
  for (const LocalEndpoint& ep : w.endpoints) {
    if (w.cluster.find_pod(ep.ns, ep.name) == nullptr) {
      ASSERT_TRUE(e.admit(record_of(ep), ep.ep_id).has_value());
    }
  }
  for (auto it = w.cluster.policies.rbegin(); it != w.cluster.policies.rend(); ++it) {
    m.upsert(*it);
    ASSERT_NO_FATAL_FAILURE(wait_applied(e, m));
  }
  e.stop();
}

// The restarted agent's start over w, as strand-agent's main and
// Endpoints::restore run it.
void start_agent(const World& w, model::Model& m) {
  for (const Namespace& n : w.cluster.namespaces) m.upsert(model::Namespace{n, {}});
  for (const Pod& p : w.cluster.pods) m.upsert(pod_object(p));
  for (const NetworkPolicy& np : w.cluster.policies) m.upsert(np);
  enforce::Enforcer e(m, kFakeFds, options());
  std::vector<std::pair<EndpointRecord, uint32_t>> records;
  for (const LocalEndpoint& ep : w.endpoints) records.emplace_back(record_of(ep), ep.ep_id);
  e.restoring(records);
  for (const LocalEndpoint& ep : w.endpoints) {
    auto entry = e.admit(record_of(ep), ep.ep_id);
    ASSERT_TRUE(entry.has_value()) << entry.error().message();
    ASSERT_EQ(bpf_map_update_elem(kFakeFds.endpoints, &ep.ep_id, &*entry, BPF_ANY), 0);
  }
  ASSERT_TRUE(e.start().has_value());
  e.stop();
}

struct RestartCheck {
  size_t restarts = 0;
  size_t renumbered = 0;  // restarts whose new numbering differs from the pinned one
  size_t writes = 0;
  size_t decisions = 0;
};

std::vector<IpAddr> peers_of(const World& a, const World& b, const std::vector<IpAddr>& hosts) {
  std::set<IpAddr> s(hosts.begin(), hosts.end());
  for (const World* w : {&a, &b}) {
    s.insert(w->outside.begin(), w->outside.end());
    for (const Pod& p : w->cluster.pods) s.insert(p.ips.begin(), p.ips.end());
  }
  return {s.begin(), s.end()};
}

// Runs the earlier agent over `before`, restarts over `after` and checks
// every write of the start; returns the first violation, or "".
std::string restart_and_check(const World& before, World after, RestartCheck& stats) {
  for (LocalEndpoint& ep : after.endpoints) ep.audit = false;  // the Enforcer's audit comes from namespaces
  FakeKernel k;
  g_kernel = &k;
  run_earlier_agent(before);
  if (::testing::Test::HasFatalFailure()) return "earlier agent failed";
  const DatapathState pinned = k.live;
  // What the new state lets through does not depend on its numbering: a
  // compiler of its own says.
  const std::vector<IpAddr> hosts = enforce::host_addresses().value();
  Compiler ref;
  (void)ref.update({&after.cluster, after.endpoints, hosts});
  const DatapathState& want = ref.state();
  std::vector<uint16_t> ports = probe_ports(before.cluster);
  for (uint16_t p : probe_ports(after.cluster)) ports.push_back(p);
  const std::vector<IpAddr> peers = peers_of(before, after, hosts);
  const AgreedDecisions agreed(pinned, want, peers, ports, true);
  ++stats.restarts;
  for (const auto& [p, v] : want.ipcache) {
    auto it = pinned.ipcache.find(p);
    if (it != pinned.ipcache.end() && it->second != v) {
      ++stats.renumbered;
      break;
    }
  }
  std::string violation;
  k.writes.clear();
  k.after_write = [&](const FakeKernel::Write& w) {
    ++stats.writes;
    if (violation.empty()) violation = agreed.recheck(k.live, w, k.writes.size(), stats.decisions);
  };
  model::Model m;
  start_agent(after, m);
  k.after_write = nullptr;
  g_kernel = nullptr;
  if (::testing::Test::HasFatalFailure()) return "restarted agent failed";
  if (!k.error.empty()) return "fake kernel: " + k.error;
  if (!violation.empty()) return violation + "\nwrites:\n" + trail(k.writes);
  // In the end the maps judge as the new state does.
  const AgreedDecisions final_state(want, want, peers, ports, true);
  const std::string off = final_state.recheck(k.live, {"the end", {}, {}}, k.writes.size(), stats.decisions);
  return off.empty() ? "" : "not the new state: " + off;
}

void restarts(bool change_while_down) {
  RestartCheck stats;
  for (uint32_t seed = 1; seed <= seeds(8); ++seed) {
    Rand r(seed * 104729);
    const World before = random_world(r);
    World after = before;
    std::string what = "nothing";
    if (change_while_down) {
      mutate(r, after, what);
      for (int i = r.n(0, 2); i > 0; --i) {
        std::string more;
        mutate(r, after, more);
        what += " and " + more;
      }
    }
    const std::string m = restart_and_check(before, after, stats);
    ASSERT_EQ(m, "") << "seed " << seed << ", changed while down: " << what << "\nbefore:\n"
                     << describe(before) << "after:\n" << describe(after);
  }
  std::printf("restarts: %zu (renumbered %zu), map writes checked: %zu, decisions re-evaluated: %zu\n", stats.restarts,
              stats.renumbered, stats.writes, stats.decisions);
  EXPECT_GT(stats.renumbered, 0U) << "no restart numbered identities differently: the test proves nothing";
  EXPECT_GT(stats.decisions, 0U);
}

TEST(AgentRestart, SameClusterNeverChangesAVerdictBothStatesAgreeOn) { restarts(false); }

TEST(AgentRestart, ClusterChangedWhileDownNeverChangesAVerdictBothStatesAgreeOn) { restarts(true); }

}  // namespace
}  // namespace strand::policy::testing
