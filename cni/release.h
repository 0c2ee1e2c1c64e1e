#pragma once
// Releasing one attachment: what DEL does, and what GC does for each stale one.
#include "cni/conf.h"
#include "cni/ipam/ipam.h"
#include "netlink/socket.h"

namespace strand::cni {

// Agent notified (best effort, bounded), host veth deleted, addresses
// released, endpoint record removed. Idempotent.
[[nodiscard]] CniStatus release_attachment(const NetConf& conf, netlink::Socket& host, ipam::Ipam& ipam,
                                           const ipam::Request& req);

}  // namespace strand::cni
