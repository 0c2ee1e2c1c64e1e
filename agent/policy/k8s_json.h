#pragma once
// Parse NetworkPolicy, Pod and Namespace objects from the shape the API server
// gives (`kubectl get -o json`) or from YAML manifests. Errors name the field:
// "networkpolicy x/deny spec.ingress[0].from[1].ipBlock.cidr: ...".
//
// A NetworkPolicy is an error only when it cannot be named (wrong kind, no
// metadata.name). A spec that does not parse, or has a field this agent
// does not know (spec, rules, peers, ports, selectors, ipBlocks), gives a
// policy with `not_enforced` naming the field and why: it fails closed
// (types.h), it is never skipped.
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "agent/policy/types.h"
#include "common/error.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace strand::policy {

[[nodiscard]] Result<NetworkPolicy> parse_network_policy(const nlohmann::json& obj);
[[nodiscard]] Result<Pod> parse_pod(const nlohmann::json& obj);
[[nodiscard]] Result<Namespace> parse_namespace(const nlohmann::json& obj);

// A cluster from `kubectl get namespaces,pods,networkpolicies,nodes -A -o json`:
// a List (or a bare array) of objects, dispatched on kind. Nodes contribute
// their InternalIP/ExternalIP addresses to node_ips; other kinds are skipped.
[[nodiscard]] Result<Cluster> parse_cluster(const nlohmann::json& list);

// YAML to the JSON value it denotes (plain scalars become numbers, booleans or
// null when they read as such; quoted scalars stay strings).
[[nodiscard]] Result<nlohmann::json> yaml_to_json(std::string_view yaml);
// The same conversion for one already loaded node (a document of a stream).
[[nodiscard]] Result<nlohmann::json> yaml_node_to_json(const YAML::Node& node);
// Every document of a multi-document YAML stream ("---"), each a NetworkPolicy.
[[nodiscard]] Result<std::vector<NetworkPolicy>> parse_network_policies_yaml(std::string_view yaml);

}  // namespace strand::policy
