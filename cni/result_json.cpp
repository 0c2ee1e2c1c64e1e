#include "cni/result_json.h"

#include <limits>
#include <string>

#include "cni/json_fields.h"
#include "cni/version.h"

namespace strand::cni {
namespace {

namespace jf = json_fields;
using nlohmann::json;

constexpr Code kShape = Code::kDecodeFailure;

// The three JSON layouts the versions fall into.
enum class Shape { kLegacy, kV04, kV1 };  // 0.1/0.2 ip4+ip6; 0.3.x/0.4.0; 1.x

std::optional<Shape> shape_of(std::string_view v) {
  if (v == "0.1.0" || v == "0.2.0") return Shape::kLegacy;
  if (v == "0.3.0" || v == "0.3.1" || v == "0.4.0") return Shape::kV04;
  if (v == "1.0.0" || v == "1.1.0") return Shape::kV1;
  return std::nullopt;
}

bool has_v11_fields(std::string_view v) { return !version_less(v, "1.1.0"); }

// ---- encoding ----

json encode_interface(const Interface& i, bool v11) {
  json o = {{"name", i.name}};
  if (!i.mac.empty()) o["mac"] = i.mac;
  if (v11 && i.mtu && *i.mtu != 0) o["mtu"] = *i.mtu;
  if (!i.sandbox.empty()) o["sandbox"] = i.sandbox;
  if (v11 && !i.socket_path.empty()) o["socketPath"] = i.socket_path;
  if (v11 && !i.pci_id.empty()) o["pciID"] = i.pci_id;
  return o;
}

json encode_ip(const IpConfig& ip, Shape shape) {
  json o = {{"address", ip.address.str()}};
  if (shape == Shape::kV04) o["version"] = ip.address.addr.is_v4() ? "4" : "6";
  if (ip.gateway) o["gateway"] = ip.gateway->str();
  if (ip.interface) o["interface"] = *ip.interface;
  return o;
}

json encode_route(const Route& r, bool v11) {
  json o = {{"dst", r.dst.str()}};
  if (r.gw) o["gw"] = r.gw->str();
  if (v11) {
    if (r.mtu && *r.mtu != 0) o["mtu"] = *r.mtu;
    if (r.advmss && *r.advmss != 0) o["advmss"] = *r.advmss;
    if (r.priority && *r.priority != 0) o["priority"] = *r.priority;
    if (r.table) o["table"] = *r.table;
    if (r.scope) o["scope"] = *r.scope;
  }
  return o;
}

// ---- decoding ----

CniResult<IpPrefix> decode_prefix(const json& obj, std::string_view key, std::string_view path, bool required) {
  auto text = jf::opt_string(obj, key, path, kShape);
  if (!text) return std::unexpected(text.error());
  if (!*text) {
    if (required) return cni_fail(kShape, "field \"" + std::string(path) + "\" is required");
    return IpPrefix{};
  }
  // A bare address would parse as a host prefix; results always carry the length.
  auto p = IpPrefix::parse(**text);
  if (!p || (*text)->find('/') == std::string::npos) {
    return cni_fail(kShape, "field \"" + std::string(path) + "\": \"" + **text +
                                "\" is not an IP address with a prefix length");
  }
  return *p;
}

CniResult<std::optional<IpAddr>> decode_addr(const json& obj, std::string_view key, std::string_view path) {
  auto text = jf::opt_string(obj, key, path, kShape);
  if (!text) return std::unexpected(text.error());
  if (!*text) return std::nullopt;
  auto a = IpAddr::parse(**text);
  if (!a) return cni_fail(kShape, "field \"" + std::string(path) + "\": \"" + **text + "\" is not an IP address");
  return *a;
}

// An integer field that must fit in [lo, hi].
template <typename T>
CniResult<std::optional<T>> decode_int(const json& obj, std::string_view key, std::string_view path, int64_t lo,
                                       int64_t hi) {
  auto v = jf::opt_int(obj, key, path, kShape);
  if (!v) return std::unexpected(v.error());
  if (!*v) return std::nullopt;
  if (**v < lo || **v > hi) {
    return cni_fail(kShape, "field \"" + std::string(path) + "\" is out of range: " + std::to_string(**v));
  }
  return static_cast<T>(**v);
}

CniResult<const json*> object_at(const json& item, std::string_view path) {
  if (!item.is_object()) return jf::wrong_type(path, "an object", kShape);
  return &item;
}

CniResult<Interface> decode_interface(const json& o, std::string_view path) {
  Interface i;
  auto name = jf::opt_string(o, "name", jf::join(path, "name"), kShape);
  if (!name) return std::unexpected(name.error());
  if (!*name) return cni_fail(kShape, "field \"" + jf::join(path, "name") + "\" is required");
  i.name = **name;
  for (auto [key, dst] : {std::pair<const char*, std::string*>{"mac", &i.mac},
                          {"sandbox", &i.sandbox},
                          {"socketPath", &i.socket_path},
                          {"pciID", &i.pci_id}}) {
    auto v = jf::opt_string(o, key, jf::join(path, key), kShape);
    if (!v) return std::unexpected(v.error());
    if (*v) *dst = **v;
  }
  auto mtu = decode_int<uint32_t>(o, "mtu", jf::join(path, "mtu"), 0, std::numeric_limits<uint32_t>::max());
  if (!mtu) return std::unexpected(mtu.error());
  i.mtu = *mtu;
  return i;
}

CniResult<IpConfig> decode_ip(const json& o, std::string_view path, Shape shape) {
  IpConfig ip;
  auto addr = decode_prefix(o, "address", jf::join(path, "address"), true);
  if (!addr) return std::unexpected(addr.error());
  ip.address = *addr;
  auto gw = decode_addr(o, "gateway", jf::join(path, "gateway"));
  if (!gw) return std::unexpected(gw.error());
  ip.gateway = *gw;
  auto intf = decode_int<int>(o, "interface", jf::join(path, "interface"), 0, std::numeric_limits<int>::max());
  if (!intf) return std::unexpected(intf.error());
  ip.interface = *intf;
  if (shape == Shape::kV04) {
    auto ver = jf::opt_string(o, "version", jf::join(path, "version"), kShape);
    if (!ver) return std::unexpected(ver.error());
    if (*ver && **ver != (ip.address.addr.is_v4() ? "4" : "6")) {
      return cni_fail(kShape, "field \"" + jf::join(path, "version") + "\": \"" + **ver + "\" does not match address " +
                                  ip.address.str());
    }
  }
  return ip;
}

CniResult<Route> decode_route(const json& o, std::string_view path) {
  Route r;
  auto dst = decode_prefix(o, "dst", jf::join(path, "dst"), true);
  if (!dst) return std::unexpected(dst.error());
  r.dst = *dst;
  auto gw = decode_addr(o, "gw", jf::join(path, "gw"));
  if (!gw) return std::unexpected(gw.error());
  r.gw = *gw;
  constexpr int64_t kMin = std::numeric_limits<int>::min();
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  for (auto [key, dst_field] : {std::pair<const char*, std::optional<int>*>{"mtu", &r.mtu},
                                {"advmss", &r.advmss},
                                {"priority", &r.priority},
                                {"table", &r.table},
                                {"scope", &r.scope}}) {
    auto v = decode_int<int>(o, key, jf::join(path, key), kMin, kMax);
    if (!v) return std::unexpected(v.error());
    *dst_field = *v;
  }
  return r;
}

// Calls `each(item, path)` for every element of the optional list obj[key].
template <typename F>
CniStatus for_each_in(const json& obj, std::string_view key, std::string_view parent, F&& each) {
  std::string path = jf::join(parent, key);
  auto list = jf::opt_array(obj, key, path, kShape);
  if (!list) return std::unexpected(list.error());
  if (*list == nullptr) return {};
  for (size_t i = 0; i < (*list)->size(); ++i) {
    std::string item_path = jf::index(path, i);
    auto o = object_at((**list)[i], item_path);
    if (!o) return std::unexpected(o.error());
    if (auto s = each(**o, item_path); !s) return s;
  }
  return {};
}

CniStatus decode_routes(const json& obj, std::string_view parent, std::vector<Route>& out) {
  return for_each_in(obj, "routes", parent, [&](const json& o, const std::string& path) -> CniStatus {
    auto r = decode_route(o, path);
    if (!r) return std::unexpected(r.error());
    out.push_back(*r);
    return {};
  });
}

// 0.1.0/0.2.0: {"ip4": {"ip", "gateway", "routes"}, "ip6": {...}}.
CniStatus decode_legacy_ip(const json& j, std::string_view key, Result& out) {
  auto block = jf::opt_object(j, key, key, kShape);
  if (!block) return std::unexpected(block.error());
  if (*block == nullptr) return {};
  const json& b = **block;
  IpConfig ip;
  auto addr = decode_prefix(b, "ip", jf::join(key, "ip"), true);
  if (!addr) return std::unexpected(addr.error());
  ip.address = *addr;
  auto gw = decode_addr(b, "gateway", jf::join(key, "gateway"));
  if (!gw) return std::unexpected(gw.error());
  ip.gateway = *gw;
  out.ips.push_back(ip);
  return decode_routes(b, key, out.routes);
}

}  // namespace

nlohmann::json encode_dns(const Dns& dns) {
  json o = json::object();
  if (!dns.nameservers.empty()) o["nameservers"] = dns.nameservers;
  if (!dns.domain.empty()) o["domain"] = dns.domain;
  if (!dns.search.empty()) o["search"] = dns.search;
  if (!dns.options.empty()) o["options"] = dns.options;
  return o;
}

CniResult<Dns> decode_dns(const nlohmann::json& j, std::string_view path, Code code) {
  if (!j.is_object()) return jf::wrong_type(path, "an object", code);
  Dns dns;
  for (auto [key, dst] : {std::pair<const char*, std::vector<std::string>*>{"nameservers", &dns.nameservers},
                          {"search", &dns.search},
                          {"options", &dns.options}}) {
    auto v = jf::opt_string_list(j, key, jf::join(path, key), code);
    if (!v) return std::unexpected(v.error());
    if (*v) *dst = std::move(**v);
  }
  auto domain = jf::opt_string(j, "domain", jf::join(path, "domain"), code);
  if (!domain) return std::unexpected(domain.error());
  if (*domain) dns.domain = **domain;
  return dns;
}

nlohmann::json encode_result(const Result& result, std::string_view version) {
  Shape shape = shape_of(version).value_or(Shape::kV1);
  if (shape == Shape::kLegacy) shape = Shape::kV1;  // never written; see header
  bool v11 = shape == Shape::kV1 && has_v11_fields(version);
  json o = {{"cniVersion", std::string(version)}};
  if (!result.interfaces.empty()) {
    json& list = o["interfaces"] = json::array();
    for (const auto& i : result.interfaces) list.push_back(encode_interface(i, v11));
  }
  if (!result.ips.empty()) {
    json& list = o["ips"] = json::array();
    for (const auto& ip : result.ips) list.push_back(encode_ip(ip, shape));
  }
  if (!result.routes.empty()) {
    json& list = o["routes"] = json::array();
    for (const auto& r : result.routes) list.push_back(encode_route(r, v11));
  }
  if (shape == Shape::kV04 || !result.dns.empty()) o["dns"] = encode_dns(result.dns);
  return o;
}

CniResult<Result> decode_result(const nlohmann::json& j, std::string_view version_if_absent) {
  if (!j.is_object()) return cni_fail(kShape, "result must be a JSON object");
  auto ver = jf::opt_string(j, "cniVersion", "cniVersion", kShape);
  if (!ver) return std::unexpected(ver.error());
  std::string version = *ver ? **ver : std::string(version_if_absent);
  if (version.empty()) return cni_fail(kShape, "result has no cniVersion");
  auto shape = shape_of(version);
  if (!shape) {
    return cni_fail(Code::kIncompatibleVersion, "result cniVersion \"" + version +
                                                    "\" is not supported (supported: 0.1.0, 0.2.0, " +
                                                    supported_versions_text() + ")");
  }

  Result out;
  out.cni_version = version;
  if (*shape == Shape::kLegacy) {
    if (auto s = decode_legacy_ip(j, "ip4", out); !s) return std::unexpected(s.error());
    if (auto s = decode_legacy_ip(j, "ip6", out); !s) return std::unexpected(s.error());
  } else {
    auto s = for_each_in(j, "interfaces", "", [&](const json& o, const std::string& path) -> CniStatus {
      auto i = decode_interface(o, path);
      if (!i) return std::unexpected(i.error());
      out.interfaces.push_back(*i);
      return {};
    });
    if (!s) return std::unexpected(s.error());
    s = for_each_in(j, "ips", "", [&](const json& o, const std::string& path) -> CniStatus {
      auto ip = decode_ip(o, path, *shape);
      if (!ip) return std::unexpected(ip.error());
      out.ips.push_back(*ip);
      return {};
    });
    if (!s) return std::unexpected(s.error());
    if (s = decode_routes(j, "", out.routes); !s) return std::unexpected(s.error());
  }
  auto dns = jf::opt_object(j, "dns", "dns", kShape);
  if (!dns) return std::unexpected(dns.error());
  if (*dns != nullptr) {
    auto d = decode_dns(**dns, "dns", kShape);
    if (!d) return std::unexpected(d.error());
    out.dns = std::move(*d);
  }
  return out;
}

CniResult<nlohmann::json> convert_result(const nlohmann::json& j, std::string_view to_version) {
  if (!version_supported(to_version)) {
    return cni_fail(Code::kIncompatibleVersion, "cannot convert a result to cniVersion \"" + std::string(to_version) +
                                                    "\" (supported: " + supported_versions_text() + ")");
  }
  auto r = decode_result(j);
  if (!r) return std::unexpected(r.error());
  return encode_result(*r, to_version);
}

}  // namespace strand::cni
