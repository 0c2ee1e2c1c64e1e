#include "lab/render.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace strand::lab {

using json = nlohmann::ordered_json;

json pods_json(const LabState& s) {
  json items = json::array();
  for (const auto& [_, p] : s.pods) {
    items.push_back({{"namespace", p.ns}, {"name", p.name}, {"node", p.node}, {"ips", p.ips}, {"labels", json(p.labels)}});
  }
  return {{"items", items}};
}

json nodes_json(const LabState& s) {
  json items = json::array();
  for (const auto& n : s.nodes) items.push_back({{"name", n.name}, {"ips", n.ips}, {"podCIDRs", n.pod_cidrs}});
  return {{"items", items}};
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string labels_str(const Labels& l) {
  std::vector<std::string> kv;
  for (const auto& [k, v] : l) kv.push_back(k + "=" + v);
  return kv.empty() ? "<none>" : join(kv, ",");
}

}  // namespace

std::string pods_table(const LabState& s) {
  std::vector<std::vector<std::string>> rows = {{"NAMESPACE", "NAME", "NODE", "IPS", "LABELS"}};
  for (const auto& [_, p] : s.pods) rows.push_back({p.ns, p.name, p.node, join(p.ips, ","), labels_str(p.labels)});
  return table(rows);
}

std::string nodes_table(const LabState& s) {
  std::vector<std::vector<std::string>> rows = {{"NAME", "IPS", "POD CIDRS"}};
  for (const auto& n : s.nodes) rows.push_back({n.name, join(n.ips, ","), join(n.pod_cidrs, ",")});
  return table(rows);
}

json probe_json(const ProbeResult& r) {
  return {{"from", r.from}, {"to", r.to}, {"port", r.port}, {"protocol", r.protocol}, {"reachable", r.reachable},
          {"ms", std::round(r.ms * 1000.0) / 1000.0}};
}

std::string probe_line(const ProbeResult& r) {
  return fmt::format("{} -> {} port {}/{}: {} ({:.3f} ms{}{})", r.from, r.to, r.port, r.protocol,
                     r.reachable ? "reachable" : "blocked", r.ms, r.detail.empty() ? "" : ", ", r.detail);
}

bool TrafficReport::clean() const {
  for (const auto& l : loops) {
    if (l.ok != l.attempts) return false;
  }
  return !connection || (!connection->failure && connection->retransmits == 0);
}

namespace {

double round3(double ms) { return std::round(ms * 1000.0) / 1000.0; }

json failure_json(const TrafficFailure& f) {
  return {{"atMs", round3(f.at_ms)}, {"timeMs", f.time_ms}, {"detail", f.detail}};
}

}  // namespace

json traffic_json(const TrafficReport& r) {
  json loops = json::array();
  for (const auto& l : r.loops) {
    json failures = json::array();
    for (const auto& f : l.failures) failures.push_back(failure_json(f));
    loops.push_back({{"protocol", l.protocol}, {"port", l.port}, {"attempts", l.attempts}, {"ok", l.ok},
                     {"failed", l.attempts - l.ok}, {"maxMs", round3(l.max_ms)}, {"failures", failures}});
  }
  json conn = nullptr;
  if (const auto& c = r.connection) {
    conn = {{"port", c->port}, {"exchanges", c->exchanges}, {"sentBytes", c->sent_bytes},
            {"echoedBytes", c->echoed_bytes}, {"retransmits", c->retransmits},
            {"failure", c->failure ? failure_json(*c->failure) : json(nullptr)}};
  }
  return {{"from", r.from}, {"to", r.to}, {"intervalMs", r.interval_ms}, {"durationMs", round3(r.duration_ms)},
          {"clean", r.clean()}, {"loops", loops}, {"connection", conn}};
}

std::string traffic_text(const TrafficReport& r) {
  std::string out = fmt::format("{} -> {} for {:.1f} s, a new flow every {} ms:\n", r.from, r.to,
                                r.duration_ms / 1000.0, r.interval_ms);
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : r.loops) {
    rows.push_back({"  " + l.protocol + "/" + std::to_string(l.port), l.protocol == "TCP" ? "new connections" : "new flows",
                    fmt::format("{} ok, {} failed", l.ok, l.attempts - l.ok),
                    fmt::format("slowest {:.1f} ms", l.max_ms)});
  }
  if (const auto& c = r.connection) {
    rows.push_back({"  TCP/" + std::to_string(c->port), "one connection",
                    fmt::format("{} of {} bytes echoed", c->echoed_bytes, c->sent_bytes),
                    fmt::format("{} retransmits, {}", c->retransmits, c->failure ? "broken: " + c->failure->detail : "open")});
  }
  out += table(rows);
  for (const auto& l : r.loops) {
    for (const auto& f : l.failures) {
      out += fmt::format("  failed at +{:.0f} ms: {}/{} {}\n", f.at_ms, l.protocol, l.port, f.detail);
    }
  }
  return out;
}

json matrix_json(const Matrix& m) {
  json reach = json::object();
  for (const auto& from : m.rows.empty() ? m.pods : m.rows) {
    json row = json::object();
    auto it = m.reachable.find(from);
    for (const auto& to : m.pods) {
      bool ok = false;
      if (it != m.reachable.end()) {
        auto jt = it->second.find(to);
        ok = jt != it->second.end() && jt->second;
      }
      row[to] = ok;
    }
    reach[from] = row;
  }
  return {{"port", m.port}, {"protocol", m.protocol}, {"pods", m.pods}, {"reachable", reach}};
}

std::string matrix_grid(const Matrix& m) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head = {"from \\ to"};
  for (size_t i = 0; i < m.pods.size(); ++i) head.push_back(m.pods[i]);
  rows.push_back(head);
  for (const auto& from : m.rows.empty() ? m.pods : m.rows) {
    std::vector<std::string> r = {from};
    auto it = m.reachable.find(from);
    for (const auto& to : m.pods) {
      bool ok = false;
      if (it != m.reachable.end()) {
        auto jt = it->second.find(to);
        ok = jt != it->second.end() && jt->second;
      }
      r.push_back(ok ? "." : "X");
    }
    rows.push_back(r);
  }
  return fmt::format("port {}/{} (rows: from, columns: to; . reachable, X blocked)\n", m.port, m.protocol) + table(rows);
}

std::string matrix_compact(const Matrix& m) {
  const auto& rows = m.rows.empty() ? m.pods : m.rows;
  size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.size());
  auto ns_of = [](const std::string& k) { return k.substr(0, k.find('/')); };
  std::string out;
  for (const auto& from : rows) {
    out += fmt::format("{:<{}}", from, width);
    auto it = m.reachable.find(from);
    for (size_t j = 0; j < m.pods.size(); ++j) {
      if (j == 0 || ns_of(m.pods[j]) != ns_of(m.pods[j - 1])) out += ' ';
      bool ok = false;
      if (it != m.reachable.end()) {
        auto jt = it->second.find(m.pods[j]);
        ok = jt != it->second.end() && jt->second;
      }
      out += ok ? '.' : 'X';
    }
    out += '\n';
  }
  return out;
}

}  // namespace strand::lab
