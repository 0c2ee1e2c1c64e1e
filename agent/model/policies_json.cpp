#include "agent/model/policies_json.h"

#include "agent/policy/selector.h"

namespace strand::model {

using nlohmann::json;

namespace {

json policy_json(const policy::NetworkPolicy& np, const Model::Objects& objects) {
  json types = json::array();
  if (np.ingress_type) types.push_back("Ingress");
  if (np.egress_type) types.push_back("Egress");

  // A policy selects pods of its own namespace only, and never a hostNetwork
  // or finished pod (Pod::owns_ips). Pods of a namespace are contiguous in
  // the key order and sorted by name.
  json selects = json::array();
  for (auto it = objects.lower_bound(Key{Kind::kPod, np.ns, ""});
       it != objects.end() && it->first.kind == Kind::kPod && it->first.ns == np.ns; ++it) {
    const auto& pod = std::get<Pod>(it->second).base;
    if (pod.owns_ips() && policy::matches(np.pod_selector, pod.labels)) selects.push_back({{"namespace", pod.ns}, {"pod", pod.name}});
  }

  // Only the rules of the directions the policy isolates: rules of another
  // direction have no effect.
  json rules = json::array();
  if (np.ingress_type) {
    for (size_t i = 0; i < np.ingress.size(); ++i) rules.push_back({{"direction", "ingress"}, {"index", i}});
  }
  if (np.egress_type) {
    for (size_t i = 0; i < np.egress.size(); ++i) rules.push_back({{"direction", "egress"}, {"index", i}});
  }
  return {{"namespace", np.ns},
          {"name", np.name},
          {"policyTypes", std::move(types)},
          {"enforced", false},
          {"reason", kNotEnforcedReason},
          {"selects", std::move(selects)},
          {"rules", std::move(rules)}};
}

}  // namespace

json policies_json(const Model& model) {
  return model.read([](uint64_t, const Model::Objects& objects) {
    json items = json::array();
    for (auto it = objects.lower_bound(Key{Kind::kNetworkPolicy, "", ""});
         it != objects.end() && it->first.kind == Kind::kNetworkPolicy; ++it) {
      items.push_back(policy_json(std::get<policy::NetworkPolicy>(it->second), objects));
    }
    return json{{"items", std::move(items)}};
  });
}

}  // namespace strand::model
