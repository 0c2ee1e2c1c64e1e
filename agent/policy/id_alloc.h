#pragma once
// Number allocation for rule ids and identities: fresh numbers first, then
// freed ones in the order they were freed, so a number is reused only after
// every other free number has been used (stale counters or cached verdicts
// naming an old number are as unlikely to be misread as possible). Numbers
// taken beforehand (in use in pinned maps) are never handed out fresh.
#include <cstdint>
#include <deque>
#include <optional>
#include <set>

namespace strand::policy {

class IdAllocator {
 public:
  // Numbers in [first, end).
  IdAllocator(uint32_t first, uint32_t end) : next_(first), end_(end) {}

  [[nodiscard]] std::optional<uint32_t> allocate() {
    while (next_ < end_) {
      const uint32_t id = next_++;
      if (taken_.erase(id) == 0) return id;
    }
    if (freed_.empty()) return std::nullopt;
    uint32_t id = freed_.front();
    freed_.pop_front();
    return id;
  }
  void release(uint32_t id) { freed_.push_back(id); }
  // Keeps id from being allocated fresh (it is in use elsewhere); release()
  // it to make it allocatable again.
  void take(uint32_t id) {
    if (id >= next_ && id < end_) taken_.insert(id);
  }
  [[nodiscard]] size_t available() const { return (end_ - next_ - taken_.size()) + freed_.size(); }

 private:
  uint32_t next_;
  uint32_t end_;
  std::deque<uint32_t> freed_;
  std::set<uint32_t> taken_;  // >= next_
};

}  // namespace strand::policy
