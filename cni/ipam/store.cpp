#include "cni/ipam/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>

#include "common/fs.h"

namespace strand::cni::ipam {
namespace {

constexpr const char* kLockName = "lock";
constexpr const char* kIndexDir = "by-attachment";
constexpr const char* kLastPrefix = "last_reserved_ip.";
// Where a file is written before it is linked in when O_TMPFILE is missing.
// Only ever touched under the lock, so one fixed name per directory is enough.
constexpr const char* kTmpName = ".strand-tmp";
// Released files wait here to be rewritten and renamed into place by a later
// ADD: on ext4, allocating and freeing inodes costs far more than renaming.
constexpr const char* kSpareDir = "spare";
constexpr size_t kMaxFile = 64 * 1024;

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// The whole (small) file, or nullopt when it does not exist.
strand::Result<std::optional<std::string>> read_at(int dirfd, const std::string& name, const std::string& where) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    return fail_errno("open", where + "/" + name);
  }
  std::string out;
  std::array<char, 512> buf;
  while (out.size() < kMaxFile) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("read", where + "/" + name);
    if (n == 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
    if (static_cast<size_t>(n) < buf.size()) break;  // a short read of a regular file is its end
  }
  return out;
}

Status write_all(int fd, std::string_view data, const std::string& where) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("write", where);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// Creates (or truncates) dirfd/name with `data`. A plain descriptor: close's
// error is reported too (UniqueFd would swallow it).
Status write_file_at(int dirfd, const std::string& name, std::string_view data, int flags, const std::string& where) {
  const std::string file = where + "/" + name;
  int fd = ::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | flags, 0644);
  if (fd < 0) return fail_errno("open", file);
  auto written = write_all(fd, data, file);
  if (::close(fd) != 0 && written) return fail_errno("close", file);
  return written;
}

// Rewrites dirfd/name in place: no new inode and no freed block. Used for the
// round-robin hint (a torn write only costs fairness) and for spare files
// (nobody reads them until they are renamed into place).
Status overwrite_at(int dirfd, const std::string& name, std::string_view data, bool create, const std::string& where) {
  const std::string file = where + "/" + name;
  UniqueFd fd(::openat(dirfd, name.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0644));
  if (!fd) return fail_errno("open", file);
  return overwrite_fd(fd.get(), data, file);
}

std::string parent_of(const std::string& name) {
  size_t slash = name.rfind('/');
  return slash == std::string::npos ? "." : name.substr(0, slash);
}

std::string tmp_in(const std::string& parent) { return parent == "." ? kTmpName : parent + "/" + kTmpName; }

std::string base_of(const std::string& name) {
  size_t slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

Status unlink_at(int dirfd, const std::string& name, const std::string& where) {
  if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) return fail_errno("unlink", where + "/" + name);
  return {};
}

// The names in a directory (a fresh descriptor: readdir moves the offset).
strand::Result<std::vector<std::pair<std::string, unsigned char>>> list_dir(int dirfd, const std::string& where) {
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open", where);
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return fail_errno("fdopendir", where);
  }
  std::vector<std::pair<std::string, unsigned char>> out;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") out.emplace_back(std::string(n), e->d_type);
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return fail("readdir", err, where);
  return out;
}

}  // namespace

Owner Owner::parse(std::string_view content) {
  content = trim(content);
  Owner o;
  size_t nl = content.find('\n');
  o.container_id = std::string(trim(content.substr(0, nl)));
  if (nl != std::string_view::npos) o.ifname = std::string(trim(content.substr(nl + 1)));
  return o;
}

bool Owner::holds(const Attachment& a) const {
  if (container_id.empty() || container_id != a.container_id) return false;
  return ifname.empty() || ifname == a.ifname;
}

std::string owner_record(const Attachment& a) { return a.container_id + "\r\n" + a.ifname; }

std::string index_name(const Attachment& a) { return a.container_id + ":" + a.ifname; }

