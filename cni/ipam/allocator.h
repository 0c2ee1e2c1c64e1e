#pragma once
// The allocation policy of strand-ipam: round robin over a range set, starting
// after the address handed out last, so a crash-looping pod does not get the
// same address back until the whole set has been used.
#include <functional>
#include <optional>

#include "cni/ipam/range.h"
#include "common/error.h"

namespace strand::cni::ipam {

// Whether an address is already allocated (an error stops the search).
using TakenFn = std::function<strand::Result<bool>(const IpAddr&)>;

// The first allocatable address of `set` after `last` (wrapping) for which
// `taken` is false; nullopt when every allocatable address is taken. `taken` is
// asked only about allocatable addresses, each at most once.
[[nodiscard]] strand::Result<std::optional<IpAddr>> find_free(const RangeSet& set, const std::optional<IpAddr>& last,
                                                      const TakenFn& taken);

}  // namespace strand::cni::ipam
