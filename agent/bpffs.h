#pragma once
// bpffs: making sure it is mounted, and the pin directories under it.
#include <string>
#include <vector>

#include "common/error.h"

namespace strand::agent {

// Mounts a bpffs at `path` unless one is already there (creates the directory).
[[nodiscard]] Status ensure_bpffs(const std::string& path);
// Names of the entries of `dir` (empty when it is missing).
[[nodiscard]] Result<std::vector<std::string>> pin_names(const std::string& dir);
// Removes the pin file; success when it is already gone.
[[nodiscard]] Status unpin(const std::string& path);
// Removes an empty directory; success when it is missing.
[[nodiscard]] Status remove_dir(const std::string& path);

}  // namespace strand::agent
