#include "lab/cases.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "lab/manifest.h"

namespace strand::lab {

using nlohmann::json;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::optional<int> to_int(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string ns_of(const std::string& pod) { return pod.substr(0, pod.find('/')); }

Status bad(const std::string& where, const std::string& what) { return fail("parse case", EINVAL, where + ": " + what); }

Result<std::vector<std::string>> string_list(const json& j, const std::string& where) {
  std::vector<std::string> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return std::unexpected(bad(where, "not a list").error());
  for (const auto& v : j) {
    if (!v.is_string()) return std::unexpected(bad(where, "an entry is not a string").error());
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<Step> parse_step(const json& j, const std::string& where) {
  if (!j.is_object()) return std::unexpected(bad(where, "a step is not a mapping").error());
  static const std::set<std::string> kKeys = {"name", "delete", "recreate", "apply", "expect"};
  for (const auto& [k, _] : j.items()) {
    if (!kKeys.contains(k)) return std::unexpected(bad(where, "unknown key '" + k + "'").error());
  }
  Step s;
  s.name = j.value("name", "");
  if (s.name.empty()) return std::unexpected(bad(where, "a step needs a name").error());
  const std::string at = where + " step '" + s.name + "'";
  auto dels = string_list(j.value("delete", json()), at + " delete");
  if (!dels) return std::unexpected(dels.error());
  for (const auto& d : *dels) {
    std::istringstream in(d);
    Deletion x;
    std::string extra;
    in >> x.kind >> x.key >> extra;
    if (x.key.empty() || !extra.empty() || (x.kind != "pod" && x.kind != "namespace" && x.kind != "networkpolicy")) {
      return std::unexpected(bad(at, "delete '" + d + "': write 'pod NS/NAME', 'networkpolicy NS/NAME' or 'namespace NAME'").error());
    }
    if ((x.kind == "namespace") == (x.key.find('/') != std::string::npos)) {
      return std::unexpected(bad(at, "delete '" + d + "': NS/NAME for pods and policies, NAME for namespaces").error());
    }
    s.deletes.push_back(x);
  }
  auto re = string_list(j.value("recreate", json()), at + " recreate");
  if (!re) return std::unexpected(re.error());
  s.recreate = *re;
  if (j.contains("apply")) {
    const json& a = j["apply"];
    if (!a.is_array()) return std::unexpected(bad(at, "apply is not a list of objects").error());
    for (const auto& o : a) {
      if (!o.is_object() || !o.contains("kind")) return std::unexpected(bad(at, "apply: an entry without kind").error());
      s.apply.push_back(o);
    }
  }
  if (!j.contains("expect") || !j["expect"].is_object() || j["expect"].empty()) {
    return std::unexpected(bad(at, "expect: a mapping of KEY: GRID is required").error());
  }
  for (const auto& [k, v] : j["expect"].items()) {
    auto key = parse_expect_key(k);
    if (!key) return std::unexpected(with_context(key.error(), at));
    if (!v.is_string()) return std::unexpected(bad(at, "expect '" + k + "' is not a grid (a block of text)").error());
    auto g = parse_grid(v.get<std::string>());
    if (!g) return std::unexpected(with_context(g.error(), at + " expect '" + k + "'"));
    if (!s.expect.grids.empty() && g->pods != s.expect.grids.front().pods) {
      return std::unexpected(bad(at, "expect '" + k + "' lists other pods than '" + s.expect.keys.front().first + "'").error());
    }
    s.expect.keys.emplace_back(k, *key);
    s.expect.grids.push_back(std::move(*g));
  }
  return s;
}

}  // namespace

std::optional<bool> Grid::reachable(std::string_view from, std::string_view to) const {
  auto f = std::find(pods.begin(), pods.end(), from);
  auto t = std::find(pods.begin(), pods.end(), to);
  if (f == pods.end() || t == pods.end()) return std::nullopt;
  return cells[f - pods.begin()][t - pods.begin()] == '.';
}

Result<Grid> parse_grid(std::string_view text) {
  Grid g;
  size_t lineno = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++lineno;
    if (line.empty() || line.front() == '#') continue;
    size_t sp = line.find_first_of(" \t");
    std::string pod(line.substr(0, sp));
    if (sp == std::string_view::npos || std::count(pod.begin(), pod.end(), '/') != 1 || pod.front() == '/' ||
        pod.back() == '/') {
      return fail("parse grid", EINVAL, fmt::format("line {}: '{}' does not start with NS/POD and its cells", lineno, line));
    }
    if (std::find(g.pods.begin(), g.pods.end(), pod) != g.pods.end()) {
      return fail("parse grid", EINVAL, fmt::format("line {}: {} appears twice", lineno, pod));
    }
    std::string cells;
    for (char c : line.substr(sp)) {
      if (c == ' ' || c == '\t') continue;
      if (c != '.' && c != 'X') {
        return fail("parse grid", EINVAL, fmt::format("line {}: cell '{}' is neither '.' nor 'X'", lineno, c));
      }
      cells.push_back(c);
    }
    g.pods.push_back(pod);
    g.cells.push_back(cells);
  }
  if (g.pods.empty()) return fail("parse grid", EINVAL, "no rows");
  for (size_t i = 0; i < g.pods.size(); ++i) {
    if (g.cells[i].size() != g.pods.size()) {
      return fail("parse grid", EINVAL,
                  fmt::format("row {} has {} cells for {} pods", g.pods[i], g.cells[i].size(), g.pods.size()));
    }
    if (g.cells[i][i] != '.') {
      return fail("parse grid", EINVAL, "a pod always reaches itself (loopback): " + g.pods[i] + " -> itself is 'X'");
    }
  }
  return g;
}

std::string grid_text(const Grid& g) {
  size_t width = 0;
  for (const auto& p : g.pods) width = std::max(width, p.size());
  std::string out;
  for (size_t i = 0; i < g.pods.size(); ++i) {
    out += fmt::format("{:<{}}", g.pods[i], width);
    for (size_t j = 0; j < g.pods.size(); ++j) {
      if (j == 0 || ns_of(g.pods[j]) != ns_of(g.pods[j - 1])) out += ' ';
      out += g.cells[i][j];
    }
    out += '\n';
  }
  return out;
}

std::string combo_name(const Combo& c) { return fmt::format("v{} {}/{}", c.family, c.protocol, c.port); }

bool ExpectKey::matches(const Combo& c) const {
  return (family == 0 || family == c.family) && (protocol.empty() || protocol == c.protocol) && (port == 0 || port == c.port);
}

int ExpectKey::specificity() const { return (family != 0) + !protocol.empty() + (port != 0); }

Result<ExpectKey> parse_expect_key(std::string_view key) {
  ExpectKey k;
  std::string_view s = trim(key);
  auto bad_key = [&] {
    return fail("parse expect key", EINVAL, "'" + std::string(key) + "' is not [v4 |v6 ](TCP|UDP|*)/(PORT|*) or *");
  };
  if (s == "*") return k;
  if (s.starts_with("v4 ") || s.starts_with("v6 ")) {
    k.family = s[1] - '0';
    s = trim(s.substr(3));
  }
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return bad_key();
  std::string_view proto = s.substr(0, slash), port = s.substr(slash + 1);
  if (proto == "TCP" || proto == "UDP") {
    k.protocol = proto;
  } else if (proto != "*") {
    return bad_key();
  }
  if (port != "*") {
    auto n = to_int(port);
    if (!n || *n < 1 || *n > 65535) return bad_key();
    k.port = *n;
  }
  return k;
}

Result<const Grid*> Expectation::for_combo(const Combo& c) const {
  const Grid* best = nullptr;
  int best_spec = -1;
  std::string best_key;
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto& [text, k] = keys[i];
    if (!k.matches(c)) continue;
    if (k.specificity() == best_spec) {
      return fail("expectation", EINVAL,
                  fmt::format("{} matches both '{}' and '{}': add a more specific key", combo_name(c), best_key, text));
    }
    if (k.specificity() > best_spec) {
      best = &grids[i];
      best_spec = k.specificity();
      best_key = text;
    }
  }
  if (best == nullptr) return fail("expectation", ENOENT, "no expect key matches " + combo_name(c));
  return best;
}

Result<std::vector<Case>> parse_cases(std::string_view text, std::string_view source) {
  auto docs = yaml_stream_to_json(text);
  if (!docs) return std::unexpected(with_context(docs.error(), std::string(source)));
  std::vector<Case> out;
  for (size_t d = 0; d < docs->size(); ++d) {
    const json& j = (*docs)[d];
    if (j.is_null()) continue;
    std::string where = fmt::format("{} document {}", source, d + 1);
    if (!j.is_object()) return std::unexpected(bad(where, "a case is a mapping").error());
    for (const auto& [k, _] : j.items()) {
      if (k != "case" && k != "description" && k != "steps") return std::unexpected(bad(where, "unknown key '" + k + "'").error());
    }
    Case c;
    c.name = j.value("case", "");
    if (c.name.empty()) return std::unexpected(bad(where, "a case needs 'case: NAME'").error());
    c.description = j.value("description", "");
    c.source = where;
    where += " case '" + c.name + "'";
    if (!j.contains("steps") || !j["steps"].is_array() || j["steps"].empty()) {
      return std::unexpected(bad(where, "steps: a list of at least one step is required").error());
    }
    for (const auto& st : j["steps"]) {
      auto s = parse_step(st, where);
      if (!s) return std::unexpected(s.error());
      c.steps.push_back(std::move(*s));
    }
    for (const auto& prev : out) {
      if (prev.name == c.name) return std::unexpected(bad(where, "a case of that name is already defined").error());
    }
    out.push_back(std::move(c));
  }
  return out;
}

namespace {

Result<std::string> expand_string(const std::string& s, const IpLookup& lookup) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t open = s.find("{{", pos);
    if (open == std::string::npos) break;
    size_t close = s.find("}}", open);
    if (close == std::string::npos) return fail("expand template", EINVAL, "unclosed {{ in '" + s + "'");
    std::string_view inner = trim(std::string_view(s).substr(open + 2, close - open - 2));
    int family = 0;
    if (inner.ends_with(".ipv4")) family = 4;
    if (inner.ends_with(".ipv6")) family = 6;
    std::string pod(inner.substr(0, inner.size() - 5));
    if (family == 0 || std::count(pod.begin(), pod.end(), '/') != 1) {
      return fail("expand template", EINVAL, "'{{" + std::string(inner) + "}}' is not {{NS/POD.ipv4}} or {{NS/POD.ipv6}}");
    }
    auto ip = lookup(pod, family);
    if (!ip) return std::unexpected(ip.error());
    out += s.substr(pos, open - pos);
    out += *ip;
    pos = close + 2;
  }
  out += s.substr(pos);
  return out;
}

}  // namespace

