// /metrics text and /v1/endpoints items, exactly.
#include <gtest/gtest.h>

#include "agent/http/render.h"

namespace strand::agent::http {
namespace {

TEST(EscapeLabel, TextFormatEscapes) { EXPECT_EQ(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd"); }

TEST(RenderMetrics, EveryFamilyExactly) {
  MetricsInput in;
  MetricsInput::Endpoint a{{"default", "web-1"}, {}};
  a.stats.packets[STRAND_DIR_EGRESS] = 10;
  a.stats.bytes[STRAND_DIR_EGRESS] = 900;
  a.stats.packets[STRAND_DIR_INGRESS] = 8;
  a.stats.bytes[STRAND_DIR_INGRESS] = 700;
  a.stats.drops[STRAND_DIR_EGRESS][STRAND_DROP_CT_INVALID] = 2;
  a.stats.drops[STRAND_DIR_INGRESS][STRAND_DROP_CT_INVALID] = 4;
  a.stats.drops[STRAND_DIR_EGRESS][STRAND_DROP_TRUNCATED_L3] = 1;
  in.endpoints.push_back(a);
  in.endpoints.push_back({{"kube\"x", "db"}, {}});
  in.collector.flows_active = 3;
  flows::Histogram h({0.0001, 0.001});
  h.observe(0.00005);
  h.observe(0.0005);
  h.observe(2);
  in.collector.handshake = h;
  in.collector.map_entries = {{"ct", 6}, {"endpoints", 2}};
  in.collector.events_lost = 4;
  in.repairs = {{"host-route", 1}, {"reattach", 2}};
  in.handoffs = {{"run", 7}, {"declined-busy", 1}};
  in.policies = {5, 2};
  const std::string want =
      "# HELP strand_endpoint_packets_total Packets that passed a pod's host veth, by direction seen from the pod.\n"
      "# TYPE strand_endpoint_packets_total counter\n"
      "strand_endpoint_packets_total{namespace=\"default\",pod=\"web-1\",direction=\"egress\"} 10\n"
      "strand_endpoint_packets_total{namespace=\"default\",pod=\"web-1\",direction=\"ingress\"} 8\n"
      "strand_endpoint_packets_total{namespace=\"kube\\\"x\",pod=\"db\",direction=\"egress\"} 0\n"
      "strand_endpoint_packets_total{namespace=\"kube\\\"x\",pod=\"db\",direction=\"ingress\"} 0\n"
      "# HELP strand_endpoint_bytes_total Bytes (skb->len, Ethernet header included) that passed a pod's host veth, "
      "by direction.\n"
      "# TYPE strand_endpoint_bytes_total counter\n"
      "strand_endpoint_bytes_total{namespace=\"default\",pod=\"web-1\",direction=\"egress\"} 900\n"
      "strand_endpoint_bytes_total{namespace=\"default\",pod=\"web-1\",direction=\"ingress\"} 700\n"
      "strand_endpoint_bytes_total{namespace=\"kube\\\"x\",pod=\"db\",direction=\"egress\"} 0\n"
      "strand_endpoint_bytes_total{namespace=\"kube\\\"x\",pod=\"db\",direction=\"ingress\"} 0\n"
      "# HELP strand_drops_total Packets dropped at a pod's host veth, by direction (egress: leaving the pod) and "
      "reason.\n"
      "# TYPE strand_drops_total counter\n"
      "strand_drops_total{namespace=\"default\",pod=\"web-1\",direction=\"egress\",reason=\"truncated-l3\"} 1\n"
      "strand_drops_total{namespace=\"default\",pod=\"web-1\",direction=\"egress\",reason=\"ct-invalid\"} 2\n"
      "strand_drops_total{namespace=\"default\",pod=\"web-1\",direction=\"ingress\",reason=\"ct-invalid\"} 4\n"
      "# HELP strand_flows_active Connections tracked in ct that have not ended.\n"
      "# TYPE strand_flows_active gauge\n"
      "strand_flows_active 3\n"
      "# HELP strand_tcp_handshake_seconds TCP handshake time, SYN to SYN-ACK at the pod's host veth.\n"
      "# TYPE strand_tcp_handshake_seconds histogram\n"
      "strand_tcp_handshake_seconds_bucket{le=\"0.0001\"} 1\n"
      "strand_tcp_handshake_seconds_bucket{le=\"0.001\"} 2\n"
      "strand_tcp_handshake_seconds_bucket{le=\"+Inf\"} 3\n"
      "strand_tcp_handshake_seconds_sum 2.00055\n"
      "strand_tcp_handshake_seconds_count 3\n"
      "# HELP strand_repairs_total Kernel state the agent put back, by kind.\n"
      "# TYPE strand_repairs_total counter\n"
      "strand_repairs_total{kind=\"host-route\"} 1\n"
      "strand_repairs_total{kind=\"reattach\"} 2\n"
      "# HELP strand_cni_handoffs_total CNI verbs the plugin offered the agent: run by the agent, or declined and why.\n"
      "# TYPE strand_cni_handoffs_total counter\n"
      "strand_cni_handoffs_total{result=\"declined-busy\"} 1\n"
      "strand_cni_handoffs_total{result=\"run\"} 7\n"
      "# HELP strand_bpf_map_entries Entries in the node datapath's pinned maps.\n"
      "# TYPE strand_bpf_map_entries gauge\n"
      "strand_bpf_map_entries{map=\"ct\"} 6\n"
      "strand_bpf_map_entries{map=\"endpoints\"} 2\n"
      "# HELP strand_events_lost_total Datapath events (drops, flow ends) not delivered: ringbuf full or "
      "per-endpoint rate limit.\n"
      "# TYPE strand_events_lost_total counter\n"
      "strand_events_lost_total 4\n"
      "# HELP strand_policies NetworkPolicies by state: not_enforced ones (a field the agent cannot enforce) fail "
      "their pods closed.\n"
      "# TYPE strand_policies gauge\n"
      "strand_policies{state=\"enforced\"} 5\n"
      "strand_policies{state=\"not_enforced\"} 2\n";
  EXPECT_EQ(render_metrics(in), want);
}

TEST(RenderMetrics, HistogramBucketsOnBounds) {
  flows::Histogram h({1, 2});
  h.observe(1);  // le="1" includes 1
  h.observe(2);
  h.observe(2.5);
  EXPECT_EQ(h.counts, (std::vector<uint64_t>{1, 1, 1}));
  EXPECT_EQ(h.count, 3u);
  EXPECT_DOUBLE_EQ(h.sum, 5.5);
}

TEST(EndpointJson, AttachedWithStats) {
  EndpointRecord r;
  r.container_id = "c1";
  r.ifname = "eth0";
  r.host_ifname = "st1a2b3c4d5e6f";
  r.host_ifindex = 12;
  r.pod_namespace = "default";
  r.pod_name = "web-1";
  r.ips = {*IpPrefix::parse("10.244.1.5/32"), *IpPrefix::parse("fd00:10:244:1::5/128")};
  strand_endpoint e{12, 0, STRAND_EP_F_ENFORCE_INGRESS, 0};
  strand_ep_stats st{};
  st.packets[0] = 10;
  st.bytes[0] = 900;
  st.packets[1] = 9;
  st.bytes[1] = 800;
  st.drops[STRAND_DIR_INGRESS][STRAND_DROP_CT_INVALID] = 1;
  auto want = nlohmann::json::parse(R"({
    "namespace": "default", "pod": "web-1", "containerId": "c1", "ifname": "eth0",
    "hostIfname": "st1a2b3c4d5e6f", "ifindex": 12, "epId": 12, "identity": 0,
    "ips": ["10.244.1.5", "fd00:10:244:1::5"], "attached": true,
    "enforce": {"ingress": true, "egress": false, "audit": false},
    "stats": {"egress": {"packets": 10, "bytes": 900}, "ingress": {"packets": 9, "bytes": 800},
              "drops": {"ct-invalid": 1}}})");
  EXPECT_EQ(endpoint_json(r, e, &st), want);
}

TEST(EndpointJson, NotAttached) {
  EndpointRecord r;
  r.host_ifindex = 3;
  auto j = endpoint_json(r, std::nullopt, nullptr);
  EXPECT_EQ(j["attached"], false);
  EXPECT_EQ(j["epId"], nullptr);
  EXPECT_EQ(j["stats"]["egress"], (nlohmann::json{{"packets", 0}, {"bytes", 0}}));
  EXPECT_EQ(j["stats"]["drops"], nlohmann::json::object());
}

}  // namespace
}  // namespace strand::agent::http
