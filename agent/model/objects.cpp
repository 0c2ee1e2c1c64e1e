#include "agent/model/objects.h"

#include <cerrno>

#include "agent/policy/k8s_json.h"

namespace strand::model {

using nlohmann::json;

namespace {

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string string_or_empty(const json* v) { return v != nullptr && v->is_string() ? v->get<std::string>() : ""; }

std::unexpected<Error> bad(const std::string& op, const std::string& who, const std::string& why) {
  return fail(op, EINVAL, who.empty() ? why : who + ": " + why);
}

Result<Annotations> parse_annotations(const json& obj, const std::string& who) {
  Annotations out;
  const json* meta = member(obj, "metadata");
  const json* ann = meta == nullptr ? nullptr : member(*meta, "annotations");
  if (ann == nullptr) return out;
  if (!ann->is_object()) return bad("parse namespace", who, "metadata.annotations: must be an object of strings");
  for (const auto& [k, v] : ann->items()) {
    if (!v.is_string()) return bad("parse namespace", who, "metadata.annotations." + k + ": must be a string");
    out[k] = v.get<std::string>();
  }
  return out;
}

Result<Object> parse_node(const json& obj) {
  Node node;
  const json* meta = member(obj, "metadata");
  node.name = string_or_empty(meta == nullptr ? nullptr : member(*meta, "name"));
  if (node.name.empty()) return bad("parse node", "", "metadata.name: required");
  const json* status = member(obj, "status");
  if (const json* addrs = status == nullptr ? nullptr : member(*status, "addresses"); addrs != nullptr) {
    if (!addrs->is_array()) return bad("parse node", node.name, "status.addresses: must be an array");
    for (size_t i = 0; i < addrs->size(); ++i) {
      const json& a = (*addrs)[i];
      const json* type = member(a, "type");
      const json* address = member(a, "address");
      if (type == nullptr || address == nullptr || !type->is_string() || !address->is_string()) {
        return bad("parse node", node.name,
                   "status.addresses[" + std::to_string(i) + "]: type and address must be strings");
      }
      node.addresses.push_back({type->get<std::string>(), address->get<std::string>()});
    }
  }
  const json* spec = member(obj, "spec");
  std::vector<json> cidrs;
  if (const json* list = spec == nullptr ? nullptr : member(*spec, "podCIDRs"); list != nullptr) {
    if (!list->is_array()) return bad("parse node", node.name, "spec.podCIDRs: must be an array");
    cidrs.assign(list->begin(), list->end());
  } else if (const json* one = spec == nullptr ? nullptr : member(*spec, "podCIDR"); one != nullptr) {
    cidrs.push_back(*one);
  }
  for (size_t i = 0; i < cidrs.size(); ++i) {
    std::string field = "spec.podCIDRs[" + std::to_string(i) + "]";
    if (!cidrs[i].is_string()) return bad("parse node", node.name, field + ": must be a string");
    const auto& text = cidrs[i].get_ref<const std::string&>();
    auto p = text.find('/') == std::string::npos ? fail("parse", EINVAL) : IpPrefix::parse(text);
    if (!p) return bad("parse node", node.name, field + ": '" + cidrs[i].get<std::string>() + "' is not a CIDR");
    node.pod_cidrs.push_back(p->network());
  }
  return node;
}

}  // namespace

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::kNamespace: return "Namespace";
    case Kind::kPod: return "Pod";
    case Kind::kNetworkPolicy: return "NetworkPolicy";
    case Kind::kNode: return "Node";
  }
  return "?";
}

std::string Key::str() const {
  std::string out(kind_name(kind));
  out += ' ';
  if (!ns.empty()) out += ns + "/";
  return out + name;
}

std::vector<IpAddr> Node::ips() const {
  std::vector<IpAddr> out;
  for (const auto& a : addresses) {
    if (a.type != "InternalIP" && a.type != "ExternalIP") continue;
    if (auto ip = IpAddr::parse(a.address); ip) out.push_back(*ip);
  }
  return out;
}

Key key_of(const Object& obj) {
  struct {
    Key operator()(const Namespace& n) const { return {Kind::kNamespace, "", n.base.name}; }
    Key operator()(const Pod& p) const { return {Kind::kPod, p.base.ns, p.base.name}; }
    Key operator()(const policy::NetworkPolicy& np) const { return {Kind::kNetworkPolicy, np.ns, np.name}; }
    Key operator()(const Node& n) const { return {Kind::kNode, "", n.name}; }
  } visit;
  return std::visit(visit, obj);
}

Result<std::optional<Object>> parse_object(const json& obj) {
  if (!obj.is_object()) return fail("parse object", EINVAL, "must be a JSON object");
  const json* kind_v = member(obj, "kind");
  if (kind_v == nullptr || !kind_v->is_string()) return fail("parse object", EINVAL, "kind: required");
  const std::string kind = kind_v->get<std::string>();
  const std::string api = string_or_empty(member(obj, "apiVersion"));
  auto want_api = [&](const char* want) -> Status {
    if (api.empty() || api == want) return {};
    return fail("parse object", EINVAL, "apiVersion: " + kind + " wants " + want + ", got " + api);
  };
  if (kind == "Namespace") {
    if (auto st = want_api("v1"); !st) return std::unexpected(st.error());
    auto ns = policy::parse_namespace(obj);
    if (!ns) return std::unexpected(ns.error());
    auto ann = parse_annotations(obj, ns->name);
    if (!ann) return std::unexpected(ann.error());
    return Object{Namespace{std::move(*ns), std::move(*ann)}};
  }
  if (kind == "Pod") {
    if (auto st = want_api("v1"); !st) return std::unexpected(st.error());
    auto pod = policy::parse_pod(obj);
    if (!pod) return std::unexpected(pod.error());
    const json* meta = member(obj, "metadata");
    const json* spec = member(obj, "spec");
    Pod out{std::move(*pod), string_or_empty(member(*meta, "uid")),
            string_or_empty(spec == nullptr ? nullptr : member(*spec, "nodeName"))};
    return Object{std::move(out)};
  }
  if (kind == "NetworkPolicy") {
    if (auto st = want_api("networking.k8s.io/v1"); !st) return std::unexpected(st.error());
    auto np = policy::parse_network_policy(obj);
    if (!np) return std::unexpected(np.error());
    return Object{std::move(*np)};
  }
  if (kind == "Node") {
    if (auto st = want_api("v1"); !st) return std::unexpected(st.error());
    auto node = parse_node(obj);
    if (!node) return std::unexpected(node.error());
    return std::optional<Object>(std::move(*node));
  }
  return std::optional<Object>();
}

}  // namespace strand::model
