#include "agent/policy/port_blocks.h"

namespace strand::policy {

std::vector<PortBlock> port_blocks(uint16_t first, uint16_t last) {
  std::vector<PortBlock> out;
  uint32_t lo = first;
  const uint32_t hi = last;
  while (lo <= hi) {
    // The largest aligned block starting at lo that stays within hi.
    uint8_t host_bits = 0;
    while (host_bits < 16) {
      const uint32_t size = 1U << (host_bits + 1);
      if ((lo & (size - 1)) != 0 || lo + size - 1 > hi) break;
      ++host_bits;
    }
    out.push_back({static_cast<uint16_t>(lo), static_cast<uint8_t>(16 - host_bits)});
    lo += 1U << host_bits;
  }
  return out;
}

}  // namespace strand::policy