Result<json> expand_templates(const json& obj, const IpLookup& lookup) {
  if (obj.is_string()) {
    auto s = expand_string(obj.get<std::string>(), lookup);
    if (!s) return std::unexpected(s.error());
    return json(*s);
  }
  if (obj.is_array()) {
    json a = json::array();
    for (const auto& v : obj) {
      auto e = expand_templates(v, lookup);
      if (!e) return e;
      a.push_back(std::move(*e));
    }
    return a;
  }
  if (obj.is_object()) {
    json o = json::object();
    for (const auto& [k, v] : obj.items()) {
      auto e = expand_templates(v, lookup);
      if (!e) return e;
      o[k] = std::move(*e);
    }
    return o;
  }
  return obj;
}

std::string render_diff(const std::vector<CellResult>& cells, size_t limit) {
  std::string out;
  size_t n = 0;
  for (const auto& c : cells) {
    if (c.expected == c.got) continue;
    if (n++ >= limit) continue;
    out += fmt::format("  {} {} -> {}: expected {}, got {}{}\n", combo_name(c.combo), c.from, c.to,
                       c.expected ? "reachable" : "blocked", c.got ? "reachable" : "blocked",
                       c.detail.empty() || c.got ? "" : " (" + c.detail + ")");
  }
  if (n > limit) out += fmt::format("  ... and {} more\n", n - limit);
  return out;
}

}  // namespace strand::lab
