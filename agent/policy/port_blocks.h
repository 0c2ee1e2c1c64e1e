#pragma once
// Port ranges as the policy map's port prefixes: an inclusive range split
// into the fewest aligned blocks, each a first port and how many leading
// bits of the port must match (16: exactly that port).
#include <cstdint>
#include <vector>

namespace strand::policy {

struct PortBlock {
  uint16_t port = 0;
  uint8_t bits = 16;

  auto operator<=>(const PortBlock&) const = default;
};

// [first, last] inclusive; empty when first > last.
[[nodiscard]] std::vector<PortBlock> port_blocks(uint16_t first, uint16_t last);

}  // namespace strand::policy
