#include "agent/config.h"

#include <unistd.h>

#include <cstdio>

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

namespace strand::agent {
namespace {

// Keys of the config file: the long flag names without "--" (JSON is YAML).
Status apply_file(const std::string& path, Config& c) {
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return fail("read config", EINVAL, path + ": " + e.what());
  }
  if (!doc.IsMap()) return fail("read config", EINVAL, path + ": not a mapping");
  try {
    for (const auto& kv : doc) {
      const auto key = kv.first.as<std::string>();
      const auto& v = kv.second;
      if (key == "node") c.node = v.as<std::string>();
      else if (key == "bpffs") c.bpffs = v.as<std::string>();
      else if (key == "state-dir") c.state_dir = v.as<std::string>();
      else if (key == "socket") c.socket = v.as<std::string>();
      else if (key == "log-file") c.log_file = v.as<std::string>();
      else if (key == "log-level") c.log_level = v.as<std::string>();
      else if (key == "attach-mode") c.attach_mode = v.as<std::string>();
      else if (key == "http") c.http = v.as<std::string>();
      else if (key == "uplink") c.uplink = v.as<std::string>();
      else if (key == "source-dir") c.source_dir = v.as<std::string>();
      else if (key == "kubeconfig") c.kubeconfig = v.as<std::string>();
      else if (key == "in-cluster") c.in_cluster = v.as<bool>();
      else if (key == "reconcile-seconds") c.reconcile_seconds = v.as<int>();
      else return fail("read config", EINVAL, path + ": unknown key '" + key + "'");
    }
  } catch (const YAML::Exception& e) {
    return fail("read config", EINVAL, path + ": " + e.what());
  }
  return {};
}

// The value of --config in argv, read before the other flags so flags win.
std::string config_path(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) return argv[i + 1];
    if (a.starts_with("--config=")) return a.substr(9);
  }
  return {};
}

}  // namespace

Result<Config> parse_config(int argc, char** argv, int& exit_code) {
  Config c;
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) == 0) c.node = host;

  c.config_file = config_path(argc, argv);
  if (!c.config_file.empty()) {
    if (auto st = apply_file(c.config_file, c); !st) {
      std::fprintf(stderr, "strand-agent: %s\n", st.error().message().c_str());
      exit_code = 2;
      return std::unexpected(st.error());
    }
  }

  CLI::App app{"strand-agent: attaches the Strand datapath to pod interfaces"};
  app.add_option("--node", c.node, "node name (pins under <bpffs>/strand/<node>/)");
  app.add_option("--bpffs", c.bpffs, "bpffs mount point");
  app.add_option("--state-dir", c.state_dir, "directory of the CNI's endpoint records");
  app.add_option("--socket", c.socket, "unix socket the CNI talks to");
  app.add_option("--log-file", c.log_file, "log file (default stderr)");
  app.add_option("--log-level", c.log_level, "trace|debug|info|warn|error");
  app.add_option("--attach-mode", c.attach_mode, "auto|tcx|tc (tc: clsact filters, for kernels without tcx)")
      ->check(CLI::IsMember({"auto", "tcx", "tc"}));
  app.add_option("--config", c.config_file, "YAML or JSON file with the same keys as these flags; flags win");
  app.add_option("--http", c.http, "HTTP API listen address host:port (empty: no HTTP)");
  app.add_option("--uplink", c.uplink, "node uplink interface for the XDP prefilter (empty: none)");
  app.add_option("--source-dir", c.source_dir, "directory of manifests (Pods, Namespaces, NetworkPolicies, Nodes)");
  app.add_option("--kubeconfig", c.kubeconfig, "follow the Kubernetes API of this kubeconfig's current-context");
  app.add_flag("--in-cluster", c.in_cluster, "follow the Kubernetes API with the pod's service account");
  app.add_option("--reconcile-seconds", c.reconcile_seconds, "period of the full netlink reconcile")
      ->check(CLI::Range(1, 3600));
  app.add_flag("--cleanup", c.cleanup, "detach and unpin everything of this node, then exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);
    return fail("parse flags", EINVAL, e.what());
  }
  if (c.node.empty() || c.node.find('/') != std::string::npos || c.node == "." || c.node == "..") {
    exit_code = 2;
    return fail("parse flags", EINVAL, "--node must be a plain name, got '" + c.node + "'");
  }
  // One source of cluster objects: the API, or a directory (the lab, the demo).
  const int sources = (c.kubeconfig.empty() ? 0 : 1) + (c.in_cluster ? 1 : 0) + (c.source_dir.empty() ? 0 : 1);
  if (sources > 1) {
    exit_code = 2;
    std::fprintf(stderr, "strand-agent: --kubeconfig, --in-cluster and --source-dir are mutually exclusive\n");
    return fail("parse flags", EINVAL, "--kubeconfig, --in-cluster and --source-dir are mutually exclusive");
  }
  exit_code = 0;
  return c;
}

}  // namespace strand::agent
