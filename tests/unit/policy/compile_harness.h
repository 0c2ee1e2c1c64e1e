#pragma once
// Test helpers for the policy compiler: the BPF decision emulated over a
// DatapathState (ipcache longest-prefix match, endpoint flags, HOST, three
// LPM probes over the policy map's byte keys), Delta application, a
// canonical form independent of identity and rule numbering, and random
// clusters using every NetworkPolicy feature.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "agent/policy/compile.h"
#include "agent/policy/evaluate.h"

namespace strand::policy::testing {

inline IpAddr addr(std::string_view s) { return IpAddr::parse(s).value(); }
inline IpPrefix pfx(std::string_view s) { return IpPrefix::parse(s).value(); }

inline uint8_t proto_num(Protocol p) {
  switch (p) {
    case Protocol::kTcp: return 6;
    case Protocol::kUdp: return 17;
    case Protocol::kSctp: return 132;
  }
  return 0;
}

// ipcache lookup as the LPM trie does it.
inline std::optional<IpcacheValue> lpm(const DatapathState& s, const IpAddr& ip) {
  for (int len = static_cast<int>(ip.max_prefix()); len >= 0; --len) {
    auto it = s.ipcache.find(IpPrefix{ip, static_cast<uint8_t>(len)}.network());
    if (it != s.ipcache.end()) return it->second;
  }
  return std::nullopt;
}

// One probe of the policy LPM trie with a full key: an entry matches when
// the first prefixlen bits after the prefixlen word are equal.
inline std::optional<uint32_t> probe(const DatapathState& s, uint32_t ep, Direction dir, uint32_t remote,
                                     uint8_t proto, uint16_t port) {
  strand_policy_key want = PolicyKey{ep, remote, dir, proto, port, 16}.to_bpf();
  want.prefixlen = STRAND_POLICY_PREFIX_FULL;
  const auto* wb = reinterpret_cast<const uint8_t*>(&want) + sizeof(__u32);
  std::optional<uint32_t> best;
  uint32_t best_len = 0;
  for (auto it = s.policy.lower_bound(PolicyKey{ep, 0, Direction::kEgress, 0, 0, 0});
       it != s.policy.end() && it->first.ep_id == ep; ++it) {
    strand_policy_key k = it->first.to_bpf();
    const auto* kb = reinterpret_cast<const uint8_t*>(&k) + sizeof(__u32);
    bool match = true;
    for (uint32_t bit = 0; bit < k.prefixlen && match; ++bit) {
      uint8_t mask = static_cast<uint8_t>(0x80U >> (bit % 8));
      match = (kb[bit / 8] & mask) == (wb[bit / 8] & mask);
    }
    if (match && (!best || k.prefixlen > best_len)) {
      best = it->second;
      best_len = k.prefixlen;
    }
  }
  return best;
}

// The datapath's decision for one direction of endpoint ep against peer:
// the rule id that lets it through (STRAND_RULE_NONE when the direction is
// not enforced, STRAND_RULE_HOST for the node), nullopt when denied.
inline std::optional<uint32_t> side_rule(const DatapathState& s, uint32_t ep, Direction dir, const IpAddr& peer,
                                         uint8_t proto, uint16_t port) {
  auto e = s.endpoints.find(ep);
  if (e == s.endpoints.end()) return std::nullopt;
  uint32_t flag = dir == Direction::kIngress ? STRAND_EP_F_ENFORCE_INGRESS : STRAND_EP_F_ENFORCE_EGRESS;
  if ((e->second.flags & flag) == 0) return STRAND_RULE_NONE;
  IpcacheValue v = lpm(s, peer).value_or(IpcacheValue{});
  if (v.identity == STRAND_IDENTITY_HOST) return STRAND_RULE_HOST;
  if (auto r = probe(s, ep, dir, v.identity, proto, port)) return r;
  if (v.cidr_identity != 0) {
    if (auto r = probe(s, ep, dir, v.cidr_identity, proto, port)) return r;
  }
  return probe(s, ep, dir, STRAND_POLICY_ANY_IDENTITY, proto, port);
}

inline bool side_allowed(const DatapathState& s, uint32_t ep, Direction dir, const IpAddr& peer, uint8_t proto,
                         uint16_t port) {
  return side_rule(s, ep, dir, peer, proto, port).has_value();
}

// Applies d to s in the documented order (compile.h, Delta); reports a
// delete of a missing entry, an upsert that changes nothing, and ipcache
// changes out of prefix-length order.
inline DatapathState apply_delta(DatapathState s, const Delta& d, std::string* err) {
  auto note = [&](const std::string& m) {
    if (err != nullptr && err->empty()) *err = m;
  };
  auto put_endpoints = [&](const std::vector<std::pair<uint32_t, EndpointState>>& entries) {
    for (const auto& [k, v] : entries) {
      auto it = s.endpoints.find(k);
      if (it != s.endpoints.end() && it->second == v) note("no-op endpoint upsert");
      s.endpoints[k] = v;
    }
  };
  for (const auto& [k, v] : d.policy_upserts) {
    auto it = s.policy.find(k);
    if (it != s.policy.end() && it->second == v) note("no-op policy upsert");
    s.policy[k] = v;
  }
  put_endpoints(d.endpoint_loosens);
  for (size_t i = 0; i < d.ipcache_upserts.size(); ++i) {
    const auto& [k, v] = d.ipcache_upserts[i];
    if (i > 0 && d.ipcache_upserts[i - 1].first.len < k.len) note("ipcache upsert " + k.str() + " after a shorter one");
    auto it = s.ipcache.find(k);
    if (it != s.ipcache.end() && it->second == v) note("no-op ipcache upsert " + k.str());
    s.ipcache[k] = v;
  }
  for (size_t i = 0; i < d.ipcache_deletes.size(); ++i) {
    const IpPrefix& k = d.ipcache_deletes[i];
    if (i > 0 && d.ipcache_deletes[i - 1].len > k.len) note("ipcache delete " + k.str() + " after a longer one");
    if (s.ipcache.erase(k) == 0) note("delete of a missing ipcache entry " + k.str());
  }
  put_endpoints(d.endpoint_upserts);
  for (const auto& k : d.policy_deletes) {
    if (s.policy.erase(k) == 0) note("delete of a missing policy entry");
  }
  for (const auto& k : d.endpoint_deletes) {
    if (s.endpoints.erase(k) == 0) note("delete of a missing endpoint");
  }
  return s;
}

// A name for an identity that does not depend on its number.
inline std::string canon_identity(const Compiler& c, uint32_t id) {
  if (id == 0) return "0";
  if (id == STRAND_IDENTITY_HOST) return "host";
  if (id == STRAND_IDENTITY_WORLD) return "world";
  auto info = c.identity(id);
  if (!info) return "missing:" + std::to_string(id);
  std::string out;
  if (info->kind == IdentityInfo::Kind::kPod) {
    out = "pod:" + info->ns + "{";
    for (const auto& [k, v] : info->labels) out += k + "=" + v + ",";
    return out + "}";
  }
  out = "cidr:{";
  for (const auto& b : info->blocks) out += b + ";";
  return out + "}";
}

inline std::string dir_str(Direction d) { return d == Direction::kIngress ? "ingress" : "egress"; }

// state() with identities by name and policy values as (policy, dir, index).
// The winning rule of a key may differ between two compilers that number
// rules differently, so policy entries compare as keys, and each value is
// checked to name a live rule of the key's direction.
inline std::vector<std::string> canonical(const Compiler& c, std::string* err) {
  std::vector<std::string> out;
  const DatapathState& s = c.state();
  for (const auto& [p, v] : s.ipcache) {
    out.push_back("ipcache " + p.str() + " " + canon_identity(c, v.identity) + " " +
                  canon_identity(c, v.cidr_identity));
  }
  for (const auto& [id, e] : s.endpoints) {
    out.push_back("ep " + std::to_string(id) + " " + canon_identity(c, e.identity) + " " + std::to_string(e.flags));
  }
  for (const auto& [k, rid] : s.policy) {
    out.push_back("policy " + std::to_string(k.ep_id) + " " + canon_identity(c, k.remote_identity) + " " +
                  dir_str(k.dir) + " " + std::to_string(k.proto) + " " + std::to_string(k.port) + "/" +
                  std::to_string(k.port_bits));
    auto r = c.rule(rid);
    if (err != nullptr && err->empty() && (!r || r->dir != k.dir)) *err = "policy value names no live rule of its direction";
  }
  std::ranges::sort(out);
  return out;
}

// ---- random clusters ------------------------------------------------------

// STRAND_COMPILE_SEEDS=N runs N seeds instead of a test's default (a soak).
inline uint32_t seeds(uint32_t dflt) {
  const char* env = std::getenv("STRAND_COMPILE_SEEDS");
  return env != nullptr ? static_cast<uint32_t>(std::strtoul(env, nullptr, 10)) : dflt;
}

struct Rand {
  std::mt19937 g;
  explicit Rand(uint32_t seed) : g(seed) {}
  int n(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g); }
  bool p(double x) { return std::uniform_real_distribution<double>(0, 1)(g) < x; }
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[static_cast<size_t>(n(0, static_cast<int>(v.size()) - 1))]; }
};