std::optional<Attachment> index_attachment(std::string_view name) {
  size_t colon = name.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == name.size()) return std::nullopt;
  return Attachment{std::string(name.substr(0, colon)), std::string(name.substr(colon + 1))};
}

strand::Result<Store> Store::open(const std::string& data_dir, const std::string& network, bool create) {
  std::string path = data_dir + "/" + network;
  UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir && errno == ENOENT && create) {
    if (auto made = make_dirs(path); !made) return std::unexpected(made.error());
    dir = UniqueFd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  if (!dir) return fail_errno("open", path);
  return Store(std::move(path), std::move(dir), create);
}

Status Store::publish(const std::string& name, std::string_view content, bool replace) {
  auto done = publish_once(name, content, replace);
  const std::string parent = parent_of(name);
  if (done || done.error().err != ENOENT || parent == ".") return done;
  // The subdirectory is made when first needed.
  if (::mkdirat(dir_.get(), parent.c_str(), 0755) != 0 && errno != EEXIST) return fail_errno("mkdir", path_ + "/" + parent);
  return publish_once(name, content, replace);
}

Status Store::publish_once(const std::string& name, std::string_view content, bool replace) {
  while (pool_) {
    auto spare = take_spare();
    if (!spare) return std::unexpected(spare.error());
    if (!*spare) break;
    const std::string from = std::string(kSpareDir) + "/" + **spare;
    if (auto w = overwrite_at(dir_.get(), from, content, /*create=*/false, path_); !w) {
      int err = w.error().err;
      if (err == ENOENT || err == EISDIR || err == ELOOP) continue;  // not a usable spare: try another
      return w;
    }
    if (::renameat2(dir_.get(), from.c_str(), dir_.get(), name.c_str(), replace ? 0 : RENAME_NOREPLACE) == 0) return {};
    int err = errno;
    spares_->push_back(**spare);  // still a spare, whatever it now holds
    if (err != EINVAL) return fail("rename", err, path_ + "/" + name);
    pool_ = false;  // no renameat2 flags on this file system
  }
  if (!tmpfile_) return publish_named(name, content, replace);
  const std::string parent = parent_of(name);
  UniqueFd fd(::openat(dir_.get(), parent.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644));
  if (!fd) {
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) return fail_errno("open O_TMPFILE", path_ + "/" + parent);
    tmpfile_ = false;  // this file system has no O_TMPFILE
    return publish_named(name, content, replace);
  }
  if (auto w = write_all(fd.get(), content, path_ + "/" + name); !w) return w;
  // Linking an unnamed file by name needs /proc (AT_EMPTY_PATH needs a capability).
  const std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  const std::string target = replace ? tmp_in(parent) : name;
  if (replace) {
    if (auto u = unlink_at(dir_.get(), target, path_); !u) return u;
  }
  if (::linkat(AT_FDCWD, self.c_str(), dir_.get(), target.c_str(), AT_SYMLINK_FOLLOW) != 0) {
    int err = errno;
    if (err == ENOENT && ::access("/proc/self/fd", F_OK) != 0) {
      tmpfile_ = false;  // no /proc
      return publish_named(name, content, replace);
    }
    return fail("link", err, path_ + "/" + target);
  }
  if (replace && ::renameat(dir_.get(), target.c_str(), dir_.get(), name.c_str()) != 0) {
    auto err = fail_errno("rename", path_ + "/" + name);
    (void)unlink_at(dir_.get(), target, path_);
    return err;
  }
  return {};
}

Status Store::publish_named(const std::string& name, std::string_view content, bool replace) {
  const std::string tmp = tmp_in(parent_of(name));
  // A writer killed between link and unlink leaves the temporary name as a
  // second link of a live file: unlink it first, never write through it.
  if (auto u = unlink_at(dir_.get(), tmp, path_); !u) return u;
  if (auto w = write_file_at(dir_.get(), tmp, content, O_EXCL, path_); !w) return w;
  if (replace) {
    if (::renameat(dir_.get(), tmp.c_str(), dir_.get(), name.c_str()) == 0) return {};
    auto err = fail_errno("rename", path_ + "/" + name);
    (void)unlink_at(dir_.get(), tmp, path_);
    return err;
  }
  if (::linkat(dir_.get(), tmp.c_str(), dir_.get(), name.c_str(), 0) != 0) {
    auto err = fail_errno("link", path_ + "/" + name);
    (void)unlink_at(dir_.get(), tmp, path_);
    return err;
  }
  return unlink_at(dir_.get(), tmp, path_);
}

