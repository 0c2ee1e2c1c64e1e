// JSON bodies (docs/api.md shapes) -> table rows and status text.
#include "ctl/render.h"

#include <gtest/gtest.h>

#include "canned.h"

namespace strand::ctl {
namespace {

json body_of(std::initializer_list<const char*> items) {
  json b{{"items", json::array()}};
  for (const char* it : items) b["items"].push_back(json::parse(it));
  return b;
}

std::string table_of(const json& body, Row (*headers)(), Row (*row)(const json&, int64_t)) {
  std::vector<Row> rows;
  for (const json& it : items_of(body)) rows.push_back(row(it, canned::kNowMs));
  return render_table(headers(), rows);
}

Row endpoint_row_at(const json& it, int64_t) { return endpoint_row(it); }

TEST(CtlRender, EndpointsTable) {
  EXPECT_EQ(table_of(json::parse(canned::kEndpoints), endpoint_headers, endpoint_row_at),
            "NAMESPACE    POD                       IFNAME  HOST-IF         IPS                          "
            "TX-PKTS  TX-BYTES  RX-PKTS  RX-BYTES  DROPS\n"
            "default      web-1                     eth0    st1a2b3c4d5e6f  10.244.1.5,fd00:10:244:1::5  "
            "10       900B      2048     1.3MiB    4\n"
            "kube-system  coredns-7db6d8ff4d-x2x9q  eth0    st99aa00bb11cc  10.244.1.6                   "
            "0        0B        1        1.0KiB    0\n");
}

TEST(CtlRender, EndpointTxIsEgressRxIsIngress) {
  const Row r = endpoint_row(json::parse(R"({"stats": {"egress": {"packets": 1, "bytes": 2},
                                                       "ingress": {"packets": 3, "bytes": 4}}})"));
  ASSERT_EQ(r.size(), endpoint_headers().size());
  EXPECT_EQ(r[5], "1");
  EXPECT_EQ(r[6], "2B");
  EXPECT_EQ(r[7], "3");
  EXPECT_EQ(r[8], "4B");
  EXPECT_EQ(r[9], "-");  // no drops object at all
}

TEST(CtlRender, FlowsRows) {
  const int64_t now = canned::kNowMs;
  EXPECT_EQ(flow_headers(),
            (Row{"POD", "DIR", "PROTO", "SRC", "DST", "STATE", "TX", "RX", "RTT", "AGE", "VERDICT"}));
  EXPECT_EQ(flow_row(json::parse(canned::kFlowTcp), now),
            (Row{"default/web-1", "egress", "TCP", "10.244.1.5:40312", "10.244.2.7:8080", "established", "6p/470B",
                 "4p/330B", "42us", "2m12s", "allowed"}));
  EXPECT_EQ(flow_row(json::parse(canned::kFlowIcmp6), now),
            (Row{"default/web-1", "ingress", "ICMPv6", "fd00:10:244:2::7", "fd00:10:244:1::5", "closed", "3p/354B",
                 "3p/354B", "-", "5s", "allowed"}));
  EXPECT_EQ(flow_row(json::parse(canned::kFlowUdp6), now),
            (Row{"kube-system/coredns-7db6d8ff4d-x2x9q", "ingress", "UDP", "[fd00:10:244:1::5]:53211",
                 "[fd00:10:244:1::6]:53", "established", "1p/150B", "1p/90B", "-", "2h4m", "allowed"}));
}

TEST(CtlRender, DropsRows) {
  const int64_t now = canned::kNowMs;
  EXPECT_EQ(drop_headers(), (Row{"TIME", "POD", "DIR", "REASON", "PROTO", "SRC", "DST", "POLICY"}));
  EXPECT_EQ(drop_row(json::parse(canned::kDropPolicy), now),
            (Row{"19:04:05.023", "default/web-1", "ingress", "policy-denied", "TCP", "10.244.2.7:50000",
                 "10.244.1.5:8080", "default/allow-web[0]"}));
  EXPECT_EQ(drop_row(json::parse(canned::kDropUnparsed), now),
            (Row{"2026-11-20T08:00:00", "default/web-1", "egress", "unparsed", "UDP", "[fd00:10:244:1::5]:5353",
                 "[fd00:10:244:2::7]:53", "-"}));
}

TEST(CtlRender, MissingOrOddFieldsShowDash) {
  const Row f = flow_row(json::parse(R"({"seq": 1, "protocol": 6, "tx": "bogus", "handshakeRttUs": -1})"), 0);
  EXPECT_EQ(f, (Row{"-", "-", "6", "-", "-", "-", "-", "-", "-", "-", "-"}));
  const Row d = drop_row(json::parse("[]"), 0);
  EXPECT_EQ(d, (Row{"-", "-", "-", "-", "-", "-", "-", "-"}));
  EXPECT_TRUE(items_of(json::parse(R"({"items": 3})")).empty());
  EXPECT_TRUE(items_of(json::parse("[1, 2]")).empty());
}

TEST(CtlRender, NullFieldsRenderAsDash) {
  // Shapes the agent sends when it cannot tell: a portless protocol, an
  // endpoint it no longer knows, a drop too short to parse.
  const json flow = json::parse(R"({"seq": 5, "namespace": null, "pod": null, "direction": "egress", "family": 4,
    "protocol": "ICMP", "src": "10.244.1.5", "srcPort": null, "dst": "10.244.2.7", "dstPort": null,
    "state": "established", "active": true, "end": null, "tx": {"packets": 1, "bytes": 98},
    "rx": {"packets": 0, "bytes": 0}, "tcpFlags": null, "handshakeRttUs": null, "firstSeenMs": 1795460644123,
    "verdict": "allowed", "policy": null, "rule": null})");
  EXPECT_EQ(flow_row(flow, canned::kNowMs), (Row{"-", "egress", "ICMP", "10.244.1.5", "10.244.2.7", "established",
                                                 "1p/98B", "0p/0B", "-", "1s", "allowed"}));
  const json drop = json::parse(R"({"seq": 9, "timeMs": 1795460645123, "namespace": "default", "pod": "web-1",
    "direction": "ingress", "reason": "unparsed", "family": null, "protocol": null, "src": null, "srcPort": null,
    "dst": null, "dstPort": null, "length": 9, "policy": null, "rule": null})");
  EXPECT_EQ(drop_row(drop, canned::kNowMs),
            (Row{"19:04:05.123", "default/web-1", "ingress", "unparsed", "-", "-", "-", "-"}));
}

