#pragma once
// Range and RangeSet: the address pools of strand-ipam, in host-local's shape.
// A range is [start, end] inside a subnet with a gateway; a range set is a list
// of ranges of one family from which each attachment gets exactly one address.
// Pure values: no I/O, no configuration parsing (that is cni/ipam/host_conf.h).
#include <optional>
#include <string>
#include <vector>

#include "common/ip.h"

namespace strand::cni::ipam {

struct Range {
  IpPrefix subnet;   // network form: host bits clear
  IpAddr start;      // first address, inclusive
  IpAddr end;        // last address, inclusive
  IpAddr gateway;    // never handed out

  // start <= a <= end (same family).
  [[nodiscard]] bool contains(const IpAddr& a) const;
  // In the range and not the gateway, the subnet's network address or (IPv4)
  // its broadcast address.
  [[nodiscard]] bool allocatable(const IpAddr& a) const;
  // Some address of [start, end] is allocatable.
  [[nodiscard]] bool has_allocatable() const;
  [[nodiscard]] bool overlaps(const Range& o) const;
  // "10.0.0.2-10.0.0.6 in 10.0.0.0/29"
  [[nodiscard]] std::string str() const;

  bool operator==(const Range&) const = default;
};

using RangeSet = std::vector<Range>;

// The range of `set` holding `a`, or nullptr.
[[nodiscard]] const Range* range_for(const RangeSet& set, const IpAddr& a);

// "10.0.0.2-10.0.0.6 in 10.0.0.0/29,10.0.1.2-10.0.1.254 in 10.0.1.0/24"
[[nodiscard]] std::string range_set_str(const RangeSet& set);

// The addresses a range set hands out, in allocation order: each range from
// start to end, then the next range, wrapping from the last range to the first.
// Only the position is tracked; callers skip what is not allocatable.
class RangeCursor {
 public:
  // Positioned on the address after `last` when `last` is in the set (round
  // robin), else on the first range's start.
  RangeCursor(const RangeSet& set, const std::optional<IpAddr>& last);

  [[nodiscard]] const IpAddr& addr() const { return addr_; }
  [[nodiscard]] const Range& range() const { return (*set_)[index_]; }
  void advance();

 private:
  const RangeSet* set_;
  size_t index_ = 0;
  IpAddr addr_;
};

}  // namespace strand::cni::ipam
