#include "agent/bpffs.h"

#include <dirent.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <memory>

#include "common/fs.h"
#include "common/log.h"

namespace strand::agent {

Status ensure_bpffs(const std::string& path) {
  if (auto st = make_dirs(path); !st) return st;
  struct statfs sf {};
  if (::statfs(path.c_str(), &sf) != 0) return fail_errno("statfs", path);
  if (static_cast<unsigned long>(sf.f_type) == BPF_FS_MAGIC) return {};
  if (::mount("bpffs", path.c_str(), "bpf", 0, "mode=0700") != 0) return fail_errno("mount bpf", path);
  log::info("bpffs mounted", {{"path", path}});
  return {};
}

Result<std::vector<std::string>> pin_names(const std::string& dir) {
  std::vector<std::string> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) {
    if (errno == ENOENT) return out;
    return fail_errno("opendir", dir);
  }
  while (dirent* e = ::readdir(d.get())) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(std::move(n));
  }
  return out;
}

Status unpin(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail_errno("unlink", path);
  return {};
}

Status remove_dir(const std::string& path) {
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return fail_errno("rmdir", path);
  return {};
}

}  // namespace strand::agent
