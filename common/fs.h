#pragma once
// Small file helpers with Result errors.
#include <string>
#include <string_view>

#include "common/error.h"

namespace strand {

[[nodiscard]] Result<std::string> read_file(const std::string& path);
// Writes a temp file beside `path` and renames it over `path`: readers see the
// old or the new content, never a partial one.
// The temp file is <path>.tmp.<pid>: a writer killed before the rename leaves it.
[[nodiscard]] Status write_file_atomic(const std::string& path, const std::string& content);
// Removes the temp files of write_file_atomic in `dir` whose writer is gone
// (no process has their pid); a live writer's are left alone. With `of`, only
// those of the file named `of`. Success when `dir` is missing.
[[nodiscard]] Status remove_dead_temporaries(const std::string& dir, std::string_view of = {});
// mkdir -p (mode 0755).
[[nodiscard]] Status make_dirs(const std::string& path);

}  // namespace strand
