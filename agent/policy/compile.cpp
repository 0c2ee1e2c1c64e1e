#include "agent/policy/compile.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>
#include <tuple>
#include <utility>

#include "agent/policy/id_alloc.h"
#include "agent/policy/identity_carry.h"
#include "agent/policy/policy_table.h"
#include "agent/policy/port_blocks.h"
#include "agent/policy/regions.h"
#include "agent/policy/selector.h"

namespace strand::policy {

strand_policy_key PolicyKey::to_bpf() const {
  strand_policy_key k;
  std::memset(&k, 0, sizeof(k));
  k.ep_id = htonl(ep_id);
  k.remote_identity = htonl(remote_identity);
  k.dir = static_cast<__u8>(dir);
  k.proto = proto;
  if (proto == 0) {
    k.prefixlen = STRAND_POLICY_PREFIX_ANY_PROTO;
  } else {
    k.prefixlen = STRAND_POLICY_PREFIX_ANY_PORT + port_bits;
    k.dport = htons(port);
  }
  return k;
}

bool Delta::empty() const {
  return policy_upserts.empty() && endpoint_loosens.empty() && ipcache_upserts.empty() && ipcache_deletes.empty() &&
         endpoint_upserts.empty() && policy_deletes.empty() && endpoint_deletes.empty() && new_rules.empty();
}

namespace {

constexpr uint32_t kAny = STRAND_POLICY_ANY_IDENTITY;

uint8_t proto_number(Protocol p) {
  switch (p) {
    case Protocol::kTcp: return 6;
    case Protocol::kUdp: return 17;
    case Protocol::kSctp: return 132;
  }
  return 0;
}

size_t dir_index(Direction d) { return static_cast<size_t>(d); }
const char* dir_name(Direction d) { return d == Direction::kIngress ? "ingress" : "egress"; }

using NamedPort = std::tuple<std::string, uint8_t, uint16_t>;  // name, proto, port

// What a label identity stands for. Named ports are in it so an egress rule
// naming a port resolves per destination identity.
struct LabelKey {
  std::string ns;
  Labels ns_labels;
  Labels labels;
  std::vector<NamedPort> named;  // sorted

  auto operator<=>(const LabelKey&) const = default;
};

struct Ident {
  IdentityInfo::Kind kind = IdentityInfo::Kind::kPod;
  LabelKey label;              // kPod
  std::vector<uint32_t> sig;   // kCidr: block ids
  size_t refs = 0;             // kPod: pods using it
};

struct StaticPort {
  uint8_t proto = 0;
  uint16_t port = 0;
  uint8_t bits = 0;
};

struct NamedRef {
  std::string name;
  uint8_t proto = 0;
};

// One rule of an enforced policy, with what it matches and what it wrote.
struct CRule {
  uint32_t id = 0;
  std::string policy;
  std::string ns;
  Direction dir = Direction::kIngress;
  size_t index = 0;
  bool any = false;                          // no peers
  std::vector<Peer> selectors;               // selector peers
  std::vector<uint32_t> blocks;              // block ids of ipBlock peers
  std::vector<StaticPort> ports;             // numbers, ranges, protocols, or "every protocol"
  std::vector<NamedRef> named;               // named ports
  std::set<uint32_t> remotes;                // matched label and cidr identities
  std::set<uint32_t> eps;                    // endpoints it is applied to
  std::set<PolicyKey> keys;                  // the entries it contributes
};

enum class LimitHit { kNone, kRules, kPolicy, kIpcache };

struct CPolicy {
  NetworkPolicy np;
  uint64_t seq = 0;           // admission order: later policies give way first
  PolicyStatus status;
  bool enforceable = true;    // no field we cannot enforce
  bool active = false;        // rules compiled
  bool pending = false;       // to be (re)activated in this update
  LimitHit limit = LimitHit::kNone;
  size_t limit_mark = 0;      // the size that did not fit
  std::vector<uint32_t> rules[2];  // [STRAND_DIR_*]
  std::vector<uint32_t> blocks;    // block refs held while active
  std::set<uint32_t> selected[2];  // endpoints selected, per direction
};

struct CEndpoint {
  LocalEndpoint rec;
  bool known = false;  // its pod is in the cluster
  uint32_t identity = 0;
  std::set<std::string> sel[2];  // selecting policies per direction
  std::set<uint32_t> applied;    // rule ids applied to it
};

struct PodEntry {
  Pod pod;
  uint32_t identity = 0;
};

using PodName = std::pair<std::string, std::string>;

// Appends s so that no two sequences of strings append the same text.
void put(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
}

void put(std::string& out, const Labels& labels) {
  for (const auto& [k, v] : labels) {
    put(out, k);
    put(out, v);
  }
  out += '|';
}

IpPrefix host_prefix(const IpAddr& ip) { return IpPrefix{ip, static_cast<uint8_t>(ip.max_prefix())}; }

// The flags of an endpoint entry that lets through what either the old or
// the new flags let through, and no more: it enforces a direction only where
// both do and audits where either does (other bits are the new ones).
uint32_t loosest_flags(uint32_t old_flags, uint32_t new_flags) {
  constexpr uint32_t kEnforce = STRAND_EP_F_ENFORCE_INGRESS | STRAND_EP_F_ENFORCE_EGRESS;
  return (old_flags & new_flags & kEnforce) | ((old_flags | new_flags) & STRAND_EP_F_AUDIT) |
         (new_flags & ~(kEnforce | STRAND_EP_F_AUDIT));
}

}  // namespace

struct Compiler::Impl {
  CompilerLimits limits;
  DatapathState state;

