#include "common/spare_files.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <vector>

#include "common/fd.h"
#include "common/fs.h"

namespace strand {

namespace {

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A name in the spare directory no other writer uses now: replacing a spare
// of the same name would only free that inode, never lose a record.
std::string spare_name(const std::string& path) {
  static std::atomic<unsigned> seq{0};
  return base_name(path) + "." + std::to_string(::getpid()) + "." + std::to_string(seq++);
}

// Renames one spare inode to `tmp`; false when there is none to take. Reads
// the directory a small batch at a time: the first name is usually enough.
Result<bool> claim_spare(const std::string& spare_dir, const std::string& tmp) {
  UniqueFd d(::open(spare_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d) {
    if (errno == ENOENT) return false;
    return fail_errno("open", spare_dir);
  }
  std::vector<std::string> names;
  for (;;) {
    names.clear();
    auto more = read_file_names(d.get(), names, spare_dir);
    if (!more) return std::unexpected(more.error());
    for (const std::string& name : names) {
      const std::string from = spare_dir + "/" + name;
      if (::rename(from.c_str(), tmp.c_str()) == 0) return true;
      if (errno != ENOENT) return fail_errno("rename", from + " -> " + tmp);  // ENOENT: another writer took it first
    }
    if (!*more) return false;
  }
}

}  // namespace

Status write_file_recycled(const std::string& path, std::string_view content, const std::string& spare_dir) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  auto claimed = claim_spare(spare_dir, tmp);
  if (!claimed) return std::unexpected(claimed.error());
  {
    // A claimed spare is overwritten in place (pwrite + ftruncate, no O_TRUNC
    // freeing its blocks first); otherwise a new inode.
    const int flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (*claimed ? 0 : O_CREAT | O_TRUNC);
    UniqueFd fd(::open(tmp.c_str(), flags, 0644));
    if (!fd) return fail_errno("open", tmp);
    if (auto st = overwrite_fd(fd.get(), content, tmp); !st) {
      ::unlink(tmp.c_str());
      return st;
    }
  }
  // Swap with the current file so that its inode becomes a spare; a first
  // write (nothing to swap with) or a filesystem without RENAME_EXCHANGE
  // renames over the path instead.
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) == 0) {
    std::string spare = spare_dir + "/" + spare_name(path);
    if (::rename(tmp.c_str(), spare.c_str()) != 0) {
      if (errno == ENOENT) ::mkdir(spare_dir.c_str(), 0755);
      if (::rename(tmp.c_str(), spare.c_str()) != 0) ::unlink(tmp.c_str());  // only a lost spare
    }
    return {};
  }
  if (errno != ENOENT && errno != EINVAL) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail("renameat2", err, tmp + " <-> " + path);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail("rename", err, tmp + " -> " + path);
  }
  return {};
}

Status recycle_file(const std::string& path, const std::string& spare_dir) {
  std::string spare = spare_dir + "/" + spare_name(path);
  if (::rename(path.c_str(), spare.c_str()) == 0) return {};
  if (errno == ENOENT) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? Status{} : fail_errno("stat", path);
    // The file is there, the spare directory is not yet.
    if (::mkdir(spare_dir.c_str(), 0755) != 0 && errno != EEXIST) return fail_errno("mkdir", spare_dir);
    if (::rename(path.c_str(), spare.c_str()) == 0) return {};
    if (errno == ENOENT) return {};  // removed meanwhile
  }
  // Anything else (another filesystem, a directory in the way): plain unlink.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail_errno("unlink", path);
  return {};
}

}  // namespace strand
