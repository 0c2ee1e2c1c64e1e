#pragma once
// Small file helpers with Result errors.
#include <string>
#include <string_view>
#include <vector>

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
// Replaces the whole content of the open file fd with `data` in place
// (pwrite from offset 0, then ftruncate): no new inode, no freed block.
// `where` names the file in errors.
[[nodiscard]] Status overwrite_fd(int fd, std::string_view data, const std::string& where);
// Appends to `out` the regular-file names (or names of unknown type) of one
// small getdents64 batch read from directory fd dirfd, which advances its
// offset; "." and ".." are left out. False once the directory is exhausted.
// For callers that need a few names of a directory, not all of them.
[[nodiscard]] Result<bool> read_file_names(int dirfd, std::vector<std::string>& out, const std::string& where);
// mkdir -p (mode 0755).
[[nodiscard]] Status make_dirs(const std::string& path);

}  // namespace strand
