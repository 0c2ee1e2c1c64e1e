#include "lab/manifest.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <regex>

namespace strand::lab {

namespace {

using nlohmann::json;

json scalar_to_json(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted: a string whatever it looks like
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  static const std::regex kInt(R"([-+]?[0-9]+)");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (std::regex_match(s, kInt)) {
    long long v = 0;
    const char* b = s.data() + (s[0] == '+' ? 1 : 0);
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
    return s;
  }
  if (std::regex_match(s, kFloat)) return std::stod(s);
  return s;
}

Result<json> to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return json(nullptr);
    case YAML::NodeType::Scalar:
      return scalar_to_json(n);
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& item : n) {
        auto v = to_json(item);
        if (!v) return v;
        a.push_back(std::move(*v));
      }
      return a;
    }
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) return fail("parse manifest", EINVAL, "a mapping key is not a scalar");
        auto v = to_json(kv.second);
        if (!v) return v;
        o[kv.first.Scalar()] = std::move(*v);
      }
      return o;
    }
  }
  return json(nullptr);
}

Status add_object(const json& doc, const std::string& where, std::vector<Object>& out) {
  if (!doc.is_object()) return fail("parse manifest", EINVAL, where + ": not an object");
  const std::string kind = doc.value("kind", "");
  if (kind == "List" || kind.ends_with("List")) {
    if (!doc.contains("items") || !doc["items"].is_array()) return fail("parse manifest", EINVAL, where + ": List without items");
    int i = 0;
    for (const auto& item : doc["items"]) {
      if (auto st = add_object(item, where + " item " + std::to_string(i++), out); !st) return st;
    }
    return {};
  }
  if (kind != "Namespace" && kind != "Pod" && kind != "NetworkPolicy") {
    return fail("parse manifest", EINVAL, where + ": kind '" + kind + "' is not one of Namespace, Pod, NetworkPolicy");
  }
  const json meta = doc.value("metadata", json::object());
  if (!meta.is_object() || !meta.contains("name") || !meta["name"].is_string()) {
    return fail("parse manifest", EINVAL, where + ": " + kind + " without metadata.name");
  }
  Object o;
  o.kind = kind;
  o.name = meta["name"].get<std::string>();
  if (kind != "Namespace") {
    o.ns = meta.contains("namespace") && meta["namespace"].is_string() ? meta["namespace"].get<std::string>() : "default";
  }
  if (!valid_name(o.name) || (!o.ns.empty() && !valid_name(o.ns))) {
    return fail("parse manifest", EINVAL, where + ": invalid name '" + o.key() + "'");
  }
  o.body = doc;
  if (!o.ns.empty()) o.body["metadata"]["namespace"] = o.ns;
  if (auto l = labels_of(o.body); !l) return std::unexpected(with_context(l.error(), where));
  if (kind == "Pod") {
    if (auto p = pod_ports(o.body); !p) return std::unexpected(with_context(p.error(), where));
  }
  out.push_back(std::move(o));
  return {};
}

}  // namespace

Result<json> yaml_text_to_json(std::string_view text) {
  try {
    return to_json(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    return fail("parse yaml", EINVAL, e.what());
  }
}

Result<std::vector<json>> yaml_stream_to_json(std::string_view text) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return fail("parse yaml", EINVAL, e.what());
  }
  std::vector<json> out;
  for (const auto& d : docs) {
    auto j = to_json(d);
    if (!j) return std::unexpected(j.error());
    out.push_back(std::move(*j));
  }
  return out;
}

Result<std::vector<Object>> parse_manifests(std::string_view text, std::string_view source) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return fail("parse manifest", EINVAL, std::string(source) + ": " + e.what());
  }
  std::vector<Object> out;
  for (size_t i = 0; i < docs.size(); ++i) {
    if (docs[i].IsNull()) continue;
    auto j = to_json(docs[i]);
    if (!j) return std::unexpected(with_context(j.error(), std::string(source)));
    if (j->is_null()) continue;
    std::string where = std::string(source) + " document " + std::to_string(i + 1);
    if (auto st = add_object(*j, where, out); !st) return std::unexpected(st.error());
  }
  return out;
}

Result<Labels> labels_of(const json& obj) {
  Labels l;
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) return l;
  const auto& m = obj["metadata"];
  if (!m.contains("labels") || m["labels"].is_null()) return l;
  if (!m["labels"].is_object()) return fail("parse labels", EINVAL, "metadata.labels is not a map");
  for (const auto& [k, v] : m["labels"].items()) {
    if (!v.is_string()) return fail("parse labels", EINVAL, "label " + k + " is not a string (quote it)");
    l[k] = v.get<std::string>();
  }
  return l;
}

Result<std::vector<ContainerPort>> pod_ports(const json& pod) {
  std::vector<ContainerPort> out;
  if (!pod.contains("spec") || !pod["spec"].is_object()) return out;
  const auto& spec = pod["spec"];
  if (!spec.contains("containers") || !spec["containers"].is_array()) return out;
  for (const auto& c : spec["containers"]) {
    if (!c.is_object() || !c.contains("ports") || !c["ports"].is_array()) continue;
    for (const auto& p : c["ports"]) {
      if (!p.is_object() || !p.contains("containerPort") || !p["containerPort"].is_number_integer()) {
        return fail("parse pod", EINVAL, "a container port without a numeric containerPort");
      }
      ContainerPort cp;
      cp.port = p["containerPort"].get<int>();
      if (cp.port < 1 || cp.port > 65535) return fail("parse pod", EINVAL, "containerPort out of range");
      cp.name = p.value("name", "");
      cp.protocol = p.value("protocol", "TCP");
      if (cp.protocol != "TCP" && cp.protocol != "UDP" && cp.protocol != "SCTP") {
        return fail("parse pod", EINVAL, "protocol '" + cp.protocol + "' is not TCP, UDP or SCTP");
      }
      out.push_back(cp);
    }
  }
  return out;
}

Result<ContainerPort> resolve_port(const std::vector<ContainerPort>& ports, std::string_view port, std::string_view protocol) {
  int n = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (ec == std::errc() && p == port.data() + port.size()) {
    if (n < 1 || n > 65535) return fail("resolve port", EINVAL, std::string(port));
    return ContainerPort{"", n, std::string(protocol)};
  }
  for (const auto& cp : ports) {
    if (cp.name == port && cp.protocol == protocol) return cp;
  }
  return fail("resolve port", ENOENT, "no " + std::string(protocol) + " port named " + std::string(port));
}

bool valid_name(std::string_view name) {
  static const std::regex kName(R"([a-z0-9]([-a-z0-9.]*[a-z0-9])?)");
  return !name.empty() && name.size() <= 253 && std::regex_match(name.begin(), name.end(), kName);
}

}  // namespace strand::lab
