// Make-before-break, one map write at a time: write_delta() (the agent's real
// writer, agent/enforce/map_writer.cpp) runs against a fake kernel, and after
// every single bpf_map_update_elem / bpf_map_delete_elem the datapath, over
// the maps as they are at that moment (the lookup emulation of
// tests/unit/policy/compile_harness.h, plus audit: an audited endpoint's
// would-be drops pass), must let through every (endpoint, direction, peer,
// protocol, port) that both the state before the update and the state after
// it let through.
//
// The seam is the link: this binary defines bpf_map_update_elem and
// bpf_map_delete_elem itself, so map_writer.o's calls resolve to them instead
// of libbpf's (linked as a shared library; the executable's definitions win).
// No root, no BPF: the fds are fake numbers the fake kernel knows.
//
// What the order (agent/policy/compile.h, Delta) must get right: a policy
// entry deleted while an ipcache prefix still gives addresses its identity
// (an ipBlock nested in a kept one removed: the e2e sequence); an endpoint
// that starts enforcing while a prefix due for deletion still gives a peer
// its old identity (random updates); one that stops enforcing a direction
// and starts the other, or leaves audit, while its peers move (a case each:
// rare in random updates).
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/enforce/map_writer.h"
#include "tests/unit/policy/compile_harness.h"

namespace strand::policy::testing {
namespace {

constexpr int kPolicyFd = 901;
constexpr int kIpcacheFd = 902;
constexpr int kEndpointsFd = 903;
constexpr int kHitsFd = 904;

using Bytes = std::vector<uint8_t>;

template <typename T>
Bytes bytes_of(const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  return {p, p + sizeof(T)};
}

std::string key_str(const PolicyKey& k) {
  return "ep " + std::to_string(k.ep_id) + " " + dir_str(k.dir) + " identity " + std::to_string(k.remote_identity) +
         " proto " + std::to_string(k.proto) + " port " + std::to_string(k.port) + "/" + std::to_string(k.port_bits);
}

// The maps as the kernel holds them, decoded back into a DatapathState. Keys
// are known by their bytes: every key a delta writes is one of the old or the
// new state.
struct FakeKernel {
  DatapathState live;
  std::map<Bytes, PolicyKey> policy_keys;
  std::map<Bytes, IpPrefix> ipcache_keys;
  // What a write changed: the decisions of one endpoint, or of the peers in one prefix.
  struct Write {
    std::string what;  // "policy upsert ep 1 ...", for the failure message
    std::optional<uint32_t> ep;
    std::optional<IpPrefix> prefix;
  };
  std::vector<std::string> writes;                // in order
  std::function<void(const Write&)> after_write;  // the check, after every write
  std::string error;                              // a write the fake could not decode

  void learn(const DatapathState& s) {
    for (const auto& [k, _] : s.policy) policy_keys.emplace(bytes_of(k.to_bpf()), k);
    for (const auto& [p, _] : s.ipcache) ipcache_keys.emplace(bytes_of(enforce::ipcache_key(p)), p);
  }

  // The key behind a policy or ipcache key's bytes, nullptr for one of neither state.
  template <typename Key, typename BpfKey>
  static const Key* decode(const std::map<Bytes, Key>& known, const void* key) {
    const auto* b = static_cast<const uint8_t*>(key);
    auto it = known.find(Bytes(b, b + sizeof(BpfKey)));
    return it == known.end() ? nullptr : &it->second;
  }
  [[nodiscard]] const PolicyKey* policy_key(const void* key) const {
    return decode<PolicyKey, strand_policy_key>(policy_keys, key);
  }
  [[nodiscard]] const IpPrefix* ipcache_prefix(const void* key) const {
    return decode<IpPrefix, strand_lpm_key>(ipcache_keys, key);
  }

  int fail(const std::string& what) {
    if (error.empty()) error = what;
    errno = EINVAL;
    return -1;
  }

  void wrote(const Write& w) {
    writes.push_back(w.what);
    if (after_write) after_write(w);
  }

  // bpf_map_update_elem on the fake maps.
  int update(int fd, const void* key, const void* value) {
    switch (fd) {
      case kPolicyFd: {
        const PolicyKey* pk = policy_key(key);
        if (pk == nullptr) return fail("policy upsert of a key of neither state");
        live.policy[*pk] = static_cast<const strand_policy_value*>(value)->rule_id;
        wrote({"policy upsert " + key_str(*pk), pk->ep_id, {}});
        return 0;
      }
      case kIpcacheFd: {
        const IpPrefix* p = ipcache_prefix(key);
        if (p == nullptr) return fail("ipcache upsert of a prefix of neither state");
        const auto* v = static_cast<const strand_ipcache_value*>(value);
        live.ipcache[*p] = IpcacheValue{v->identity, v->cidr_identity};
        wrote({"ipcache upsert " + p->str(), {}, *p});
        return 0;
      }
      case kEndpointsFd: {
        const uint32_t ep = *static_cast<const uint32_t*>(key);
        const auto* v = static_cast<const strand_endpoint*>(value);
        live.endpoints[ep] = EndpointState{v->identity, v->flags};
        wrote({"endpoint upsert " + std::to_string(ep), ep, {}});
        return 0;
      }
      case kHitsFd:
        return 0;  // rule hit counters: no decision reads them
      default:
        return errno = EBADF, -1;
    }
  }

