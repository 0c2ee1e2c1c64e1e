// strand-lab: wiring only; the subcommands are in lab.cpp (issue 4 is the contract).
#include <csignal>
#include <cstring>
#include <iostream>

#include <CLI/CLI.hpp>

#include "lab/lab.h"

namespace {

// exec takes everything after "--" verbatim, so it is parsed by hand:
// strand-lab exec [--name NAME] NS/POD -- CMD...
int exec_main(int argc, char** argv) {
  std::string name = "strand", pod;
  int i = 2;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    std::string a = argv[i];
    if (a == "--name" && i + 1 < argc) {
      name = argv[++i];
    } else if (a.starts_with("--name=")) {
      name = a.substr(7);
    } else if (pod.empty() && !a.starts_with("-")) {
      pod = a;
    } else {
      std::cerr << "usage: strand-lab exec [--name NAME] NS/POD -- CMD...\n";
      return 2;
    }
  }
  if (pod.empty() || i >= argc - 1) {
    std::cerr << "usage: strand-lab exec [--name NAME] NS/POD -- CMD...\n";
    return 2;
  }
  return strand::lab::cmd_exec(name, pod, std::vector<std::string>(argv + i + 1, argv + argc));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace strand::lab;
  std::signal(SIGPIPE, SIG_IGN);
  if (argc > 1 && std::strcmp(argv[1], "exec") == 0) return exec_main(argc, argv);

  CLI::App app{"strand-lab: a local multi-node cluster of network namespaces running strand"};
  app.require_subcommand(1);
  std::string name = "strand";
  auto add_name = [&](CLI::App* c) { c->add_option("--name", name, "lab name")->capture_default_str(); };

  UpOptions up;
  auto* c_up = app.add_subcommand("up", "create the lab: switch, nodes, agents");
  add_name(c_up);
  c_up->add_option("--nodes", up.nodes, "number of nodes")->capture_default_str();
  c_up->add_flag("--ipv6", up.ipv6, "dual-stack nodes and pods");
  c_up->add_option("--routing", up.routing, "native|vxlan")->check(CLI::IsMember({"native", "vxlan"}))->capture_default_str();
  c_up->add_option("--cni", up.cni, "strand|ptp (ptp + host-local: the pod-start benchmark's reference)")
      ->check(CLI::IsMember({"strand", "ptp"}))
      ->capture_default_str();

  auto* c_down = app.add_subcommand("down", "remove the lab and everything it made");
  add_name(c_down);

  std::vector<std::string> files;
  auto* c_apply = app.add_subcommand("apply", "create or update Namespaces, Pods and NetworkPolicies");
  add_name(c_apply);
  c_apply->add_option("-f,--filename", files, "file or directory (YAML or JSON, several documents; - for stdin)")->required();

  std::string kind, key;
  auto* c_delete = app.add_subcommand("delete", "delete pod|namespace|networkpolicy NS/NAME");
  add_name(c_delete);
  c_delete->add_option("kind", kind, "pod, namespace or networkpolicy")->required();
  c_delete->add_option("key", key, "NS/NAME (a namespace: NAME)")->required();

  std::string what, output;
  auto* c_get = app.add_subcommand("get", "get pods|nodes [-o json]");
  add_name(c_get);
  c_get->add_option("what", what, "pods or nodes")->required()->check(CLI::IsMember({"pods", "pod", "nodes", "node"}));
  c_get->add_option("-o,--output", output, "json")->check(CLI::IsMember({"json", "table"}));

  ProbeOptions pr;
  auto* c_probe = app.add_subcommand("probe", "connect from a pod to a pod or IP and expect the echo; exit 0 reachable, 1 blocked");
  add_name(c_probe);
  c_probe->add_option("--from", pr.from, "NS/POD")->required();
  c_probe->add_option("--to", pr.to, "NS/POD or IP")->required();
  c_probe->add_option("--port", pr.port, "port number (or a containerPort name of the destination pod)")->required();
  c_probe->add_option("--protocol", pr.protocol, "TCP|UDP")->check(CLI::IsMember({"TCP", "UDP"}))->capture_default_str();
  c_probe->add_option("--timeout-ms", pr.timeout_ms, "give up after this long")->capture_default_str();
  c_probe->add_option("-o,--output", output, "json")->check(CLI::IsMember({"json", "text"}));

