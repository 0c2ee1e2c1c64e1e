#pragma once
// Number allocation for rule ids and identities: fresh numbers first, then
// freed ones in the order they were freed, so a number is reused only after
// every other free number has been used (stale counters or cached verdicts
// naming an old number are as unlikely to be misread as possible).
#include <cstdint>
#include <deque>
#include <optional>

namespace strand::policy {

class IdAllocator {
 public:
  // Numbers in [first, end).
  IdAllocator(uint32_t first, uint32_t end) : next_(first), end_(end) {}

  [[nodiscard]] std::optional<uint32_t> allocate() {
    if (next_ < end_) return next_++;
    if (freed_.empty()) return std::nullopt;
    uint32_t id = freed_.front();
    freed_.pop_front();
    return id;
  }
  void release(uint32_t id) { freed_.push_back(id); }
  [[nodiscard]] size_t available() const { return (end_ - next_) + freed_.size(); }

 private:
  uint32_t next_;
  uint32_t end_;
  std::deque<uint32_t> freed_;
};

}  // namespace strand::policy