  // bpf_map_delete_elem on the fake maps (write_delta deletes only policy and ipcache keys).
  int remove(int fd, const void* key) {
    if (fd == kPolicyFd) {
      const PolicyKey* pk = policy_key(key);
      if (pk == nullptr || live.policy.erase(*pk) == 0) return errno = ENOENT, -1;
      wrote({"policy delete " + key_str(*pk), pk->ep_id, {}});
      return 0;
    }
    if (fd == kIpcacheFd) {
      const IpPrefix* p = ipcache_prefix(key);
      if (p == nullptr || live.ipcache.erase(*p) == 0) return errno = ENOENT, -1;
      wrote({"ipcache delete " + p->str(), {}, *p});
      return 0;
    }
    return errno = EBADF, -1;
  }
};

FakeKernel* g_kernel = nullptr;

}  // namespace
}  // namespace strand::policy::testing

using strand::policy::testing::g_kernel;

extern "C" int bpf_map_update_elem(int fd, const void* key, const void* value, __u64 /*flags*/) {
  return g_kernel != nullptr ? g_kernel->update(fd, key, value) : (errno = EBADF, -1);
}

extern "C" int bpf_map_delete_elem(int fd, const void* key) {
  return g_kernel != nullptr ? g_kernel->remove(fd, key) : (errno = EBADF, -1);
}

namespace strand::policy::testing {
namespace {

// One decision the datapath takes: endpoint ep, direction, peer address, protocol, port.
struct Decision {
  uint32_t ep;
  Direction dir;
  IpAddr peer;
  uint8_t proto;
  uint16_t port;

  [[nodiscard]] std::string str() const {
    return "ep " + std::to_string(ep) + " " + dir_str(dir) + " peer " + peer.str() + " " + std::to_string(proto) + "/" +
           std::to_string(port);
  }
};

// Whether the datapath lets the decision through: allowed by policy, or
// denied and passed by audit.
bool passes(const DatapathState& s, const Decision& d) {
  auto e = s.endpoints.find(d.ep);
  if (e != s.endpoints.end() && (e->second.flags & STRAND_EP_F_AUDIT) != 0) return true;
  return side_allowed(s, d.ep, d.dir, d.peer, d.proto, d.port);
}

// Every decision both states let through, over the peers and ports either cluster mentions.
std::vector<Decision> allowed_by_both(const DatapathState& before, const DatapathState& after,
                                      const std::vector<IpAddr>& peers, const std::vector<uint16_t>& ports) {
  std::vector<Decision> out;
  for (const auto& [ep, _] : after.endpoints) {
    if (!before.endpoints.contains(ep)) continue;
    for (Direction dir : {Direction::kEgress, Direction::kIngress}) {
      for (const IpAddr& peer : peers) {
        for (uint8_t proto : {uint8_t{6}, uint8_t{17}, uint8_t{132}}) {
          for (uint16_t port : ports) {
            const Decision d{ep, dir, peer, proto, port};
            if (passes(before, d) && passes(after, d)) out.push_back(d);
          }
        }
      }
    }
  }
  return out;
}

struct OrderCheck {
  size_t writes = 0;     // individual map writes checked
  size_t decisions = 0;  // decisions re-evaluated after them
};

// Writes delta d (which takes `before` to `after`) through write_delta and
// checks every intermediate state; returns the first violation, or "".
std::string write_and_check(const DatapathState& before, const DatapathState& after, const Delta& d,
                            const std::vector<IpAddr>& peers, const std::vector<uint16_t>& ports, OrderCheck& stats) {
  FakeKernel k;
  k.live = before;
  k.learn(before);
  k.learn(after);
  // By endpoint: a policy or endpoint write changes only its endpoint's decisions.
  std::map<uint32_t, std::vector<Decision>> both;
  for (Decision& dec : allowed_by_both(before, after, peers, ports)) both[dec.ep].push_back(std::move(dec));
  std::string violation;
  auto recheck = [&](const Decision& dec, const FakeKernel::Write& w) {
    ++stats.decisions;
    if (passes(k.live, dec)) return true;
    violation = "after write #" + std::to_string(k.writes.size()) + " (" + w.what + ") " + dec.str() +
                " is dropped, though let through before and after the update";
    return false;
  };
  k.after_write = [&](const FakeKernel::Write& w) {
    ++stats.writes;
    if (!violation.empty()) return;
    for (const auto& [ep, decisions] : both) {
      if (w.ep && *w.ep != ep) continue;
      for (const Decision& dec : decisions) {
        if (w.prefix && !w.prefix->contains(dec.peer)) continue;
        if (!recheck(dec, w)) return;
      }
    }
  };
  std::set<uint32_t> attached;
  for (const auto& [ep, _] : after.endpoints) attached.insert(ep);
  g_kernel = &k;
  const enforce::MapFds fds{kPolicyFd, kIpcacheFd, kEndpointsFd, kHitsFd};
  auto n = enforce::write_delta(fds, d, attached, 7);
  g_kernel = nullptr;
  if (!k.error.empty()) return "fake kernel: " + k.error;
  if (!n) return "writer: " + n.error().message();
  if (!violation.empty()) {
    std::string trail;
    for (size_t i = 0; i < k.writes.size(); ++i) trail += "  #" + std::to_string(i + 1) + " " + k.writes[i] + "\n";
    return violation + "\nwrites:\n" + trail;
  }
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

}  // namespace
}  // namespace strand::policy::testing