inline const std::vector<std::string> kPodKeys{"app", "tier", "env"};
inline const std::vector<std::string> kNsKeys{"team", "env"};
inline const std::vector<std::string> kVals{"a", "b", "c"};
inline const std::vector<std::string> kPortNames{"http", "dns", "metrics"};
inline const std::vector<uint16_t> kPortNums{53, 80, 81, 1000, 8080, 9090};

inline Labels random_labels(Rand& r, const std::vector<std::string>& keys) {
  Labels l;
  for (const auto& k : keys) {
    if (r.p(0.6)) l[k] = r.pick(kVals);
  }
  return l;
}

inline LabelSelector random_selector(Rand& r, const std::vector<std::string>& keys) {
  LabelSelector s;
  int ml = r.n(0, 2);
  for (int i = 0; i < ml; ++i) s.match_labels[r.pick(keys)] = r.pick(kVals);
  int me = r.n(0, 1) + (r.p(0.2) ? 1 : 0);
  for (int i = 0; i < me; ++i) {
    SelectorRequirement q;
    q.key = r.pick(keys);
    q.op = static_cast<SelectorOp>(r.n(0, 3));
    if (q.op == SelectorOp::kIn || q.op == SelectorOp::kNotIn) {
      int nv = r.n(1, 2);
      for (int j = 0; j < nv; ++j) q.values.push_back(r.pick(kVals));
    }
    s.match_expressions.push_back(q);
  }
  return s;
}

