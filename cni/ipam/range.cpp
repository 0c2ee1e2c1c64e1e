#include "cni/ipam/range.h"

namespace strand::cni::ipam {

bool Range::contains(const IpAddr& a) const {
  return a.family == start.family && start <= a && a <= end;
}

bool Range::allocatable(const IpAddr& a) const {
  if (!contains(a) || a == gateway || a == subnet.addr) return false;
  return !(a.is_v4() && a == subnet.last());
}

bool Range::has_allocatable() const {
  // At most three addresses are excluded (network, broadcast, gateway), so
  // looking at the first four of the range decides.
  IpAddr a = start;
  for (int i = 0; i < 4; ++i) {
    if (allocatable(a)) return true;
    if (a == end) return false;
    a = a.next();
  }
  return true;
}

bool Range::overlaps(const Range& o) const {
  if (start.family != o.start.family) return false;
  return start <= o.end && o.start <= end;
}

std::string Range::str() const { return start.str() + "-" + end.str() + " in " + subnet.str(); }

const Range* range_for(const RangeSet& set, const IpAddr& a) {
  for (const Range& r : set) {
    if (r.contains(a)) return &r;
  }
  return nullptr;
}

std::string range_set_str(const RangeSet& set) {
  std::string out;
  for (const Range& r : set) {
    if (!out.empty()) out += ",";
    out += r.str();
  }
  return out;
}

RangeCursor::RangeCursor(const RangeSet& set, const std::optional<IpAddr>& last) : set_(&set) {
  if (last) {
    for (size_t i = 0; i < set.size(); ++i) {
      if (set[i].contains(*last)) {
        index_ = i;
        addr_ = *last;
        advance();
        return;
      }
    }
  }
  addr_ = set.front().start;
}

void RangeCursor::advance() {
  if (addr_ == range().end) {
    index_ = (index_ + 1) % set_->size();
    addr_ = range().start;
    return;
  }
  addr_ = addr_.next();
}

}  // namespace strand::cni::ipam
