#include "agent/reaper.h"

#include "common/log.h"
#include "common/retired_links.h"
#include "netlink/ops.h"
#include "netlink/socket.h"

namespace strand::agent {

Reaper::Reaper(std::chrono::milliseconds period) : period_(period), thread_([this] { run(); }) {}

Reaper::~Reaper() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Reaper::kick() {
  {
    std::lock_guard lock(mu_);
    kicked_ = true;
  }
  cv_.notify_one();
}

void Reaper::run() {
  auto sock = netlink::Socket::open();
  if (!sock) {
    log::error("reaper has no netlink socket: retired veths wait for CNI GC", {{"error", sock.error().message()}});
    return;
  }
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, period_, [this] { return kicked_ || stop_; });
    if (stop_) break;
    kicked_ = false;
    lock.unlock();
    // One request deletes every retired link, those retired while the last
    // batch ran included: the kernel waits for one grace period for all.
    if (auto st = netlink::link_del_group(*sock, kRetiredLinkGroup); !st) {
      log::warn("retired veths not deleted", {{"error", st.error().message()}});
    }
    batches_.fetch_add(1);
    lock.lock();
  }
}

}  // namespace strand::agent
