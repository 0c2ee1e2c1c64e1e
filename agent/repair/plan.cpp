#include "agent/repair/plan.h"

#include <algorithm>
#include <cstdio>

namespace strand::agent::repair {
namespace {

using netlink::host_prefix;

std::string state_hex(uint16_t state) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%x", state);
  return buf;
}

// Why `have` (the entry for the address, if any) is not the permanent entry
// pointing at `mac`; empty when it is.
std::string neigh_wrong(const netlink::Neighbor* have, const netlink::Mac& mac) {
  if (!have) return "missing";
  if (!(have->state & NUD_PERMANENT)) return "not permanent (state " + state_hex(have->state) + ")";
  if (!have->lladdr) return "no lladdr";
  if (*have->lladdr != mac) return "lladdr " + netlink::mac_str(*have->lladdr) + " instead of " + netlink::mac_str(mac);
  return {};
}

const netlink::Neighbor* find_neigh(const std::vector<netlink::Neighbor>& v, const IpAddr& dst) {
  auto it = std::find_if(v.begin(), v.end(), [&](const netlink::Neighbor& n) { return n.dst == dst; });
  return it == v.end() ? nullptr : &*it;
}

netlink::Neighbor permanent(int ifindex, const IpAddr& dst, const netlink::Mac& mac) {
  netlink::Neighbor n;
  n.ifindex = ifindex;
  n.dst = dst;
  n.lladdr = mac;
  n.state = NUD_PERMANENT;
  return n;
}

}  // namespace

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kHostRoute: return "host-route";
    case Kind::kHostNeighbour: return "host-neighbour";
    case Kind::kPodNeighbour: return "pod-neighbour";
    case Kind::kEndpointGone: return "endpoint-gone";
    case Kind::kReattach: return "reattach";
  }
  return "unknown";
}

std::vector<Repair> plan(const EndpointRecord& rec, const Observed& seen) {
  std::vector<Repair> out;
  if (rec.host_ifindex <= 0) return out;
  if (!seen.host_link) {
    out.push_back({Kind::kEndpointGone, "host veth " + rec.host_ifname + " ifindex " + std::to_string(rec.host_ifindex),
                   "device vanished", std::nullopt, std::nullopt});
    return out;
  }
  if (seen.host_retired) return out;
  const auto pod_mac = netlink::parse_mac(rec.pod_mac);
  const auto host_mac = netlink::parse_mac(rec.host_mac);

  for (const auto& p : rec.ips) {
    const IpAddr& ip = p.addr;
    if (!ip.valid()) continue;
    const IpPrefix dst = host_prefix(ip);
    // Any main-table route to exactly the pod's address through its veth will
    // do (scope, protocol and metric are the admin's business).
    bool have = std::any_of(seen.host_routes.begin(), seen.host_routes.end(), [&](const netlink::Route& r) {
      return r.dst == dst && r.oif == rec.host_ifindex && r.table == RT_TABLE_MAIN;
    });
    if (!have) {
      out.push_back({Kind::kHostRoute, "route " + dst.str() + " dev " + rec.host_ifname, "missing",
                     host_route(ip, rec.host_ifindex), std::nullopt});
    }
  }
  if (pod_mac) {
    for (const auto& p : rec.ips) {
      if (!p.addr.valid()) continue;
      std::string why = neigh_wrong(find_neigh(seen.host_neighs, p.addr), *pod_mac);
      if (why.empty()) continue;
      out.push_back({Kind::kHostNeighbour, "neighbour " + p.addr.str() + " dev " + rec.host_ifname, why, std::nullopt,
                     permanent(rec.host_ifindex, p.addr, *pod_mac)});
    }
  }
  if (host_mac && seen.pod_neighs && rec.pod_ifindex > 0) {
    bool done[2] = {false, false};  // one gateway per family
    for (const auto& p : rec.ips) {
      if (!p.addr.valid()) continue;
      bool& d = done[p.addr.is_v6() ? 1 : 0];
      if (d) continue;
      d = true;
      const IpAddr& gw = gateway_for(p.addr.family);
      std::string why = neigh_wrong(find_neigh(*seen.pod_neighs, gw), *host_mac);
      if (why.empty()) continue;
      out.push_back({Kind::kPodNeighbour, "gateway neighbour " + gw.str() + " dev " + rec.ifname + " in " + rec.netns, why,
                     std::nullopt, permanent(rec.pod_ifindex, gw, *host_mac)});
    }
  }
  if (seen.attached && !*seen.attached) {
    out.push_back({Kind::kReattach, "datapath on " + rec.host_ifname, "attachment or endpoints entry missing",
                   std::nullopt, std::nullopt});
  }
  return out;
}

}  // namespace strand::agent::repair
