#pragma once
// Which notifications concern an endpoint, pure: a notification in, the
// ifindex it is about out (nullopt: not one the watcher acts on). The watcher
// then checks the endpoint on that ifindex in full, so a notification only has
// to say where to look, never what to do.
#include <cstddef>
#include <optional>
#include <span>
#include <string>

namespace strand::agent::repair {

struct EventTarget {
  int ifindex = 0;
  std::string what;  // for the log: "RTM_DELROUTE 10.0.0.5/32", "RTM_DELLINK st1a2b"
};

// Node netns (RTNLGRP_LINK, IPV4_ROUTE, IPV6_ROUTE, NEIGH, TC): a link
// deleted, a route deleted (its oif), a neighbour deleted or made
// non-permanent, a qdisc or filter deleted. Everything else, including what
// the watcher's own repairs announce (new routes, permanent neighbours), is nullopt.
[[nodiscard]] std::optional<EventTarget> node_event(std::span<const std::byte> msg);
// Pod netns (RTNLGRP_NEIGH): a neighbour deleted or made non-permanent.
[[nodiscard]] std::optional<EventTarget> pod_event(std::span<const std::byte> msg);

}  // namespace strand::agent::repair
