#include "agent/config.h"

#include <unistd.h>

#include <CLI/CLI.hpp>

namespace strand::agent {

Result<Config> parse_config(int argc, char** argv, int& exit_code) {
  Config c;
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) == 0) c.node = host;

  CLI::App app{"strand-agent: attaches the Strand datapath to pod interfaces"};
  app.add_option("--node", c.node, "node name (pins under <bpffs>/strand/<node>/)");
  app.add_option("--bpffs", c.bpffs, "bpffs mount point");
  app.add_option("--state-dir", c.state_dir, "directory of the CNI's endpoint records");
  app.add_option("--socket", c.socket, "unix socket the CNI talks to");
  app.add_option("--log-file", c.log_file, "log file (default stderr)");
  app.add_option("--log-level", c.log_level, "trace|debug|info|warn|error");
  app.add_option("--attach-mode", c.attach_mode, "auto|tcx|tc (tc: clsact filters, for kernels without tcx)")
      ->check(CLI::IsMember({"auto", "tcx", "tc"}));
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
  exit_code = 0;
  return c;
}

}  // namespace strand::agent
