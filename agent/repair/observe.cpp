#include "agent/repair/observe.h"

#include "netlink/ops.h"

namespace strand::agent::repair {

Result<Observed> observe(const EndpointRecord& rec, netlink::Socket& host, netlink::Socket* pod) {
  Observed seen;
  auto link = netlink::link_get(host, rec.host_ifindex);
  if (!link) {
    if (link.error().err != ENODEV) return std::unexpected(link.error());
    seen.host_link = false;
    return seen;
  }
  if (link->name != rec.host_ifname) {  // the ifindex went to another device
    seen.host_link = false;
    return seen;
  }
  bool v4 = false, v6 = false;
  for (const auto& p : rec.ips) (p.addr.is_v6() ? v6 : v4) = true;
  for (int family : {AF_INET, AF_INET6}) {
    if ((family == AF_INET && !v4) || (family == AF_INET6 && !v6)) continue;
    auto routes = netlink::route_list(host, family, RT_TABLE_MAIN, rec.host_ifindex);
    if (!routes) return std::unexpected(routes.error());
    seen.host_routes.insert(seen.host_routes.end(), routes->begin(), routes->end());
  }
  auto neighs = netlink::neigh_list(host, 0, rec.host_ifindex);
  if (!neighs) return std::unexpected(neighs.error());
  seen.host_neighs = std::move(*neighs);
  if (pod && rec.pod_ifindex > 0) {
    auto pn = netlink::neigh_list(*pod, 0, rec.pod_ifindex);
    if (!pn) return std::unexpected(with_context(pn.error(), "pod netns " + rec.netns));
    seen.pod_neighs = std::move(*pn);
  }
  return seen;
}

}  // namespace strand::agent::repair
