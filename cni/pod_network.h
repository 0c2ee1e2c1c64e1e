#pragma once
// The pod's network in the kernel: a veth whose peer is created directly in the
// pod netns, the pod's /32 and /128 with a link-local gateway and a permanent
// neighbour for it, and host routes and permanent neighbours for the pod. Setup registers an undo step
// for everything it creates.
#include "common/pod_gateway.h"
#include <string>
#include <vector>

#include "common/error.h"
#include "common/ip.h"
#include "common/netns.h"
#include "common/rollback.h"
#include "netlink/socket.h"
#include "netlink/types.h"

namespace strand::cni {

struct PodNetSpec {
  std::string ifname;                 // inside the pod (CNI_IFNAME)
  std::string host_ifname;            // on the host (cni/names.h)
  uint32_t mtu = 1500;
  std::vector<IpAddr> ips;            // the pod's addresses, one per family at most
  std::vector<IpPrefix> extra_routes; // from IPAM: destinations routed via the gateway
};

struct PodNetInfo {
  int host_ifindex = 0;
  int pod_ifindex = 0;
  netlink::Mac host_mac{};
  netlink::Mac pod_mac{};
};

// host: a socket in the node's netns; pod: a socket opened in the pod's netns;
// pod_ns: that netns (its fd is handed to the kernel for the veth peer).
[[nodiscard]] strand::Result<PodNetInfo> setup_pod_network(netlink::Socket& host, netlink::Socket& pod, const Netns& pod_ns,
                                                   const PodNetSpec& spec, Rollback& rollback);

// Deletes the host veth (the pod end and every route through it go with it).
// Success when it is already gone.
[[nodiscard]] Status teardown_pod_network(netlink::Socket& host, const std::string& host_ifname);

// Takes the pod's veth out of service without waiting for the kernel to
// destroy it (common/retired_links.h): the host end joins the retired group and
// loses its routes and neighbours, so no traffic reaches the pod and its
// addresses can go to a new pod at once. (Down or renamed would cost an RCU
// grace period each, as much as the delete.) An ADD that finds its names still
// taken by a retired veth deletes that one first. Returns the host end's
// ifindex, 0 when there was no such link.
[[nodiscard]] strand::Result<int> retire_pod_network(netlink::Socket& host, const std::string& host_ifname);

// Deletes the retired veth (if any) holding spec's host or pod interface name;
// `cleared` says whether one was deleted.
[[nodiscard]] Status clear_retired(netlink::Socket& host, netlink::Socket& pod, const PodNetSpec& spec, bool& cleared);

// Compares the live state with `spec`: the error's context names what differs.
[[nodiscard]] strand::Result<PodNetInfo> check_pod_network(netlink::Socket& host, netlink::Socket& pod, const PodNetSpec& spec);

// Turns on IPv4/IPv6 forwarding in the calling thread's netns when it is off.
[[nodiscard]] Status ensure_forwarding(bool v4, bool v6);
// Whether forwarding is on for every family given.
[[nodiscard]] bool forwarding_enabled(bool v4, bool v6);

}  // namespace strand::cni
