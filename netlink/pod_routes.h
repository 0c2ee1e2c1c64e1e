#pragma once
// The route the CNI gives the node to each pod address, and the agent's
// netlink watcher puts back: the address as a /32 or /128 through the pod's
// host veth, scope link. One definition so both sides agree.
#include <linux/rtnetlink.h>

#include "common/ip.h"
#include "netlink/types.h"

namespace strand::netlink {

[[nodiscard]] inline IpPrefix host_prefix(const IpAddr& ip) {
  return IpPrefix{ip, static_cast<uint8_t>(ip.max_prefix())};
}

[[nodiscard]] inline Route host_route(const IpAddr& ip, int host_ifindex) {
  Route r;
  r.dst = host_prefix(ip);
  r.oif = host_ifindex;
  r.scope = RT_SCOPE_LINK;
  return r;
}

}  // namespace strand::netlink
