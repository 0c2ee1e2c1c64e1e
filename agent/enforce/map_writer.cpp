#include "agent/enforce/map_writer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace strand::enforce {

strand_lpm_key ipcache_key(const IpPrefix& p) {
  strand_lpm_key k{};
  k.prefixlen = STRAND_LPM_PREFIX(p.len);
  k.family = p.addr.is_v4() ? STRAND_FAMILY_IPV4 : STRAND_FAMILY_IPV6;
  const IpPrefix n = p.network();
  std::memcpy(k.addr, n.addr.bytes.data(), n.addr.size());
  return k;
}

strand_ipcache_value ipcache_value(const policy::IpcacheValue& v) {
  strand_ipcache_value out{};
  out.identity = v.identity;
  out.cidr_identity = v.cidr_identity;
  return out;
}

strand_endpoint endpoint_value(uint32_t ep_id, const policy::EndpointState& s, uint32_t policy_rev) {
  strand_endpoint e{};
  e.ep_id = ep_id;
  e.identity = s.identity;
  e.flags = s.flags;
  e.policy_rev = policy_rev;
  return e;
}

std::optional<IpPrefix> ipcache_prefix(const strand_lpm_key& k) {
  IpPrefix p;
  if (k.family == STRAND_FAMILY_IPV4) {
    p.addr.family = AF_INET;
  } else if (k.family == STRAND_FAMILY_IPV6) {
    p.addr.family = AF_INET6;
  } else {
    return std::nullopt;
  }
  if (k.prefixlen < STRAND_LPM_PREFIX(0) || k.prefixlen > STRAND_LPM_PREFIX(p.addr.max_prefix())) return std::nullopt;
  p.len = static_cast<uint8_t>(k.prefixlen - STRAND_LPM_PREFIX(0));
  std::memcpy(p.addr.bytes.data(), k.addr, p.addr.size());
  // Only what ipcache_key() writes: host bits and padding zero.
  const strand_lpm_key again = ipcache_key(p);
  if (std::memcmp(&again, &k, sizeof(k)) != 0) return std::nullopt;
  return p.network();
}

std::optional<policy::PolicyKey> policy_key(const strand_policy_key& k) {
  if (k.dir != STRAND_DIR_EGRESS && k.dir != STRAND_DIR_INGRESS) return std::nullopt;
  policy::PolicyKey out;
  out.ep_id = ntohl(k.ep_id);
  out.remote_identity = ntohl(k.remote_identity);
  out.dir = static_cast<policy::Direction>(k.dir);
  if (k.prefixlen != STRAND_POLICY_PREFIX_ANY_PROTO) {
    if (k.prefixlen < STRAND_POLICY_PREFIX_ANY_PORT || k.prefixlen > STRAND_POLICY_PREFIX_FULL) return std::nullopt;
    out.proto = k.proto;
    out.port = ntohs(k.dport);
    out.port_bits = static_cast<uint8_t>(k.prefixlen - STRAND_POLICY_PREFIX_ANY_PORT);
  }
  // Only what to_bpf() writes (a port-less key has proto and port zero).
  const strand_policy_key again = out.to_bpf();
  if (std::memcmp(&again, &k, sizeof(k)) != 0) return std::nullopt;
  return out;
}

namespace {

Status put(int fd, const void* key, const void* value, const char* map, const std::string& what) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0) return fail_errno(std::string("bpf_map_update_elem ") + map, what);
  return {};
}

Status del(int fd, const void* key, const char* map, const std::string& what) {
  if (bpf_map_delete_elem(fd, key) != 0 && errno != ENOENT) {
    return fail_errno(std::string("bpf_map_delete_elem ") + map, what);
  }
  return {};
}

std::string describe(const policy::PolicyKey& k) {
  return "ep " + std::to_string(k.ep_id) + " identity " + std::to_string(k.remote_identity) + " dir " +
         std::to_string(static_cast<int>(k.dir)) + " proto " + std::to_string(k.proto) + " port " +
         std::to_string(k.port) + "/" + std::to_string(k.port_bits);
}

Status put_endpoints(const MapFds& fds, const std::vector<std::pair<uint32_t, policy::EndpointState>>& entries,
                     const std::set<uint32_t>& endpoints, uint32_t policy_rev, WriteCounts& n) {
  for (const auto& [ep, s] : entries) {
    if (!endpoints.contains(ep)) continue;
    const strand_endpoint v = endpoint_value(ep, s, policy_rev);
    if (auto st = put(fds.endpoints, &ep, &v, "endpoints", "ep " + std::to_string(ep)); !st) return st;
    ++n.written;
  }
  return {};
}

}  // namespace

