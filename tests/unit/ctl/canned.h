#pragma once
// Bodies shaped exactly as docs/api.md documents them (the draft contract),
// with concrete values in place of its "..." placeholders.
namespace strand::ctl::canned {

// 2026-11-23T19:04:05.123Z
inline constexpr long long kNowMs = 1795460645123LL;

inline constexpr const char* kEndpoints = R"({"items": [{
  "namespace": "default", "pod": "web-1",
  "containerId": "0f1e2d3c4b5a", "ifname": "eth0", "hostIfname": "st1a2b3c4d5e6f", "ifindex": 12,
  "epId": 12, "identity": 0, "ips": ["10.244.1.5", "fd00:10:244:1::5"],
  "attached": true,
  "enforce": {"ingress": false, "egress": false, "audit": false},
  "stats": {
    "egress":  {"packets": 10, "bytes": 900},
    "ingress": {"packets": 2048, "bytes": 1363149},
    "drops": {"policy-denied": 3, "unparsed": 1}
  }},
 {"namespace": "kube-system", "pod": "coredns-7db6d8ff4d-x2x9q",
  "containerId": "aa11", "ifname": "eth0", "hostIfname": "st99aa00bb11cc", "ifindex": 14,
  "epId": 14, "identity": 0, "ips": ["10.244.1.6"],
  "attached": true,
  "enforce": {"ingress": false, "egress": false, "audit": false},
  "stats": {
    "egress":  {"packets": 0, "bytes": 0},
    "ingress": {"packets": 1, "bytes": 1024},
    "drops": {}
  }}]})";

inline constexpr const char* kFlowTcp = R"({
  "seq": 17, "namespace": "default", "pod": "web-1",
  "direction": "egress",
  "family": 4, "protocol": "TCP",
  "src": "10.244.1.5", "srcPort": 40312, "dst": "10.244.2.7", "dstPort": 8080,
  "state": "established", "active": true,
  "tx": {"packets": 6, "bytes": 470}, "rx": {"packets": 4, "bytes": 330},
  "tcpFlags": {"tx": "SYN|ACK|PSH", "rx": "SYN|ACK"},
  "handshakeRttUs": 42,
  "firstSeen": "2026-11-23T19:01:53.123000000Z", "firstSeenMs": 1795460513123,
  "lastSeen": "2026-11-23T19:04:04.000000000Z", "lastSeenMs": 1795460644000,
  "verdict": "allowed", "rule": null,
  "policy": {"direction": "egress", "index": 0, "policy": "default/allow-egress", "ruleId": 19, "verdict": "allowed"}})";

inline constexpr const char* kFlowIcmp6 = R"({
  "seq": 18, "namespace": "default", "pod": "web-1",
  "direction": "ingress",
  "family": 6, "protocol": "ICMPv6",
  "src": "fd00:10:244:2::7", "srcPort": 0, "dst": "fd00:10:244:1::5", "dstPort": 0,
  "state": "closed", "active": false,
  "tx": {"packets": 3, "bytes": 354}, "rx": {"packets": 3, "bytes": 354},
  "tcpFlags": {"tx": "", "rx": ""},
  "handshakeRttUs": null,
  "firstSeen": "2026-11-23T19:04:00.123000000Z", "firstSeenMs": 1795460640123,
  "lastSeen": "2026-11-23T19:04:02.123000000Z", "lastSeenMs": 1795460642123,
  "verdict": "allowed", "policy": null, "rule": null})";

inline constexpr const char* kFlowUdp6 = R"({
  "seq": 19, "namespace": "kube-system", "pod": "coredns-7db6d8ff4d-x2x9q",
  "direction": "ingress",
  "family": 6, "protocol": "UDP",
  "src": "fd00:10:244:1::5", "srcPort": 53211, "dst": "fd00:10:244:1::6", "dstPort": 53,
  "state": "established", "active": true,
  "tx": {"packets": 1, "bytes": 150}, "rx": {"packets": 1, "bytes": 90},
  "tcpFlags": {"tx": "", "rx": ""},
  "handshakeRttUs": null,
  "firstSeen": "2026-11-23T17:00:05.123000000Z", "firstSeenMs": 1795453205123,
  "lastSeen": "2026-11-23T19:04:05.000000000Z", "lastSeenMs": 1795460645000,
  "verdict": "allowed", "rule": null, "policy": {"ruleId": 0, "verdict": "not-isolated"}})";

inline constexpr const char* kDropPolicy = R"({
  "seq": 3, "time": "2026-11-23T19:04:05.023000000Z", "timeMs": 1795460645023,
  "namespace": "default", "pod": "web-1", "direction": "ingress",
  "reason": "policy-denied",
  "family": 4, "protocol": "TCP",
  "src": "10.244.2.7", "srcPort": 50000, "dst": "10.244.1.5", "dstPort": 8080,
  "length": 74, "rule": null,
  "policy": {"ruleId": 2, "verdict": "isolated", "isolatedBy": ["default/allow-web"]}})";

