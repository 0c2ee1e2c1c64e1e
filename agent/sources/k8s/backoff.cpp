#include "agent/sources/k8s/backoff.h"

#include <algorithm>

namespace strand::sources::k8s {

Backoff::Backoff(ms min, ms max, uint64_t seed) : min_(std::max(ms(1), min)), max_(std::max(min_, max)), rng_(seed) {}

Backoff::ms Backoff::next() {
  int64_t d = min_.count();
  for (uint32_t i = 0; i < attempt_ && d < max_.count(); ++i) d *= 2;
  d = std::min<int64_t>(d, max_.count());
  if (attempt_ < 64) ++attempt_;
  std::uniform_int_distribution<int64_t> pick(d / 2, d);
  return ms(std::max<int64_t>(pick(rng_), min_.count()));
}

}  // namespace strand::sources::k8s
