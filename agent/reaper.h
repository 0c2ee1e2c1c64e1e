#pragma once
// Reaper: deletes the retired pod veths (common/retired_links.h) of the node
// netns in batches, on its own thread, so CNI DEL never waits for the kernel's
// per-link teardown. kick() after a retire; it also sweeps at start and every
// `period` in case a DEL's kick was lost (plugin killed, agent restarted).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace strand::agent {

class Reaper {
 public:
  explicit Reaper(std::chrono::milliseconds period = std::chrono::seconds(5));
  ~Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  void kick();
  // Batches run so far (each one RTM_DELLINK for the whole group).
  [[nodiscard]] uint64_t batches() const { return batches_.load(); }

 private:
  void run();

  std::chrono::milliseconds period_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool kicked_ = true;  // sweep once at start
  bool stop_ = false;
  std::atomic<uint64_t> batches_{0};
  std::thread thread_;
};

}  // namespace strand::agent
