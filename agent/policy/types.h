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
};

struct ContainerPort {
  std::string name;  // may be empty: such a port is never reached by name
  uint16_t port = 0;
  Protocol protocol = Protocol::kTcp;
};

struct Pod {
  std::string ns;
  std::string name;
  Labels labels;
  std::vector<IpAddr> ips;
  std::vector<ContainerPort> ports;
};

enum class SelectorOp { kIn, kNotIn, kExists, kDoesNotExist };

struct SelectorRequirement {
  std::string key;
  SelectorOp op = SelectorOp::kExists;
  std::vector<std::string> values;
};

// All terms AND; the empty selector selects everything.
struct LabelSelector {
  Labels match_labels;
  std::vector<SelectorRequirement> match_expressions;
};

struct IpBlock {
  IpPrefix cidr;                 // host bits cleared
  std::vector<IpPrefix> except;  // each strictly inside cidr
};

// One entry of from/to. A selector that is absent (nullopt) is "not set",
// which differs from the empty selector (matches all).
struct Peer {
  std::optional<LabelSelector> pod_selector;
  std::optional<LabelSelector> namespace_selector;
  std::optional<IpBlock> ip_block;  // never together with a selector
};

struct PolicyPort {
  Protocol protocol = Protocol::kTcp;
  // monostate: every port of the protocol; uint16_t: a number; string: a
  // named container port of the destination pod.
  std::variant<std::monostate, uint16_t, std::string> port;
  std::optional<uint16_t> end_port;  // only with a numeric port; inclusive
};

// from (ingress) or to (egress). Empty peers: every peer; empty ports: every port.
struct Rule {
  std::vector<Peer> peers;
  std::vector<PolicyPort> ports;
};

struct NetworkPolicy {
  std::string ns;
  std::string name;
  LabelSelector pod_selector;
  bool ingress_type = true;   // policyTypes contains Ingress (explicitly or implied)
  bool egress_type = false;   // policyTypes contains Egress (explicitly or implied)
  std::vector<Rule> ingress;
  std::vector<Rule> egress;

  [[nodiscard]] std::string id() const { return ns + "/" + name; }
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
