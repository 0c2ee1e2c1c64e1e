#pragma once
// The policy compiler: from the cluster (namespaces, pods of every node,
// NetworkPolicies) and this node's endpoints to what the datapath maps must
// hold: identities, ipcache, per-endpoint flags and policy entries, and the
// rule ids the agent maps drops and flows back to. Pure (no kernel, no I/O)
// and incremental: update() takes the whole input each time, diffs it against
// the previous one and recomputes only what the difference touches, so an
// update is cheap at 1000 pods and 1000 policies (~10,000 rules).
//
// Semantics are those of agent/policy/evaluate.h (the reference): for every
// pair of endpoints and every port/protocol, emulating the BPF lookup over
// state() (see datapath/bpf/include/strand_maps.h, "policy") gives the same
// verdict as evaluate().
//
// Identities (node-local numbers, never sent on the wire):
//  - a pod IP gets the label identity of its pod: one number per distinct
//    (namespace name, namespace labels, pod labels, named container ports);
//    pods of one Deployment share it. Named ports are part of it so an
//    egress rule naming a port resolves exactly per destination.
//  - the ipBlock prefixes of all policies (cidr and except) cut the address
//    space into regions; every distinct set of ipBlocks containing a region
//    gets a cidr identity. ipcache entries carry both identities (pod IPs:
//    label + the cidr identity of the region they lie in; other prefixes:
//    WORLD + their region's cidr identity), so selectors and ipBlocks both
//    match pod IPs.
//  - host_ips (this node's addresses, pod gateways) are HOST: always allowed.
//  - 0.0.0.0/0 and ::/0 are always present (WORLD).
//  - identity numbers are >= 256 (below is reserved); a freed number is
//    reused only after every other number has been used.
//  - ipBlock "set" above means the ipBlocks of enforced policies; identical
//    ipBlocks (same cidr and except) of several rules count once.
//  - an ipcache key that is both a pod IP and a host IP is the pod's.
//
// Not enforced (policy_status().enforced == false, reason says why), the
// policy's rules write nothing and the pods it selects still get the
// ENFORCE flag of its directions (fail closed):
//  - a spec the parser could not read or with a field it does not know
//    (NetworkPolicy::not_enforced says which);
//  - an egress rule with an ipBlock peer and a named port (pods inside and
//    outside the block share label identities, so no key can say "this
//    named port, only inside the block");
//  - a policy that does not fit CompilerLimits (rule ids, policy map or
//    ipcache entries): policies are admitted in the order they first
//    appeared, and when growth (new pods matching rules) overflows a map
//    the latest admitted policies give way. A policy kept out is retried by
//    a later update once the map it did not fit in got smaller, so an
//    update after one that had to evict may admit it again.
// A local endpoint whose pod is not in the cluster gets identity 0 and both
// ENFORCE flags (only HOST passes) until the pod is known.
//
// Pods that do not own their IPs (Pod::owns_ips) are left out as if absent:
// a hostNetwork pod (its podIP is its node's: this node's addresses stay
// HOST, another node's map to what covers them) and a finished pod
// (Succeeded/Failed: its IP may be reused). They get no identity and no
// ipcache entry, and no policy selects them; a local endpoint of such a pod
// fails closed like an unknown one and its addresses are not in the ipcache.
//
// Incremental work: a changed policy recomputes only its rules; a new label
// or cidr identity is matched against every rule's peers once (each rule
// caches the identities it matches); an endpoint is redone only when its
// record or pod changed. The ipcache (O(pods + prefixes)) and the endpoint
// table (O(endpoints)) are rebuilt and diffed on every update.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/policy/types.h"
#include "common/ip.h"
#include "datapath/bpf/include/strand_maps.h"

namespace strand::policy {

// Identity numbers below are reserved (0, HOST, WORLD).
inline constexpr uint32_t kFirstIdentity = 256;

enum class Direction : uint8_t { kEgress = STRAND_DIR_EGRESS, kIngress = STRAND_DIR_INGRESS };

// One endpoint of this node (from the CNI endpoint records).
struct LocalEndpoint {
  uint32_t ep_id = 0;
  std::string ns;            // pod namespace
  std::string name;          // pod name
  std::vector<IpAddr> ips;   // the CNI's addresses: authoritative over Pod.ips
  bool audit = false;        // audit mode: would-be drops pass (STRAND_EP_F_AUDIT)

  bool operator==(const LocalEndpoint&) const = default;
};

struct CompileInput {
  const Cluster* cluster = nullptr;    // pods of every node; node_ips unused here
  std::vector<LocalEndpoint> endpoints;
  std::vector<IpAddr> host_ips;        // identity HOST
};

// A policy map entry in readable form; to_bpf() gives the LPM key.
struct PolicyKey {
  uint32_t ep_id = 0;
  uint32_t remote_identity = 0;  // STRAND_POLICY_ANY_IDENTITY: any peer
  Direction dir = Direction::kIngress;
  uint8_t proto = 0;     // 0: every protocol (port fields ignored)
  uint16_t port = 0;     // first port of the block
  uint8_t port_bits = 0; // leading bits of port that must match: 0 (any port) .. 16 (exactly port)

  auto operator<=>(const PolicyKey&) const = default;
  [[nodiscard]] strand_policy_key to_bpf() const;
};

struct IpcacheValue {
  uint32_t identity = 0;
  uint32_t cidr_identity = 0;

  auto operator<=>(const IpcacheValue&) const = default;
};

struct EndpointState {
  uint32_t identity = 0;  // label identity of the pod (0 while the pod is unknown)
  uint32_t flags = 0;     // STRAND_EP_F_*