// A random prefix of length len inside `within`.
inline IpPrefix random_sub(Rand& r, const IpPrefix& within, int len) {
  IpAddr a = within.network().addr;
  for (int bit = within.len; bit < len; ++bit) {
    if (r.p(0.5)) a.bytes[static_cast<size_t>(bit / 8)] |= static_cast<uint8_t>(0x80U >> (bit % 8));
  }
  return IpPrefix{a, static_cast<uint8_t>(len)}.network();
}

// Pods live in 10.0.0.0/22 and fd00::/118 (small spaces so blocks hit them).
inline const IpPrefix& pod_space(bool v6) {
  static const IpPrefix v4 = pfx("10.0.0.0/22");
  static const IpPrefix v6p = pfx("fd00::/118");
  return v6 ? v6p : v4;
}

inline IpBlock random_block(Rand& r) {
  bool v6 = r.p(0.4);
  IpBlock b;
  int roll = r.n(0, 9);
  int max = v6 ? 128 : 32;
  if (roll == 0) {
    b.cidr = v6 ? pfx("::/0") : pfx("0.0.0.0/0");
  } else if (roll == 1) {
    b.cidr = v6 ? pfx("2001:db8::/32") : pfx("192.0.2.0/24");
  } else {
    b.cidr = random_sub(r, pod_space(v6), r.n(pod_space(v6).len, max));
  }
  IpPrefix within = b.cidr.len == 0 ? pod_space(v6) : b.cidr;
  int lo = std::max<int>(within.len, b.cidr.len + 1);
  int ne = lo <= max ? r.n(0, 2) : 0;
  for (int i = 0; i < ne; ++i) b.except.push_back(random_sub(r, within, r.n(lo, max)));
  std::ranges::sort(b.except);
  b.except.erase(std::unique(b.except.begin(), b.except.end()), b.except.end());
  std::erase_if(b.except, [&](const IpPrefix& x) { return x == b.cidr || !b.cidr.contains(x); });
  return b;
}

