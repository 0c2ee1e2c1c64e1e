#include "agent/sources/manifest.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>

#include "agent/policy/k8s_json.h"

namespace strand::sources {

using nlohmann::json;

namespace {

std::string at(const std::string& file, const YAML::Mark& m) {
  if (m.is_null()) return file;
  return file + ":" + std::to_string(m.line + 1);
}

std::string describe(const json& obj) {
  std::string kind = obj.is_object() && obj.contains("kind") && obj["kind"].is_string() ? obj["kind"].get<std::string>()
                                                                                         : "(no kind)";
  const json* meta = obj.is_object() && obj.contains("metadata") ? &obj["metadata"] : nullptr;
  std::string ns, name;
  if (meta != nullptr && meta->is_object()) {
    if (auto it = meta->find("namespace"); it != meta->end() && it->is_string()) ns = it->get<std::string>();
    if (auto it = meta->find("name"); it != meta->end() && it->is_string()) name = it->get<std::string>();
  }
  return kind + " " + (ns.empty() ? "" : ns + "/") + (name.empty() ? "(no name)" : name);
}

// One object (not a List) found at `where`.
Status add_object(json obj, const std::string& where, Manifest& out) {
  auto parsed = model::parse_object(obj);
  if (!parsed) return std::unexpected(with_context(parsed.error(), where));
  if (!*parsed) {
    out.ignored.push_back(describe(obj) + " at " + where);
    return {};
  }
  out.objects.push_back(std::move(**parsed));
  return {};
}

bool is_list_kind(const json& doc) {
  if (doc.is_array()) return true;
  if (!doc.is_object()) return false;
  auto it = doc.find("kind");
  if (it == doc.end() || !it->is_string()) return false;
  const auto& k = it->get_ref<const std::string&>();
  return k.size() >= 4 && k.ends_with("List") && doc.contains("items");
}

Status add_document(const YAML::Node& node, const std::string& file, Manifest& out) {
  auto doc = policy::yaml_node_to_json(node);
  if (!doc) return std::unexpected(with_context(doc.error(), at(file, node.Mark())));
  if (doc->is_null()) return {};  // an empty document ("---" at the end)
  if (!is_list_kind(*doc)) return add_object(std::move(*doc), at(file, node.Mark()), out);

  // A List: items carry their own kind, or (PodList, NetworkPolicyList as the
  // API server returns them) take it from the list.
  const YAML::Node items_node = node.IsSequence() ? node : node["items"];
  const json& items = doc->is_array() ? *doc : (*doc)["items"];
  if (!items.is_array()) return fail("parse manifest", EINVAL, at(file, node.Mark()) + ": items: must be an array");
  std::string item_kind, api_version;
  if (doc->is_object()) {
    const auto& k = (*doc)["kind"].get_ref<const std::string&>();
    if (k != "List") item_kind = k.substr(0, k.size() - 4);
    if (auto it = doc->find("apiVersion"); it != doc->end() && it->is_string()) api_version = it->get<std::string>();
  }
  for (size_t i = 0; i < items.size(); ++i) {
    json item = items[i];
    if (item.is_object() && !item.contains("kind") && !item_kind.empty()) {
      item["kind"] = item_kind;
      if (!item.contains("apiVersion") && !api_version.empty()) item["apiVersion"] = api_version;
    }
    std::string where = at(file, items_node[i].Mark()) + ": items[" + std::to_string(i) + "]";
    if (auto st = add_object(std::move(item), where, out); !st) return st;
  }
  return {};
}

}  // namespace

bool is_manifest_name(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  return name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json");
}

Result<Manifest> parse_manifest(std::string_view text, const std::string& file) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return fail("parse manifest", EINVAL, at(file, e.mark) + ":" + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  Manifest out;
  for (const auto& node : docs) {
    if (auto st = add_document(node, file, out); !st) return std::unexpected(st.error());
  }
  return out;
}

}  // namespace strand::sources