strand::Result<std::optional<std::string>> Store::take_spare() {
  if (!spares_) {
    // One getdents call: a few names are all an ADD needs.
    spares_.emplace();
    UniqueFd fd(::openat(dir_.get(), kSpareDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd && errno != ENOENT) return fail_errno("open", path_ + "/" + kSpareDir);
    if (fd) {
      if (auto read = read_file_names(fd.get(), *spares_, path_ + "/" + kSpareDir); !read) {
        return std::unexpected(read.error());
      }
    }
  }
  if (spares_->empty()) return std::nullopt;
  std::string name = std::move(spares_->back());
  spares_->pop_back();
  return name;
}

Status Store::retire(const std::string& name, char kind) {
  if (pool_) {
    const std::string to = std::string(kSpareDir) + "/" + kind + base_of(name);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (::renameat2(dir_.get(), name.c_str(), dir_.get(), to.c_str(), RENAME_NOREPLACE) == 0) {
        if (spares_) spares_->push_back(base_of(to));
        return {};
      }
      if (errno == EINVAL) pool_ = false;
      // ENOENT: the file is gone, or there is no spare directory yet.
      if (errno != ENOENT || attempt > 0) break;
      if (::mkdirat(dir_.get(), kSpareDir, 0755) != 0 && errno != EEXIST) break;
    }
  }
  return unlink_at(dir_.get(), name, path_);  // EEXIST (a spare of that name) and the rest
}

