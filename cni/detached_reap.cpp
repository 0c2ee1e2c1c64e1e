#include "cni/detached_reap.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/retired_links.h"
#include "netlink/ops.h"
#include "netlink/socket.h"

namespace strand::cni {

bool spawn_detached_reap() {
  const pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid > 0) return true;  // the plugin goes on and exits without waiting
  // The child: its own session, nothing of the caller's open (stdout and the
  // log file included), one batch delete of the retired group, _exit (no
  // atexit handlers, no flushing of the parent's buffers).
  ::setsid();
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
  }
  ::syscall(SYS_close_range, 3u, ~0u, 0u);
  if (auto sock = netlink::Socket::open(); sock) {
    (void)netlink::link_del_group(*sock, kRetiredLinkGroup);
  }
  ::_exit(0);
}

}  // namespace strand::cni
