#pragma once
// The watcher's decisions, pure: given an endpoint's record and what the
// kernel has for it, what must be put back. No I/O here (observe.cpp reads
// the kernel, watcher.cpp applies the plan), so every case is unit-tested.
//
// What the CNI created for an endpoint (cni/pod_network.cpp):
//   node netns: per pod IP a host route <ip>/32|/128 dev <host veth> scope link,
//               and a permanent neighbour <ip> lladdr <pod mac> dev <host veth>;
//   pod netns:  per family a permanent gateway neighbour 169.254.1.1 / fe80::1
//               lladdr <host mac> dev <pod if>;
// and the agent attached the datapath to the host veth (+ endpoints map entry).
#include "common/pod_gateway.h"
#include <optional>
#include <string>
#include <vector>

#include "common/endpoint_record.h"
#include "common/ip.h"
#include "netlink/pod_routes.h"
#include "netlink/types.h"

namespace strand::agent::repair {

enum class Kind { kHostRoute, kHostNeighbour, kPodNeighbour, kEndpointGone, kReattach };
// "host-route", "host-neighbour", "pod-neighbour", "endpoint-gone", "reattach":
// the RepairCounts kinds.
[[nodiscard]] const char* kind_name(Kind k);

// What the kernel has for one endpoint, as observed.
struct Observed {
  // A link with the record's host ifindex and host ifname exists in the node netns.
  bool host_link = true;
  // The host veth is in the retired group (common/retired_links.h): a DEL took
  // it out of service (its routes and neighbours deleted on purpose) and the
  // reaper deletes it next. Nothing is put back on it.
  bool host_retired = false;
  std::vector<netlink::Route> host_routes;     // main-table routes whose oif is the host veth
  std::vector<netlink::Neighbor> host_neighs;  // neighbours on the host veth
  // Neighbours on the pod's interface; nullopt when the pod netns was not
  // looked at (gone, or not reachable): nothing is planned there then.
  std::optional<std::vector<netlink::Neighbor>> pod_neighs;
  // Datapath attached on both hooks and the endpoints entry present; nullopt:
  // not checked this time (event-driven checks of routes or neighbours).
  std::optional<bool> attached;
};

struct Repair {
  Kind kind;
  std::string what;   // the object: "route 10.0.0.5/32 dev st1234", ...
  std::string why;    // "missing", "not permanent (state 0x2)", "lladdr aa:.. instead of bb:.."
  std::optional<netlink::Route> route;     // kHostRoute: add (replace) this route in the node netns
  std::optional<netlink::Neighbor> neigh;  // kHostNeighbour (node netns) / kPodNeighbour (pod netns): replace
};

// The repairs the endpoint needs, in the order to apply them. A vanished host
// veth gives exactly one kEndpointGone and nothing else; a retired one
// nothing at all. A record that is not
// usable (no host ifindex, unparsable MAC) plans nothing for what depends on it.
[[nodiscard]] std::vector<Repair> plan(const EndpointRecord& rec, const Observed& seen);

// The host route the CNI creates for a pod IP.
using netlink::host_route;

}  // namespace strand::agent::repair
