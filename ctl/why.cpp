#include "ctl/why.h"

#include <charconv>
#include <cctype>

#include "common/ip.h"
#include "ctl/table.h"

namespace strand::ctl {
namespace {

// Namespace and pod names: DNS labels and subdomains (lower case, digits, '-', '.').
bool k8s_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (const char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' ||
          c == '.'))
      return false;
  }
  return true;
}

std::string str_of(const json& j, const char* key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return {};
}

std::string join(const json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const json& s : list) {
    if (!s.is_string()) continue;
    if (!out.empty()) out += ", ";
    out += s.get<std::string>();
  }
  return out;
}

// "x/allow-web ingress[0] (rule 17)"
std::string rule_text(const json& by) {
  std::string out = str_of(by, "policy");
  if (out.empty()) out = "?";
  const std::string dir = str_of(by, "direction");
  const std::string index = str_of(by, "index");
  if (!dir.empty()) out += " " + dir + "[" + (index.empty() ? "?" : index) + "]";
  if (const std::string id = str_of(by, "ruleId"); !id.empty()) out += " (rule " + id + ")";
  return out;
}

// One side: `self` is whose policies apply (the source for egress, the
// destination for ingress), `peer` the other end.
std::string side_text(const json& side, const char* dir, const std::string& self, const std::string& peer,
                      const std::string& port) {
  const json empty;
  const auto it = side.find("isolatedBy");
  const json& isolated_by = it != side.end() ? *it : empty;
  const std::string isolators = join(isolated_by);
  const std::string reason = str_of(side, "reason");
  const bool allowed = side.value("allowed", false);
  // Policies selecting this side that the agent cannot enforce: they allow nothing.
  std::string not_enforced;
  if (const auto ne = side.find("notEnforced"); ne != side.end() && ne->is_array()) {
    for (const json& n : *ne) {
      not_enforced += "; " + str_of(n, "policy") + " is not enforced, fails closed: " + str_of(n, "reason");
    }
  }
  if (const auto by = side.find("allowedBy"); by != side.end() && by->is_object()) {
    std::string out = "allowed by " + rule_text(*by);
    if (!isolators.empty()) out += "; isolated by " + isolators;
    return out + not_enforced;
  }
  if (!isolators.empty()) {
    if (allowed) return "allowed; isolated by " + isolators + (reason.empty() ? "" : " (" + reason + ")");
    return "denied: isolated by " + isolators + " and no " + dir + " rule of " +
           (isolated_by.size() == 1 ? "it" : "them") + " allows " + peer + " on " + port + not_enforced;
  }
  if (allowed && reason.ends_with("not isolated")) {
    return "allowed: not isolated, no policy selects " + self + " for " + dir;
  }
  if (allowed && self.find('/') == std::string::npos && reason.ends_with("(not a pod)")) {
    return "allowed: not a pod, no " + std::string(dir) + " policy applies";
  }
  if (reason.empty()) return allowed ? "allowed" : "denied";
  return (allowed ? "allowed: " : "denied: ") + reason;
}

}  // namespace

std::string check_why_endpoint(const std::string& v) {
  const std::string want = "want NAMESPACE/POD or an IP address, got \"" + v + "\"";
  if (IpAddr::parse(v)) return {};
  const auto slash = v.find('/');
  if (slash == std::string::npos) return want;
  const std::string_view ns = std::string_view(v).substr(0, slash);
  const std::string_view pod = std::string_view(v).substr(slash + 1);
  if (IpAddr::parse(ns)) return "want an address without a prefix length, got \"" + v + "\"";
  if (!k8s_name(ns) || !k8s_name(pod)) return want;
  return {};
}

std::expected<std::string, std::string> normalize_port(const std::string& v) {
  std::string_view port = v;
  std::string proto = "TCP";
  if (const auto slash = v.find('/'); slash != std::string::npos) {
    port = std::string_view(v).substr(0, slash);
    proto = v.substr(slash + 1);
    for (char& c : proto) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  unsigned n = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || n == 0 || n > 65535)
    return std::unexpected("want PORT or PORT/PROTO with PORT 1..65535, got \"" + v + "\"");
  if (proto != "TCP" && proto != "UDP" && proto != "SCTP")
    return std::unexpected("protocol must be TCP, UDP or SCTP, got \"" + v + "\"");
  return std::to_string(n) + "/" + proto;
}

std::optional<bool> why_allowed(const json& body) {
  if (!body.is_object()) return std::nullopt;
  const auto it = body.find("allowed");
  if (it == body.end() || !it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

std::string render_why(const json& body) {
  const std::string from = str_of(body, "from");
  const std::string to = str_of(body, "to");
  std::string port = str_of(body, "port");
  if (const std::string proto = str_of(body, "protocol"); !proto.empty()) port += "/" + proto;
  const auto allowed = why_allowed(body);
  std::string out = std::string(!allowed ? "UNKNOWN" : *allowed ? "ALLOWED" : "DENIED") + "  " + from + " -> " + to +
                    " " + port + "\n";
  std::vector<Row> rows;
  if (const auto e = body.find("egress"); e != body.end() && e->is_object())
    rows.push_back({"egress of " + from + ":", side_text(*e, "egress", from, to, port)});
  if (const auto i = body.find("ingress"); i != body.end() && i->is_object())
    rows.push_back({"ingress of " + to + ":", side_text(*i, "ingress", to, from, port)});
  if (rows.empty()) {
    if (const std::string reason = str_of(body, "reason"); !reason.empty()) out += "  " + reason + "\n";
  } else {
    // Two aligned columns without a header line, indented.
    std::string t = render_table({"", ""}, rows);
    t = t.substr(t.find('\n') + 1);
    for (size_t pos = 0; pos < t.size();) {
      const size_t nl = t.find('\n', pos);
      out += "  " + t.substr(pos, nl - pos + 1);
      pos = nl + 1;
    }
  }
  if (const auto it = body.find("enforcing"); it != body.end() && it->is_boolean() && !it->get<bool>())
    out += "  note: this agent does not enforce NetworkPolicy; the verdict is what the policies say\n";
  return out;
}

}  // namespace strand::ctl