inline Rule random_rule(Rand& r, bool egress) {
  Rule rule;
  int np = r.p(0.2) ? 0 : r.n(1, 3);
  for (int i = 0; i < np; ++i) {
    Peer peer;
    switch (r.n(0, 3)) {
      case 0: peer.pod_selector = random_selector(r, kPodKeys); break;
      case 1: peer.namespace_selector = random_selector(r, kNsKeys); break;
      case 2:
        peer.pod_selector = random_selector(r, kPodKeys);
        peer.namespace_selector = random_selector(r, kNsKeys);
        break;
      default: peer.ip_block = random_block(r); break;
    }
    rule.peers.push_back(peer);
  }
  int nports = r.p(0.3) ? 0 : r.n(1, 3);
  for (int i = 0; i < nports; ++i) {
    PolicyPort pp;
    pp.protocol = static_cast<Protocol>(r.n(0, 2));
    switch (r.n(0, 3)) {
      case 0: break;
      case 1: pp.port = r.pick(kPortNums); break;
      case 2: {
        uint16_t first = static_cast<uint16_t>(r.pick(kPortNums) - r.n(0, 3));
        pp.port = first;
        pp.end_port = static_cast<uint16_t>(first + r.n(0, 300));
        break;
      }
      default: pp.port = r.p(0.9) ? r.pick(kPortNames) : std::string("nope"); break;
    }
    rule.ports.push_back(pp);
  }
  (void)egress;
  return rule;
}

inline NetworkPolicy random_policy(Rand& r, const std::vector<std::string>& nss, int idx) {
  NetworkPolicy np;
  np.ns = r.pick(nss);
  np.name = "p" + std::to_string(idx);
  np.pod_selector = r.p(0.3) ? LabelSelector{} : random_selector(r, kPodKeys);
  int ni = r.n(0, 3);
  int ne = r.n(0, 3);
  for (int i = 0; i < ni; ++i) np.ingress.push_back(random_rule(r, false));
  for (int i = 0; i < ne; ++i) np.egress.push_back(random_rule(r, true));
  if (r.p(0.5)) {
    // policyTypes implied: Ingress always, Egress when there are egress rules.
    np.ingress_type = true;
    np.egress_type = !np.egress.empty();
  } else {
    int t = r.n(1, 3);
    np.ingress_type = (t & 1) != 0;
    np.egress_type = (t & 2) != 0;
  }
  return np;
}

