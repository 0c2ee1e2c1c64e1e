#pragma once
// Exponential backoff with jitter for reconnects: the n-th wait in a row is
// drawn uniformly from [d/2, d] with d = min(max, min * 2^n), never below min;
// reset() after a success starts again from min.
#include <chrono>
#include <cstdint>
#include <random>

namespace strand::sources::k8s {

class Backoff {
 public:
  using ms = std::chrono::milliseconds;
  Backoff(ms min, ms max, uint64_t seed);
  [[nodiscard]] ms next();
  void reset() { attempt_ = 0; }
  [[nodiscard]] uint32_t attempt() const { return attempt_; }

 private:
  ms min_;
  ms max_;
  uint32_t attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace strand::sources::k8s
