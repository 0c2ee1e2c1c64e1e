#pragma once
// Runs another CNI plugin the way a runtime does: the CNI_* environment, the
// network config on stdin, the result or error JSON on stdout.
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace strand::cni {

struct ExecOutput {
  int exit_code = 0;
  std::string out;
  std::string err;
};

// Runs `path` with the current environment plus `env` (overriding same-named
// variables), writes `input` to its stdin, collects stdout and stderr.
[[nodiscard]] strand::Result<ExecOutput> exec_plugin(const std::string& path,
                                             const std::vector<std::pair<std::string, std::string>>& env,
                                             const std::string& input, int timeout_ms = 60000);

// Finds `type` in the ':'-separated CNI_PATH; ENOENT naming the path when absent.
[[nodiscard]] strand::Result<std::string> find_plugin(const std::string& type, const std::string& cni_path);

}  // namespace strand::cni
