// JSON bodies (docs/api.md shapes) -> table rows and status text.
#include "ctl/render.h"

#include <gtest/gtest.h>

#include "ctl/policies.h"
#include "ctl/why.h"

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
            (Row{"POD", "DIR", "PROTO", "SRC", "DST", "STATE", "TX", "RX", "RTT", "AGE", "VERDICT", "POLICY"}));
  EXPECT_EQ(flow_row(json::parse(canned::kFlowTcp), now),
            (Row{"default/web-1", "egress", "TCP", "10.244.1.5:40312", "10.244.2.7:8080", "established", "6p/470B",
                 "4p/330B", "42us", "2m12s", "allowed", "default/allow-egress egress[0]"}));
  EXPECT_EQ(flow_row(json::parse(canned::kFlowIcmp6), now),
            (Row{"default/web-1", "ingress", "ICMPv6", "fd00:10:244:2::7", "fd00:10:244:1::5", "closed", "3p/354B",
                 "3p/354B", "-", "5s", "allowed", "-"}));
  EXPECT_EQ(flow_row(json::parse(canned::kFlowUdp6), now),
            (Row{"kube-system/coredns-7db6d8ff4d-x2x9q", "ingress", "UDP", "[fd00:10:244:1::5]:53211",
                 "[fd00:10:244:1::6]:53", "established", "1p/150B", "1p/90B", "-", "2h4m", "allowed", "-"}));
}

TEST(CtlRender, DropsRows) {
  const int64_t now = canned::kNowMs;
  EXPECT_EQ(drop_headers(), (Row{"TIME", "POD", "DIR", "REASON", "PROTO", "SRC", "DST", "POLICY"}));
  EXPECT_EQ(drop_row(json::parse(canned::kDropPolicy), now),
            (Row{"19:04:05.023", "default/web-1", "ingress", "policy-denied", "TCP", "10.244.2.7:50000",
                 "10.244.1.5:8080", "isolated by default/allow-web"}));
  EXPECT_EQ(drop_row(json::parse(canned::kDropUnparsed), now),
            (Row{"2026-11-20T08:00:00", "default/web-1", "egress", "unparsed", "UDP", "[fd00:10:244:1::5]:5353",
                 "[fd00:10:244:2::7]:53", "-"}));
}

TEST(CtlRender, MissingOrOddFieldsShowDash) {
  const Row f = flow_row(json::parse(R"({"seq": 1, "protocol": 6, "tx": "bogus", "handshakeRttUs": -1})"), 0);
  EXPECT_EQ(f, (Row{"-", "-", "6", "-", "-", "-", "-", "-", "-", "-", "-", "-"}));
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
                                                 "1p/98B", "0p/0B", "-", "1s", "allowed", "-"}));
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

// ---- the POLICY column ----

std::string cell(const char* policy, bool audit = false) { return policy_cell(json::parse(policy), audit); }

TEST(CtlPolicyCell, EachVerdict) {
  EXPECT_EQ(cell(R"({"direction": "ingress", "index": 0, "policy": "x/allow-web", "ruleId": 17, "verdict": "allowed"})"),
            "x/allow-web ingress[0]");
  // The rule's policy was deleted since the flow started.
  EXPECT_EQ(cell(R"({"policy": null, "ruleId": 23, "verdict": "allowed"})"), "rule 23 (policy gone)");
  EXPECT_EQ(cell(R"({"ruleId": 1, "verdict": "host"})"), "host");
  EXPECT_EQ(cell(R"({"ruleId": 3, "verdict": "related"})"), "related");
  EXPECT_EQ(cell(R"({"ruleId": 0, "verdict": "not-isolated"})"), "-");
  EXPECT_EQ(cell("null"), "-");
  EXPECT_EQ(cell(R"({"isolatedBy": ["x/deny-all"], "ruleId": 2, "verdict": "isolated"})"), "isolated by x/deny-all");
  EXPECT_EQ(cell(R"({"isolatedBy": ["x/deny-all"], "ruleId": 2, "verdict": "isolated"})", true),
            "audit: isolated by x/deny-all");
  EXPECT_EQ(cell(R"({"isolatedBy": ["x/a", "x/b"], "ruleId": 2, "verdict": "isolated"})"), "isolated by x/a,x/b");
  EXPECT_EQ(cell(R"({"isolatedBy": ["x/a", "x/b", "x/c", "x/d"], "ruleId": 2, "verdict": "isolated"})"),
            "isolated by x/a,x/b +2 more");
  // The policies went away between the drop and the request.
  EXPECT_EQ(cell(R"({"isolatedBy": [], "ruleId": 2, "verdict": "isolated"})"), "isolated");
  EXPECT_EQ(cell(R"({"ruleId": 9, "verdict": "something-new"})"), "something-new");
}

