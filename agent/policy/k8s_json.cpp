#include "agent/policy/k8s_json.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <initializer_list>
#include <string_view>

namespace strand::policy {

using nlohmann::json;

namespace {

// Every parse failure: op names the object, context the field path and why.
std::unexpected<Error> bad(const std::string& path, const std::string& why) {
  return fail("parse", EINVAL, path + ": " + why);
}

// A member that is absent or JSON null reads as "not set".
const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

// A field of `obj` that is none of `known` (and not null: the API server
// drops those) is one this agent does not know the meaning of: a newer
// NetworkPolicy feature it cannot enforce. Names the first such field.
Status known_fields(const json& obj, std::initializer_list<std::string_view> known, const std::string& path) {
  if (!obj.is_object()) return {};
  for (const auto& [k, v] : obj.items()) {
    if (v.is_null() || std::ranges::find(known, std::string_view(k)) != known.end()) continue;
    return bad(path.empty() ? k : path + "." + k, "unknown field (not enforceable by this agent)");
  }
  return {};
}

Result<std::string> string_at(const json& v, const std::string& path) {
  if (!v.is_string()) return bad(path, "must be a string");
  return v.get<std::string>();
}

Result<Labels> parse_labels(const json* v, const std::string& path) {
  Labels out;
  if (v == nullptr) return out;
  if (!v->is_object()) return bad(path, "must be an object of strings");
  for (const auto& [k, val] : v->items()) {
    if (!val.is_string()) return bad(path + "." + k, "must be a string");
    out[k] = val.get<std::string>();
  }
  return out;
}

Result<Protocol> parse_protocol(const json* v, const std::string& path) {
  if (v == nullptr) return Protocol::kTcp;
  auto s = string_at(*v, path);
  if (!s) return std::unexpected(s.error());
  if (*s == "TCP") return Protocol::kTcp;
  if (*s == "UDP") return Protocol::kUdp;
  if (*s == "SCTP") return Protocol::kSctp;
  return bad(path, "unknown protocol '" + *s + "' (want TCP, UDP or SCTP)");
}

Result<uint16_t> parse_port_number(const json& v, const std::string& path) {
  if (!v.is_number_integer()) return bad(path, "must be an integer");
  auto n = v.get<int64_t>();
  if (n < 1 || n > 65535) return bad(path, "port " + std::to_string(n) + " out of range 1-65535");
  return static_cast<uint16_t>(n);
}

// IANA_SVC_NAME: 1-15 of [a-z0-9-], at least one letter, no leading,
// trailing or doubled '-'.
bool valid_port_name(const std::string& s) {
  if (s.empty() || s.size() > 15 || s.front() == '-' || s.back() == '-') return false;
  if (s.find("--") != std::string::npos) return false;
  bool letter = false;
  for (char c : s) {
    if (c >= 'a' && c <= 'z') {
      letter = true;
    } else if (!(c >= '0' && c <= '9') && c != '-') {
      return false;
    }
  }
  return letter;
}

Result<LabelSelector> parse_selector(const json& v, const std::string& path) {
  if (!v.is_object()) return bad(path, "must be an object");
  if (auto st = known_fields(v, {"matchLabels", "matchExpressions"}, path); !st) return std::unexpected(st.error());
  LabelSelector sel;
  auto labels = parse_labels(member(v, "matchLabels"), path + ".matchLabels");
  if (!labels) return std::unexpected(labels.error());
  sel.match_labels = std::move(*labels);
  const json* exprs = member(v, "matchExpressions");
  if (exprs == nullptr) return sel;
  if (!exprs->is_array()) return bad(path + ".matchExpressions", "must be an array");
  for (size_t i = 0; i < exprs->size(); ++i) {
    const json& e = (*exprs)[i];
    std::string p = path + ".matchExpressions[" + std::to_string(i) + "]";
    if (!e.is_object()) return bad(p, "must be an object");
    if (auto st = known_fields(e, {"key", "operator", "values"}, p); !st) return std::unexpected(st.error());
    SelectorRequirement req;
    const json* key = member(e, "key");
    if (key == nullptr) return bad(p + ".key", "required");
    auto k = string_at(*key, p + ".key");
    if (!k) return std::unexpected(k.error());
    if (k->empty()) return bad(p + ".key", "must not be empty");
    req.key = *k;
    const json* op = member(e, "operator");
    if (op == nullptr) return bad(p + ".operator", "required");
    auto o = string_at(*op, p + ".operator");
    if (!o) return std::unexpected(o.error());
    if (*o == "In") {
      req.op = SelectorOp::kIn;
    } else if (*o == "NotIn") {
      req.op = SelectorOp::kNotIn;
    } else if (*o == "Exists") {
      req.op = SelectorOp::kExists;
    } else if (*o == "DoesNotExist") {
      req.op = SelectorOp::kDoesNotExist;
    } else {
      return bad(p + ".operator", "unknown operator '" + *o + "' (want In, NotIn, Exists or DoesNotExist)");
    }
    if (const json* vals = member(e, "values"); vals != nullptr) {
      if (!vals->is_array()) return bad(p + ".values", "must be an array");
      for (size_t j = 0; j < vals->size(); ++j) {
        auto s = string_at((*vals)[j], p + ".values[" + std::to_string(j) + "]");
        if (!s) return std::unexpected(s.error());
        req.values.push_back(*s);
      }
    }
    bool set_op = req.op == SelectorOp::kIn || req.op == SelectorOp::kNotIn;
    if (set_op && req.values.empty()) return bad(p + ".values", "must be non-empty for " + *o);
    if (!set_op && !req.values.empty()) return bad(p + ".values", "must be empty for " + *o);
    sel.match_expressions.push_back(std::move(req));
  }
  return sel;
}

Result<IpPrefix> parse_cidr(const json& v, const std::string& path) {
  auto s = string_at(v, path);
  if (!s) return std::unexpected(s.error());
  if (s->find('/') == std::string::npos) return bad(path, "'" + *s + "' is not a CIDR (no prefix length)");
  auto p = IpPrefix::parse(*s);
  if (!p) return bad(path, "'" + *s + "' is not a valid IPv4 or IPv6 CIDR");
  return p->network();
}

Result<IpBlock> parse_ip_block(const json& v, const std::string& path) {
  if (!v.is_object()) return bad(path, "must be an object");
  if (auto st = known_fields(v, {"cidr", "except"}, path); !st) return std::unexpected(st.error());
  const json* cidr = member(v, "cidr");
  if (cidr == nullptr) return bad(path + ".cidr", "required");
  IpBlock block;
  auto c = parse_cidr(*cidr, path + ".cidr");
  if (!c) return std::unexpected(c.error());
  block.cidr = *c;
  const json* except = member(v, "except");
  if (except == nullptr) return block;
  if (!except->is_array()) return bad(path + ".except", "must be an array");
  for (size_t i = 0; i < except->size(); ++i) {
    std::string p = path + ".except[" + std::to_string(i) + "]";
    auto e = parse_cidr((*except)[i], p);
    if (!e) return std::unexpected(e.error());
    if (e->family() != block.cidr.family() || e->len <= block.cidr.len || !block.cidr.contains(*e)) {
      return bad(p, e->str() + " is not a strict subset of cidr " + block.cidr.str());
    }
    block.except.push_back(*e);
  }
  return block;
}

Result<Peer> parse_peer(const json& v, const std::string& path) {
  if (!v.is_object()) return bad(path, "must be an object");
  if (auto st = known_fields(v, {"podSelector", "namespaceSelector", "ipBlock"}, path); !st) {
    return std::unexpected(st.error());
  }
  Peer peer;
  if (const json* s = member(v, "podSelector"); s != nullptr) {
    auto sel = parse_selector(*s, path + ".podSelector");
    if (!sel) return std::unexpected(sel.error());
    peer.pod_selector = std::move(*sel);
  }
  if (const json* s = member(v, "namespaceSelector"); s != nullptr) {
    auto sel = parse_selector(*s, path + ".namespaceSelector");
    if (!sel) return std::unexpected(sel.error());
    peer.namespace_selector = std::move(*sel);
  }
  if (const json* b = member(v, "ipBlock"); b != nullptr) {
    auto block = parse_ip_block(*b, path + ".ipBlock");
    if (!block) return std::unexpected(block.error());
    peer.ip_block = std::move(*block);
  }
  bool selector = peer.pod_selector || peer.namespace_selector;
  if (!selector && !peer.ip_block) return bad(path, "must set podSelector, namespaceSelector or ipBlock");
  if (selector && peer.ip_block) return bad(path, "ipBlock may not be combined with a selector");
  return peer;
}

Result<PolicyPort> parse_policy_port(const json& v, const std::string& path) {
  if (!v.is_object()) return bad(path, "must be an object");
  if (auto st = known_fields(v, {"protocol", "port", "endPort"}, path); !st) return std::unexpected(st.error());
  PolicyPort out;
  auto proto = parse_protocol(member(v, "protocol"), path + ".protocol");
  if (!proto) return std::unexpected(proto.error());
  out.protocol = *proto;
  if (const json* port = member(v, "port"); port != nullptr) {
    if (port->is_string()) {
      auto name = port->get<std::string>();
      if (!valid_port_name(name)) return bad(path + ".port", "'" + name + "' is not a valid port name");
      out.port = name;
    } else {
      auto n = parse_port_number(*port, path + ".port");
      if (!n) return bad(path + ".port", "must be a port number 1-65535 or a port name");
      out.port = *n;
    }
  }
  if (const json* end = member(v, "endPort"); end != nullptr) {
    auto n = parse_port_number(*end, path + ".endPort");
    if (!n) return std::unexpected(n.error());
    const auto* start = std::get_if<uint16_t>(&out.port);
    if (start == nullptr) return bad(path + ".endPort", "requires a numeric port");
    if (*n < *start) return bad(path + ".endPort", "must be >= port " + std::to_string(*start));
    out.end_port = *n;
  }
  return out;
}

Result<std::vector<Rule>> parse_rules(const json* v, const char* peers_key, const std::string& path) {
  std::vector<Rule> rules;
  if (v == nullptr) return rules;
  if (!v->is_array()) return bad(path, "must be an array");
  for (size_t i = 0; i < v->size(); ++i) {
    const json& r = (*v)[i];
    std::string p = path + "[" + std::to_string(i) + "]";
    if (!r.is_object()) return bad(p, "must be an object");
    if (auto st = known_fields(r, {peers_key, "ports"}, p); !st) return std::unexpected(st.error());
    Rule rule;
    if (const json* peers = member(r, peers_key); peers != nullptr) {
      if (!peers->is_array()) return bad(p + "." + peers_key, "must be an array");
      for (size_t j = 0; j < peers->size(); ++j) {
        auto peer = parse_peer((*peers)[j], p + "." + peers_key + "[" + std::to_string(j) + "]");
        if (!peer) return std::unexpected(peer.error());
        rule.peers.push_back(std::move(*peer));
      }
    }
    if (const json* ports = member(r, "ports"); ports != nullptr) {
      if (!ports->is_array()) return bad(p + ".ports", "must be an array");
      for (size_t j = 0; j < ports->size(); ++j) {
        auto port = parse_policy_port((*ports)[j], p + ".ports[" + std::to_string(j) + "]");
        if (!port) return std::unexpected(port.error());
        rule.ports.push_back(std::move(*port));
      }
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

struct Meta {
  std::string ns;
  std::string name;
  Labels labels;
};

Result<Meta> parse_meta(const json& obj, bool namespaced) {
  if (!obj.is_object()) return bad("(object)", "must be a JSON object");
  const json* meta = member(obj, "metadata");
  if (meta == nullptr) return bad("metadata", "required");
  Meta out;
  const json* name = member(*meta, "name");
  if (name == nullptr) return bad("metadata.name", "required");
  auto n = string_at(*name, "metadata.name");
  if (!n) return std::unexpected(n.error());
  if (n->empty()) return bad("metadata.name", "must not be empty");
  out.name = *n;
  if (namespaced) {
    out.ns = "default";
    if (const json* ns = member(*meta, "namespace"); ns != nullptr) {
      auto s = string_at(*ns, "metadata.namespace");
      if (!s) return std::unexpected(s.error());
      if (!s->empty()) out.ns = *s;
    }
  }
  auto labels = parse_labels(member(*meta, "labels"), "metadata.labels");
  if (!labels) return std::unexpected(labels.error());
  out.labels = std::move(*labels);
  return out;
}

Status check_kind(const json& obj, const char* want) {
  if (const json* kind = member(obj, "kind"); kind != nullptr) {
    if (!kind->is_string() || kind->get<std::string>() != want) {
      return bad("kind", "want " + std::string(want) + ", got " + kind->dump());
    }
  }
  return {};
}

// policyTypes, or when absent the implied ones: every policy isolates
// ingress, egress only when it has egress rules.
Status parse_policy_types(const json& spec, bool egress_rules, NetworkPolicy& np) {
  const json* types = member(spec, "policyTypes");
  if (types == nullptr || (types->is_array() && types->empty())) {
    np.ingress_type = true;
    np.egress_type = egress_rules;
    return {};
  }
  if (!types->is_array()) return bad("spec.policyTypes", "must be an array");
  bool ingress = false, egress = false;
  for (size_t i = 0; i < types->size(); ++i) {
    std::string p = "spec.policyTypes[" + std::to_string(i) + "]";
    auto t = string_at((*types)[i], p);
    if (!t) return std::unexpected(t.error());
    if (*t == "Ingress") {
      ingress = true;
    } else if (*t == "Egress") {
      egress = true;
    } else {
      return bad(p, "unknown policy type '" + *t + "' (want Ingress or Egress)");
    }
  }
  np.ingress_type = ingress;
  np.egress_type = egress;
  return {};
}

Status parse_spec(const json* spec, NetworkPolicy& np) {
  if (spec == nullptr) return bad("spec", "required");
  if (!spec->is_object()) return bad("spec", "must be an object");
  if (auto st = known_fields(*spec, {"podSelector", "ingress", "egress", "policyTypes"}, "spec"); !st) return st;
  if (const json* sel = member(*spec, "podSelector"); sel != nullptr) {
    auto s = parse_selector(*sel, "spec.podSelector");
    if (!s) return std::unexpected(s.error());
    np.pod_selector = std::move(*s);
  }
  auto ingress = parse_rules(member(*spec, "ingress"), "from", "spec.ingress");
  if (!ingress) return std::unexpected(ingress.error());
  np.ingress = std::move(*ingress);
  auto egress = parse_rules(member(*spec, "egress"), "to", "spec.egress");
  if (!egress) return std::unexpected(egress.error());
  np.egress = std::move(*egress);
  return parse_policy_types(*spec, !np.egress.empty(), np);
}

// A policy whose spec does not parse (`why`: the field and the problem) is
// kept, not enforced and failing closed: it selects what its podSelector
// selects (every pod of its namespace when that cannot be read either) in
// the directions of its policyTypes (both when they cannot be determined).
NetworkPolicy not_enforced_policy(const json* spec, std::string ns, std::string name, std::string why) {
  NetworkPolicy np;
  np.ns = std::move(ns);
  np.name = std::move(name);
  np.not_enforced = std::move(why);
  np.ingress_type = true;
  np.egress_type = true;
  if (spec == nullptr || !spec->is_object()) return np;
  if (const json* sel = member(*spec, "podSelector"); sel != nullptr) {
    if (auto s = parse_selector(*sel, "spec.podSelector")) np.pod_selector = std::move(*s);
  }
  // Egress is implied by egress rules, whether or not they parse; an egress
  // that is not even a list leaves it undetermined (both).
  const json* egress = member(*spec, "egress");
  bool egress_rules = egress != nullptr && !(egress->is_array() && egress->empty());
  NetworkPolicy types;
  if (parse_policy_types(*spec, egress_rules, types)) {
    np.ingress_type = types.ingress_type;
    np.egress_type = types.egress_type;
  }
  return np;
}

json scalar_to_json(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() != "?") return s;  // quoted or explicitly tagged: a string
  if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  int64_t i = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return i;
  return s;
}

Result<json> node_to_json(const YAML::Node& n, const std::string& path) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return json(nullptr);
    case YAML::NodeType::Scalar: return scalar_to_json(n);
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      size_t i = 0;
      for (const auto& item : n) {
        auto v = node_to_json(item, path + "[" + std::to_string(i++) + "]");
        if (!v) return v;
        arr.push_back(std::move(*v));
      }
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) return bad(path, "map keys must be scalars");
        std::string key = kv.first.Scalar();
        auto v = node_to_json(kv.second, path.empty() ? key : path + "." + key);
        if (!v) return v;
        obj[key] = std::move(*v);
      }
      return obj;
    }
  }
  return json(nullptr);
}

}  // namespace

