#pragma once
// strand-lab's subcommands (issue 4 is their contract). Each returns the
// process exit code; messages go to stderr, results to stdout.
#include <optional>
#include <string>
#include <vector>

namespace strand::lab {

struct UpOptions {
  std::string name = "strand";
  int nodes = 2;
  bool ipv6 = false;
  std::string routing = "native";  // native | vxlan
  std::string cni = "strand";      // strand | ptp (the pod-start benchmark's reference)
};

int cmd_up(const UpOptions& o);
int cmd_down(const std::string& name);
int cmd_apply(const std::string& name, const std::vector<std::string>& files);
int cmd_delete(const std::string& name, const std::string& kind, const std::string& key);
int cmd_get(const std::string& name, const std::string& what, bool json);
int cmd_exec(const std::string& name, const std::string& pod, const std::vector<std::string>& argv);

struct ProbeOptions {
  std::string name = "strand";
  std::string from, to, port, protocol = "TCP";
  int timeout_ms = 1000;
  bool json = false;
};
int cmd_probe(const ProbeOptions& o);

// New flows from one pod at a steady rate until SIGINT/SIGTERM or the
// duration ends, and a summary (lab/traffic.h); exit 0 when every attempt
// was echoed, 1 otherwise.
struct TrafficOptions {
  std::string name = "strand";
  std::string from, to, port;
  std::vector<std::string> protocols = {"TCP"};
  bool connection = false;  // also one long-lived TCP connection
  int interval_ms = 15;
  int timeout_ms = 3000;
  int duration_ms = 120000;
  bool json = false;
};
int cmd_traffic(const TrafficOptions& o);

struct MatrixOptions {
  std::string name = "strand";
  // Every combination of family, protocol and port is probed in one parallel
  // batch; one combination (IPv4) prints the contract's grid and JSON, several
  // print compact grids and {"matrices":[{"family",...contract keys}]}.
  std::vector<std::string> ports;               // numbers or containerPort names
  std::vector<std::string> protocols = {"TCP"};
  std::string family = "4";                     // 4 | 6 | all (6 when the lab has IPv6)
  std::string from;  // only this pod's row (empty: every pod)
  int timeout_ms = 1000;
  unsigned parallel = 64;
  bool json = false;
};
int cmd_matrix(const MatrixOptions& o);

// The NetworkPolicy truth-table runner (e2e/policy/README.md).
struct VerifyOptions {
  std::string name = "strand";
  std::string cluster;               // manifests applied first (the baseline); empty: the lab as it is
  std::vector<std::string> cases;    // case files or directories
  std::vector<std::string> only;     // run only these cases (by name)
  int timeout_ms = 400;              // per probe; a blocked probe costs this long
  unsigned parallel = 96;
  std::string family = "all";        // 4 | 6 | all
};
int cmd_verify(const VerifyOptions& o);

// strandctl flows|drops against the agent of the pod's node (every node without a pod).
int cmd_ctl(const std::string& name, const std::string& what, const std::string& pod, const std::vector<std::string>& extra);

// Hidden: the echo servers of a pod, started by apply inside the pod's netns.
int cmd_serve(const std::vector<std::string>& ports);

}  // namespace strand::lab