  // Input as last seen.
  std::map<std::string, Labels> namespaces;
  std::map<PodName, PodEntry> pods;  // pods that own their IPs (Pod::owns_ips)
  std::set<PodName> inert_pods;      // hostNetwork or finished: no identity, no ipcache entry, never selected
  std::map<std::string, CPolicy> policies;
  std::map<uint32_t, CEndpoint> eps;
  std::vector<IpAddr> host_ips;
  uint64_t next_seq = 0;

  // Identities.
  IdAllocator ident_alloc{kFirstIdentity, std::numeric_limits<uint32_t>::max()};
  std::map<uint32_t, Ident> idents;
  std::map<LabelKey, uint32_t> label_ids;
  std::map<std::vector<uint32_t>, uint32_t> cidr_ids;
  std::vector<uint32_t> new_idents;    // created in this update
  std::map<std::string, uint32_t> preferred;  // ident_key -> number (resume(): numbers kept)
  std::vector<uint32_t> maybe_dead;    // label identities that lost a ref

  // ipBlocks and regions.
  std::map<BlockKey, uint32_t> block_ids;
  std::map<uint32_t, std::pair<BlockKey, size_t>> blocks;  // id -> key, refs
  uint32_t next_block = 1;
  bool blocks_dirty = true;
  std::map<IpPrefix, uint32_t> regions;  // prefix -> cidr identity (0: none)
  std::set<uint8_t> region_lens[2];      // [v4, v6]

  // Rules and the policy map.
  IdAllocator rule_alloc;
  std::map<uint32_t, CRule> rules;
  std::map<uint32_t, std::set<uint32_t>> rules_by_remote;
  PolicyTable table{state.policy};
  std::set<uint32_t> allocated;  // rule ids allocated in this update
  std::vector<CPolicy*> rejected_now;  // policies a limit kept out in this update

  explicit Impl(CompilerLimits l)
      : limits(l), rule_alloc(STRAND_RULE_FIRST, std::max<uint32_t>(l.max_rules, STRAND_RULE_FIRST)) {}

  // ---- policy map entries ----------------------------------------------

  void add_key(CRule& r, const PolicyKey& k) {
    if (r.keys.insert(k).second) table.add(k, r.id);
  }

  // Erases r's keys of endpoint ep (and of one remote identity when given).
  void erase_keys(CRule& r, uint32_t ep, std::optional<uint32_t> remote) {
    PolicyKey lo{ep, remote.value_or(0), Direction::kEgress, 0, 0, 0};
    auto it = r.keys.lower_bound(lo);
    while (it != r.keys.end() && it->ep_id == ep && (!remote || it->remote_identity == *remote)) {
      table.remove(*it, r.id);
      it = r.keys.erase(it);
    }
  }

  // ---- what a rule writes ------------------------------------------------

  void resolve_named(const CRule& r, const std::vector<NamedPort>& ports, std::vector<StaticPort>& out) const {
    for (const NamedRef& n : r.named) {
      for (const auto& [name, proto, port] : ports) {
        if (name == n.name && proto == n.proto) out.push_back({proto, port, 16});
      }
    }
  }

  const std::vector<NamedPort>& ep_ports(const CEndpoint& ep) const {
    static const std::vector<NamedPort> kNone;
    auto it = idents.find(ep.identity);
    return it == idents.end() ? kNone : it->second.label.named;
  }

  // The entries of rule r for endpoint ep and one remote identity (kAny for
  // a rule without peers).
  std::vector<PolicyKey> keys_for(const CRule& r, const CEndpoint& ep, uint32_t remote) const {
    std::vector<StaticPort> ports;
    const Ident* id = remote == kAny ? nullptr : &idents.at(remote);
    bool is_label = id != nullptr && id->kind == IdentityInfo::Kind::kPod;
    bool base = remote == kAny ? r.any : (is_label ? !r.any : true);
    if (base) {
      ports = r.ports;
      if (r.dir == Direction::kIngress) resolve_named(r, ep_ports(ep), ports);
    }
    if (r.dir == Direction::kEgress && is_label) resolve_named(r, id->label.named, ports);
    std::vector<PolicyKey> out;
    out.reserve(ports.size());
    for (const StaticPort& p : ports) out.push_back({ep.rec.ep_id, remote, r.dir, p.proto, p.port, p.bits});
    return out;
  }

  bool rule_matches(const CRule& r, uint32_t ident) const {
    const Ident& id = idents.at(ident);
    if (id.kind == IdentityInfo::Kind::kCidr) {
      return std::ranges::any_of(r.blocks, [&](uint32_t b) { return std::ranges::binary_search(id.sig, b); });
    }
    if (r.any) return r.dir == Direction::kEgress && !r.named.empty();
    const LabelKey& k = id.label;
    return std::ranges::any_of(r.selectors, [&](const Peer& p) {
      if (p.namespace_selector) {
        if (!matches(*p.namespace_selector, k.ns_labels)) return false;
      } else if (k.ns != r.ns) {
        return false;
      }
      return !p.pod_selector || matches(*p.pod_selector, k.labels);
    });
  }