TEST(CtlPolicyCell, DropsAndFlowsRows) {
  // Drops: "audit: " only for policy-audit; flows: an isolated flow was passed by audit.
  const json audit_drop = json::parse(R"({"reason": "policy-audit",
    "policy": {"isolatedBy": ["y/deny-all", "y/allow-z", "y/other"], "ruleId": 2, "verdict": "isolated"}})");
  EXPECT_EQ(drop_row(audit_drop, 0).back(), "audit: isolated by y/deny-all,y/allow-z +1 more");
  const json denied_drop = json::parse(R"({"reason": "policy-denied",
    "policy": {"isolatedBy": ["y/deny-all"], "ruleId": 2, "verdict": "isolated"}})");
  EXPECT_EQ(drop_row(denied_drop, 0).back(), "isolated by y/deny-all");
  const json audited_flow = json::parse(R"({"verdict": "audit",
    "policy": {"isolatedBy": ["y/deny-all"], "ruleId": 2, "verdict": "isolated"}})");
  EXPECT_EQ(flow_row(audited_flow, 0).back(), "audit: isolated by y/deny-all");
  EXPECT_EQ(flow_row(audited_flow, 0)[10], "audit");  // VERDICT
  // An older agent said "allowed" for it: the POLICY cell still tells.
  const json older = json::parse(R"({"verdict": "allowed",
    "policy": {"isolatedBy": ["y/deny-all"], "ruleId": 2, "verdict": "isolated"}})");
  EXPECT_EQ(flow_row(older, 0).back(), "audit: isolated by y/deny-all");
  const json host_flow = json::parse(R"({"verdict": "allowed", "policy": {"ruleId": 1, "verdict": "host"}})");
  EXPECT_EQ(flow_row(host_flow, 0).back(), "host");
}

// ---- strandctl policies ----

TEST(CtlPolicies, Table) {
  EXPECT_EQ(render_policies(json::parse(canned::kPolicies)),
            "NAMESPACE    NAME       TYPES           ENFORCED  SELECTS      LOCAL       RULES  HITS\n"
            "default      allow-web  Ingress         yes       web-1,web-2  web-1       2      12\n"
            "default      deny-all   Ingress,Egress  yes       5 pods       web-1,db-0  0      -\n"
            "kube-system  odd        Egress          no        none         none        1      -\n"
            "not enforced: kube-system/odd: egress[0].ports[0]: named port \"dns\" not supported\n"
            "Isolation denies:  7\n"
            "Model version:     42 (applied 41)\n"
            "Generation:        3\n");
}

TEST(CtlPolicies, EmptyAndUnknownCounts) {
  // An agent without enforcement: no hits, no isolation counter.
  EXPECT_EQ(render_policies(json::parse(R"({"items": [], "isolationDenies": null, "generation": 0,
                                           "modelVersion": 0, "appliedVersion": 0})")),
            "NAMESPACE  NAME  TYPES  ENFORCED  SELECTS  LOCAL  RULES  HITS\n"
            "Isolation denies:  -\n"
            "Model version:     0 (applied 0)\n"
            "Generation:        0\n");
  EXPECT_EQ(policy_row(json::parse(R"({"namespace": "x", "name": "p"})")),
            (Row{"x", "p", "-", "-", "-", "-", "-", "-"}));
  // Pods of another namespace are named with it; hits sum what is known.
  EXPECT_EQ(policy_row(json::parse(R"({"namespace": "x", "name": "p", "policyTypes": ["Ingress"], "enforced": true,
    "selects": [{"namespace": "x", "pod": "a"}, {"namespace": "y", "pod": "b"}], "endpoints": [],
    "rules": [{"direction": "ingress", "index": 0, "hits": 5}, {"direction": "ingress", "index": 1, "hits": null},
              {"direction": "ingress", "index": 2, "hits": 2}]})")),
            (Row{"x", "p", "Ingress", "yes", "a,y/b", "none", "3", "7"}));
}

TEST(CtlPolicies, NamespaceFilterKeepsTheRestOfTheBody) {
  const json body = json::parse(canned::kPolicies);
  const json only = filter_policies(body, "kube-system");
  ASSERT_EQ(only["items"].size(), 1u);
  EXPECT_EQ(only["items"][0], body["items"][2]);
  EXPECT_EQ(only["isolationDenies"], 7);
  EXPECT_EQ(only["modelVersion"], 42);
  EXPECT_EQ(filter_policies(body, "nope")["items"], json::array());
  EXPECT_EQ(filter_policies(body, std::nullopt), body);
}

// ---- strandctl why ----

TEST(CtlWhy, DeniedByIsolationOnIngress) {
  const json body = json::parse(canned::kWhyDeniedIngress);
  EXPECT_EQ(why_allowed(body), false);
  EXPECT_EQ(render_why(body),
            "DENIED  x/a -> y/b 80/TCP\n"
            "  egress of x/a:   allowed: not isolated, no policy selects x/a for egress\n"
            "  ingress of y/b:  denied: isolated by y/allow-z, y/deny-all and no ingress rule of them allows x/a on "
            "80/TCP\n");
}

