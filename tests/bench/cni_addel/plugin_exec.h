#pragma once
// run_plugin: one CNI plugin invocation made the way a runtime makes it -- the
// plugin exec'd with the CNI_* environment, the network config on stdin, the
// result read from stdout until EOF, the process reaped -- and timed on
// CLOCK_MONOTONIC from just before the spawn to the reaped exit.
#include <chrono>
#include <string>
#include <vector>

#include "common/error.h"

namespace strand::bench {

struct PluginCall {
  std::string path;               // the plugin binary, e.g. <CNI_PATH>/ptp
  std::vector<std::string> env;   // the whole environment, "KEY=value"
  std::string stdin_data;         // the network config
};

struct PluginOutcome {
  int exit_code = -1;             // -1 when a signal ended the plugin
  int signal = 0;
  std::string stdout_data;        // the result or the error JSON
  std::chrono::nanoseconds elapsed{};

  [[nodiscard]] bool ok() const { return exit_code == 0; }
};

// Runs the plugin with its stderr on `stderr_fd`. Safe to call from many threads
// at once: every pipe is close-on-exec, so no plugin holds another's stdout open.
[[nodiscard]] Result<PluginOutcome> run_plugin(const PluginCall& call, int stderr_fd);

}  // namespace strand::bench