inline Pod random_pod(Rand& r, const std::vector<std::string>& nss, int idx, std::set<IpAddr>& used) {
  Pod p;
  p.ns = r.pick(nss);
  p.name = "pod" + std::to_string(idx);
  p.labels = random_labels(r, kPodKeys);
  for (bool v6 : {false, true}) {
    if (v6 && r.p(0.3)) continue;
    for (;;) {
      IpAddr a = random_sub(r, pod_space(v6), v6 ? 128 : 32).addr;
      if (a.bytes[v6 ? 15 : 3] == 0) continue;
      if (used.insert(a).second) {
        p.ips.push_back(a);
        break;
      }
    }
  }
  int np = r.n(0, 3);
  for (int i = 0; i < np; ++i) {
    ContainerPort cp;
    cp.name = r.p(0.85) ? r.pick(kPortNames) : "";
    cp.port = r.pick(kPortNums);
    cp.protocol = static_cast<Protocol>(r.n(0, 2));
    p.ports.push_back(cp);
  }
  return p;
}

struct World {
  Cluster cluster;
  std::vector<LocalEndpoint> endpoints;
  std::vector<IpAddr> host_ips;
  std::vector<IpAddr> outside;  // addresses of no pod
  std::set<IpAddr> used;
  int next_pod = 0;
  int next_policy = 0;

  [[nodiscard]] CompileInput input() const { return {&cluster, endpoints, host_ips}; }
  [[nodiscard]] std::vector<std::string> ns_names() const {
    std::vector<std::string> v;
    for (const auto& n : cluster.namespaces) v.push_back(n.name);
    return v;
  }
};

inline World random_world(Rand& r) {
  World w;
  int nns = r.n(2, 4);
  for (int i = 0; i < nns; ++i) w.cluster.namespaces.push_back({"ns" + std::to_string(i), random_labels(r, kNsKeys)});
  if (r.p(0.1)) w.cluster.namespaces.pop_back();  // pods of a namespace we have no object for
  std::vector<std::string> nss;
  for (int i = 0; i < nns; ++i) nss.push_back("ns" + std::to_string(i));
  w.host_ips = {addr("10.0.3.254"), addr("fd00::3fe")};
  w.used.insert(w.host_ips.begin(), w.host_ips.end());
  w.used.insert(addr("10.0.3.200"));  // the ghost endpoint's
  w.cluster.node_ips = w.host_ips;
  int npods = r.n(3, 12);
  for (int i = 0; i < npods; ++i) w.cluster.pods.push_back(random_pod(r, nss, w.next_pod++, w.used));
  int npol = r.n(1, 8);
  for (int i = 0; i < npol; ++i) w.cluster.policies.push_back(random_policy(r, nss, w.next_policy++));
  uint32_t ep = 100;
  for (const Pod& p : w.cluster.pods) {
    if (r.p(0.5)) w.endpoints.push_back({ep++, p.ns, p.name, p.ips, false});
  }
  if (w.endpoints.empty()) {
    const Pod& p = w.cluster.pods.front();
    w.endpoints.push_back({ep++, p.ns, p.name, p.ips, false});
  }
  if (r.p(0.2)) w.endpoints.push_back({ep++, nss.front(), "ghost", {addr("10.0.3.200")}, false});
  for (int i = 0; i < 4; ++i) {
    for (bool v6 : {false, true}) {
      IpAddr a = random_sub(r, pod_space(v6), v6 ? 128 : 32).addr;
      if (w.used.insert(a).second) w.outside.push_back(a);  // pods added later never take it
    }
  }
  for (const char* s : {"192.0.2.7", "198.51.100.1", "8.8.8.8", "2001:db8::7", "2001:db9::1"}) w.outside.push_back(addr(s));
  return w;
}

