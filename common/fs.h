#pragma once
// Small file helpers with Result errors.
#include <string>

#include "common/error.h"

namespace strand {

[[nodiscard]] Result<std::string> read_file(const std::string& path);
// Writes a temp file beside `path` and renames it over `path`: readers see the
// old or the new content, never a partial one.
[[nodiscard]] Status write_file_atomic(const std::string& path, const std::string& content);
// mkdir -p (mode 0755).
[[nodiscard]] Status make_dirs(const std::string& path);

}  // namespace strand