TEST(CtlWhy, AllowedByARuleOnEachSide) {
  const json body = json::parse(canned::kWhyAllowed);
  EXPECT_EQ(why_allowed(body), true);
  EXPECT_EQ(render_why(body),
            "ALLOWED  x/a -> y/b 53/UDP\n"
            "  egress of x/a:   allowed by x/allow-dns egress[1] (rule 21); isolated by x/allow-dns\n"
            "  ingress of y/b:  allowed by y/allow-web ingress[0] (rule 17); isolated by y/allow-web, y/deny-all\n");
}

TEST(CtlWhy, DeniedOnEgressToAnAddressWithoutEnforcement) {
  EXPECT_EQ(render_why(json::parse(canned::kWhyDeniedEgress)),
            "DENIED  x/a -> 192.0.2.10 443/TCP\n"
            "  egress of x/a:          denied: isolated by x/deny-egress and no egress rule of it allows 192.0.2.10 on "
            "443/TCP\n"
            "  ingress of 192.0.2.10:  allowed: not a pod, no ingress policy applies\n"
            "  note: this agent does not enforce NetworkPolicy; the verdict is what the policies say\n");
}

TEST(CtlWhy, ExemptTrafficAndUnknownShapes) {
  // Node traffic: the agent's side reasons say why no policy applies; an
  // allowing rule without a rule id (no enforcer) has no "(rule N)".
  EXPECT_EQ(render_why(json::parse(R"({"allowed": true, "from": "x/a", "to": "10.0.0.1", "port": 22,
    "protocol": "TCP", "reason": "node traffic: x/a to 10.0.0.1 always passes", "enforcing": true,
    "egress": {"allowed": true, "allowedBy": null, "isolatedBy": [], "reason": "node"},
    "ingress": {"allowed": true, "allowedBy": {"direction": "ingress", "index": 2, "policy": "y/p", "ruleId": null},
                "isolatedBy": ["y/p"], "reason": "x"}})")),
            "ALLOWED  x/a -> 10.0.0.1 22/TCP\n"
            "  egress of x/a:        allowed: node\n"
            "  ingress of 10.0.0.1:  allowed by y/p ingress[2]; isolated by y/p\n");
  // No sides at all: the one-line reason.
  EXPECT_EQ(render_why(json::parse(R"({"allowed": false, "from": "x/a", "to": "y/b", "port": 1, "protocol": "SCTP",
                                      "reason": "denied for reasons"})")),
            "DENIED  x/a -> y/b 1/SCTP\n  denied for reasons\n");
  EXPECT_EQ(why_allowed(json::parse(R"({"allowed": "yes"})")), std::nullopt);
  EXPECT_EQ(why_allowed(json::parse("[]")), std::nullopt);
}

TEST(CtlWhy, EndpointArguments) {
  for (const char* ok : {"x/a", "kube-system/coredns-7db6d8ff4d-x2x9q", "web.v2/pod.1", "10.0.0.1", "fd00::1", "::1"})
    EXPECT_EQ(check_why_endpoint(ok), "") << ok;
  EXPECT_EQ(check_why_endpoint("web-1"), "want NAMESPACE/POD or an IP address, got \"web-1\"");
  for (const char* bad : {"", "/a", "x/", "x/a/b", "X/a", "x/a b", "10.0.0.256", "x//a"})
    EXPECT_EQ(check_why_endpoint(bad), std::string("want NAMESPACE/POD or an IP address, got \"") + bad + "\"") << bad;
  EXPECT_EQ(check_why_endpoint("10.0.0.0/24"), "want an address without a prefix length, got \"10.0.0.0/24\"");
  EXPECT_EQ(check_why_endpoint("fd00::/64"), "want an address without a prefix length, got \"fd00::/64\"");
}

TEST(CtlWhy, PortArguments) {
  EXPECT_EQ(normalize_port("80"), "80/TCP");
  EXPECT_EQ(normalize_port("53/udp"), "53/UDP");
  EXPECT_EQ(normalize_port("9/Sctp"), "9/SCTP");
  EXPECT_EQ(normalize_port("65535/TCP"), "65535/TCP");
  EXPECT_EQ(normalize_port("1"), "1/TCP");
  for (const char* bad : {"0", "65536", "", "/TCP", "http", "80x", "-1", "+80", " 80"})
    EXPECT_EQ(normalize_port(bad).error(), std::string("want PORT or PORT/PROTO with PORT 1..65535, got \"") + bad + "\"")
        << bad;
  for (const char* bad : {"80/ICMP", "80/", "80/tcp/x", "53/UDPx"})
    EXPECT_EQ(normalize_port(bad).error(), std::string("protocol must be TCP, UDP or SCTP, got \"") + bad + "\"") << bad;
}

}  // namespace
}  // namespace strand::ctl
