#include "cni/ipam/allocator.h"

namespace strand::cni::ipam {

strand::Result<std::optional<IpAddr>> find_free(const RangeSet& set, const std::optional<IpAddr>& last,
                                        const TakenFn& taken) {
  if (set.empty()) return std::optional<IpAddr>{};
  RangeCursor cursor(set, last);
  const IpAddr first = cursor.addr();
  do {
    if (cursor.range().allocatable(cursor.addr())) {
      auto t = taken(cursor.addr());
      if (!t) return std::unexpected(t.error());
      if (!*t) return std::optional<IpAddr>{cursor.addr()};
    }
    cursor.advance();
  } while (cursor.addr() != first);
  return std::optional<IpAddr>{};
}

}  // namespace strand::cni::ipam
