#pragma once
// Releasing one attachment: what DEL does, and what GC does for each stale one.
#include "cni/conf.h"
#include "cni/ipam/ipam.h"
#include "netlink/socket.h"

namespace strand::cni {

// Where a release spent its time (microseconds), for DEL's log line.
struct ReleaseTimes {
  int64_t veth_us = 0;   // retire or delete the veth
  int64_t agent_us = 0;  // the agent's reply
  int64_t ipam_us = 0;
};

// Agent notified (best effort, bounded), host veth retired or deleted,
// addresses released, endpoint record removed. Idempotent.
[[nodiscard]] CniStatus release_attachment(const NetConf& conf, netlink::Socket& host, ipam::Ipam& ipam,
                                           const ipam::Request& req, ReleaseTimes* times = nullptr);

}  // namespace strand::cni