  void add_remote(CRule& r, uint32_t ident) {
    r.remotes.insert(ident);
    rules_by_remote[ident].insert(r.id);
    for (uint32_t e : r.eps) {
      for (const PolicyKey& k : keys_for(r, eps.at(e), ident)) add_key(r, k);
    }
  }

  void apply(CRule& r, CEndpoint& ep) {
    r.eps.insert(ep.rec.ep_id);
    ep.applied.insert(r.id);
    if (r.any) {
      for (const PolicyKey& k : keys_for(r, ep, kAny)) add_key(r, k);
    }
    for (uint32_t remote : r.remotes) {
      for (const PolicyKey& k : keys_for(r, ep, remote)) add_key(r, k);
    }
  }

  void unapply_all(CEndpoint& ep) {
    for (uint32_t rid : ep.applied) {
      CRule& r = rules.at(rid);
      erase_keys(r, ep.rec.ep_id, std::nullopt);
      r.eps.erase(ep.rec.ep_id);
    }
    ep.applied.clear();
  }

  // ---- identities --------------------------------------------------------

  // What an identity stands for, as text that is the same in any compiler.
  std::string ident_key(const Ident& id) const {
    std::string out;
    if (id.kind == IdentityInfo::Kind::kPod) {
      out = "pod";
      put(out, id.label.ns);
      put(out, id.label.ns_labels);
      put(out, id.label.labels);
      for (const auto& [name, proto, port] : id.label.named) {
        put(out, name);
        out += std::to_string(proto) + "/" + std::to_string(port) + ",";
      }
      return out;
    }
    std::vector<std::string> bs;  // the ipBlocks by value: block ids are this compiler's
    for (uint32_t b : id.sig) {
      const BlockKey& k = blocks.at(b).first;
      std::string text = k.cidr.str();
      for (const IpPrefix& x : k.except) text += " -" + x.str();
      bs.push_back(std::move(text));
    }
    std::ranges::sort(bs);
    out = "cidr";
    for (const std::string& b : bs) put(out, b);
    return out;
  }

  uint32_t new_ident(Ident id) {
    uint32_t n = 0;
    auto it = preferred.empty() ? preferred.end() : preferred.find(ident_key(id));
    if (it != preferred.end()) {
      n = it->second;
      preferred.erase(it);
    } else {
      n = *ident_alloc.allocate();  // 2^32 numbers: never exhausted in practice
    }
    idents.emplace(n, std::move(id));
    new_idents.push_back(n);
    return n;
  }

  LabelKey label_key(const Pod& p) const {
    LabelKey k{p.ns, {}, p.labels, {}};
    if (auto it = namespaces.find(p.ns); it != namespaces.end()) k.ns_labels = it->second;
    for (const ContainerPort& cp : p.ports) {
      if (!cp.name.empty()) k.named.emplace_back(cp.name, proto_number(cp.protocol), cp.port);
    }
    std::ranges::sort(k.named);
    k.named.erase(std::unique(k.named.begin(), k.named.end()), k.named.end());
    return k;
  }

  uint32_t ref_label(const Pod& p) {
    LabelKey k = label_key(p);
    uint32_t n;
    if (auto it = label_ids.find(k); it != label_ids.end()) {
      n = it->second;
    } else {
      Ident id;
      id.kind = IdentityInfo::Kind::kPod;
      id.label = k;
      n = new_ident(std::move(id));
      label_ids.emplace(std::move(k), n);
    }
    ++idents.at(n).refs;
    return n;
  }

  void unref_label(uint32_t n) {
    if (--idents.at(n).refs == 0) maybe_dead.push_back(n);
  }

  void kill_ident(uint32_t n) {
    if (auto it = rules_by_remote.find(n); it != rules_by_remote.end()) {
      for (uint32_t rid : it->second) {
        CRule& r = rules.at(rid);
        r.remotes.erase(n);
        for (uint32_t e : r.eps) erase_keys(r, e, n);
      }
      rules_by_remote.erase(it);
    }
    Ident& id = idents.at(n);
    if (id.kind == IdentityInfo::Kind::kPod) {
      label_ids.erase(id.label);
    } else {
      cidr_ids.erase(id.sig);
    }
    idents.erase(n);
    ident_alloc.release(n);
  }

  // Drops label identities nobody uses; matches new identities (label and
  // cidr) against every active rule.
  void settle_identities() {
    for (uint32_t n : maybe_dead) {
      auto it = idents.find(n);
      if (it != idents.end() && it->second.refs == 0) kill_ident(n);
    }
    maybe_dead.clear();
    for (uint32_t n : new_idents) {
      if (!idents.contains(n)) continue;
      for (auto& [rid, r] : rules) {
        if (rule_matches(r, n)) add_remote(r, n);
      }
    }
    new_idents.clear();
  }

  // ---- blocks and regions ------------------------------------------------

  uint32_t ref_block(const IpBlock& b) {
    BlockKey k = block_key(b);
    auto [it, inserted] = block_ids.try_emplace(k, next_block);
    if (inserted) {
      blocks.emplace(next_block++, std::make_pair(k, size_t{0}));
      blocks_dirty = true;
    }
    ++blocks.at(it->second).second;
    return it->second;
  }

  void unref_block(uint32_t id) {
    auto it = blocks.find(id);
    if (--it->second.second == 0) {
      block_ids.erase(it->second.first);
      blocks.erase(it);
      blocks_dirty = true;
    }
  }

