#pragma once
// A bounded store of recorded items (drops, finished flows), oldest evicted
// first. Items carry a `seq` given by the caller, ascending. Not thread-safe:
// the collector guards it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace strand::agent::flows {

template <typename T>
class BoundedStore {
 public:
  explicit BoundedStore(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Appends `item` (its seq above every stored one); returns the evicted item, if any.
  std::optional<T> push(T item) {
    items_.push_back(std::move(item));
    if (items_.size() <= capacity_) return std::nullopt;
    T old = std::move(items_.front());
    items_.pop_front();
    return old;
  }

  // The stored item with `seq`, or nullptr.
  T* find(uint64_t seq) {
    auto it = std::lower_bound(items_.begin(), items_.end(), seq, [](const T& t, uint64_t s) { return t.seq < s; });
    return it != items_.end() && it->seq == seq ? &*it : nullptr;
  }

  [[nodiscard]] std::vector<T> items() const { return {items_.begin(), items_.end()}; }
  [[nodiscard]] size_t size() const { return items_.size(); }
  [[nodiscard]] size_t capacity() const { return capacity_; }

 private:
  size_t capacity_;
  std::deque<T> items_;
};

}  // namespace strand::agent::flows
