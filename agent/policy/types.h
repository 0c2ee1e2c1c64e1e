#pragma once
// The Kubernetes objects NetworkPolicy v1 semantics need, as plain values:
// namespaces, pods, label selectors and policies. No I/O, no kernel state.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/ip.h"

namespace strand::policy {

enum class Protocol { kTcp, kUdp, kSctp };

// "TCP", "UDP", "SCTP".
[[nodiscard]] std::string_view protocol_name(Protocol p);

using Labels = std::map<std::string, std::string>;

struct Namespace {
  std::string name;
  Labels labels;

  bool operator==(const Namespace&) const = default;
};

struct ContainerPort {
  std::string name;  // may be empty: such a port is never reached by name
  uint16_t port = 0;
  Protocol protocol = Protocol::kTcp;

  bool operator==(const ContainerPort&) const = default;
};

struct Pod {
  std::string ns;
  std::string name;
  Labels labels;
  std::vector<IpAddr> ips;
  std::vector<ContainerPort> ports;
  bool host_network = false;  // spec.hostNetwork: its IPs are its node's
  std::string phase;          // status.phase ("Running", "Succeeded", ...); may be empty

  // status.phase Succeeded or Failed: its containers are gone and its IPs may
  // already belong to another pod.
  [[nodiscard]] bool finished() const { return phase == "Succeeded" || phase == "Failed"; }
  // Whether the pod's IPs are its own: not for a hostNetwork pod (its traffic
  // is its node's) nor for a finished one. Only such pods get ipcache entries
  // and are selected by policies.
  [[nodiscard]] bool owns_ips() const { return !host_network && !finished(); }

  bool operator==(const Pod&) const = default;
};

enum class SelectorOp { kIn, kNotIn, kExists, kDoesNotExist };

struct SelectorRequirement {
  std::string key;
  SelectorOp op = SelectorOp::kExists;
  std::vector<std::string> values;

  bool operator==(const SelectorRequirement&) const = default;
};

// All terms AND; the empty selector selects everything.
struct LabelSelector {
  Labels match_labels;
  std::vector<SelectorRequirement> match_expressions;

  bool operator==(const LabelSelector&) const = default;
};

struct IpBlock {
  IpPrefix cidr;                 // host bits cleared
  std::vector<IpPrefix> except;  // each strictly inside cidr

  bool operator==(const IpBlock&) const = default;
};

// One entry of from/to. A selector that is absent (nullopt) is "not set",
// which differs from the empty selector (matches all).
struct Peer {
  std::optional<LabelSelector> pod_selector;
  std::optional<LabelSelector> namespace_selector;
  std::optional<IpBlock> ip_block;  // never together with a selector

  bool operator==(const Peer&) const = default;
};

struct PolicyPort {
  Protocol protocol = Protocol::kTcp;
  // monostate: every port of the protocol; uint16_t: a number; string: a
  // named container port of the destination pod.
  std::variant<std::monostate, uint16_t, std::string> port;
  std::optional<uint16_t> end_port;  // only with a numeric port; inclusive

  bool operator==(const PolicyPort&) const = default;
};

// from (ingress) or to (egress). Empty peers: every peer; empty ports: every port.
struct Rule {
  std::vector<Peer> peers;
  std::vector<PolicyPort> ports;

  bool operator==(const Rule&) const = default;
};

struct NetworkPolicy {
  std::string ns;
  std::string name;
  // Non-empty when the policy cannot be enforced as written, naming the field
  // and why (a spec that does not parse, a field this agent does not know).
  // Such a policy has no rules: it isolates the pods it selects in its
  // directions and allows nothing (fail closed). When its podSelector could
  // not be read it is the empty selector (every pod of the namespace); when
  // its policyTypes could not be determined both are set.
  std::string not_enforced;
  LabelSelector pod_selector;
  bool ingress_type = true;   // policyTypes contains Ingress (explicitly or implied)
  bool egress_type = false;   // policyTypes contains Egress (explicitly or implied)
  std::vector<Rule> ingress;
  std::vector<Rule> egress;

  [[nodiscard]] std::string id() const { return ns + "/" + name; }

  bool operator==(const NetworkPolicy&) const = default;
};

struct Cluster {
  std::vector<Namespace> namespaces;
  std::vector<Pod> pods;
  std::vector<NetworkPolicy> policies;
  std::vector<IpAddr> node_ips;  // traffic between a pod and a node IP always passes

  [[nodiscard]] const Pod* find_pod(std::string_view ns, std::string_view name) const;
  [[nodiscard]] const Namespace* find_namespace(std::string_view name) const;
};

}  // namespace strand::policy
