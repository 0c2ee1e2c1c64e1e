#include "agent/sources/k8s/wire.h"

#include <cerrno>

#include "agent/sources/k8s/http_wire.h"

namespace strand::sources::k8s {

using nlohmann::json;

namespace {
std::unexpected<Error> bad(const std::string& op, const std::string& why) { return fail(op, EBADMSG, why); }

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}
std::string string_at(const json& obj, const char* a, const char* b) {
  const json* m = member(obj, a);
  const json* v = m == nullptr ? nullptr : member(*m, b);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}
}  // namespace

const std::vector<Resource>& resources() {
  static const std::vector<Resource> kAll = {
      {model::Kind::kNamespace, "/api/v1/namespaces", "Namespace", "v1", "namespaces"},
      {model::Kind::kPod, "/api/v1/pods", "Pod", "v1", "pods"},
      {model::Kind::kNetworkPolicy, "/apis/networking.k8s.io/v1/networkpolicies", "NetworkPolicy",
       "networking.k8s.io/v1", "networkpolicies"},
      {model::Kind::kNode, "/api/v1/nodes", "Node", "v1", "nodes"},
  };
  return kAll;
}

Result<ListPage> parse_list(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return bad("parse list", "body is not a JSON object");
  ListPage page;
  if (const json* k = member(doc, "kind"); k != nullptr && k->is_string()) page.kind = k->get<std::string>();
  if (page.kind == "Status") {
    auto st = parse_status(doc);
    return bad("parse list", "got a Status: " + (st ? st->message : std::string()));
  }
  page.resource_version = string_at(doc, "metadata", "resourceVersion");
  if (page.resource_version.empty()) return bad("parse list", "metadata.resourceVersion missing");
  page.cont = string_at(doc, "metadata", "continue");
  const json* items = member(doc, "items");
  if (items == nullptr) {
    // An empty list may come as "items": null, which member() treats as missing.
    if (!doc.contains("items")) return bad("parse list", "items missing");
    return page;
  }
  if (!items->is_array()) return bad("parse list", "items is not an array");
  page.items.reserve(items->size());
  for (auto& it : *items) page.items.push_back(std::move(it));
  return page;
}

std::string_view event_type_name(EventType t) {
  switch (t) {
    case EventType::kAdded: return "ADDED";
    case EventType::kModified: return "MODIFIED";
    case EventType::kDeleted: return "DELETED";
    case EventType::kBookmark: return "BOOKMARK";
    case EventType::kError: return "ERROR";
  }
  return "?";
}

Result<WatchEvent> parse_watch_event(std::string_view line) {
  json doc = json::parse(line, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return bad("parse watch event", "not a JSON object");
  const json* type = member(doc, "type");
  if (type == nullptr || !type->is_string()) return bad("parse watch event", "type missing");
  WatchEvent ev;
  const auto& t = type->get_ref<const std::string&>();
  if (t == "ADDED") ev.type = EventType::kAdded;
  else if (t == "MODIFIED") ev.type = EventType::kModified;
  else if (t == "DELETED") ev.type = EventType::kDeleted;
  else if (t == "BOOKMARK") ev.type = EventType::kBookmark;
  else if (t == "ERROR") ev.type = EventType::kError;
  else return bad("parse watch event", "unknown type '" + t + "'");
  json* obj = nullptr;
  if (auto it = doc.find("object"); it != doc.end() && it->is_object()) obj = &*it;
  if (obj == nullptr) return bad("parse watch event", std::string(t) + ": object missing");
  ev.object = std::move(*obj);
  return ev;
}

std::optional<ApiStatus> parse_status(const json& obj) {
  const json* kind = member(obj, "kind");
  if (kind == nullptr || !kind->is_string() || kind->get<std::string>() != "Status") return std::nullopt;
  ApiStatus st;
  if (const json* c = member(obj, "code"); c != nullptr && c->is_number_integer()) st.code = c->get<int>();
  if (const json* r = member(obj, "reason"); r != nullptr && r->is_string()) st.reason = r->get<std::string>();
  if (const json* m = member(obj, "message"); m != nullptr && m->is_string()) st.message = m->get<std::string>();
  return st;
}

std::optional<ApiStatus> parse_status_body(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return std::nullopt;
  return parse_status(doc);
}

std::string resource_version_of(const json& obj) { return string_at(obj, "metadata", "resourceVersion"); }

Result<model::Key> key_of(const Resource& r, const json& obj) {
  model::Key k{r.kind, string_at(obj, "metadata", "namespace"), string_at(obj, "metadata", "name")};
  if (k.name.empty()) return bad("object key", std::string(r.kind_name) + ": metadata.name missing");
  if (r.kind == model::Kind::kNamespace || r.kind == model::Kind::kNode) k.ns.clear();
  return k;
}

Result<std::optional<model::Object>> parse_item(const Resource& r, json obj) {
  if (!obj.is_object()) return bad("parse object", "not a JSON object");
  if (member(obj, "kind") == nullptr) obj["kind"] = r.kind_name;
  if (member(obj, "apiVersion") == nullptr) obj["apiVersion"] = r.api_version;
  return model::parse_object(obj);
}

std::string list_target(const Resource& r, int limit, const std::string& cont) {
  std::string t(r.path);
  t += "?limit=" + std::to_string(limit);
  if (!cont.empty()) t += "&continue=" + url_encode(cont);
  return t;
}

std::string watch_target(const Resource& r, const std::string& resource_version, int timeout_seconds) {
  std::string t(r.path);
  t += "?watch=1&allowWatchBookmarks=true&resourceVersion=" + url_encode(resource_version);
  t += "&timeoutSeconds=" + std::to_string(timeout_seconds);
  return t;
}

}  // namespace strand::sources::k8s