// One random change to the world.
inline void mutate(Rand& r, World& w, std::string& what) {
  auto nss = w.ns_names();
  auto& pods = w.cluster.pods;
  auto& pols = w.cluster.policies;
  switch (r.n(0, 10)) {
    case 0:
      if (!pods.empty()) {
        Pod& p = pods[static_cast<size_t>(r.n(0, static_cast<int>(pods.size()) - 1))];
        p.labels = random_labels(r, kPodKeys);
        what = "labels of " + p.name;
      }
      break;
    case 1: {
      Pod p = random_pod(r, nss, w.next_pod++, w.used);
      what = "add pod " + p.name;
      pods.push_back(p);
      if (r.p(0.5)) w.endpoints.push_back({static_cast<uint32_t>(500 + w.next_pod), p.ns, p.name, p.ips, false});
      break;
    }
    case 2:
      if (pods.size() > 1) {
        size_t i = static_cast<size_t>(r.n(0, static_cast<int>(pods.size()) - 1));
        what = "remove pod " + pods[i].name;
        // Its endpoint stays for a while sometimes: the pod is then unknown.
        if (r.p(0.7)) {
          std::erase_if(w.endpoints, [&](const LocalEndpoint& e) { return e.ns == pods[i].ns && e.name == pods[i].name; });
        }
        pods.erase(pods.begin() + static_cast<long>(i));
      }
      break;
    case 3:
      what = "add policy";
      pols.push_back(random_policy(r, nss, w.next_policy++));
      break;
    case 4:
      if (!pols.empty()) {
        NetworkPolicy& np = pols[static_cast<size_t>(r.n(0, static_cast<int>(pols.size()) - 1))];
        what = "change policy " + np.id();
        NetworkPolicy fresh = random_policy(r, nss, 0);
        fresh.ns = np.ns;
        fresh.name = np.name;
        if (r.p(0.5)) fresh.ingress = np.ingress;  // sometimes a small change
        np = fresh;
      }
      break;
    case 5:
      if (!pols.empty()) {
        size_t i = static_cast<size_t>(r.n(0, static_cast<int>(pols.size()) - 1));
        what = "remove policy " + pols[i].id();
        pols.erase(pols.begin() + static_cast<long>(i));
      }
      break;
    case 6:
      if (!w.cluster.namespaces.empty()) {
        auto& n = w.cluster.namespaces[static_cast<size_t>(r.n(0, static_cast<int>(w.cluster.namespaces.size()) - 1))];
        n.labels = random_labels(r, kNsKeys);
        what = "labels of namespace " + n.name;
      }
      break;
    case 7:
      if (!w.endpoints.empty()) {
        auto& e = w.endpoints[static_cast<size_t>(r.n(0, static_cast<int>(w.endpoints.size()) - 1))];
        e.audit = !e.audit;
        what = "audit of endpoint " + std::to_string(e.ep_id);
      }
      break;
    case 8:
      if (!pods.empty()) {
        Pod& p = pods[static_cast<size_t>(r.n(0, static_cast<int>(pods.size()) - 1))];
        p.ports.clear();
        if (r.p(0.7)) p.ports.push_back({r.pick(kPortNames), r.pick(kPortNums), static_cast<Protocol>(r.n(0, 2))});
        what = "ports of " + p.name;
      }
      break;
    case 9:
      if (!pods.empty()) {
        // A pod changes address (restart); its endpoint follows.
        Pod& p = pods[static_cast<size_t>(r.n(0, static_cast<int>(pods.size()) - 1))];
        Pod q = random_pod(r, nss, 0, w.used);
        p.ips = q.ips;
        for (auto& e : w.endpoints) {
          if (e.ns == p.ns && e.name == p.name) e.ips = p.ips;
        }
        what = "addresses of " + p.name;
      }
      break;
    default: {
      // Several policies at once.
      what = "policy burst";
      for (int i = 0; i < 3; ++i) pols.push_back(random_policy(r, nss, w.next_policy++));
      if (pols.size() > 4) pols.erase(pols.begin());
      break;
    }
  }
}

inline std::string sel_str(const LabelSelector& s) {
  std::string out = "{";
  for (const auto& [k, v] : s.match_labels) out += k + "=" + v + " ";
  const char* ops[] = {"In", "NotIn", "Exists", "DoesNotExist"};
  for (const auto& e : s.match_expressions) {
    out += e.key + " " + ops[static_cast<int>(e.op)] + "(";
    for (const auto& v : e.values) out += v + ",";
    out += ") ";
  }
  return out + "}";
}

