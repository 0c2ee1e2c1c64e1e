// Make-before-break, one map write at a time: write_delta() (the agent's real
// writer, agent/enforce/map_writer.cpp) runs against a fake kernel
// (fake_kernel.h), and after every single bpf_map_update_elem /
// bpf_map_delete_elem the datapath, over the maps as they are at that moment
// (decisions.h), must let through every (endpoint, direction, peer,
// protocol, port) that both the state before the update and the state after
// it let through.
//
// What the order (agent/policy/compile.h, Delta) must get right: a policy
// entry deleted while an ipcache prefix still gives addresses its identity
// (an ipBlock nested in a kept one removed: the e2e sequence); an endpoint
// that starts enforcing while a prefix due for deletion still gives a peer
// its old identity (random updates); one that stops enforcing a direction
// and starts the other, or leaves audit, while its peers move (a case each:
// rare in random updates).
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/enforce/map_writer.h"
#include "tests/unit/enforce/decisions.h"
#include "tests/unit/enforce/fake_kernel.h"
#include "tests/unit/policy/compile_harness.h"

namespace strand::policy::testing {
namespace {

using enforce::testing::FakeKernel;
using enforce::testing::g_kernel;
using enforce::testing::kFakeFds;

struct OrderCheck {
  size_t writes = 0;     // individual map writes checked
  size_t decisions = 0;  // decisions re-evaluated after them
};

// Writes delta d (which takes `before` to `after`) through write_delta and
// checks every intermediate state; returns the first violation, or "".
std::string write_and_check(const DatapathState& before, const DatapathState& after, const Delta& d,
                            const std::vector<IpAddr>& peers, const std::vector<uint16_t>& ports, OrderCheck& stats) {
  FakeKernel k;
  k.load(before);
  const AgreedDecisions both(before, after, peers, ports, false);
  std::string violation;
  k.after_write = [&](const FakeKernel::Write& w) {
    ++stats.writes;
    if (violation.empty()) violation = both.recheck(k.live, w, k.writes.size(), stats.decisions);
  };
  std::set<uint32_t> attached;
  for (const auto& [ep, _] : after.endpoints) attached.insert(ep);
  g_kernel = &k;
  auto n = enforce::write_delta(kFakeFds, d, attached, 7);
  g_kernel = nullptr;
  if (!k.error.empty()) return "fake kernel: " + k.error;
  if (!n) return "writer: " + n.error().message();
  if (!violation.empty()) return violation + "\nwrites:\n" + trail(k.writes);
  // Endpoint deletes are the Endpoints' (write_delta leaves them); the rest is the new state.
  DatapathState got = k.live;
  for (uint32_t ep : d.endpoint_deletes) got.endpoints.erase(ep);
  if (got != after) return "the maps after the writes differ from the compiler's state";
  return "";
}

std::vector<IpAddr> peers_of(const World& w) {
  std::set<IpAddr> s(w.outside.begin(), w.outside.end());
  s.insert(w.host_ips.begin(), w.host_ips.end());
  for (const Pod& p : w.cluster.pods) s.insert(p.ips.begin(), p.ips.end());
  return {s.begin(), s.end()};
}

std::vector<uint16_t> ports_of(const Cluster& a, const Cluster& b) {
  std::set<uint16_t> s;
  for (uint16_t p : probe_ports(a)) s.insert(p);
  for (uint16_t p : probe_ports(b)) s.insert(p);
  return {s.begin(), s.end()};
}

void random_updates() {
  OrderCheck stats;
  for (uint32_t seed = 1; seed <= seeds(8); ++seed) {
    Rand r(seed * 6151);
    World w = random_world(r);
    Compiler c;
    (void)c.update(w.input());
    for (int step = 0; step < 12; ++step) {
      std::string what;
      const Cluster old_cluster = w.cluster;
      std::vector<IpAddr> peers = peers_of(w);
      mutate(r, w, what);
      if (r.p(0.5)) {
        // Two changes in one update (an endpoint's audit and its policies,
        // say), as one sync after a burst of events sees them.
        std::string more;
        mutate(r, w, more);
        what += " and " + more;
      }
      for (const IpAddr& ip : peers_of(w)) {
        if (std::ranges::find(peers, ip) == peers.end()) peers.push_back(ip);
      }
      const DatapathState before = c.state();
      const Delta d = c.update(w.input());
      const std::string m =
          write_and_check(before, c.state(), d, peers, ports_of(old_cluster, w.cluster), stats);
      ASSERT_EQ(m, "") << "seed " << seed << " step " << step << " after " << what << "\n" << describe(w);
    }
  }
  std::printf("map writes checked: %zu, decisions re-evaluated: %zu\n", stats.writes, stats.decisions);
  EXPECT_GT(stats.decisions, 0U);
}

TEST(MapWriterOrder, RandomUpdatesNeverDenyWhatBothStatesAllow) { random_updates(); }

// A pod and an outside address, and the updates e2e/policy/update_traffic.sh
// makes under traffic, one by one: each keeps client `a` (and 192.0.2.5 on
// port 80) allowed into `server` while the maps change one write at a time.
struct Fixture {
  Cluster cluster;
  std::vector<LocalEndpoint> endpoints;
  std::vector<IpAddr> host_ips{addr("10.0.3.254")};

