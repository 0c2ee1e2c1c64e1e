#pragma once
// The agent's command line.
#include <string>

#include "common/error.h"

namespace strand::agent {

struct Config {
  std::string node;                               // node name: pins live under <bpffs>/strand/<node>/
  std::string bpffs = "/sys/fs/bpf";              // bpffs mount point (mounted when it is not)
  std::string state_dir = "/var/lib/strand/endpoints";  // the CNI's endpoint records
  std::string socket = "/run/strand/agent.sock";  // where the CNI reaches the agent
  std::string log_file;                           // empty: stderr
  std::string log_level = "info";
  std::string attach_mode = "auto";                // auto (tcx when the kernel has it) | tcx | tc
  std::string http = "127.0.0.1:9464";           // HTTP API listen address host:port; empty: no HTTP
  std::string uplink;                             // node uplink for the XDP prefilter; empty: none
  std::string source_dir;                         // local manifests (Pods, Namespaces, NetworkPolicies, Nodes)
  std::string kubeconfig;                         // Kubernetes API from a kubeconfig (current-context)
  bool in_cluster = false;                        // Kubernetes API from the pod's service account
  int reconcile_seconds = 30;                     // full netlink reconcile period
  std::string config_file;                        // YAML or JSON with the same keys as the flags
  bool cleanup = false;                           // remove every pin and link of the node, then exit

  // <bpffs>/strand/<node>
  [[nodiscard]] std::string pin_root() const { return bpffs + "/strand/" + node; }
  [[nodiscard]] std::string map_pin_dir() const { return pin_root() + "/maps"; }
  [[nodiscard]] std::string link_pin_dir() const { return pin_root() + "/links"; }
};

// Parses argv; on --help or a usage error returns the exit code to leave with
// (0 for --help) in `exit_code` and nullopt-like failure.
[[nodiscard]] Result<Config> parse_config(int argc, char** argv, int& exit_code);

}  // namespace strand::agent