  // Recomputes the regions when the block set changed; cidr identities are
  // keyed by signature, so unchanged regions keep their number.
  void sync_regions() {
    if (!blocks_dirty) return;
    blocks_dirty = false;
    std::map<uint32_t, BlockKey> keys;
    for (const auto& [id, kr] : blocks) keys.emplace(id, kr.first);
    auto sigs = region_signatures(keys);
    std::set<std::vector<uint32_t>> live;
    regions.clear();
    region_lens[0].clear();
    region_lens[1].clear();
    for (auto& [p, sig] : sigs) {
      region_lens[p.family() == AF_INET ? 0 : 1].insert(p.len);
      if (sig.empty()) {
        regions.emplace(p, 0);
        continue;
      }
      uint32_t n;
      if (auto it = cidr_ids.find(sig); it != cidr_ids.end()) {
        n = it->second;
      } else {
        Ident id;
        id.kind = IdentityInfo::Kind::kCidr;
        id.sig = sig;
        n = new_ident(std::move(id));
        cidr_ids.emplace(sig, n);
      }
      live.insert(sig);
      regions.emplace(p, n);
    }
    std::vector<uint32_t> dead;
    for (const auto& [sig, n] : cidr_ids) {
      if (!live.contains(sig)) dead.push_back(n);
    }
    for (uint32_t n : dead) kill_ident(n);
  }

  uint32_t cidr_of(const IpAddr& ip) const {
    const auto& lens = region_lens[ip.is_v4() ? 0 : 1];
    for (auto it = lens.rbegin(); it != lens.rend(); ++it) {
      auto r = regions.find(IpPrefix{ip, *it}.network());
      if (r != regions.end()) return r->second;
    }
    return 0;
  }

  // ---- policies ----------------------------------------------------------

  // Why np cannot be enforced, or "": what the parser found (an unknown
  // field, a spec that does not parse), or an egress rule with an ipBlock
  // peer and a named port (pods inside and outside the block share label
  // identities, so no key can say "this named port, only inside the block").
  static std::string unenforceable(const NetworkPolicy& np) {
    if (!np.not_enforced.empty()) return np.not_enforced;
    if (!np.egress_type) return {};
    for (size_t i = 0; i < np.egress.size(); ++i) {
      const Rule& r = np.egress[i];
      bool has_block = std::ranges::any_of(r.peers, [](const Peer& p) { return p.ip_block.has_value(); });
      if (!has_block) continue;
      for (const PolicyPort& pp : r.ports) {
        if (const auto* name = std::get_if<std::string>(&pp.port)) {
          return "egress[" + std::to_string(i) + "]: named port \"" + *name +
                 "\" with an ipBlock peer cannot be enforced (pods inside and outside the block share identities)";
        }
      }
    }
    return {};
  }

  // Takes the block refs an activation needs (before regions are synced).
  void ref_blocks(CPolicy& p) {
    for (int d = 0; d < 2; ++d) {
      bool on = d == STRAND_DIR_INGRESS ? p.np.ingress_type : p.np.egress_type;
      if (!on) continue;
      for (const Rule& r : d == STRAND_DIR_INGRESS ? p.np.ingress : p.np.egress) {
        for (const Peer& peer : r.peers) {
          if (peer.ip_block) p.blocks.push_back(ref_block(*peer.ip_block));
        }
      }
    }
  }

  void release_blocks(CPolicy& p) {
    for (uint32_t b : p.blocks) unref_block(b);
    p.blocks.clear();
  }

  size_t rule_count(const CPolicy& p) const {
    return (p.np.ingress_type ? p.np.ingress.size() : 0) + (p.np.egress_type ? p.np.egress.size() : 0);
  }

  // Compiles the rules of p (blocks already referenced, regions synced) and
  // applies them to the endpoints it selects.
  void activate(CPolicy& p) {
    for (Direction dir : {Direction::kIngress, Direction::kEgress}) {
      bool on = dir == Direction::kIngress ? p.np.ingress_type : p.np.egress_type;
      if (!on) continue;
      const auto& specs = dir == Direction::kIngress ? p.np.ingress : p.np.egress;
      for (size_t i = 0; i < specs.size(); ++i) {
        const Rule& spec = specs[i];
        uint32_t id = *rule_alloc.allocate();
        allocated.insert(id);
        CRule r;
        r.id = id;
        r.policy = p.np.id();
        r.ns = p.np.ns;
        r.dir = dir;
        r.index = i;
        r.any = spec.peers.empty();
        for (const Peer& peer : spec.peers) {
          if (peer.ip_block) {
            r.blocks.push_back(block_ids.at(block_key(*peer.ip_block)));
          } else {
            r.selectors.push_back(peer);
          }
        }
        std::ranges::sort(r.blocks);
        r.blocks.erase(std::unique(r.blocks.begin(), r.blocks.end()), r.blocks.end());
        if (spec.ports.empty()) r.ports.push_back({0, 0, 0});
        for (const PolicyPort& pp : spec.ports) {
          uint8_t proto = proto_number(pp.protocol);
          if (std::holds_alternative<std::monostate>(pp.port)) {
            r.ports.push_back({proto, 0, 0});
          } else if (const auto* n = std::get_if<uint16_t>(&pp.port)) {
            if (!pp.end_port) {
              r.ports.push_back({proto, *n, 16});
            } else {
              for (const PortBlock& b : port_blocks(*n, *pp.end_port)) r.ports.push_back({proto, b.port, b.bits});
            }
          } else {
            r.named.push_back({std::get<std::string>(pp.port), proto});
          }
        }
        auto [it, ok] = rules.emplace(id, std::move(r));
        CRule& cr = it->second;
        for (const auto& [n, ident] : idents) {
          if (rule_matches(cr, n)) {
            cr.remotes.insert(n);
            rules_by_remote[n].insert(id);
          }
        }
        for (uint32_t e : p.selected[dir_index(dir)]) apply(cr, eps.at(e));
        p.rules[dir_index(dir)].push_back(id);
      }
    }
    p.active = true;
  }

