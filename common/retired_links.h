#pragma once
// Retired links: DEL does not wait for the kernel to destroy a pod's veth (an
// RCU grace period, 20+ ms per link). It takes the veth out of service at once
// (moved into the retired group, its routes and neighbours deleted) and the
// node agent deletes the whole group in one batch moments later. CNI GC deletes
// the group too, and an ADD whose names a retired veth still holds deletes it.
#include <cstdint>

namespace strand {

// IFLA_GROUP of retired links ("ST" 0x0001); group 0 is every link's default.
inline constexpr uint32_t kRetiredLinkGroup = 0x53540001;

}  // namespace strand