Result<NetworkPolicy> parse_network_policy(const json& obj) {
  auto who = [](Error e, const std::string& id) {
    e.op = "parse networkpolicy";
    return std::unexpected(with_context(std::move(e), id));
  };
  if (auto k = check_kind(obj, "NetworkPolicy"); !k) return who(k.error(), "?");
  // Without a name the policy cannot be reported: an error, skipped by the sources.
  auto meta = parse_meta(obj, true);
  if (!meta) return who(meta.error(), "?");
  NetworkPolicy np;
  np.ns = meta->ns;
  np.name = meta->name;
  const json* spec = member(obj, "spec");
  if (auto st = parse_spec(spec, np); !st) {
    return not_enforced_policy(spec, std::move(np.ns), std::move(np.name), st.error().context);
  }
  return np;
}

Result<Pod> parse_pod(const json& obj) {
  auto who = [&](Error e) {
    e.op = "parse pod";
    return std::unexpected(std::move(e));
  };
  if (auto k = check_kind(obj, "Pod"); !k) return who(k.error());
  auto meta = parse_meta(obj, true);
  if (!meta) return who(meta.error());
  Pod pod{meta->ns, meta->name, std::move(meta->labels), {}, {}, false, {}};
  auto ctx = [&](std::unexpected<Error> u) { return who(with_context(u.error(), pod.ns + "/" + pod.name)); };
  if (const json* status = member(obj, "status"); status != nullptr) {
    if (const json* phase = member(*status, "phase"); phase != nullptr) {
      auto s = string_at(*phase, "status.phase");
      if (!s) return ctx(std::unexpected(s.error()));
      pod.phase = *s;
    }
    if (const json* ips = member(*status, "podIPs"); ips != nullptr && ips->is_array()) {
      for (size_t i = 0; i < ips->size(); ++i) {
        std::string p = "status.podIPs[" + std::to_string(i) + "].ip";
        const json* ip = member((*ips)[i], "ip");
        if (ip == nullptr || !ip->is_string()) return ctx(bad(p, "must be a string"));
        auto a = IpAddr::parse(ip->get<std::string>());
        if (!a) return ctx(bad(p, "'" + ip->get<std::string>() + "' is not an IP address"));
        pod.ips.push_back(*a);
      }
    } else if (const json* ip = member(*status, "podIP"); ip != nullptr) {
      auto a = ip->is_string() ? IpAddr::parse(ip->get<std::string>()) : fail("parse", EINVAL);
      if (!a) return ctx(bad("status.podIP", "not an IP address"));
      pod.ips.push_back(*a);
    }
  }
  const json* spec = member(obj, "spec");
  if (const json* hn = spec == nullptr ? nullptr : member(*spec, "hostNetwork"); hn != nullptr) {
    if (!hn->is_boolean()) return ctx(bad("spec.hostNetwork", "must be a boolean"));
    pod.host_network = hn->get<bool>();
  }
  const json* containers = spec == nullptr ? nullptr : member(*spec, "containers");
  if (containers == nullptr) return pod;
  if (!containers->is_array()) return ctx(bad("spec.containers", "must be an array"));
  for (size_t i = 0; i < containers->size(); ++i) {
    const json* ports = member((*containers)[i], "ports");
    if (ports == nullptr) continue;
    std::string cp = "spec.containers[" + std::to_string(i) + "].ports";
    if (!ports->is_array()) return ctx(bad(cp, "must be an array"));
    for (size_t j = 0; j < ports->size(); ++j) {
      std::string p = cp + "[" + std::to_string(j) + "]";
      const json& port = (*ports)[j];
      ContainerPort c;
      const json* num = member(port, "containerPort");
      if (num == nullptr) return ctx(bad(p + ".containerPort", "required"));
      auto n = parse_port_number(*num, p + ".containerPort");
      if (!n) return ctx(std::unexpected(n.error()));
      c.port = *n;
      auto proto = parse_protocol(member(port, "protocol"), p + ".protocol");
      if (!proto) return ctx(std::unexpected(proto.error()));
      c.protocol = *proto;
      if (const json* name = member(port, "name"); name != nullptr) {
        auto s = string_at(*name, p + ".name");
        if (!s) return ctx(std::unexpected(s.error()));
        c.name = *s;
      }
      pod.ports.push_back(std::move(c));
    }
  }
  return pod;
}