  void deactivate(CPolicy& p) {
    for (auto& ids : p.rules) {
      for (uint32_t id : ids) {
        CRule& r = rules.at(id);
        for (uint32_t e : r.eps) {
          erase_keys(r, e, std::nullopt);
          eps.at(e).applied.erase(id);
        }
        for (uint32_t n : r.remotes) {
          auto it = rules_by_remote.find(n);
          it->second.erase(id);
          if (it->second.empty()) rules_by_remote.erase(it);
        }
        rules.erase(id);
        rule_alloc.release(id);
      }
      ids.clear();
    }
    release_blocks(p);
    p.active = false;
  }

  void reject(CPolicy& p, LimitHit hit, const std::string& why) {
    if (p.active) deactivate(p);
    release_blocks(p);
    p.limit = hit;
    rejected_now.push_back(&p);
    p.status = {false, why};
  }

  bool selects(const CPolicy& p, const CEndpoint& ep, Direction dir) const {
    if (!ep.known) return false;
    bool on = dir == Direction::kIngress ? p.np.ingress_type : p.np.egress_type;
    if (!on || p.np.ns != ep.rec.ns) return false;
    const PodEntry& pe = pods.at({ep.rec.ns, ep.rec.name});
    return matches(p.np.pod_selector, pe.pod.labels);
  }

  // Endpoints selected by p, from scratch.
  void select_policy(CPolicy& p) {
    for (Direction dir : {Direction::kIngress, Direction::kEgress}) {
      size_t d = dir_index(dir);
      for (uint32_t e : p.selected[d]) eps.at(e).sel[d].erase(p.np.id());
      p.selected[d].clear();
      for (auto& [id, ep] : eps) {
        if (selects(p, ep, dir)) {
          p.selected[d].insert(id);
          ep.sel[d].insert(p.np.id());
        }
      }
    }
  }

  // Policies (not pending) selecting ep, from scratch; applies their rules.
  void select_endpoint(CEndpoint& ep) {
    for (Direction dir : {Direction::kIngress, Direction::kEgress}) {
      size_t d = dir_index(dir);
      for (const std::string& name : ep.sel[d]) policies.at(name).selected[d].erase(ep.rec.ep_id);
      ep.sel[d].clear();
      for (auto& [name, p] : policies) {
        if (p.pending || !selects(p, ep, dir)) continue;
        ep.sel[d].insert(name);
        p.selected[d].insert(ep.rec.ep_id);
        if (p.active) {
          for (uint32_t rid : p.rules[d]) apply(rules.at(rid), ep);
        }
      }
    }
  }

  // ---- ipcache -----------------------------------------------------------

  std::map<IpPrefix, IpcacheValue> build_ipcache() const {
    std::map<IpPrefix, IpcacheValue> want;
    for (const auto& [p, cid] : regions) want[p] = {STRAND_IDENTITY_WORLD, cid};
    for (const IpAddr& ip : host_ips) want[host_prefix(ip)] = {STRAND_IDENTITY_HOST, 0};
    std::set<PodName> local;
    for (const auto& [id, ep] : eps) local.insert({ep.rec.ns, ep.rec.name});
    for (const auto& [name, pe] : pods) {
      if (local.contains(name)) continue;
      for (const IpAddr& ip : pe.pod.ips) want[host_prefix(ip)] = {pe.identity, cidr_of(ip)};
    }
    for (const auto& [id, ep] : eps) {
      // A finished pod's addresses may already be another pod's.
      if (inert_pods.contains({ep.rec.ns, ep.rec.name})) continue;
      for (const IpAddr& ip : ep.rec.ips) want[host_prefix(ip)] = {ep.identity, cidr_of(ip)};
    }
    return want;
  }

  bool evict_latest(LimitHit hit, const std::string& why, bool with_blocks_only) {
    CPolicy* victim = nullptr;
    for (auto& [name, p] : policies) {
      if (!p.active || (with_blocks_only && p.blocks.empty())) continue;
      if (victim == nullptr || p.seq > victim->seq) victim = &p;
    }
    if (victim == nullptr) return false;
    reject(*victim, hit, why);
    return true;
  }

  // ---- update ------------------------------------------------------------

