#pragma once
// The two rtnetlink sockets a verb that touches a pod needs: one in the node's
// netns (the caller's), one opened inside the pod's netns.
#include <string>

#include "cni/types.h"
#include "common/netns.h"
#include "netlink/socket.h"

namespace strand::cni {

struct PodSockets {
  Netns pod_ns;
  netlink::Socket host;
  netlink::Socket pod;
};

// Code 4 when CNI_NETNS cannot be opened; the netlink error's code otherwise.
[[nodiscard]] CniResult<PodSockets> open_pod_sockets(const std::string& netns);

}  // namespace strand::cni
