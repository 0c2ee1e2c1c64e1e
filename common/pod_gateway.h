#pragma once
// The gateway every pod routes through: link-local, answered by a permanent
// neighbour entry pointing at the host veth, so a pod never ARPs for it. The
// CNI installs it, the repair watcher restores it, and NetworkPolicy treats
// it as the node (identity HOST).
#include "common/ip.h"

namespace strand {

[[nodiscard]] const IpAddr& gateway_v4();  // 169.254.1.1
[[nodiscard]] const IpAddr& gateway_v6();  // fe80::1
[[nodiscard]] const IpAddr& gateway_for(int family);

}  // namespace strand
