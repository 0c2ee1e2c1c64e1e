#include "common/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "common/fd.h"

namespace strand {

namespace {
constexpr std::string_view kTmpInfix = ".tmp.";
}  // namespace

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open", path);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status write_file_atomic(const std::string& path, const std::string& content) {
  std::string tmp = path + std::string(kTmpInfix) + std::to_string(::getpid());
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return fail_errno("open", tmp);
    size_t off = 0;
    while (off < content.size()) {
      ssize_t n = ::write(fd.get(), content.data() + off, content.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::unlink(tmp.c_str());
        return fail("write", err, tmp);
      }
      off += static_cast<size_t>(n);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail("rename", err, tmp + " -> " + path);
  }
  return {};
}

Status remove_dead_temporaries(const std::string& dir, std::string_view of) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return {};
    return fail_errno("opendir", dir);
  }
  std::vector<std::string> dead;
  while (auto* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    size_t at = name.rfind(kTmpInfix);
    if (at == std::string_view::npos || at == 0 || (!of.empty() && name.substr(0, at) != of)) continue;
    std::string_view digits = name.substr(at + kTmpInfix.size());
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string_view::npos) continue;
    auto pid = static_cast<pid_t>(std::strtol(std::string(digits).c_str(), nullptr, 10));
    // Anything but "no such process" (alive, or EPERM) keeps the file.
    if (pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    dead.emplace_back(name);
  }
  ::closedir(d);
  for (const auto& name : dead) {
    std::string path = dir + "/" + name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail_errno("unlink", path);
  }
  return {};
}

Status overwrite_fd(int fd, std::string_view data, const std::string& where) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + off, data.size() - off, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("pwrite", where);
    }
    off += static_cast<size_t>(n);
  }
  if (::ftruncate(fd, static_cast<off_t>(data.size())) != 0) return fail_errno("ftruncate", where);
  return {};
}

Result<bool> read_file_names(int dirfd, std::vector<std::string>& out, const std::string& where) {
  alignas(dirent64) char buf[2048];
  const ssize_t n = ::getdents64(dirfd, buf, sizeof(buf));
  if (n < 0) return fail_errno("getdents64", where);
  for (ssize_t off = 0; off < n;) {
    const auto* e = reinterpret_cast<const dirent64*>(buf + off);
    off += e->d_reclen;
    const std::string_view name = e->d_name;
    if ((e->d_type == DT_REG || e->d_type == DT_UNKNOWN) && name != "." && name != "..") out.emplace_back(name);
  }
  return n > 0;
}

Status make_dirs(const std::string& path) {
  if (path.empty()) return fail("mkdir", EINVAL, "empty path");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return fail("mkdir", ENOTDIR, path);
  }
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string part = path.substr(0, pos);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) return fail_errno("mkdir", part);
  }
  return {};
}

}  // namespace strand
