#pragma once
// A Prometheus-style histogram: fixed upper bounds, per-bucket counts, sum.
#include <cstdint>
#include <vector>

namespace strand::agent::flows {

struct Histogram {
  std::vector<double> bounds;   // ascending upper bounds; +Inf is implicit
  std::vector<uint64_t> counts; // per bucket (not cumulative), bounds.size() + 1 with +Inf last
  double sum = 0;
  uint64_t count = 0;

  explicit Histogram(std::vector<double> b = {}) : bounds(std::move(b)), counts(bounds.size() + 1, 0) {}

  void observe(double v) {
    size_t i = 0;
    while (i < bounds.size() && v > bounds[i]) ++i;
    ++counts[i];
    sum += v;
    ++count;
  }
};

// Buckets of strand_tcp_handshake_seconds: 10 us to 1 s (same-node veth
// handshakes take tens of microseconds; cross-node ones, hundreds).
inline std::vector<double> handshake_buckets() {
  return {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
          0.005,   0.01,     0.025,   0.05,   0.1,     0.25,   0.5,   1.0};
}

}  // namespace strand::agent::flows