inline std::string describe(const World& w) {
  std::ostringstream o;
  for (const auto& n : w.cluster.namespaces) {
    o << "ns " << n.name << " {";
    for (const auto& [k, v] : n.labels) o << k << "=" << v << " ";
    o << "}\n";
  }
  for (const auto& p : w.cluster.pods) {
    o << "pod " << p.ns << "/" << p.name << " {";
    for (const auto& [k, v] : p.labels) o << k << "=" << v << " ";
    o << "} ips";
    for (const auto& ip : p.ips) o << " " << ip.str();
    o << " ports";
    for (const auto& cp : p.ports) o << " " << cp.name << ":" << cp.port << "/" << protocol_name(cp.protocol);
    if (p.host_network) o << " hostNetwork";
    if (!p.phase.empty()) o << " " << p.phase;
    o << "\n";
  }
  for (const auto& np : w.cluster.policies) {
    o << "policy " << np.id() << " select " << sel_str(np.pod_selector) << " types" << (np.ingress_type ? " ingress" : "")
      << (np.egress_type ? " egress" : "") << "\n";
    for (int d = 0; d < 2; ++d) {
      const auto& rules = d == 0 ? np.ingress : np.egress;
      for (size_t i = 0; i < rules.size(); ++i) {
        o << "  " << (d == 0 ? "ingress" : "egress") << "[" << i << "] peers:";
        for (const auto& p : rules[i].peers) {
          o << " [";
          if (p.namespace_selector) o << "ns" << sel_str(*p.namespace_selector);
          if (p.pod_selector) o << "pod" << sel_str(*p.pod_selector);
          if (p.ip_block) {
            o << "ipBlock " << p.ip_block->cidr.str();
            for (const auto& x : p.ip_block->except) o << " -" << x.str();
          }
          o << "]";
        }
        o << " ports:";
        for (const auto& pp : rules[i].ports) {
          o << " " << protocol_name(pp.protocol) << ":";
          if (const auto* n = std::get_if<uint16_t>(&pp.port)) o << *n;
          if (const auto* s = std::get_if<std::string>(&pp.port)) o << *s;
          if (pp.end_port) o << "-" << *pp.end_port;
        }
        o << "\n";
      }
    }
  }
  for (const auto& e : w.endpoints) {
    o << "endpoint " << e.ep_id << " " << e.ns << "/" << e.name << (e.audit ? " audit" : "") << "\n";
  }
  return o.str();
}

// The ports to probe: fixed ones plus the edges of every range.
inline std::vector<uint16_t> probe_ports(const Cluster& c) {
  std::set<uint16_t> s{53, 80, 81, 1000, 8080, 9090};
  for (const auto& np : c.policies) {
    for (const auto* rules : {&np.ingress, &np.egress}) {
      for (const auto& r : *rules) {
        for (const auto& pp : r.ports) {
          if (const auto* n = std::get_if<uint16_t>(&pp.port); n && pp.end_port) {
            for (int x : {*n - 1, int{*n}, int{*pp.end_port}, *pp.end_port + 1}) {
              if (x > 0 && x < 65536) s.insert(static_cast<uint16_t>(x));
            }
          }
        }
      }
    }
  }
  return {s.begin(), s.end()};
}