TEST(CtlRender, EndpointAddressForms) {
  const json tcp = json::parse(R"({"protocol": "TCP", "src": "fd00::1", "srcPort": 80, "dst": "10.0.0.1"})");
  EXPECT_EQ(format_endpoint(tcp, "src", "srcPort"), "[fd00::1]:80");
  EXPECT_EQ(format_endpoint(tcp, "dst", "dstPort"), "10.0.0.1");  // no port field
  const json icmp = json::parse(R"({"protocol": "ICMP", "src": "10.0.0.1", "srcPort": 7})");
  EXPECT_EQ(format_endpoint(icmp, "src", "srcPort"), "10.0.0.1");
}

TEST(CtlRender, SeqOrderingAndMax) {
  auto items = items_of(body_of({canned::kFlowUdp6, canned::kFlowTcp, canned::kFlowIcmp6}));
  sort_by_seq(items);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0]["seq"], 17);
  EXPECT_EQ(items[1]["seq"], 18);
  EXPECT_EQ(items[2]["seq"], 19);
  EXPECT_EQ(max_seq(items, 0), 19u);
  EXPECT_EQ(max_seq(items, 40), 40u);
  EXPECT_EQ(max_seq({}, 5), 5u);
}

TEST(CtlRender, StatusText) {
  StatusReport s;
  s.agent = "127.0.0.1:9464";
  s.health = "ok";
  s.ready_status = 503;
  s.ready = json::parse(canned::kNotReady);
  s.endpoints = 2;
  s.flows_active = 2;
  s.flows_ended = 1;
  s.events_lost = 7;
  EXPECT_EQ(render_status(s),
            "Agent:        127.0.0.1:9464\n"
            "Health:       ok\n"
            "Ready:        no (HTTP 503)\n"
            "  datapath:   ok\n"
            "  socket:     not listening\n"
            "  sources:    ok\n"
            "Endpoints:    2\n"
            "Flows:        2 active, 1 ended\n"
            "Events lost:  7\n");
  EXPECT_EQ(status_json(s).dump(),
            R"({"agent":"127.0.0.1:9464","health":"ok","readyStatus":503,)"
            R"("ready":{"ready":false,"checks":{"datapath":"ok","socket":"not listening","sources":"ok"}},)"
            R"("endpoints":2,"flows":{"active":2,"ended":1,"truncated":false},"eventsLost":7})");
}

}  // namespace
}  // namespace strand::ctl