strand::Result<Store::Lock> Store::lock() const {
  UniqueFd fd(::openat(dir_.get(), kLockName, O_RDONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return fail_errno("open", path_ + "/" + kLockName);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return fail_errno("flock", path_ + "/" + kLockName);
  }
  return Lock(std::move(fd));
}

strand::Result<bool> Store::exists(const IpAddr& ip) const {
  struct stat st;
  if (::fstatat(dir_.get(), ip.str().c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return true;
  if (errno == ENOENT) return false;
  return fail_errno("stat", path_ + "/" + ip.str());
}

strand::Result<std::optional<Owner>> Store::owner(const IpAddr& ip) const {
  auto content = read_at(dir_.get(), ip.str(), path_);
  if (!content) return std::unexpected(content.error());
  if (!*content) return std::nullopt;
  return Owner::parse(**content);
}

Status Store::reserve(const IpAddr& ip, const Attachment& who) {
  return publish(ip.str(), owner_record(who), /*replace=*/false);
}

strand::Result<bool> Store::release(const IpAddr& ip, const Attachment& who) {
  auto o = owner(ip);
  if (!o) return std::unexpected(o.error());
  if (!*o || !(*o)->holds(who)) return false;
  if (auto r = remove(ip); !r) return std::unexpected(r.error());
  return true;
}

Status Store::remove(const IpAddr& ip) { return retire(ip.str(), 'a'); }

strand::Result<std::vector<Store::Reservation>> Store::reservations() const {
  auto names = list_dir(dir_.get(), path_);
  if (!names) return std::unexpected(names.error());
  std::vector<Reservation> out;
  for (const auto& [name, type] : *names) {
    if (type == DT_DIR) continue;
    auto ip = IpAddr::parse(name);
    if (!ip) continue;  // lock, last_reserved_ip.*, temporaries
    auto o = owner(*ip);
    if (!o) return std::unexpected(o.error());
    if (*o) out.push_back({*ip, **o});
  }
  return out;
}

strand::Result<std::vector<IpAddr>> Store::allocated() const {
  auto names = list_dir(dir_.get(), path_);
  if (!names) return std::unexpected(names.error());
  std::vector<IpAddr> out;
  out.reserve(names->size());
  for (const auto& [name, type] : *names) {
    if (type == DT_DIR) continue;
    if (auto ip = IpAddr::parse(name)) out.push_back(*ip);
  }
  return out;
}

std::optional<IpAddr> Store::last_reserved(size_t set) {
  UniqueFd fd(::openat(dir_.get(), (kLastPrefix + std::to_string(set)).c_str(),
                       (writable_ ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return std::nullopt;
  char buf[64];
  ssize_t n = ::pread(fd.get(), buf, sizeof(buf), 0);
  if (n < 0) return std::nullopt;
  if (writable_) hints_[set] = Hint{std::move(fd), static_cast<size_t>(n)};
  auto ip = IpAddr::parse(trim(std::string_view(buf, static_cast<size_t>(n))));
  if (!ip) return std::nullopt;
  return *ip;
}

Status Store::set_last_reserved(size_t set, const IpAddr& ip) {
  const std::string text = ip.str();
  auto it = hints_.find(set);
  if (it == hints_.end()) {
    return overwrite_at(dir_.get(), kLastPrefix + std::to_string(set), text, /*create=*/true, path_);
  }
  const std::string file = path_ + "/" + kLastPrefix + std::to_string(set);
  Hint& h = it->second;
  ssize_t n = ::pwrite(h.fd.get(), text.data(), text.size(), 0);
  if (n != static_cast<ssize_t>(text.size())) return fail(n < 0 ? "pwrite" : "pwrite (short)", n < 0 ? errno : EIO, file);
  // A shorter address than the one read leaves its tail to cut.
  if (text.size() < h.size && ::ftruncate(h.fd.get(), static_cast<off_t>(text.size())) != 0) return fail_errno("ftruncate", file);
  h.size = text.size();
  return {};
}

strand::Result<std::optional<std::vector<IpAddr>>> Store::read_index(const Attachment& a) const {
  auto content = read_at(dir_.get(), std::string(kIndexDir) + "/" + index_name(a), path_);
  if (!content) return std::unexpected(content.error());
  if (!*content) return std::nullopt;
  std::vector<IpAddr> ips;
  std::string_view text = **content;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (auto ip = IpAddr::parse(trim(text.substr(0, nl)))) ips.push_back(*ip);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  return ips;
}

Status Store::write_index(const Attachment& a, std::span<const IpAddr> ips) {
  std::string text;
  for (const IpAddr& ip : ips) text += ip.str() + "\n";
  return publish(std::string(kIndexDir) + "/" + index_name(a), text, /*replace=*/true);
}

Status Store::remove_index(const Attachment& a) { return retire(std::string(kIndexDir) + "/" + index_name(a), 'i'); }

strand::Result<std::vector<Attachment>> Store::indexed() const {
  std::vector<Attachment> out;
  UniqueFd index(::openat(dir_.get(), kIndexDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!index && errno == ENOENT) return out;
  if (!index) return fail_errno("open", path_ + "/" + kIndexDir);
  auto names = list_dir(index.get(), path_ + "/" + kIndexDir);
  if (!names) return std::unexpected(names.error());
  for (const auto& [name, type] : *names) {
    if (auto a = index_attachment(name)) out.push_back(*a);
  }
  return out;
}

Status Store::tidy() {
  if (auto u = unlink_at(dir_.get(), kTmpName, path_); !u) return u;
  if (auto u = unlink_at(dir_.get(), tmp_in(kIndexDir), path_); !u) return u;
  UniqueFd spare(::openat(dir_.get(), kSpareDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!spare && errno == ENOENT) return {};
  if (!spare) return fail_errno("open", path_ + "/" + kSpareDir);
  auto names = list_dir(spare.get(), path_ + "/" + kSpareDir);
  if (!names) return std::unexpected(names.error());
  for (const auto& [name, type] : *names) {
    if (auto u = unlink_at(spare.get(), name, path_ + "/" + kSpareDir); !u) return u;
  }
  spares_.reset();
  return {};
}

}  // namespace strand::cni::ipam
