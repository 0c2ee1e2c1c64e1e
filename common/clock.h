#pragma once
// Monotonic time for deadlines and timings.
#include <time.h>

#include <cstdint>

namespace strand {

[[nodiscard]] inline int64_t mono_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

[[nodiscard]] inline int64_t mono_ms() { return mono_us() / 1000; }

}  // namespace strand
