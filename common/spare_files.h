#pragma once
// Small files rewritten often (endpoint records) without creating or freeing an
// inode each time: creating a file cost 170-200 us on this machine's ext4 against
// 8 us for a rename, and the CNI plugin writes a record twice per ADD. Replaced
// and removed files go to a spare directory (same filesystem) and the next write
// takes one from there.
#include <string>
#include <string_view>

#include "common/error.h"

namespace strand {

// Atomically creates or replaces `path` with `content`: readers see the old or
// the new file, never a partial one. The bytes are written into an inode taken
// from `spare_dir` (claimed by renaming it to <path>.tmp.<pid>, so two writers
// never share one; remove_dead_temporaries() cleans up after a killed writer),
// or a new one when there is none; the inode it replaces goes to `spare_dir`.
[[nodiscard]] Status write_file_recycled(const std::string& path, std::string_view content,
                                         const std::string& spare_dir);

// Removes `path` by moving it into `spare_dir` (created when missing); success
// when `path` is already gone.
[[nodiscard]] Status recycle_file(const std::string& path, const std::string& spare_dir);

}  // namespace strand
