#pragma once
// Writes a compiler Delta (agent/policy/compile.h) to the pinned maps in the
// Delta's order, which never drops traffic both the old and the new state
// allow: hit counters of new rules zeroed, policy upserts, endpoint entries
// that loosen, ipcache upserts (longest prefix first), ipcache deletes
// (shortest prefix first), the other endpoint entries, policy deletes.
// Endpoint deletes are left to Endpoints, which owns the entries' existence.
// Reads the maps back as a DatapathState (what an earlier agent left pinned).
// The key conversions are pure and unit-tested.
#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "agent/policy/compile.h"
#include "common/error.h"
#include "common/ip.h"
#include "datapath/bpf/include/strand_maps.h"

namespace strand::enforce {

struct MapFds {
  int policy = -1;
  int ipcache = -1;
  int endpoints = -1;
  int hits = -1;  // policy_hits, per-CPU array
};

[[nodiscard]] strand_lpm_key ipcache_key(const IpPrefix& p);
[[nodiscard]] strand_ipcache_value ipcache_value(const policy::IpcacheValue& v);
[[nodiscard]] strand_endpoint endpoint_value(uint32_t ep_id, const policy::EndpointState& s, uint32_t policy_rev);
// The inverses of ipcache_key() and PolicyKey::to_bpf(); nullopt for a key
// neither writes (a family, prefix length or direction out of range).
[[nodiscard]] std::optional<IpPrefix> ipcache_prefix(const strand_lpm_key& k);
[[nodiscard]] std::optional<policy::PolicyKey> policy_key(const strand_policy_key& k);

struct WriteCounts {
  size_t written = 0;
  size_t deleted = 0;
};

// `endpoints`: the ep_ids whose entries this writer may create or update
// (endpoints still attached); their entries carry `policy_rev`. Stops at the
// first error.
[[nodiscard]] Result<WriteCounts> write_delta(const MapFds& fds, const policy::Delta& d,
                                              const std::set<uint32_t>& endpoints, uint32_t policy_rev);

// The last step of a change: every endpoint of `state` in `endpoints` gets
// `policy_rev`, so tracked connections are judged again by what is now in
// the maps (strand_endpoint.policy_rev).
[[nodiscard]] Status write_revision(const MapFds& fds, const policy::DatapathState& state,
                                    const std::set<uint32_t>& endpoints, uint32_t policy_rev);

// The policy, ipcache and endpoints maps as they are, decoded; the keys no
// writer makes (ipcache_prefix() or policy_key() refuse them) apart.
struct PinnedMaps {
  policy::DatapathState state;
  std::vector<strand_lpm_key> stray_ipcache;
  std::vector<strand_policy_key> stray_policy;
};
[[nodiscard]] Result<PinnedMaps> read_pinned(const MapFds& fds);

// Deletes the stray keys read_pinned() found (an earlier agent's of another
// layout, or garbage): ipcache keys shortest prefix first, then policy keys,
// as a Delta's deletes. Returns how many went.
[[nodiscard]] Result<size_t> delete_strays(const MapFds& fds, const PinnedMaps& pinned);

// Sum over CPUs of policy_hits[rule_id].
[[nodiscard]] Result<uint64_t> read_hits(int hits_fd, uint32_t rule_id);

}  // namespace strand::enforce
