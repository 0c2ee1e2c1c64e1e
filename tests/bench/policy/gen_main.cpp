// bench_policy_gen: the policy benchmark's rule set (tests/bench/policy/gen.h) to files.
//
//   bench_policy_gen cluster   [common] > cluster.json     namespaces and pods (--source-dir)
//   bench_policy_gen policies  [common] > policies.json    N NetworkPolicies (a List)
//   bench_policy_gen iptables  [common] [--no-ct-first] > rules   iptables-restore input
//   bench_policy_gen count     [common]                    iptables rules of the set (one number)
//   bench_policy_gen probe --name NAME --port P > p.json   one policy: the client may reach the
//                                                         server on TCP P (selects the server)
// common: --policies N --remote-pods N --seed S --first-index I --no-allow
//         --server-ip A --client-ip A --node NAME --server NAME --client NAME --allow-ports 7001,5201
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <iostream>

#include "tests/bench/policy/gen.h"

int main(int argc, char** argv) {
  using namespace strand::bench::policy;
  CLI::App app{"the policy benchmark's rule set"};
  app.require_subcommand(1);
  GenSpec spec;
  bool no_allow = false;
  bool no_ct_first = false;
  std::string probe_name;
  uint16_t probe_port = 0;
  auto common = [&](CLI::App* c) {
    c->add_option("--policies", spec.policies);
    c->add_option("--remote-pods", spec.remote_pods);
    c->add_option("--seed", spec.seed);
    c->add_option("--first-index", spec.first_index);
    c->add_flag("--no-allow", no_allow, "no rule allowing the client");
    c->add_option("--server-ip", spec.server_ip);
    c->add_option("--client-ip", spec.client_ip);
    c->add_option("--node", spec.node);
    c->add_option("--server", spec.server);
    c->add_option("--client", spec.client);
    c->add_option("--allow-ports", spec.allow_ports)->delimiter(',');
  };
  auto* cluster = app.add_subcommand("cluster", "namespaces and pods");
  auto* policies = app.add_subcommand("policies", "the NetworkPolicies");
  auto* iptables = app.add_subcommand("iptables", "iptables-restore input");
  auto* count = app.add_subcommand("count", "iptables rules of the set");
  auto* probe = app.add_subcommand("probe", "one policy allowing the client on one TCP port");
  for (auto* c : {cluster, policies, iptables, count, probe}) common(c);
  iptables->add_flag("--no-ct-first", no_ct_first, "no ESTABLISHED,RELATED accept: every packet walks the list");
  probe->add_option("--name", probe_name)->required();
  probe->add_option("--port", probe_port)->required();
  CLI11_PARSE(app, argc, argv);

  try {
    if (probe->parsed()) {
      GenSpec s = spec;
      s.policies = 0;
      RuleSet rs = generate(s);
      GenPolicy pol;
      pol.name = probe_name;
      GenPeer peer;
      peer.kind = GenPeer::Kind::kPod;
      peer.pod_key = "role";
      peer.pod_label = "client";
      peer.ips = {spec.client_ip};
      pol.ingress.push_back({{peer}, {{"TCP", probe_port, 0}}});
      rs.policies.push_back(pol);
      std::cout << render_policies(rs);
      return 0;
    }
    RuleSet rs = generate(spec, !no_allow);
    if (cluster->parsed()) std::cout << render_cluster(rs);
    if (policies->parsed()) std::cout << render_policies(rs);
    if (iptables->parsed()) std::cout << render_iptables(rs, !no_ct_first);
    if (count->parsed()) std::cout << iptables_rule_count(rs) << "\n";
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_policy_gen: %s\n", e.what());
    return 2;
  }
  return 0;
}
