#include "ctl/policies.h"

#include <fmt/format.h>

namespace strand::ctl {
namespace {

constexpr const char* kNone = "-";
// Up to this many pods are named in SELECTS and LOCAL; more are counted.
constexpr size_t kNamedPods = 3;
// Up to this many isolating policies are named in a POLICY cell.
constexpr size_t kNamedPolicies = 2;

std::string str_of(const json& j, const char* key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return it->dump();
  return {};
}

const json& array_of(const json& j, const char* key) {
  static const json kEmpty = json::array();
  if (!j.is_object()) return kEmpty;
  const auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : kEmpty;
}

// "web-1,web-2", "12 pods", "none": pods of the policy's own namespace by
// name, others as NS/POD.
std::string pods_text(const json& list, const std::string& ns) {
  if (list.empty()) return "none";
  if (list.size() > kNamedPods) return fmt::format("{} pods", list.size());
  std::string out;
  for (const json& p : list) {
    const std::string pns = str_of(p, "namespace");
    const std::string pod = str_of(p, "pod");
    if (!out.empty()) out += ",";
    out += pns == ns || pns.empty() ? (pod.empty() ? "?" : pod) : pns + "/" + pod;
  }
  return out;
}

std::string enforced_text(const json& item) {
  const auto it = item.find("enforced");
  if (it == item.end() || !it->is_boolean()) return kNone;
  return it->get<bool>() ? "yes" : "no";
}

}  // namespace

json filter_policies(const json& body, const std::optional<std::string>& ns) {
  if (!ns || !body.is_object()) return body;
  json out = body;
  if (auto it = out.find("items"); it != out.end() && it->is_array()) {
    json kept = json::array();
    for (const json& item : *it)
      if (str_of(item, "namespace") == *ns) kept.push_back(item);
    *it = std::move(kept);
  }
  return out;
}

Row policy_headers() { return {"NAMESPACE", "NAME", "TYPES", "ENFORCED", "SELECTS", "LOCAL", "RULES", "HITS"}; }

Row policy_row(const json& item) {
  const std::string ns = str_of(item, "namespace");
  std::string types;
  for (const json& t : array_of(item, "policyTypes")) {
    if (!t.is_string()) continue;
    if (!types.empty()) types += ",";
    types += t.get<std::string>();
  }
  std::optional<uint64_t> hits;
  for (const json& r : array_of(item, "rules")) {
    const auto h = r.is_object() ? r.find("hits") : r.end();
    if (r.is_object() && h != r.end() && h->is_number_unsigned()) hits = hits.value_or(0) + h->get<uint64_t>();
  }
  const auto has = [&](const char* key) { return item.is_object() && item.contains(key); };
  const auto field = [&](const char* key, std::string v) { return has(key) ? v : std::string(kNone); };
  return {ns.empty() ? kNone : ns,
          str_of(item, "name").empty() ? kNone : str_of(item, "name"),
          types.empty() ? kNone : types,
          enforced_text(item),
          field("selects", pods_text(array_of(item, "selects"), ns)),
          field("endpoints", pods_text(array_of(item, "endpoints"), ns)),
          has("rules") ? std::to_string(array_of(item, "rules").size()) : kNone,
          hits ? std::to_string(*hits) : kNone};
}

std::string render_policies(const json& body) {
  std::vector<Row> rows;
  std::string notes;
  for (const json& item : items_of(body)) {
    rows.push_back(policy_row(item));
    if (item.is_object() && item.value("enforced", true) == false) {
      const std::string reason = str_of(item, "reason");
      notes += fmt::format("not enforced: {}/{}: {}\n", str_of(item, "namespace"), str_of(item, "name"),
                           reason.empty() ? "no reason given" : reason);
    }
  }
  std::string out = render_table(policy_headers(), rows) + notes;
  std::vector<Row> summary;
  if (body.is_object() && body.contains("isolationDenies")) {
    const std::string n = str_of(body, "isolationDenies");
    summary.push_back({"Isolation denies:", n.empty() ? kNone : n});
  }
  if (const std::string mv = str_of(body, "modelVersion"); !mv.empty()) {
    const std::string av = str_of(body, "appliedVersion");
    summary.push_back({"Model version:", mv + " (applied " + (av.empty() ? kNone : av) + ")"});
  }
  if (const std::string g = str_of(body, "generation"); !g.empty()) summary.push_back({"Generation:", g});
  if (!summary.empty()) {
    const std::string t = render_table({"", ""}, summary);
    out += t.substr(t.find('\n') + 1);
  }
  return out;
}

std::string policy_cell(const json& policy, bool audit) {
  if (!policy.is_object()) return kNone;
  const std::string verdict = str_of(policy, "verdict");
  if (verdict == "allowed") {
    const std::string name = str_of(policy, "policy");
    if (name.empty()) {
      const std::string id = str_of(policy, "ruleId");
      return "rule " + (id.empty() ? std::string("?") : id) + " (policy gone)";
    }
    const std::string dir = str_of(policy, "direction");
    const std::string index = str_of(policy, "index");
    if (dir.empty()) return name;
    return name + " " + dir + "[" + (index.empty() ? "?" : index) + "]";
  }
  if (verdict == "isolated") {
    std::string out = audit ? "audit: isolated" : "isolated";
    const json& by = array_of(policy, "isolatedBy");
    size_t named = 0;
    for (const json& p : by) {
      if (named == kNamedPolicies) break;
      if (!p.is_string()) continue;
      out += named == 0 ? " by " : ",";
      out += p.get<std::string>();
      ++named;
    }
    if (by.size() > named) out += fmt::format(" +{} more", by.size() - named);
    return out;
  }
  if (verdict.empty() || verdict == "not-isolated") return kNone;
  return verdict;  // "host", "related", or one this strandctl does not know
}

}  // namespace strand::ctl
