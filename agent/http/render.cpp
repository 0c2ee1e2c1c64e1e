#include "agent/http/render.h"

#include <fmt/format.h>

#include "datapath/drop_reasons.h"

namespace strand::agent::http {
namespace {

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

std::string pod_labels(const flows::PodRef& p) {
  return fmt::format("namespace=\"{}\",pod=\"{}\"", escape_label(p.ns), escape_label(p.name));
}

const char* kDir[2] = {"egress", "ingress"};  // [STRAND_DIR_*]

}  // namespace

std::string escape_label(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

nlohmann::json endpoint_json(const EndpointRecord& rec, const std::optional<strand_endpoint>& entry,
                             const strand_ep_stats* stats) {
  nlohmann::json ips = nlohmann::json::array();
  for (const auto& p : rec.ips) ips.push_back(p.addr.str());
  nlohmann::json j = {
      {"namespace", rec.pod_namespace}, {"pod", rec.pod_name},          {"containerId", rec.container_id},
      {"ifname", rec.ifname},           {"hostIfname", rec.host_ifname}, {"ifindex", rec.host_ifindex},
      {"ips", ips},                     {"attached", entry.has_value()},
  };
  j["epId"] = entry ? nlohmann::json(entry->ep_id) : nlohmann::json(nullptr);
  j["identity"] = entry ? nlohmann::json(entry->identity) : nlohmann::json(nullptr);
  const uint32_t f = entry ? entry->flags : 0;
  j["enforce"] = {{"ingress", (f & STRAND_EP_F_ENFORCE_INGRESS) != 0},
                  {"egress", (f & STRAND_EP_F_ENFORCE_EGRESS) != 0},
                  {"audit", (f & STRAND_EP_F_AUDIT) != 0}};
  strand_ep_stats st{};
  if (stats) st = *stats;
  nlohmann::json drops = nlohmann::json::object();
  for (const auto& r : datapath::drop_reasons()) {
    const uint64_t n = st.drops[STRAND_DIR_EGRESS][r.number] + st.drops[STRAND_DIR_INGRESS][r.number];
    if (r.number != 0 && n != 0) drops[std::string(r.name)] = n;
  }
  j["stats"] = {{"egress", {{"packets", st.packets[STRAND_DIR_EGRESS]}, {"bytes", st.bytes[STRAND_DIR_EGRESS]}}},
                {"ingress", {{"packets", st.packets[STRAND_DIR_INGRESS]}, {"bytes", st.bytes[STRAND_DIR_INGRESS]}}},
                {"drops", drops}};
  return j;
}

std::string render_metrics(const MetricsInput& in) {
  std::string out;
  header(out, "strand_endpoint_packets_total", "counter",
         "Packets that passed a pod's host veth, by direction seen from the pod.");
  for (const auto& e : in.endpoints) {
    for (int d = 0; d < 2; ++d) {
      out += fmt::format("strand_endpoint_packets_total{{{},direction=\"{}\"}} {}\n", pod_labels(e.pod), kDir[d],
                         e.stats.packets[d]);
    }
  }
  header(out, "strand_endpoint_bytes_total", "counter",
         "Bytes (skb->len, Ethernet header included) that passed a pod's host veth, by direction.");
  for (const auto& e : in.endpoints) {
    for (int d = 0; d < 2; ++d) {
      out += fmt::format("strand_endpoint_bytes_total{{{},direction=\"{}\"}} {}\n", pod_labels(e.pod), kDir[d],
                         e.stats.bytes[d]);
    }
  }
  header(out, "strand_drops_total", "counter",
         "Packets dropped at a pod's host veth, by direction (egress: leaving the pod) and reason.");
  for (const auto& e : in.endpoints) {
    for (const auto& [dir, dir_name] : {std::pair{STRAND_DIR_EGRESS, "egress"}, std::pair{STRAND_DIR_INGRESS, "ingress"}}) {
      for (const auto& r : datapath::drop_reasons()) {
        if (r.number == 0 || e.stats.drops[dir][r.number] == 0) continue;
        out += fmt::format("strand_drops_total{{{},direction=\"{}\",reason=\"{}\"}} {}\n", pod_labels(e.pod), dir_name,
                           r.name, e.stats.drops[dir][r.number]);
      }
    }
  }
  header(out, "strand_flows_active", "gauge", "Connections tracked in ct that have not ended.");
  out += fmt::format("strand_flows_active {}\n", in.collector.flows_active);

  const auto& h = in.collector.handshake;
  header(out, "strand_tcp_handshake_seconds", "histogram", "TCP handshake time, SYN to SYN-ACK at the pod's host veth.");
  uint64_t cum = 0;
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    cum += h.counts[i];
    out += fmt::format("strand_tcp_handshake_seconds_bucket{{le=\"{}\"}} {}\n", h.bounds[i], cum);
  }
  cum += h.counts.back();
  out += fmt::format("strand_tcp_handshake_seconds_bucket{{le=\"+Inf\"}} {}\n", cum);
  out += fmt::format("strand_tcp_handshake_seconds_sum {}\n", h.sum);
  out += fmt::format("strand_tcp_handshake_seconds_count {}\n", h.count);

  header(out, "strand_repairs_total", "counter", "Kernel state the agent put back, by kind.");
  for (const auto& [kind, n] : in.repairs) out += fmt::format("strand_repairs_total{{kind=\"{}\"}} {}\n", escape_label(kind), n);

  header(out, "strand_cni_handoffs_total", "counter",
         "CNI verbs the plugin offered the agent: run by the agent, or declined and why.");
  for (const auto& [result, n] : in.handoffs) {
    out += fmt::format("strand_cni_handoffs_total{{result=\"{}\"}} {}\n", escape_label(result), n);
  }

  header(out, "strand_bpf_map_entries", "gauge", "Entries in the node datapath's pinned maps.");
  for (const auto& [map, n] : in.collector.map_entries) {
    out += fmt::format("strand_bpf_map_entries{{map=\"{}\"}} {}\n", escape_label(map), n);
  }
  header(out, "strand_events_lost_total", "counter",
         "Datapath events (drops, flow ends) not delivered: ringbuf full or per-endpoint rate limit.");
  out += fmt::format("strand_events_lost_total {}\n", in.collector.events_lost);
  header(out, "strand_policies", "gauge",
         "NetworkPolicies by state: not_enforced ones (a field the agent cannot enforce) fail their pods closed.");
  out += fmt::format("strand_policies{{state=\"enforced\"}} {}\n", in.policies.enforced);
  out += fmt::format("strand_policies{{state=\"not_enforced\"}} {}\n", in.policies.not_enforced);
  return out;
}

}  // namespace strand::agent::http
