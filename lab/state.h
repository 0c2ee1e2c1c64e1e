#pragma once
// The lab's state file (/run/strand-lab/<name>/state.json): nodes, pods,
// namespaces, policies and the processes the lab started. Pure JSON round trip.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "lab/manifest.h"

namespace strand::lab {

struct NodeState {
  std::string name;                    // Kubernetes node name: <lab>-node<i>
  int index = 0;                       // 1..N
  std::string netns;                   // netns name under /run/netns
  std::vector<std::string> ips;        // node addresses on the uplink
  std::vector<std::string> pod_cidrs;  // IPv4 first
  int agent_pid = 0;
};

struct PodState {
  std::string ns, name, uid;
  std::string node;                    // node name
  std::string netns;                   // netns name under /run/netns
  std::string container_id;
  std::vector<std::string> ips;        // from the CNI result, IPv4 first
  Labels labels;
  std::vector<ContainerPort> ports;
  int server_pid = 0;
  [[nodiscard]] std::string key() const { return ns + "/" + name; }
};

struct LabState {
  std::string name = "strand";
  std::string routing = "native";      // native | vxlan
  bool ipv6 = false;
  std::string cni = "strand";          // strand | ptp (benchmarks)
  std::vector<NodeState> nodes;
  std::map<std::string, PodState> pods;           // by ns/name
  std::map<std::string, Labels> namespaces;       // by name
  std::map<std::string, std::string> policies;    // ns/name -> manifest file name
  unsigned next_node = 0;                          // round-robin cursor

  [[nodiscard]] const NodeState* node(const std::string& name) const;
};

[[nodiscard]] nlohmann::json to_json(const LabState& s);
[[nodiscard]] Result<LabState> state_from_json(const nlohmann::json& j);

}  // namespace strand::lab
