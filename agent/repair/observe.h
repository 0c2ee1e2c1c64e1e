#pragma once
// Reads what the kernel has for one endpoint (the I/O half of plan.h).
#include "agent/repair/plan.h"
#include "common/endpoint_record.h"
#include "common/error.h"
#include "netlink/socket.h"

namespace strand::agent::repair {

// host: a request socket in the node netns; pod: one in the endpoint's pod
// netns, or nullptr (then pod_neighs stays nullopt). `attached` is left unset:
// the datapath is the Endpoints' to check.
[[nodiscard]] Result<Observed> observe(const EndpointRecord& rec, netlink::Socket& host, netlink::Socket* pod);

}  // namespace strand::agent::repair