  Delta update(const CompileInput& in) {
    allocated.clear();
    rejected_now.clear();
    const Cluster& c = *in.cluster;
    host_ips = in.host_ips;

    // Namespaces.
    std::map<std::string, Labels> new_ns;
    for (const Namespace& n : c.namespaces) new_ns[n.name] = n.labels;
    std::set<std::string> changed_ns;
    for (const auto& [name, labels] : new_ns) {
      auto it = namespaces.find(name);
      if (it == namespaces.end() || it->second != labels) changed_ns.insert(name);
    }
    for (const auto& [name, labels] : namespaces) {
      if (!new_ns.contains(name)) changed_ns.insert(name);
    }
    namespaces = std::move(new_ns);

    // Policies removed or changed lose their rules now; new and changed
    // ones are compiled once identities and regions are settled.
    std::map<std::string, const NetworkPolicy*> new_pol;
    for (const NetworkPolicy& np : c.policies) new_pol[np.id()] = &np;
    for (auto it = policies.begin(); it != policies.end();) {
      auto nit = new_pol.find(it->first);
      if (nit != new_pol.end() && *nit->second == it->second.np) {
        ++it;
        continue;
      }
      CPolicy& p = it->second;
      if (p.active) deactivate(p);
      release_blocks(p);
      for (int d = 0; d < 2; ++d) {
        for (uint32_t e : p.selected[d]) eps.at(e).sel[d].erase(it->first);
      }
      it = policies.erase(it);
    }

    // Pods: label identities.
    // A hostNetwork pod's addresses are its node's (HOST here, whatever the
    // node's addresses map to elsewhere), and a finished pod's may already be
    // another pod's: neither takes part, as if it were not in the cluster.
    std::map<PodName, const Pod*> new_pods;
    inert_pods.clear();
    for (const Pod& p : c.pods) {
      if (p.owns_ips()) {
        new_pods[{p.ns, p.name}] = &p;
      } else {
        inert_pods.insert({p.ns, p.name});
      }
    }
    std::set<PodName> changed_pods;
    for (const auto& [name, p] : new_pods) {
      auto it = pods.find(name);
      if (it != pods.end() && it->second.pod == *p && !changed_ns.contains(name.first)) continue;
      changed_pods.insert(name);
      uint32_t id = ref_label(*p);
      if (it != pods.end()) {
        unref_label(it->second.identity);
        it->second = {*p, id};
      } else {
        pods.emplace(name, PodEntry{*p, id});
      }
    }
    for (auto it = pods.begin(); it != pods.end();) {
      if (new_pods.contains(it->first)) {
        ++it;
        continue;
      }
      changed_pods.insert(it->first);
      unref_label(it->second.identity);
      it = pods.erase(it);
    }

    // Endpoints: the ones whose record or pod changed are redone.
    std::map<uint32_t, const LocalEndpoint*> new_eps;
    for (const LocalEndpoint& e : in.endpoints) new_eps[e.ep_id] = &e;
    std::set<uint32_t> redo;
    for (auto it = eps.begin(); it != eps.end();) {
      auto nit = new_eps.find(it->first);
      CEndpoint& ep = it->second;
      bool gone = nit == new_eps.end();
      bool changed = gone || nit->second->ns != ep.rec.ns || nit->second->name != ep.rec.name ||
                     changed_pods.contains({ep.rec.ns, ep.rec.name});
      if (!changed) {
        ep.rec = *nit->second;  // ips, audit
        ++it;
        continue;
      }
      unapply_all(ep);
      for (int d = 0; d < 2; ++d) {
        for (const std::string& name : ep.sel[d]) policies.at(name).selected[d].erase(it->first);
        ep.sel[d].clear();
      }
      if (gone) {
        it = eps.erase(it);
        continue;
      }
      ep.rec = *nit->second;
      redo.insert(it->first);
      ++it;
    }
    for (const auto& [id, e] : new_eps) {
      if (!eps.contains(id)) {
        CEndpoint ep;
        ep.rec = *e;
        eps.emplace(id, std::move(ep));
        redo.insert(id);
      }
    }
    for (uint32_t id : redo) {
      CEndpoint& ep = eps.at(id);
      auto pit = pods.find({ep.rec.ns, ep.rec.name});
      ep.known = pit != pods.end();
      ep.identity = ep.known ? pit->second.identity : 0;
    }

    // New and changed policies; policies a limit kept out are retried when
    // room was made.
    for (const auto& [name, np] : new_pol) {
      if (policies.contains(name)) continue;
      CPolicy p;
      p.np = *np;
      p.seq = next_seq++;
      std::string why = unenforceable(p.np);
      p.enforceable = why.empty();
      p.status = {why.empty(), why};
      p.pending = true;
      if (p.enforceable) ref_blocks(p);
      policies.emplace(name, std::move(p));
    }
    std::optional<size_t> ipcache_now;
    for (auto& [name, p] : policies) {
      if (p.pending || p.limit == LimitHit::kNone) continue;
      bool room = false;
      switch (p.limit) {
        case LimitHit::kRules: room = rule_alloc.available() >= rule_count(p); break;
        case LimitHit::kPolicy: room = state.policy.size() < p.limit_mark; break;
        case LimitHit::kIpcache:
          if (!ipcache_now) ipcache_now = build_ipcache().size();
          room = *ipcache_now < p.limit_mark;
          break;
        case LimitHit::kNone: break;
      }
      if (!room) continue;
      p.pending = true;
      p.limit = LimitHit::kNone;
      p.status = {};
      ref_blocks(p);
    }

    sync_regions();
    settle_identities();
    for (uint32_t id : redo) select_endpoint(eps.at(id));

    // Activate pending policies in admission order, within the limits.
    std::vector<CPolicy*> pending;
    for (auto& [name, p] : policies) {
      if (p.pending) pending.push_back(&p);
    }
    std::ranges::sort(pending, {}, &CPolicy::seq);
    for (CPolicy* p : pending) {
      p->pending = false;
      select_policy(*p);
      if (!p->enforceable) continue;
      if (rule_alloc.available() < rule_count(*p)) {
        reject(*p, LimitHit::kRules,
               "rule ids exhausted: " + std::to_string(rule_count(*p)) + " needed, " +
                   std::to_string(rule_alloc.available()) + " free");
        continue;
      }
      activate(*p);
      if (state.policy.size() > limits.max_policy_entries) {
        size_t size = state.policy.size();
        reject(*p, LimitHit::kPolicy,
               "policy map full: " + std::to_string(size) + " entries > " +
                   std::to_string(limits.max_policy_entries));
      }
    }

    // Growth from identities can still overflow: the latest policies give way.
    std::map<IpPrefix, IpcacheValue> want;
    for (;;) {
      sync_regions();
      settle_identities();
      if (state.policy.size() <= limits.max_policy_entries) {
        want = build_ipcache();
        if (want.size() <= limits.max_ipcache_entries) break;
        if (evict_latest(LimitHit::kIpcache,
                         "ipcache full: " + std::to_string(want.size()) + " entries > " +
                             std::to_string(limits.max_ipcache_entries),
                         true)) {
          continue;
        }
        break;  // pods alone overflow: build_final_ipcache truncates
      }
      size_t size = state.policy.size();
      if (!evict_latest(LimitHit::kPolicy,
                        "policy map full: " + std::to_string(size) + " entries > " +
                            std::to_string(limits.max_policy_entries),
                        false)) {
        break;  // cannot happen: without active policies the map is empty
      }
    }

    Delta out;
    diff_ipcache(out, std::move(want));
    diff_endpoints(out);
    // A policy a limit kept out is retried once the map it did not fit in
    // is smaller than it is now.
    for (CPolicy* p : rejected_now) {
      if (p->limit == LimitHit::kPolicy) p->limit_mark = state.policy.size();
      if (p->limit == LimitHit::kIpcache) p->limit_mark = state.ipcache.size();
    }
    table.take_changes(out.policy_upserts, out.policy_deletes);
    for (uint32_t id : allocated) {
      if (rules.contains(id)) out.new_rules.push_back(id);
    }
    return out;
  }

