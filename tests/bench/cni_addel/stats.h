#pragma once
// Order statistics of latency samples (milliseconds).
#include <cstddef>
#include <vector>

namespace strand::bench {

struct Summary {
  size_t n = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double mean_ms = 0;
  double min_ms = 0;
  double max_ms = 0;
};

// The p-th percentile (0..100) of sorted samples, interpolated linearly between
// the two closest ranks (numpy's default); 0 for no samples.
[[nodiscard]] double percentile(const std::vector<double>& sorted, double p);

[[nodiscard]] Summary summarize(std::vector<double> samples_ms);

}  // namespace strand::bench
