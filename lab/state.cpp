#include "lab/state.h"

namespace strand::lab {

using nlohmann::json;

const NodeState* LabState::node(const std::string& n) const {
  for (const auto& x : nodes) {
    if (x.name == n) return &x;
  }
  return nullptr;
}

namespace {

json ports_json(const std::vector<ContainerPort>& ports) {
  json a = json::array();
  for (const auto& p : ports) a.push_back({{"name", p.name}, {"port", p.port}, {"protocol", p.protocol}});
  return a;
}

}  // namespace

json to_json(const LabState& s) {
  json nodes = json::array();
  for (const auto& n : s.nodes) {
    nodes.push_back({{"name", n.name}, {"index", n.index}, {"netns", n.netns}, {"ips", n.ips},
                     {"podCIDRs", n.pod_cidrs}, {"agentPid", n.agent_pid}});
  }
  json pods = json::array();
  for (const auto& [_, p] : s.pods) {
    pods.push_back({{"namespace", p.ns}, {"name", p.name}, {"uid", p.uid}, {"node", p.node}, {"netns", p.netns},
                    {"containerId", p.container_id}, {"ips", p.ips}, {"labels", p.labels},
                    {"ports", ports_json(p.ports)}, {"serverPid", p.server_pid}});
  }
  json nss = json::object();
  for (const auto& [n, l] : s.namespaces) nss[n] = l;
  return {{"name", s.name}, {"routing", s.routing}, {"ipv6", s.ipv6}, {"cni", s.cni}, {"nodes", nodes},
          {"pods", pods}, {"namespaces", nss}, {"policies", s.policies}, {"nextNode", s.next_node}};
}

Result<LabState> state_from_json(const json& j) {
  try {
    LabState s;
    s.name = j.at("name").get<std::string>();
    s.routing = j.at("routing").get<std::string>();
    s.ipv6 = j.at("ipv6").get<bool>();
    s.cni = j.value("cni", "strand");
    s.next_node = j.value("nextNode", 0u);
    for (const auto& n : j.at("nodes")) {
      NodeState x;
      x.name = n.at("name").get<std::string>();
      x.index = n.at("index").get<int>();
      x.netns = n.at("netns").get<std::string>();
      x.ips = n.at("ips").get<std::vector<std::string>>();
      x.pod_cidrs = n.at("podCIDRs").get<std::vector<std::string>>();
      x.agent_pid = n.value("agentPid", 0);
      s.nodes.push_back(std::move(x));
    }
    for (const auto& p : j.at("pods")) {
      PodState x;
      x.ns = p.at("namespace").get<std::string>();
      x.name = p.at("name").get<std::string>();
      x.uid = p.value("uid", "");
      x.node = p.at("node").get<std::string>();
      x.netns = p.at("netns").get<std::string>();
      x.container_id = p.at("containerId").get<std::string>();
      x.ips = p.at("ips").get<std::vector<std::string>>();
      x.labels = p.value("labels", Labels{});
      if (p.contains("ports")) {
        for (const auto& q : p.at("ports")) {
          x.ports.push_back({q.value("name", ""), q.at("port").get<int>(), q.value("protocol", "TCP")});
        }
      }
      x.server_pid = p.value("serverPid", 0);
      s.pods[x.key()] = std::move(x);
    }
    if (j.contains("namespaces")) {
      for (const auto& [n, l] : j.at("namespaces").items()) s.namespaces[n] = l.get<Labels>();
    }
    s.policies = j.value("policies", std::map<std::string, std::string>{});
    return s;
  } catch (const json::exception& e) {
    return fail("parse lab state", EINVAL, e.what());
  }
}

}  // namespace strand::lab