Result<WriteCounts> write_delta(const MapFds& fds, const policy::Delta& d, const std::set<uint32_t>& endpoints,
                                uint32_t policy_rev) {
  WriteCounts n;
  if (!d.new_rules.empty()) {
    const int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return fail("libbpf_num_possible_cpus", -ncpu, "policy_hits");
    std::vector<uint64_t> zero(static_cast<size_t>(ncpu), 0);
    for (uint32_t id : d.new_rules) {
      if (auto st = put(fds.hits, &id, zero.data(), "policy_hits", "rule " + std::to_string(id)); !st) {
        return std::unexpected(st.error());
      }
    }
  }
  for (const auto& [k, rule] : d.policy_upserts) {
    const strand_policy_key key = k.to_bpf();
    strand_policy_value v{};
    v.verdict = STRAND_VERDICT_ALLOW;
    v.rule_id = rule;
    if (auto st = put(fds.policy, &key, &v, "policy", describe(k)); !st) return std::unexpected(st.error());
    ++n.written;
  }
  if (auto st = put_endpoints(fds, d.endpoint_loosens, endpoints, policy_rev, n); !st) {
    return std::unexpected(st.error());
  }
  for (const auto& [p, val] : d.ipcache_upserts) {
    const strand_lpm_key key = ipcache_key(p);
    const strand_ipcache_value v = ipcache_value(val);
    if (auto st = put(fds.ipcache, &key, &v, "ipcache", p.str()); !st) return std::unexpected(st.error());
    ++n.written;
  }
  for (const auto& p : d.ipcache_deletes) {
    const strand_lpm_key key = ipcache_key(p);
    if (auto st = del(fds.ipcache, &key, "ipcache", p.str()); !st) return std::unexpected(st.error());
    ++n.deleted;
  }
  if (auto st = put_endpoints(fds, d.endpoint_upserts, endpoints, policy_rev, n); !st) {
    return std::unexpected(st.error());
  }
  for (const auto& k : d.policy_deletes) {
    const strand_policy_key key = k.to_bpf();
    if (auto st = del(fds.policy, &key, "policy", describe(k)); !st) return std::unexpected(st.error());
    ++n.deleted;
  }
  return n;
}

Status write_revision(const MapFds& fds, const policy::DatapathState& state, const std::set<uint32_t>& endpoints,
                      uint32_t policy_rev) {
  for (const auto& [ep, s] : state.endpoints) {
    if (!endpoints.contains(ep)) continue;
    const strand_endpoint v = endpoint_value(ep, s, policy_rev);
    if (auto st = put(fds.endpoints, &ep, &v, "endpoints", "ep " + std::to_string(ep) + " revision"); !st) return st;
  }
  return {};
}

namespace {

template <typename Key>
Result<std::vector<Key>> all_keys(int fd, const char* map) {
  std::vector<Key> keys;
  Key cur{};
  Key next{};
  const void* prev = nullptr;
  while (true) {
    if (bpf_map_get_next_key(fd, prev, &next) != 0) {
      if (errno == ENOENT) break;
      return fail_errno("bpf_map_get_next_key", map);
    }
    keys.push_back(next);
    cur = next;
    prev = &cur;
  }
  return keys;
}

// fn(key, value) for every entry of map fd; entries deleted meanwhile are skipped.
template <typename Key, typename Value, typename F>
Status each_entry(int fd, const char* map, F&& fn) {
  auto keys = all_keys<Key>(fd, map);
  if (!keys) return std::unexpected(keys.error());
  for (const Key& k : *keys) {
    Value v{};
    if (bpf_map_lookup_elem(fd, &k, &v) != 0) {
      if (errno == ENOENT) continue;
      return fail_errno(std::string("bpf_map_lookup_elem ") + map);
    }
    fn(k, v);
  }
  return {};
}

}  // namespace

Result<PinnedMaps> read_pinned(const MapFds& fds) {
  PinnedMaps out;
  policy::DatapathState& s = out.state;
  auto ipcache = each_entry<strand_lpm_key, strand_ipcache_value>(
      fds.ipcache, "ipcache", [&](const strand_lpm_key& k, const strand_ipcache_value& v) {
        if (auto p = ipcache_prefix(k)) {
          s.ipcache[*p] = policy::IpcacheValue{v.identity, v.cidr_identity};
        } else {
          out.stray_ipcache.push_back(k);
        }
      });
  if (!ipcache) return std::unexpected(ipcache.error());
  auto pol = each_entry<strand_policy_key, strand_policy_value>(
      fds.policy, "policy", [&](const strand_policy_key& k, const strand_policy_value& v) {
        if (auto pk = policy_key(k)) {
          s.policy[*pk] = v.rule_id;
        } else {
          out.stray_policy.push_back(k);
        }
      });
  if (!pol) return std::unexpected(pol.error());
  auto eps = each_entry<uint32_t, strand_endpoint>(fds.endpoints, "endpoints",
                                                   [&](uint32_t ep, const strand_endpoint& v) {
                                                     s.endpoints[ep] = policy::EndpointState{v.identity, v.flags};
                                                   });
  if (!eps) return std::unexpected(eps.error());
  return out;
}

Result<size_t> delete_strays(const MapFds& fds, const PinnedMaps& pinned) {
  // As in a Delta: the ipcache shortest prefix first, then the policy entries.
  std::vector<strand_lpm_key> ipcache = pinned.stray_ipcache;
  std::ranges::stable_sort(ipcache, std::ranges::less{}, &strand_lpm_key::prefixlen);
  for (const auto& k : ipcache) {
    if (auto st = del(fds.ipcache, &k, "ipcache", "stray entry"); !st) return std::unexpected(st.error());
  }
  for (const auto& k : pinned.stray_policy) {
    if (auto st = del(fds.policy, &k, "policy", "stray entry"); !st) return std::unexpected(st.error());
  }
  return ipcache.size() + pinned.stray_policy.size();
}

Result<uint64_t> read_hits(int hits_fd, uint32_t rule_id) {
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return fail("libbpf_num_possible_cpus", -ncpu, "policy_hits");
  std::vector<uint64_t> per(static_cast<size_t>(ncpu), 0);
  if (bpf_map_lookup_elem(hits_fd, &rule_id, per.data()) != 0) {
    return fail_errno("bpf_map_lookup_elem policy_hits", "rule " + std::to_string(rule_id));
  }
  uint64_t sum = 0;
  for (uint64_t v : per) sum += v;
  return sum;
}

}  // namespace strand::enforce
