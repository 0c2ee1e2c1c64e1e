#include "ctl/render.h"

#include <fmt/format.h>

#include <algorithm>

#include "ctl/policies.h"
#include "ctl/units.h"

namespace strand::ctl {
namespace {

constexpr const char* kNone = "-";

std::string text(const json& j, const char* key) {
  if (!j.is_object()) return kNone;
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return kNone;
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    return s.empty() ? kNone : s;
  }
  if (it->is_number() || it->is_boolean()) return it->dump();
  return kNone;
}

std::optional<uint64_t> number(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) {
    const auto v = it->get<int64_t>();
    return v < 0 ? std::nullopt : std::optional<uint64_t>(static_cast<uint64_t>(v));
  }
  const double d = it->get<double>();
  return d < 0 ? std::nullopt : std::optional<uint64_t>(static_cast<uint64_t>(d));
}

const json& child(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string count_text(const json& j, const char* key) {
  const auto n = number(j, key);
  return n ? std::to_string(*n) : kNone;
}

std::string bytes_text(const json& j, const char* key) {
  const auto n = number(j, key);
  return n ? format_bytes(*n) : kNone;
}

std::string pod_of(const json& item) {
  const std::string ns = text(item, "namespace");
  const std::string pod = text(item, "pod");
  if (ns == kNone && pod == kNone) return kNone;
  return ns + "/" + pod;
}

// "6p/470B": packets and bytes of one direction of a flow.
std::string traffic(const json& counters) {
  const auto p = number(counters, "packets");
  const auto b = number(counters, "bytes");
  if (!p && !b) return kNone;
  return fmt::format("{}p/{}", p ? std::to_string(*p) : kNone, b ? format_bytes(*b) : kNone);
}

}  // namespace

std::vector<json> items_of(const json& body) {
  const json& items = child(body, "items");
  if (!items.is_array()) return {};
  return {items.begin(), items.end()};
}

void sort_by_seq(std::vector<json>& items) {
  std::stable_sort(items.begin(), items.end(), [](const json& a, const json& b) {
    return number(a, "seq").value_or(0) < number(b, "seq").value_or(0);
  });
}

uint64_t max_seq(const std::vector<json>& items, uint64_t floor) {
  for (const json& it : items) floor = std::max(floor, number(it, "seq").value_or(0));
  return floor;
}

Row endpoint_headers() {
  return {"NAMESPACE", "POD", "IFNAME", "HOST-IF", "IPS", "TX-PKTS", "TX-BYTES", "RX-PKTS", "RX-BYTES", "DROPS"};
}

Row endpoint_row(const json& item) {
  std::string ips;
  if (const json& list = child(item, "ips"); list.is_array()) {
    for (const json& ip : list) {
      if (!ip.is_string()) continue;
      if (!ips.empty()) ips += ",";
      ips += ip.get<std::string>();
    }
  }
  const json& stats = child(item, "stats");
  const json& egress = child(stats, "egress");    // leaving the pod: its TX
  const json& ingress = child(stats, "ingress");  // entering the pod: its RX
  std::string drops = kNone;
  if (const json& d = child(stats, "drops"); d.is_object()) {
    uint64_t sum = 0;
    for (const auto& [reason, n] : d.items())
      if (n.is_number_unsigned() || (n.is_number_integer() && n.get<int64_t>() > 0)) sum += n.get<uint64_t>();
    drops = std::to_string(sum);
  }
  return {text(item, "namespace"), text(item, "pod"),       text(item, "ifname"),
          text(item, "hostIfname"), ips.empty() ? kNone : ips, count_text(egress, "packets"),
          bytes_text(egress, "bytes"), count_text(ingress, "packets"), bytes_text(ingress, "bytes"),
          drops};
}

std::string format_endpoint(const json& item, const char* addr_key, const char* port_key) {
  const std::string addr = text(item, addr_key);
  const std::string proto = text(item, "protocol");
  const auto port = number(item, port_key);
  const bool portless = proto.starts_with("ICMP") || proto.starts_with("icmp");
  if (!port || portless || addr == kNone) return addr;
  if (addr.find(':') != std::string::npos) return fmt::format("[{}]:{}", addr, *port);
  return fmt::format("{}:{}", addr, *port);
}

Row flow_headers() {
  return {"POD", "DIR", "PROTO", "SRC", "DST", "STATE", "TX", "RX", "RTT", "AGE", "VERDICT", "POLICY"};
}

Row flow_row(const json& item, int64_t now_ms) {
  const auto rtt = number(item, "handshakeRttUs");
  const auto first = number(item, "firstSeenMs");
  return {pod_of(item),
          text(item, "direction"),
          text(item, "protocol"),
          format_endpoint(item, "src", "srcPort"),
          format_endpoint(item, "dst", "dstPort"),
          text(item, "state"),
          traffic(child(item, "tx")),
          traffic(child(item, "rx")),
          rtt ? format_micros(*rtt) : kNone,
          first ? format_age(now_ms - static_cast<int64_t>(*first)) : kNone,
          text(item, "verdict"),
          // A flow whose verdict is "isolated" exists only because audit mode passed it.
          policy_cell(child(item, "policy"), /*audit=*/true)};
}

Row drop_headers() { return {"TIME", "POD", "DIR", "REASON", "PROTO", "SRC", "DST", "POLICY"}; }

Row drop_row(const json& item, int64_t now_ms) {
  const auto t = number(item, "timeMs");
  return {t ? format_time(static_cast<int64_t>(*t), now_ms) : kNone,
          pod_of(item),
          text(item, "direction"),
          text(item, "reason"),
          text(item, "protocol"),
          format_endpoint(item, "src", "srcPort"),
          format_endpoint(item, "dst", "dstPort"),
          policy_cell(child(item, "policy"), text(item, "reason") == "policy-audit")};
}

std::string render_status(const StatusReport& s) {
  std::vector<Row> rows;
  rows.push_back({"Agent:", s.agent});
  rows.push_back({"Health:", s.health.empty() ? kNone : s.health});
  const bool ready = s.ready.is_object() && s.ready.value("ready", false);
  rows.push_back({"Ready:", fmt::format("{} (HTTP {})", ready ? "yes" : "no", s.ready_status)});
  if (const json& checks = child(s.ready, "checks"); checks.is_object()) {
    for (const auto& [name, value] : checks.items())
      rows.push_back({"  " + name + ":", value.is_string() ? value.get<std::string>() : value.dump()});
  }
  rows.push_back({"Endpoints:", std::to_string(s.endpoints)});
  rows.push_back({"Flows:", fmt::format("{}{} active, {}{} ended", s.flows_active, s.flows_truncated ? "+" : "",
                                        s.flows_ended, s.flows_truncated ? "+" : "")});
  rows.push_back({"Events lost:", s.events_lost ? std::to_string(*s.events_lost) : std::string(kNone)});
  // Key/value lines: reuse the table's alignment without a header line.
  std::string out = render_table({"", ""}, rows);
  return out.substr(out.find('\n') + 1);
}

json status_json(const StatusReport& s) {
  json j{{"agent", s.agent},
         {"health", s.health},
         {"readyStatus", s.ready_status},
         {"ready", s.ready},
         {"endpoints", s.endpoints},
         {"flows", {{"active", s.flows_active}, {"ended", s.flows_ended}, {"truncated", s.flows_truncated}}}};
  j["eventsLost"] = s.events_lost ? json(*s.events_lost) : json(nullptr);
  return j;
}

}  // namespace strand::ctl