  void diff_ipcache(Delta& out, std::map<IpPrefix, IpcacheValue> want) {
    if (want.size() > limits.max_ipcache_entries) {
      // Pods alone overflow it: the addresses of remote pods go, last names
      // first (those pods then resolve as outside addresses, WORLD). The
      // node's addresses, the regions and local endpoints stay.
      std::set<PodName> local;
      for (const auto& [id, ep] : eps) local.insert({ep.rec.ns, ep.rec.name});
      std::set<IpPrefix> keep;
      for (const IpAddr& ip : host_ips) keep.insert(host_prefix(ip));
      for (const auto& [id, ep] : eps) {
        for (const IpAddr& ip : ep.rec.ips) keep.insert(host_prefix(ip));
      }
      for (auto it = pods.rbegin(); it != pods.rend() && want.size() > limits.max_ipcache_entries; ++it) {
        if (local.contains(it->first)) continue;
        for (const IpAddr& ip : it->second.pod.ips) {
          IpPrefix hp = host_prefix(ip);
          if (keep.contains(hp)) continue;
          auto r = regions.find(hp);
          if (r != regions.end()) {
            want[hp] = {STRAND_IDENTITY_WORLD, r->second};  // a region of its own: stays as such
          } else {
            want.erase(hp);
          }
        }
      }
      // A map smaller than this node's own endpoints: never exceed it anyway.
      // Local endpoints' addresses go first (last first), the node's last.
      std::set<IpPrefix> hosts;
      for (const IpAddr& ip : host_ips) hosts.insert(host_prefix(ip));
      for (bool cut_hosts : {false, true}) {
        for (auto it = want.end(); want.size() > limits.max_ipcache_entries && it != want.begin();) {
          --it;
          if (it->first.len != 0 && (cut_hosts || !hosts.contains(it->first))) it = want.erase(it);
        }
      }
    }
    for (const auto& [p, v] : want) {
      auto it = state.ipcache.find(p);
      if (it == state.ipcache.end() || it->second != v) out.ipcache_upserts.emplace_back(p, v);
    }
    for (const auto& [p, v] : state.ipcache) {
      if (!want.contains(p)) out.ipcache_deletes.push_back(p);
    }
    // Upserts longest first, deletes shortest first (see Delta).
    std::ranges::stable_sort(out.ipcache_upserts, std::ranges::greater{}, [](const auto& e) { return e.first.len; });
    std::ranges::stable_sort(out.ipcache_deletes, std::ranges::less{}, &IpPrefix::len);
    state.ipcache = std::move(want);
  }

