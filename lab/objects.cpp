#include "lab/objects.h"

#include <algorithm>

namespace strand::lab {

using nlohmann::json;

json node_conflist(const LabState& s, const NodeState& n, const NodeDirs& d, unsigned mtu) {
  json ranges = json::array();
  for (const auto& c : n.pod_cidrs) ranges.push_back(json::array({{{"subnet", c}}}));
  json plugin;
  if (s.cni == "ptp") {
    // host-local gives ptp's pods default routes only when asked to.
    json routes = json::array({{{"dst", "0.0.0.0/0"}}});
    if (n.pod_cidrs.size() > 1) routes.push_back({{"dst", "::/0"}});
    plugin = {{"type", "ptp"}, {"ipMasq", false}, {"mtu", mtu},
              {"ipam", {{"type", "host-local"}, {"ranges", ranges}, {"routes", routes}, {"dataDir", d.ipam}}}};
  } else {
    plugin = {{"type", "strand"},
              {"mtu", mtu},
              {"agentRequired", true},
              {"agentSocket", d.socket},
              {"agentTimeoutMs", 5000},
              {"stateDir", d.state},
              {"logFile", d.log},
              {"logLevel", "info"},
              {"ipam", {{"type", "strand-ipam"}, {"ranges", ranges}, {"dataDir", d.ipam}}}};
  }
  // The reference plugins of Debian 12 speak CNI up to 1.0.0.
  return {{"cniVersion", s.cni == "ptp" ? "1.0.0" : "1.1.0"}, {"name", "strand-lab"}, {"plugins", json::array({plugin})}};
}

json plugin_conf(const json& conflist, size_t i, const json& prev_result) {
  json c = conflist.at("plugins").at(i);
  c["name"] = conflist.at("name");
  c["cniVersion"] = conflist.at("cniVersion");
  if (!prev_result.is_null()) c["prevResult"] = prev_result;
  return c;
}

json node_object(const NodeState& n) {
  json addrs = json::array();
  for (const auto& ip : n.ips) addrs.push_back({{"type", "InternalIP"}, {"address", ip}});
  addrs.push_back({{"type", "Hostname"}, {"address", n.name}});
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", n.name}, {"labels", {{"kubernetes.io/hostname", n.name}}}}},
          {"spec", {{"podCIDR", n.pod_cidrs.empty() ? "" : n.pod_cidrs[0]}, {"podCIDRs", n.pod_cidrs}}},
          {"status", {{"addresses", addrs}}}};
}

json namespace_object(const std::string& name, const Labels& labels) {
  Labels l = labels;
  l["kubernetes.io/metadata.name"] = name;
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}, {"labels", l}}}};
}

json pod_object(const json& applied, const PodState& p, const NodeState& n) {
  json o = applied;
  o["apiVersion"] = o.value("apiVersion", "v1");
  o["metadata"]["namespace"] = p.ns;
  o["metadata"]["name"] = p.name;
  o["metadata"]["uid"] = p.uid;
  o["metadata"]["labels"] = p.labels;
  if (!o.contains("spec") || !o["spec"].is_object()) o["spec"] = json::object();
  o["spec"]["nodeName"] = p.node;
  if (p.ips.empty()) {  // before the CNI ADD: scheduled, no sandbox network yet
    o["status"] = {{"phase", "Pending"}, {"hostIP", n.ips.empty() ? "" : n.ips[0]}};
    return o;
  }
  json ips = json::array();
  for (const auto& ip : p.ips) ips.push_back({{"ip", ip}});
  o["status"] = {{"phase", "Running"},
                 {"podIP", p.ips.empty() ? "" : p.ips[0]},
                 {"podIPs", ips},
                 {"hostIP", n.ips.empty() ? "" : n.ips[0]}};
  return o;
}

Result<std::vector<std::string>> result_ips(const json& result) {
  if (!result.is_object() || !result.contains("ips") || !result["ips"].is_array()) {
    return fail("parse CNI result", EINVAL, "no ips in the result");
  }
  std::vector<std::string> v4, v6;
  for (const auto& ip : result["ips"]) {
    if (!ip.is_object() || !ip.contains("address") || !ip["address"].is_string()) {
      return fail("parse CNI result", EINVAL, "an ips entry without address");
    }
    std::string a = ip["address"].get<std::string>();
    a = a.substr(0, a.find('/'));
    (a.find(':') == std::string::npos ? v4 : v6).push_back(a);
  }
  v4.insert(v4.end(), v6.begin(), v6.end());
  if (v4.empty()) return fail("parse CNI result", EINVAL, "the result has no address");
  return v4;
}

std::string manifest_file(const std::string& kind, const std::string& ns, const std::string& name) {
  std::string k = kind;
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
  return ns.empty() ? k + "_" + name + ".json" : k + "_" + ns + "_" + name + ".json";
}

}  // namespace strand::lab
