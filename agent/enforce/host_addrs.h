#pragma once
// The addresses that are "the node" for NetworkPolicy (identity HOST: traffic
// between a pod and its own node, kubelet probes included, always passes):
// every address of the agent's network namespace and the pods' link-local
// gateways (cni/pod_network.h).
#include <vector>

#include "common/error.h"
#include "common/ip.h"

namespace strand::enforce {

[[nodiscard]] Result<std::vector<IpAddr>> host_addresses();

}  // namespace strand::enforce