Result<Namespace> parse_namespace(const json& obj) {
  auto who = [&](Error e) {
    e.op = "parse namespace";
    return std::unexpected(std::move(e));
  };
  if (auto k = check_kind(obj, "Namespace"); !k) return who(k.error());
  auto meta = parse_meta(obj, false);
  if (!meta) return who(meta.error());
  return Namespace{meta->name, std::move(meta->labels)};
}

Result<Cluster> parse_cluster(const json& list) {
  const json* items = list.is_array() ? &list : member(list, "items");
  if (items == nullptr || !items->is_array()) return fail("parse cluster", EINVAL, "items: must be an array");
  Cluster c;
  for (size_t i = 0; i < items->size(); ++i) {
    const json& obj = (*items)[i];
    std::string where = "items[" + std::to_string(i) + "]";
    const json* kind = member(obj, "kind");
    if (kind == nullptr || !kind->is_string()) return fail("parse cluster", EINVAL, where + ".kind: required");
    const auto& k = kind->get_ref<const std::string&>();
    if (k == "Namespace") {
      auto ns = parse_namespace(obj);
      if (!ns) return std::unexpected(with_context(ns.error(), where));
      c.namespaces.push_back(std::move(*ns));
    } else if (k == "Pod") {
      auto pod = parse_pod(obj);
      if (!pod) return std::unexpected(with_context(pod.error(), where));
      c.pods.push_back(std::move(*pod));
    } else if (k == "NetworkPolicy") {
      auto np = parse_network_policy(obj);
      if (!np) return std::unexpected(with_context(np.error(), where));
      c.policies.push_back(std::move(*np));
    } else if (k == "Node") {
      const json* status = member(obj, "status");
      const json* addrs = status == nullptr ? nullptr : member(*status, "addresses");
      if (addrs == nullptr || !addrs->is_array()) continue;
      for (const json& a : *addrs) {
        const json* type = member(a, "type");
        const json* address = member(a, "address");
        if (type == nullptr || address == nullptr || !type->is_string() || !address->is_string()) continue;
        if (*type != "InternalIP" && *type != "ExternalIP") continue;
        auto ip = IpAddr::parse(address->get<std::string>());
        if (!ip) return std::unexpected(with_context(ip.error(), where + ".status.addresses"));
        c.node_ips.push_back(*ip);
      }
    }
  }
  return c;
}

Result<json> yaml_to_json(std::string_view yaml) {
  try {
    return node_to_json(YAML::Load(std::string(yaml)), "");
  } catch (const YAML::Exception& e) {
    return fail("parse yaml", EINVAL, e.what());
  }
}

Result<json> yaml_node_to_json(const YAML::Node& node) { return node_to_json(node, ""); }

Result<std::vector<NetworkPolicy>> parse_network_policies_yaml(std::string_view yaml) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return fail("parse yaml", EINVAL, e.what());
  }
  std::vector<NetworkPolicy> out;
  for (size_t i = 0; i < docs.size(); ++i) {
    if (docs[i].IsNull()) continue;
    auto j = node_to_json(docs[i], "");
    if (!j) return std::unexpected(with_context(j.error(), "document " + std::to_string(i)));
    auto np = parse_network_policy(*j);
    if (!np) return std::unexpected(np.error());
    out.push_back(std::move(*np));
  }
  return out;
}

}  // namespace strand::policy
