#include "tests/bench/cni_addel/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace strand::bench {

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(rank));
  const auto hi = static_cast<size_t>(std::ceil(rank));
  const double frac = rank - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

Summary summarize(std::vector<double> samples_ms) {
  Summary s;
  s.n = samples_ms.size();
  if (s.n == 0) return s;
  std::sort(samples_ms.begin(), samples_ms.end());
  s.p50_ms = percentile(samples_ms, 50);
  s.p90_ms = percentile(samples_ms, 90);
  s.mean_ms = std::accumulate(samples_ms.begin(), samples_ms.end(), 0.0) / static_cast<double>(s.n);
  s.min_ms = samples_ms.front();
  s.max_ms = samples_ms.back();
  return s;
}

}  // namespace strand::bench
