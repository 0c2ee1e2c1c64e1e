#include "agent/repair/observe.h"

#include "common/retired_links.h"
#include "netlink/ops.h"

namespace strand::agent::repair {

// The link is read last: a DEL retires a veth by first moving it to the
// retired group and then deleting its routes and neighbours, so routes seen
// missing before a link seen in service were deleted by someone else.
Result<Observed> observe(const EndpointRecord& rec, netlink::Socket& host, netlink::Socket* pod) {
  Observed seen;
  auto gone = [&seen](const Error& e) -> Result<Observed> {
    if (e.err != ENODEV) return std::unexpected(e);
    seen = Observed{};
    seen.host_link = false;
    return seen;
  };
  bool v4 = false, v6 = false;
  for (const auto& p : rec.ips) (p.addr.is_v6() ? v6 : v4) = true;
  for (int family : {AF_INET, AF_INET6}) {
    if ((family == AF_INET && !v4) || (family == AF_INET6 && !v6)) continue;
    auto routes = netlink::route_list(host, family, RT_TABLE_MAIN, rec.host_ifindex);
    if (!routes) return gone(routes.error());
    seen.host_routes.insert(seen.host_routes.end(), routes->begin(), routes->end());
  }
  auto neighs = netlink::neigh_list(host, 0, rec.host_ifindex);
  if (!neighs) return gone(neighs.error());
  seen.host_neighs = std::move(*neighs);
  if (pod && rec.pod_ifindex > 0) {
    auto pn = netlink::neigh_list(*pod, 0, rec.pod_ifindex);
    if (pn) {
      seen.pod_neighs = std::move(*pn);
    } else if (pn.error().err != ENODEV) {  // ENODEV: the pod end went with the veth
      return std::unexpected(with_context(pn.error(), "pod netns " + rec.netns));
    }
  }
  auto link = netlink::link_get(host, rec.host_ifindex);
  if (!link) return gone(link.error());
  if (link->name != rec.host_ifname) {  // the ifindex went to another device
    seen = Observed{};
    seen.host_link = false;
    return seen;
  }
  seen.host_retired = link->group == kRetiredLinkGroup;
  return seen;
}

}  // namespace strand::agent::repair
