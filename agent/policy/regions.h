#pragma once
// ipBlock regions: the cidr and except prefixes of every ipBlock cut the
// address space into regions. The region of a prefix P of the set is P
// minus every more specific prefix of the set; each region is either wholly
// inside or wholly outside every ipBlock (cidr minus except), so a region's
// signature, the ipBlocks containing it, says which ipBlock peers match
// every address of it.
#include <cstdint>
#include <map>
#include <vector>

#include "agent/policy/types.h"
#include "common/ip.h"

namespace strand::policy {

// An ipBlock in canonical form (network addresses, sorted unique except).
struct BlockKey {
  IpPrefix cidr;
  std::vector<IpPrefix> except;

  auto operator<=>(const BlockKey&) const = default;
};

[[nodiscard]] BlockKey block_key(const IpBlock& b);

// Signature per prefix of the set: the indices (sorted) of the blocks
// containing its region. The set always holds 0.0.0.0/0 and ::/0.
[[nodiscard]] std::map<IpPrefix, std::vector<uint32_t>> region_signatures(
    const std::map<uint32_t, BlockKey>& blocks);

}  // namespace strand::policy