inline constexpr const char* kDropUnparsed = R"({
  "seq": 4, "time": "2026-11-20T08:00:00.500000000Z", "timeMs": 1795161600500,
  "namespace": "default", "pod": "web-1", "direction": "egress",
  "reason": "unparsed",
  "family": 6, "protocol": "UDP",
  "src": "fd00:10:244:1::5", "srcPort": 5353, "dst": "fd00:10:244:2::7", "dstPort": 53,
  "length": 60, "policy": null, "rule": null})";

// /v1/policies (keys in the agent's alphabetical order): default/allow-web
// selects two pods, one of them on this node; default/deny-all selects five;
// kube-system/odd is not enforced.
inline constexpr const char* kPolicies = R"({"appliedVersion": 41, "generation": 3, "isolationDenies": 7,
 "items": [
  {"enforced": true, "endpoints": [{"directions": ["ingress"], "namespace": "default", "pod": "web-1"}],
   "name": "allow-web", "namespace": "default", "policyTypes": ["Ingress"],
   "rules": [{"direction": "ingress", "hits": 12, "index": 0, "ruleId": 17},
             {"direction": "ingress", "hits": 0, "index": 1, "ruleId": 18}],
   "selects": [{"namespace": "default", "pod": "web-1"}, {"namespace": "default", "pod": "web-2"}]},
  {"enforced": true,
   "endpoints": [{"directions": ["ingress", "egress"], "namespace": "default", "pod": "web-1"},
                 {"directions": ["ingress", "egress"], "namespace": "default", "pod": "db-0"}],
   "name": "deny-all", "namespace": "default", "policyTypes": ["Ingress", "Egress"], "rules": [],
   "selects": [{"namespace": "default", "pod": "db-0"}, {"namespace": "default", "pod": "db-1"},
               {"namespace": "default", "pod": "web-1"}, {"namespace": "default", "pod": "web-2"},
               {"namespace": "default", "pod": "worker-0"}]},
  {"enforced": false, "endpoints": [], "name": "odd", "namespace": "kube-system", "policyTypes": ["Egress"],
   "reason": "egress[0].ports[0]: named port \"dns\" not supported",
   "rules": [{"direction": "egress", "hits": null, "index": 0, "ruleId": null}],
   "selects": []}],
 "modelVersion": 42})";

// /v1/why answers (keys in the agent's alphabetical order).
// x/a -> y/b 80/TCP: the source is not isolated, the destination is isolated
// by two policies and neither allows x/a.
inline constexpr const char* kWhyDeniedIngress = R"js({"allowed": false,
 "egress": {"allowed": true, "allowedBy": null, "isolatedBy": [], "reason": "egress of x/a not isolated"},
 "enforcing": true, "from": "x/a",
 "ingress": {"allowed": false, "allowedBy": null, "isolatedBy": ["y/allow-z", "y/deny-all"],
             "reason": "ingress of y/b isolated by y/allow-z, y/deny-all, no rule allows"},
 "port": 80, "protocol": "TCP",
 "reason": "denied x/a -> y/b 80/TCP: egress of x/a not isolated; ingress of y/b isolated by y/allow-z, y/deny-all, no rule allows",
 "to": "y/b"})js";

// x/a -> y/b 53/UDP: both sides isolated and allowed by a rule each.
inline constexpr const char* kWhyAllowed = R"js({"allowed": true,
 "egress": {"allowed": true, "allowedBy": {"direction": "egress", "index": 1, "policy": "x/allow-dns", "ruleId": 21},
            "isolatedBy": ["x/allow-dns"], "reason": "egress of x/a allowed by x/allow-dns egress[1]"},
 "enforcing": true, "from": "x/a",
 "ingress": {"allowed": true, "allowedBy": {"direction": "ingress", "index": 0, "policy": "y/allow-web", "ruleId": 17},
             "isolatedBy": ["y/allow-web", "y/deny-all"], "reason": "ingress of y/b allowed by y/allow-web ingress[0]"},
 "port": 53, "protocol": "UDP",
 "reason": "allowed x/a -> y/b 53/UDP: egress of x/a allowed by x/allow-dns egress[1]; ingress of y/b allowed by y/allow-web ingress[0]",
 "to": "y/b"})js";

// x/a -> 192.0.2.10 443/TCP on an agent that does not enforce: the source's
// egress is isolated by one policy without a matching rule; an outside
// address has no ingress policy.
inline constexpr const char* kWhyDeniedEgress = R"js({"allowed": false,
 "egress": {"allowed": false, "allowedBy": null, "isolatedBy": ["x/deny-egress"],
            "reason": "egress of x/a isolated by x/deny-egress, no rule allows"},
 "enforcing": false, "from": "x/a",
 "ingress": {"allowed": true, "allowedBy": null, "isolatedBy": [], "reason": "no ingress policy (not a pod)"},
 "port": 443, "protocol": "TCP",
 "reason": "denied x/a -> 192.0.2.10 443/TCP: egress of x/a isolated by x/deny-egress, no rule allows; no ingress policy (not a pod)",
 "to": "192.0.2.10"})js";

inline constexpr const char* kReady = R"({"ready": true, "checks": {"datapath": "ok", "socket": "ok", "sources": "ok"}})";
inline constexpr const char* kNotReady =
    R"({"ready": false, "checks": {"datapath": "ok", "socket": "not listening", "sources": "ok"}})";

}  // namespace strand::ctl::canned
