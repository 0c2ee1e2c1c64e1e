#pragma once
// The cluster objects the agent keeps: Namespaces, Pods, NetworkPolicies and
// Nodes, as plain values, and their parsing from Kubernetes JSON (the shape
// the API server returns; YAML manifests once converted to JSON).
#include <nlohmann/json.hpp>

#include <compare>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/policy/types.h"
#include "common/error.h"
#include "common/ip.h"

namespace strand::model {

enum class Kind { kNamespace, kPod, kNetworkPolicy, kNode };

// "Namespace", "Pod", "NetworkPolicy", "Node".
[[nodiscard]] std::string_view kind_name(Kind k);

// kind + namespace/name. Cluster-scoped kinds (Namespace, Node) have ns "".
struct Key {
  Kind kind = Kind::kPod;
  std::string ns;
  std::string name;

  auto operator<=>(const Key&) const = default;
  bool operator==(const Key&) const = default;
  // "Pod x/a", "Namespace x".
  [[nodiscard]] std::string str() const;
};

using Annotations = std::map<std::string, std::string>;

struct Namespace {
  policy::Namespace base;  // name, labels
  Annotations annotations;

  bool operator==(const Namespace&) const = default;
};

struct Pod {
  policy::Pod base;  // namespace, name, labels, status.podIPs, containers[].ports[]
  std::string uid;
  std::string node_name;  // spec.nodeName; empty while unscheduled

  bool operator==(const Pod&) const = default;
};

struct NodeAddress {
  std::string type;  // InternalIP, ExternalIP, Hostname, ...
  std::string address;

  bool operator==(const NodeAddress&) const = default;
};

struct Node {
  std::string name;
  std::vector<NodeAddress> addresses;  // status.addresses
  std::vector<IpPrefix> pod_cidrs;     // spec.podCIDRs (or spec.podCIDR)

  bool operator==(const Node&) const = default;
  // The InternalIP and ExternalIP addresses that parse as IPs.
  [[nodiscard]] std::vector<IpAddr> ips() const;
};

using Object = std::variant<Namespace, Pod, policy::NetworkPolicy, Node>;

[[nodiscard]] Key key_of(const Object& obj);

// One Kubernetes object. nullopt for a kind the agent does not keep; an
// error for a kept kind with a wrong apiVersion or a malformed field.
// A missing apiVersion is accepted.
[[nodiscard]] Result<std::optional<Object>> parse_object(const nlohmann::json& obj);

}  // namespace strand::model
