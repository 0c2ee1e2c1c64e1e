#include "common/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cstdlib>

namespace strand {

namespace {
constexpr long kNsfsMagic = 0x6e736673;  // NSFS_MAGIC
constexpr long kProcMagic = 0x9fa0;      // PROC_SUPER_MAGIC
}  // namespace

Result<Netns> Netns::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open netns", path);
  struct statfs st {};
  if (::fstatfs(fd.get(), &st) != 0) return fail_errno("fstatfs netns", path);
  if (st.f_type != kNsfsMagic && st.f_type != kProcMagic) {
    return fail("open netns", EINVAL, path + " is not a network namespace");
  }
  return Netns(std::move(fd), path);
}

Result<Netns> Netns::current() {
  return open("/proc/thread-self/ns/net");
}

Result<Netns::Guard> Netns::enter() const {
  UniqueFd origin(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!origin) return fail_errno("open netns", "/proc/thread-self/ns/net");
  if (::setns(fd_.get(), CLONE_NEWNET) != 0) return fail_errno("setns", path_);
  return Guard(std::move(origin));
}

Netns::Guard::~Guard() {
  if (!origin_) return;
  // Failing to switch back would leave this thread in a pod's namespace; there
  // is no safe way to continue.
  if (::setns(origin_.get(), CLONE_NEWNET) != 0) std::abort();
}

}  // namespace strand