// Compares the emulated datapath over c.state() with evaluate() for every
// local endpoint, peer, port and protocol. Policies the compiler reports
// not enforced are judged as policies without rules (they fail closed).
// Returns the first mismatch, or "".
inline std::string check_decisions(const World& w, const Compiler& comp, size_t* checked = nullptr) {
  Cluster ref = w.cluster;
  for (auto& np : ref.policies) {
    if (!comp.policy_status(np.id()).enforced) {
      np.ingress.clear();
      np.egress.clear();
    }
  }
  const DatapathState& s = comp.state();
  std::vector<uint16_t> ports = probe_ports(ref);
  for (const LocalEndpoint& ep : w.endpoints) {
    const Pod* self = ref.find_pod(ep.ns, ep.name);
    if (self != nullptr && !self->owns_ips()) self = nullptr;  // finished: fails closed like an unknown pod
    if (self != nullptr) {
      // isolated_by() names the policies evaluate() finds selecting the pod.
      for (Direction dir : {Direction::kEgress, Direction::kIngress}) {
        const IpAddr outside = addr("192.0.2.99");
        Verdict v = dir == Direction::kEgress ? evaluate(ref, PodRef{ep.ns, ep.name}, outside, 80, Protocol::kTcp)
                                              : evaluate(ref, outside, PodRef{ep.ns, ep.name}, 80, Protocol::kTcp);
        auto want = dir == Direction::kEgress ? v.egress.isolated_by : v.ingress.isolated_by;
        std::ranges::sort(want);
        if (want != comp.isolated_by(ep.ep_id, dir)) {
          return "isolated_by(" + ep.name + ", " + dir_str(dir) + ") differs from evaluate()\n" + describe(w);
        }
      }
    }
    for (const IpAddr& me : ep.ips) {
      std::vector<IpAddr> peers;
      for (const Pod& p : ref.pods) {
        if (&p == self) continue;
        for (const IpAddr& ip : p.ips) peers.push_back(ip);
      }
      peers.insert(peers.end(), w.outside.begin(), w.outside.end());
      peers.insert(peers.end(), w.host_ips.begin(), w.host_ips.end());
      for (const IpAddr& peer : peers) {
        if (peer.family != me.family || peer == me) continue;  // a finished pod's address reused: loopback
        bool is_host = std::ranges::find(w.host_ips, peer) != w.host_ips.end();
        for (Protocol proto : {Protocol::kTcp, Protocol::kUdp, Protocol::kSctp}) {
          for (uint16_t port : ports) {
            for (Direction dir : {Direction::kEgress, Direction::kIngress}) {
              bool want;
              if (self == nullptr) {
                want = is_host;  // unknown or finished pod: fails closed, the node still passes
              } else if (dir == Direction::kEgress) {
                want = evaluate(ref, me, peer, port, proto).egress.allowed;
              } else {
                want = evaluate(ref, peer, me, port, proto).ingress.allowed;
              }
              std::optional<uint32_t> rule = side_rule(s, ep.ep_id, dir, peer, proto_num(proto), port);
              bool got = rule.has_value();
              if (checked != nullptr) ++*checked;
              if (rule && *rule >= STRAND_RULE_FIRST) {
                // The rule named is one of a policy isolating this side.
                auto info = comp.rule(*rule);
                auto iso = comp.isolated_by(ep.ep_id, dir);
                if (!info || info->dir != dir || std::ranges::find(iso, info->policy) == iso.end()) {
                  return "rule " + std::to_string(*rule) + " allowing " + ep.name + " " + dir_str(dir) + " from " +
                         peer.str() + " is no rule of a policy selecting it\n" + describe(w);
                }
              }
              if (want != got) {
                std::ostringstream o;
                o << "mismatch: endpoint " << ep.ns << "/" << ep.name << " (" << me.str() << ") " << dir_str(dir)
                  << " peer " << peer.str() << " " << port << "/" << protocol_name(proto) << ": evaluate "
                  << (want ? "allows" : "denies") << ", datapath " << (got ? "allows" : "denies") << "\n";
                if (self != nullptr) {
                  o << (dir == Direction::kEgress ? evaluate(ref, me, peer, port, proto).reason
                                                  : evaluate(ref, peer, me, port, proto).reason)
                    << "\n";
                }
                o << describe(w);
                return o.str();
              }
            }
          }
        }
      }
    }
  }
  return "";
}

}  // namespace strand::policy::testing