  auto operator<=>(const EndpointState&) const = default;
};

// What a rule id stands for.
struct RuleInfo {
  std::string policy;  // "ns/name"
  Direction dir = Direction::kIngress;
  size_t index = 0;    // into spec.ingress or spec.egress

  bool operator==(const RuleInfo&) const = default;
};

// Who an identity is, for flows, drops and "why".
struct IdentityInfo {
  enum class Kind { kReserved, kPod, kCidr } kind = Kind::kReserved;
  std::string ns;                 // kPod
  Labels labels;                  // kPod
  std::vector<std::string> blocks; // kCidr: "ns/policy dir[i].peer[j]" of the ipBlocks containing the region

  bool operator==(const IdentityInfo&) const = default;
};

// Whether a policy is fully enforced; when not, the pods it selects fail
// closed in its directions (its rules contribute nothing) and the reason
// says which field could not be enforced.
struct PolicyStatus {
  bool enforced = true;
  std::string reason;  // empty when enforced

  bool operator==(const PolicyStatus&) const = default;
};

struct DatapathState {
  std::map<IpPrefix, IpcacheValue> ipcache;
  std::map<uint32_t, EndpointState> endpoints;  // by ep_id
  std::map<PolicyKey, uint32_t> policy;         // -> rule id

  bool operator==(const DatapathState&) const = default;
};

// What changed in the last update, one element per map write, in the order
// the agent must write it so that traffic both the old and the new state
// allow never drops (each step keeps every decision both states allow):
//   1. policy_upserts: entries only allow, so more of them never deny.
//   2. endpoint_loosens: endpoints of both states whose flags change get
//      the loosest entry of old and new (the ENFORCE flags both have, AUDIT
//      if either has it, the new identity) where its flags differ from the
//      old ones; an endpoint that only loosens gets its new entry here. Each
//      now enforces only where both states do, so a peer passes with its
//      old identity or with its new one.
//   3. ipcache_upserts, longest prefix first;
//   4. ipcache_deletes, shortest prefix first: with 3, every address goes
//      from its old longest match straight to its new one (the value of a
//      kept prefix changes in one write), never through a prefix that is
//      neither.
//   5. endpoint_upserts: the new entries 2 did not write (new endpoints,
//      endpoints that start enforcing or leave audit, or whose identity
//      alone changed): every peer has its new identity now and the new
//      policy entries are in.
//   6. policy_deletes: every peer has its new identity and every endpoint
//      its new flags, so what the new state allows needs no old entry.
//   7. endpoint_deletes, by their owner (the agent's Endpoints), once the
//      pod's programs are gone.
// An endpoint whose entry changes is in 2, 5 or both; its last is the new
// state. Identities in endpoint entries are read by events only.
// new_rules: rule ids allocated by this update (their hit counters must be
// zeroed before the policy entries naming them are written).
struct Delta {
  std::vector<std::pair<PolicyKey, uint32_t>> policy_upserts;
  std::vector<std::pair<uint32_t, EndpointState>> endpoint_loosens;
  std::vector<std::pair<IpPrefix, IpcacheValue>> ipcache_upserts;
  std::vector<IpPrefix> ipcache_deletes;
  std::vector<std::pair<uint32_t, EndpointState>> endpoint_upserts;
  std::vector<PolicyKey> policy_deletes;
  std::vector<uint32_t> endpoint_deletes;
  std::vector<uint32_t> new_rules;

  [[nodiscard]] bool empty() const;
};

struct CompilerLimits {
  size_t max_policy_entries = STRAND_POLICY_MAX;
  size_t max_ipcache_entries = STRAND_IPCACHE_MAX;
  uint32_t max_rules = STRAND_RULES_MAX;
};

class Compiler {
 public:
  explicit Compiler(CompilerLimits limits = {});
  ~Compiler();
  Compiler(Compiler&&) noexcept;
  Compiler& operator=(Compiler&&) noexcept;

  // Brings state() to what `in` requires and returns the difference from the
  // previous state(). The first call returns the whole state as upserts.
  [[nodiscard]] Delta update(const CompileInput& in);

  // Starts over from `pinned`, what the maps hold (an earlier agent's
  // state, or a delta written in part): forgets everything, compiles `in`
  // and returns the difference from `pinned`, so writing it takes the maps
  // to state() in the Delta's order. An identity keeps its pinned number
  // when it stands for exactly the same addresses in both states; every
  // other one gets a number `pinned` does not use (agent/policy/
  // identity_carry.h says why either keeps every decision both states
  // agree on). Rule ids are numbered afresh.
  [[nodiscard]] Delta resume(const DatapathState& pinned, const CompileInput& in);

  [[nodiscard]] const DatapathState& state() const;
  [[nodiscard]] std::optional<RuleInfo> rule(uint32_t rule_id) const;
  // The rule ids of a policy ("ns/name"): its ingress rules in spec order,
  // then its egress rules (only the directions in its policyTypes); empty
  // when the policy is not enforced.
  [[nodiscard]] std::vector<uint32_t> rules_of(const std::string& policy) const;
  // 0, HOST and WORLD are kReserved; nullopt for a number not in use.
  [[nodiscard]] std::optional<IdentityInfo> identity(uint32_t id) const;
  // Status of a policy of the last input ("unknown policy" when absent).
  [[nodiscard]] PolicyStatus policy_status(const std::string& policy) const;
  // The status of every policy of the last input, by "ns/name".
  [[nodiscard]] std::map<std::string, PolicyStatus> policy_statuses() const;
  // The policies ("ns/name") isolating endpoint ep_id in dir, sorted: who to
  // blame for a STRAND_RULE_ISOLATED drop. Empty for an endpoint whose pod
  // is unknown (it fails closed without a policy).
  [[nodiscard]] std::vector<std::string> isolated_by(uint32_t ep_id, Direction dir) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strand::policy