  void diff_endpoints(Delta& out) {
    std::map<uint32_t, EndpointState> want;
    for (const auto& [id, ep] : eps) {
      EndpointState s;
      s.identity = ep.identity;
      if (!ep.known) {
        s.flags = STRAND_EP_F_ENFORCE_INGRESS | STRAND_EP_F_ENFORCE_EGRESS;
      } else {
        if (!ep.sel[STRAND_DIR_INGRESS].empty()) s.flags |= STRAND_EP_F_ENFORCE_INGRESS;
        if (!ep.sel[STRAND_DIR_EGRESS].empty()) s.flags |= STRAND_EP_F_ENFORCE_EGRESS;
      }
      if (ep.rec.audit) s.flags |= STRAND_EP_F_AUDIT;
      want[id] = s;
    }
    for (const auto& [id, s] : want) {
      auto it = state.endpoints.find(id);
      if (it == state.endpoints.end()) {
        out.endpoint_upserts.emplace_back(id, s);
        continue;
      }
      if (it->second == s) continue;
      // Loosened before the peers move, tightened after (see Delta).
      const EndpointState loose{s.identity, loosest_flags(it->second.flags, s.flags)};
      const bool early = loose.flags != it->second.flags;
      if (early) out.endpoint_loosens.emplace_back(id, loose);
      if (!early || loose != s) out.endpoint_upserts.emplace_back(id, s);
    }
    for (const auto& [id, s] : state.endpoints) {
      if (!want.contains(id)) out.endpoint_deletes.push_back(id);
    }
    state.endpoints = std::move(want);
  }

  std::vector<std::string> block_refs(uint32_t block) const {
    std::vector<std::string> out;
    const BlockKey& key = blocks.at(block).first;
    for (const auto& [name, p] : policies) {
      if (!p.active) continue;
      for (Direction dir : {Direction::kIngress, Direction::kEgress}) {
        const auto& specs = dir == Direction::kIngress ? p.np.ingress : p.np.egress;
        for (size_t i = 0; i < specs.size(); ++i) {
          for (size_t j = 0; j < specs[i].peers.size(); ++j) {
            const auto& b = specs[i].peers[j].ip_block;
            if (b && block_key(*b) == key) {
              out.push_back(name + " " + dir_name(dir) + "[" + std::to_string(i) + "].peer[" + std::to_string(j) + "]");
            }
          }
        }
      }
    }
    return out;
  }
};

Compiler::Compiler(CompilerLimits limits) : impl_(std::make_unique<Impl>(limits)) {}
Compiler::~Compiler() = default;
Compiler::Compiler(Compiler&&) noexcept = default;
Compiler& Compiler::operator=(Compiler&&) noexcept = default;

Delta Compiler::update(const CompileInput& in) { return impl_->update(in); }

Delta Compiler::resume(const DatapathState& pinned, const CompileInput& in) {
  // A compiler of its own numbers the new state first, to see which of its
  // identities have the same addresses as a pinned one; the real one then
  // gives those the pinned number and the rest numbers pinned does not use.
  Impl scratch(impl_->limits);
  (void)scratch.update(in);
  auto next = std::make_unique<Impl>(impl_->limits);
  for (const auto& [fresh, old] : same_addresses(pinned, scratch.state)) {
    next->preferred.emplace(scratch.ident_key(scratch.idents.at(fresh)), old);
  }
  for (uint32_t n : identity_numbers(pinned)) next->ident_alloc.take(n);
  // What the maps hold is the state to diff against.
  next->state.ipcache = pinned.ipcache;
  next->state.endpoints = pinned.endpoints;
  next->table.assume(pinned.policy);
  impl_ = std::move(next);
  Delta d = impl_->update(in);
  impl_->preferred.clear();
  return d;
}

const DatapathState& Compiler::state() const { return impl_->state; }

std::optional<RuleInfo> Compiler::rule(uint32_t rule_id) const {
  auto it = impl_->rules.find(rule_id);
  if (it == impl_->rules.end()) return std::nullopt;
  return RuleInfo{it->second.policy, it->second.dir, it->second.index};
}

std::vector<uint32_t> Compiler::rules_of(const std::string& policy) const {
  auto it = impl_->policies.find(policy);
  if (it == impl_->policies.end()) return {};
  std::vector<uint32_t> out = it->second.rules[STRAND_DIR_INGRESS];
  out.insert(out.end(), it->second.rules[STRAND_DIR_EGRESS].begin(), it->second.rules[STRAND_DIR_EGRESS].end());
  return out;
}

std::optional<IdentityInfo> Compiler::identity(uint32_t id) const {
  if (id < kFirstIdentity) {
    if (id > STRAND_IDENTITY_WORLD) return std::nullopt;
    return IdentityInfo{};
  }
  auto it = impl_->idents.find(id);
  if (it == impl_->idents.end()) return std::nullopt;
  IdentityInfo info;
  info.kind = it->second.kind;
  if (info.kind == IdentityInfo::Kind::kPod) {
    info.ns = it->second.label.ns;
    info.labels = it->second.label.labels;
  } else {
    for (uint32_t b : it->second.sig) {
      auto refs = impl_->block_refs(b);
      info.blocks.insert(info.blocks.end(), refs.begin(), refs.end());
    }
    std::ranges::sort(info.blocks);
  }
  return info;
}

PolicyStatus Compiler::policy_status(const std::string& policy) const {
  auto it = impl_->policies.find(policy);
  if (it == impl_->policies.end()) return {false, "unknown policy"};
  return it->second.status;
}

std::map<std::string, PolicyStatus> Compiler::policy_statuses() const {
  std::map<std::string, PolicyStatus> out;
  for (const auto& [name, p] : impl_->policies) out.emplace(name, p.status);
  return out;
}

std::vector<std::string> Compiler::isolated_by(uint32_t ep_id, Direction dir) const {
  auto it = impl_->eps.find(ep_id);
  if (it == impl_->eps.end()) return {};
  const auto& s = it->second.sel[dir_index(dir)];
  return {s.begin(), s.end()};
}

}  // namespace strand::policy
