#pragma once
// The policy benchmark's rule set: N NetworkPolicies selecting the server pod,
// ten ingress rules each, and the same rule set as a plain iptables chain.
// Deterministic for a given spec (seed included); pure, no I/O.
//
// Cluster: namespace `bench` (team=bench) with the two local pods (server:
// role=server, client: role=client, on the local node) and, for the
// selectors, `remote_pods` pods on other nodes (label decoy=d<i>, IPv4 from
// 10.210.0.0/16): even i in `bench`, odd i in `other-<i/2 % 10>`
// (team=t<j>). No peer of the generated rules matches the client: the client
// reaches the server only through the one rule appended to the LAST policy
// (podSelector role=client, TCP on each of `allow_ports`), so an evaluator
// that walks rules in order walks all of them first.
//
// Each policy's ten rules (k = policy * 10 + rule gives every ipBlock its own
// /26 of 172.16.0.0/12):
//   0 ipBlock /28..32                       TCP one port (1024-6999)
//   1 ipBlock /26 except a /28 inside it    TCP port 8000, endPort 8001-8200
//   2 podSelector decoy=d<i> (bench)        TCP 7001
//   3 namespaceSelector team=t<j> AND podSelector decoy=d<i> (other-j)   TCP 5201
//   4 namespaceSelector team=absent-<k> (no such namespace: no pod)      UDP 53
//   5 two peers: ipBlock /30, podSelector decoy=d<i> (bench)             TCP 443
//   6 podSelector decoy In [d<i>] (matchExpressions, bench)              UDP one port
//   7 ipBlock /27                           UDP 10000, endPort 10001-10100
//   8 ipBlock /32                           no ports (every protocol and port)
//   9 podSelector decoy=d<i> (bench)        TCP 7001, endPort 7002-7010
// Rendered as iptables: one rule per (matched pod IP or ipBlock) x port,
// which is 10 per policy (rule 4 matches no pod, rule 5 has two peers).
#include <cstdint>
#include <string>
#include <vector>

namespace strand::bench::policy {

struct GenSpec {
  size_t policies = 100;
  size_t remote_pods = 1000;  // pods of other nodes the selectors pick from (>= 2)
  uint64_t seed = 1;
  std::string node = "bench";        // the local node
  std::string server = "pod0";       // pod names in namespace bench (the CNI's K8S_POD_NAME)
  std::string client = "pod1";
  std::string server_ip = "10.103.0.2";
  std::string client_ip = "10.103.0.3";
  std::vector<uint16_t> allow_ports = {7001, 5201};
  size_t first_index = 0;  // policy names start at bench/p<first_index> (extra policies)
};

struct GenPod {
  std::string ns;
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string ip;  // IPv4
  std::string node;
};

struct GenNamespace {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
};

struct GenPeer {
  enum class Kind { kIpBlock, kPod, kNsPod, kNsOnly, kPodExpr } kind = Kind::kIpBlock;
  std::string cidr;                  // kIpBlock
  std::vector<std::string> except;   // kIpBlock
  std::string pod_label;             // kPod, kNsPod, kPodExpr: value of label decoy (or role)
  std::string pod_key = "decoy";
  std::string ns_label;              // kNsPod, kNsOnly: value of label team
  std::vector<std::string> ips;      // IPv4 of the existing pods it matches (iptables)
};

struct GenPort {
  std::string protocol = "TCP";  // TCP | UDP
  uint16_t port = 0;             // 0: every port of the protocol
  uint16_t end_port = 0;         // 0: none
};

struct GenRule {
  std::vector<GenPeer> peers;
  std::vector<GenPort> ports;  // empty: every protocol and port
};

struct GenPolicy {
  std::string ns = "bench";
  std::string name;
  std::vector<GenRule> ingress;
};

struct RuleSet {
  GenSpec spec;
  std::vector<GenNamespace> namespaces;
  std::vector<GenPod> pods;  // local (server, client) first, then remote
  std::vector<GenPolicy> policies;
};

inline constexpr size_t kRulesPerPolicy = 10;

// The rule set of `spec`. Without allow rule (allow = false) the client is
// denied everywhere (used for extra policies written during the latency test).
[[nodiscard]] RuleSet generate(const GenSpec& spec, bool allow = true);

// Manifests (JSON, `kind: List`) as the agent's --source-dir reads them: the
// namespaces and pods, and the policies (an empty List when there are none).
[[nodiscard]] std::string render_cluster(const RuleSet& rs);
[[nodiscard]] std::string render_policies(const RuleSet& rs);

// iptables-restore input (*filter) with the same meaning for the pods that
// exist: FORWARD jumps to chain STRAND-BENCH for traffic to the server;
// there, ESTABLISHED,RELATED is accepted first (unless ct_first is false:
// then every packet walks the list), then one ACCEPT per matched address and
// port in policy and rule order (an ipBlock with except jumps to a chain of
// its own that RETURNs for the excepted part), then DROP.
[[nodiscard]] std::string render_iptables(const RuleSet& rs, bool ct_first = true);

// Rules of STRAND-BENCH that match on addresses and ports (what the issue
// counts: the ct rule, the final DROP and except chains not included).
[[nodiscard]] size_t iptables_rule_count(const RuleSet& rs);

}  // namespace strand::bench::policy
