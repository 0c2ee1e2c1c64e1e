#include "lab/named_netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include "common/netns.h"
#include "netlink/ops.h"

namespace strand::lab {

namespace {

constexpr const char* kRunNetns = "/run/netns";

// /run/netns as `ip netns add` prepares it: a shared mount point, so that
// namespaces mounted there are seen from every mount namespace.
Status prepare_run_netns() {
  if (::mkdir(kRunNetns, 0755) != 0 && errno != EEXIST) return fail_errno("mkdir", kRunNetns);
  if (::mount("", kRunNetns, "none", MS_SHARED | MS_REC, nullptr) == 0) return {};
  if (errno != EINVAL) return fail_errno("mount --make-rshared", kRunNetns);
  if (::mount(kRunNetns, kRunNetns, "none", MS_BIND | MS_REC, nullptr) != 0) return fail_errno("mount --bind", kRunNetns);
  if (::mount("", kRunNetns, "none", MS_SHARED | MS_REC, nullptr) != 0) return fail_errno("mount --make-rshared", kRunNetns);
  return {};
}

// On a thread of its own: unshare(CLONE_NEWNET) changes only that thread, and
// the thread ends there, so no other thread ever runs in the new namespace.
Status make_on_thread(const std::string& path) {
  if (::unshare(CLONE_NEWNET) != 0) return fail_errno("unshare CLONE_NEWNET", path);
  std::string self = "/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/ns/net";
  if (::mount(self.c_str(), path.c_str(), "none", MS_BIND, nullptr) != 0) return fail_errno("mount --bind", path);
  auto sock = netlink::Socket::open();
  if (!sock) return std::unexpected(sock.error());
  return netlink::link_set_up(*sock, 1);  // lo
}

}  // namespace

Status create_named_netns(const std::string& name) {
  if (auto st = prepare_run_netns(); !st) return st;
  const std::string path = netns_path(name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) return fail_errno("create netns file", path);
  ::close(fd);
  Status result;
  std::thread t([&] { result = make_on_thread(path); });
  t.join();
  if (!result) {
    (void)::umount2(path.c_str(), MNT_DETACH);
    ::unlink(path.c_str());
  }
  return result;
}

Status remove_named_netns(const std::string& name) {
  const std::string path = netns_path(name);
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return fail_errno("umount", path);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail_errno("unlink", path);
  return {};
}

std::vector<std::string> list_named_netns(const std::string& prefix) {
  std::vector<std::string> out;
  DIR* d = ::opendir(kRunNetns);
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != ".." && n.starts_with(prefix)) out.push_back(n);
  }
  ::closedir(d);
  return out;
}

}  // namespace strand::lab