  TrafficOptions tr;
  auto* c_traffic = app.add_subcommand(
      "traffic", "new flows from a pod every interval until SIGINT/SIGTERM; counts every failure (exit 1 on any)");
  add_name(c_traffic);
  c_traffic->add_option("--from", tr.from, "NS/POD")->required();
  c_traffic->add_option("--to", tr.to, "NS/POD or IP")->required();
  c_traffic->add_option("--port", tr.port, "port number (or a containerPort name of the destination pod)")->required();
  c_traffic->add_option("--protocol", tr.protocols, "TCP|UDP; repeat or comma-separate")
      ->check(CLI::IsMember({"TCP", "UDP"}))
      ->delimiter(',')
      ->capture_default_str();
  c_traffic->add_flag("--connection", tr.connection, "also keep one TCP connection open, a message echoed per interval");
  c_traffic->add_option("--interval-ms", tr.interval_ms, "between new flows of a protocol")->capture_default_str();
  c_traffic->add_option("--timeout-ms", tr.timeout_ms, "per attempt")->capture_default_str();
  c_traffic->add_option("--duration-ms", tr.duration_ms, "stop by itself after this long")->capture_default_str();
  c_traffic->add_option("-o,--output", output, "json")->check(CLI::IsMember({"json", "text"}));

  MatrixOptions mx;
  auto* c_matrix = app.add_subcommand("matrix", "probe every pod to every pod in parallel; grid or JSON");
  add_name(c_matrix);
  c_matrix->add_option("--port", mx.ports, "port number (or a containerPort name, per destination pod); repeat or comma-separate")
      ->required()
      ->delimiter(',');
  c_matrix->add_option("--protocol", mx.protocols, "TCP|UDP; repeat or comma-separate")
      ->check(CLI::IsMember({"TCP", "UDP"}))
      ->delimiter(',')
      ->capture_default_str();
  c_matrix->add_option("--family", mx.family, "4|6|all (all: IPv6 too when the lab has it)")
      ->check(CLI::IsMember({"4", "6", "all"}))
      ->capture_default_str();
  c_matrix->add_option("--from", mx.from, "only the row of this NS/POD (e.g. one pod to all others)");
  c_matrix->add_option("--timeout-ms", mx.timeout_ms, "per probe")->capture_default_str();
  c_matrix->add_option("--parallel", mx.parallel, "probes at once")->capture_default_str();
  c_matrix->add_option("-o,--output", output, "json")->check(CLI::IsMember({"json", "grid"}));

  VerifyOptions vf;
  auto* c_verify = app.add_subcommand("verify", "run NetworkPolicy truth-table cases (e2e/policy/README.md); exit 1 on any mismatch");
  add_name(c_verify);
  c_verify->add_option("cases", vf.cases, "case files or directories")->required();
  c_verify->add_option("--cluster", vf.cluster, "manifests applied first: the pods and namespaces the cases expect");
  c_verify->add_option("--case", vf.only, "run only this case (repeatable)");
  c_verify->add_option("--timeout-ms", vf.timeout_ms, "per probe")->capture_default_str();
  c_verify->add_option("--parallel", vf.parallel, "probes at once")->capture_default_str();
  c_verify->add_option("--family", vf.family, "4|6|all")->check(CLI::IsMember({"4", "6", "all"}))->capture_default_str();

  std::string pod;
  std::vector<std::string> ctl_extra;
  auto* c_flows = app.add_subcommand("flows", "strandctl flows against the pod's node agent (every node without --pod)");
  auto* c_drops = app.add_subcommand("drops", "strandctl drops against the pod's node agent (every node without --pod)");
  for (auto* c : {c_flows, c_drops}) {
    add_name(c);
    c->add_option("--pod", pod, "NS/POD");
    c->add_option("-o,--output", output, "json");
  }

  std::vector<std::string> ports;
  auto* c_serve = app.add_subcommand("serve", "");  // hidden: a pod's echo servers
  c_serve->group("");
  c_serve->add_option("--port", ports, "PORT/TCP|UDP");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (!output.empty() && output != "json" && output != "table" && output != "text" && output != "grid") return 2;
  const bool json = output == "json";
  if (*c_up) {
    up.name = name;
    return cmd_up(up);
  }
  if (*c_down) return cmd_down(name);
  if (*c_apply) return cmd_apply(name, files);
  if (*c_delete) return cmd_delete(name, kind, key);
  if (*c_get) return cmd_get(name, what, json);
  if (*c_probe) {
    pr.name = name;
    pr.json = json;
    return cmd_probe(pr);
  }
  if (*c_traffic) {
    tr.name = name;
    tr.json = json;
    return cmd_traffic(tr);
  }
  if (*c_matrix) {
    mx.name = name;
    mx.json = json;
    return cmd_matrix(mx);
  }
  if (*c_verify) {
    vf.name = name;
    return cmd_verify(vf);
  }
  if (*c_flows || *c_drops) {
    if (json) ctl_extra = {"-o", "json"};
    return cmd_ctl(name, *c_flows ? "flows" : "drops", pod, ctl_extra);
  }
  if (*c_serve) return cmd_serve(ports);
  return 2;
}
