#pragma once
// JSON the lab writes: each node's CNI conflist, the per-plugin network config
// a runtime derives from it (as libcni does), and the Kubernetes objects
// handed to the agents through the manifests directory. Pure.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lab/state.h"

namespace strand::lab {

struct NodeDirs {
  std::string socket, state, ipam, log;  // agent socket, endpoint records, IPAM dataDir, CNI log file
};

// The node's conflist: `strand` with strand-ipam, or (cni == "ptp", for the
// pod-start benchmark's reference) ptp with host-local, over the node's PodCIDRs.
[[nodiscard]] nlohmann::json node_conflist(const LabState& s, const NodeState& n, const NodeDirs& d, unsigned mtu);

// Plugin i of a conflist as libcni hands it over: the plugin's object plus the
// list's name and cniVersion, and prevResult when there is one.
[[nodiscard]] nlohmann::json plugin_conf(const nlohmann::json& conflist, size_t i, const nlohmann::json& prev_result);

// Kubernetes objects (what the agent's local-directory source reads).
[[nodiscard]] nlohmann::json node_object(const NodeState& n);
// Namespace with the kubernetes.io/metadata.name label the API server adds.
[[nodiscard]] nlohmann::json namespace_object(const std::string& name, const Labels& labels);
// The applied Pod with uid, nodeName, labels from `p`, and status (phase
// Running, podIP(s) from the CNI result, hostIP); while `p` has no IPs yet
// (before the CNI ADD) phase Pending and hostIP only.
[[nodiscard]] nlohmann::json pod_object(const nlohmann::json& applied, const PodState& p, const NodeState& n);

// IPs of a CNI result ("ips":[{"address":"10.244.1.5/24"}]) without prefix, IPv4 first.
[[nodiscard]] Result<std::vector<std::string>> result_ips(const nlohmann::json& result);

// The file name (in the manifests directory) of an object.
[[nodiscard]] std::string manifest_file(const std::string& kind, const std::string& ns, const std::string& name);

}  // namespace strand::lab