  Fixture() {
    cluster.namespaces = {{"x", {{"ns", "x"}, {"kubernetes.io/metadata.name", "x"}}}};
    cluster.pods = {
        {"x", "server", {{"app", "server"}}, {addr("10.0.1.10")}, {{"http", 80, Protocol::kTcp}, {"u80", 80, Protocol::kUdp}}},
        {"x", "a", {{"role", "client-a"}}, {addr("10.0.2.11")}, {}},
        {"x", "b", {{"pod", "b"}}, {addr("10.0.1.12")}, {}},
        {"x", "c", {{"role", "other"}}, {addr("10.0.2.13")}, {}},
    };
    cluster.node_ips = host_ips;
    endpoints = {{1, "x", "server", {addr("10.0.1.10")}, false}, {2, "x", "b", {addr("10.0.1.12")}, false}};
  }
};

// The pods' addresses, two in 192.0.2.0/24, one outside it and the node.
std::vector<IpAddr> fixture_peers() {
  return {addr("10.0.2.11"), addr("10.0.1.12"), addr("10.0.2.13"), addr("10.0.1.10"),
          addr("192.0.2.5"), addr("192.0.2.200"), addr("198.51.100.1"), addr("10.0.3.254")};
}

Peer pods_where(LabelSelector s) {
  Peer p;
  p.pod_selector = std::move(s);
  return p;
}

Peer block(std::string_view cidr, std::vector<std::string_view> except = {}) {
  Peer p;
  p.ip_block = IpBlock{pfx(cidr), {}};
  for (auto e : except) p.ip_block->except.push_back(pfx(e));
  return p;
}

PolicyPort tcp(uint16_t port, std::optional<uint16_t> end = std::nullopt) {
  PolicyPort p;
  p.port = port;
  p.end_port = end;
  return p;
}

PolicyPort udp(uint16_t port) {
  PolicyPort p;
  p.protocol = Protocol::kUdp;
  p.port = port;
  return p;
}

NetworkPolicy make_policy(std::string name, LabelSelector select, std::vector<Rule> ingress) {
  NetworkPolicy np;
  np.ns = "x";
  np.name = std::move(name);
  np.pod_selector = std::move(select);
  np.ingress = std::move(ingress);
  return np;
}

LabelSelector labels(std::string k, std::string v) {
  LabelSelector s;
  s.match_labels[std::move(k)] = std::move(v);
  return s;
}

LabelSelector expr(std::string k, SelectorOp op, std::vector<std::string> values = {}) {
  LabelSelector s;
  s.match_expressions.push_back({std::move(k), op, std::move(values)});
  return s;
}

void e2e_sequence() {
  Fixture f;
  const LabelSelector server = labels("app", "server");
  const Rule from_outside{{block("192.0.2.0/24")}, {tcp(80)}};
  auto& pols = f.cluster.policies;
  pols = {make_policy("p1", server, {{{pods_where(labels("role", "client-a"))}, {tcp(80), udp(80)}}, from_outside})};
  auto p2 = [&](std::vector<Rule> extra, uint16_t c_port, std::optional<uint16_t> c_end) {
    Peer ns_and_pod = pods_where(expr("role", SelectorOp::kIn, {"client-a", "client-z"}));
    ns_and_pod.namespace_selector = labels("kubernetes.io/metadata.name", "x");
    PolicyPort http;
    http.port = std::string("http");
    std::vector<Rule> rules{{{ns_and_pod}, {http, udp(80)}}, {{pods_where(labels("role", "client-c"))}, {tcp(c_port, c_end)}},
                            from_outside};
    rules.insert(rules.end(), extra.begin(), extra.end());
    return make_policy("p2", server, rules);
  };
  auto find = [&](std::string_view name) {
    return std::ranges::find_if(pols, [&](const NetworkPolicy& p) { return p.name == name; });
  };
  auto label = [&](std::string_view pod, Labels l) {
    std::ranges::find_if(f.cluster.pods, [&](const Pod& p) { return p.name == pod; })->labels = std::move(l);
  };
  const std::vector<std::pair<std::string, std::function<void()>>> updates = {
      {"p1 replaced in place (matchExpressions)",
       [&] { *find("p1") = make_policy("p1", expr("app", SelectorOp::kIn, {"server"}),
                                  {{{pods_where(expr("role", SelectorOp::kIn, {"client-a"}))}, {tcp(80), udp(80)}}, from_outside}); }},
      {"add p2", [&] { pols.push_back(p2({}, 81, std::nullopt)); }},
      {"delete p1", [&] { pols.erase(find("p1")); }},
      {"add p3 (every pod of x, from any role)",
       [&] { pols.push_back(make_policy("p3", {}, {{{pods_where(expr("role", SelectorOp::kExists))}, {tcp(80), udp(80)}}, from_outside})); }},
      {"relabel c", [&] { label("c", {{"role", "client-c"}}); }},
      {"p2 gains an ipBlock rule", [&] { *find("p2") = p2({{{block("10.0.0.0/16", {"10.0.1.12/32"})}, {tcp(80), udp(80)}},
                                                          {{block("192.0.2.0/25")}, {tcp(81)}}},
                                                         81, std::nullopt); }},
      {"p2 loses it", [&] { *find("p2") = p2({}, 81, std::nullopt); }},
      {"p2's rule for c: port 81 -> 8080-8090", [&] { *find("p2") = p2({}, 8080, 8090); }},
      {"relabel a (new identity)", [&] { label("a", {{"role", "client-a"}, {"tier", "front"}}); }},
      {"relabel namespace x", [&] { f.cluster.namespaces[0].labels["env"] = "test"; }},
      {"delete p2", [&] { pols.erase(find("p2")); }},
  };
  Compiler c;
  CompileInput in{&f.cluster, f.endpoints, f.host_ips};
  (void)c.update(in);
  const std::vector<IpAddr> peers = fixture_peers();
  const IpAddr a = addr("10.0.2.11"), b = addr("10.0.1.12"), out = addr("192.0.2.5");
  OrderCheck stats;
  for (const auto& [what, change] : updates) {
    const DatapathState before = c.state();
    change();
    const Delta d = c.update(in);
    EXPECT_EQ(write_and_check(before, c.state(), d, peers, {53, 80, 81, 8080, 8085, 8091}, stats), "") << what;
    // The sequence keeps its promise: a and the outside address in, b out.
    EXPECT_TRUE(side_allowed(c.state(), 1, Direction::kIngress, a, 6, 80)) << what;
    EXPECT_TRUE(side_allowed(c.state(), 1, Direction::kIngress, a, 17, 80)) << what;
    EXPECT_TRUE(side_allowed(c.state(), 1, Direction::kIngress, out, 6, 80)) << what;
    EXPECT_FALSE(side_allowed(c.state(), 1, Direction::kIngress, b, 6, 80)) << what;
  }
  EXPECT_GT(stats.decisions, 0U);
}

TEST(MapWriterOrder, TheE2eUpdateSequenceStepByStep) { e2e_sequence(); }

// One update of f made by `change`, written and checked; `kept` passes
// before and after it (the case is about it).
void one_update(Fixture& f, const std::function<void()>& change, const Decision& kept) {
  Compiler c;
  (void)c.update({&f.cluster, f.endpoints, f.host_ips});
  const DatapathState before = c.state();
  change();
  const Delta d = c.update({&f.cluster, f.endpoints, f.host_ips});
  ASSERT_TRUE(passes(before, kept)) << kept.str();
  ASSERT_TRUE(passes(c.state(), kept)) << kept.str();
  OrderCheck stats;
  EXPECT_EQ(write_and_check(before, c.state(), d, fixture_peers(), {80, 81}, stats), "");
}

// The server stops enforcing ingress and starts enforcing egress in one
// update, and the block that let 192.0.2.5 in goes with it: while the
// prefix's delete is pending or done, the server must enforce neither
// direction's old or new rules against the peer's other identity. Written
// as "tightening" after the ipcache changes (old ingress flag still set),
// 192.0.2.5 would drop once its prefix is gone.
TEST(MapWriterOrder, EndpointSwitchesDirectionWhileItsPeerMoves) {
  Fixture f;
  f.cluster.policies = {make_policy("p1", labels("app", "server"), {{{block("192.0.2.0/24")}, {tcp(80)}}})};
  one_update(f,
             [&] {
               NetworkPolicy& p = f.cluster.policies.front();
               p.ingress.clear();
               p.ingress_type = false;
               p.egress_type = true;
               p.egress = {{{pods_where(labels("role", "client-a"))}, {tcp(80)}}};
             },
             {1, Direction::kIngress, addr("192.0.2.5"), 6, 80});
}

// The server leaves audit as a block starts allowing 192.0.2.5: audit must
// stay until the peer has the block's identity.
TEST(MapWriterOrder, AuditEndsWhileItsPeerMoves) {
  Fixture f;
  f.endpoints[0].audit = true;
  const LabelSelector server = labels("app", "server");
  f.cluster.policies = {make_policy("p1", server, {{{pods_where(labels("role", "client-a"))}, {tcp(80)}}})};
  one_update(f,
             [&] {
               f.endpoints[0].audit = false;
               f.cluster.policies.front().ingress.push_back({{block("192.0.2.0/24")}, {tcp(80)}});
             },
             {1, Direction::kIngress, addr("192.0.2.5"), 6, 80});
}

// read_pinned() gives back what write_delta() wrote, over random worlds
// and their updates (what a restarted agent diffs against).
TEST(MapWriterReadBack, ReadsBackWhatWasWritten) {
  for (uint32_t seed = 1; seed <= seeds(8); ++seed) {
    Rand r(seed * 7919);
    World w = random_world(r);
    Compiler c;
    FakeKernel k;
    g_kernel = &k;
    for (int step = 0; step < 6; ++step) {
      const Delta d = c.update(w.input());
      std::set<uint32_t> attached;
      for (const auto& [ep, _] : c.state().endpoints) attached.insert(ep);
      ASSERT_TRUE(enforce::write_delta(kFakeFds, d, attached, 3).has_value());
      auto back = enforce::read_pinned(kFakeFds);
      ASSERT_TRUE(back.has_value()) << back.error().message();
      DatapathState want = c.state();
      // Endpoint entries are not write_delta's to delete: compare the rest.
      back->state.endpoints = want.endpoints = {};
      EXPECT_EQ(back->state, want) << "seed " << seed << " step " << step;
      EXPECT_TRUE(back->stray_ipcache.empty());
      EXPECT_TRUE(back->stray_policy.empty());
      std::string what;
      mutate(r, w, what);
    }
    g_kernel = nullptr;
  }
}

// Keys no writer makes do not decode (read_pinned() sets them apart).
TEST(MapWriterReadBack, KeysTheWriterDoesNotMakeDoNotDecode) {
  const strand_lpm_key good = enforce::ipcache_key(pfx("10.1.0.0/16"));
  ASSERT_EQ(enforce::ipcache_prefix(good), pfx("10.1.0.0/16"));
  EXPECT_EQ(enforce::ipcache_prefix(enforce::ipcache_key(pfx("fd00::/64"))), pfx("fd00::/64"));
  strand_lpm_key k = good;
  k.family = 5;
  EXPECT_FALSE(enforce::ipcache_prefix(k));
  k = good;
  k.prefixlen = STRAND_LPM_PREFIX(33);
  EXPECT_FALSE(enforce::ipcache_prefix(k)) << "longer than the family";
  k = good;
  k.addr[3] = 1;
  EXPECT_FALSE(enforce::ipcache_prefix(k)) << "host bits set";
  k = good;
  k.addr[4] = 1;
  EXPECT_FALSE(enforce::ipcache_prefix(k)) << "bytes past an IPv4 address";

  for (const PolicyKey& pk : {PolicyKey{7, 300, Direction::kIngress, 6, 8080, 16},
                              PolicyKey{7, 0, Direction::kEgress, 17, 1024, 6}, PolicyKey{9, 2, Direction::kEgress, 0, 0, 0}}) {
    EXPECT_EQ(enforce::policy_key(pk.to_bpf()), pk) << enforce::testing::key_str(pk);
  }
  const strand_policy_key any = PolicyKey{7, 300, Direction::kIngress, 0, 0, 0}.to_bpf();
  strand_policy_key b = any;
  b.dir = 2;
  EXPECT_FALSE(enforce::policy_key(b));
  b = any;
  b.proto = 6;
  EXPECT_FALSE(enforce::policy_key(b)) << "a protocol in an every-protocol key";
  b = any;
  b.prefixlen = STRAND_POLICY_PREFIX_FULL + 1;
  EXPECT_FALSE(enforce::policy_key(b));
}

// Stray keys in the pinned maps (what no writer makes) are read apart from
// the state and deleted, ipcache first; the decodable entries stay.
TEST(MapWriterReadBack, StrayKeysAreSetApartAndDeleted) {
  FakeKernel k;
  g_kernel = &k;
  DatapathState s;
  s.ipcache[pfx("10.1.0.0/16")] = IpcacheValue{300, 0};
  s.policy[PolicyKey{7, 300, Direction::kIngress, 6, 8080, 16}] = 5;
  k.load(s);
  strand_lpm_key stray_ip = enforce::ipcache_key(pfx("10.2.0.0/16"));
  stray_ip.addr[3] = 1;  // host bits
  strand_policy_key stray_pol = PolicyKey{7, 300, Direction::kIngress, 0, 0, 0}.to_bpf();
  stray_pol.dir = 2;
  auto bytes = [](const auto& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    return enforce::testing::Bytes(p, p + sizeof(v));
  };
  k.maps[kFakeFds.ipcache][bytes(stray_ip)] = bytes(strand_ipcache_value{});
  k.maps[kFakeFds.policy][bytes(stray_pol)] = bytes(strand_policy_value{});

  auto pinned = enforce::read_pinned(kFakeFds);
  ASSERT_TRUE(pinned.has_value()) << pinned.error().message();
  EXPECT_EQ(pinned->state.ipcache, s.ipcache);
  EXPECT_EQ(pinned->state.policy, s.policy);
  ASSERT_EQ(pinned->stray_ipcache.size(), 1u);
  ASSERT_EQ(pinned->stray_policy.size(), 1u);
  auto n = enforce::delete_strays(kFakeFds, *pinned);
  ASSERT_TRUE(n.has_value()) << n.error().message();
  EXPECT_EQ(*n, 2u);
  EXPECT_FALSE(k.maps[kFakeFds.ipcache].contains(bytes(stray_ip)));
  EXPECT_FALSE(k.maps[kFakeFds.policy].contains(bytes(stray_pol)));
  EXPECT_EQ(k.maps[kFakeFds.ipcache].size(), 1u);
  EXPECT_EQ(k.maps[kFakeFds.policy].size(), 1u);
  EXPECT_EQ(k.live.ipcache, s.ipcache);
  EXPECT_EQ(k.live.policy, s.policy);
  ASSERT_GE(k.writes.size(), 2u);
  EXPECT_EQ(k.writes[k.writes.size() - 2], "ipcache delete of a stray key");
  g_kernel = nullptr;
}

}  // namespace
}  // namespace strand::policy::testing
