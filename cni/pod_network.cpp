#include "cni/pod_network.h"

#include <fcntl.h>
#include <linux/if_addr.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>

#include "common/fault.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/retired_links.h"
#include "netlink/ops.h"
#include "netlink/pod_routes.h"

namespace strand::cni {

namespace {

using netlink::host_prefix;
using netlink::host_route;

IpPrefix default_route(int family) {
  IpPrefix p;
  p.addr.family = family;
  p.len = 0;
  return p;
}

netlink::Route pod_route(const IpPrefix& dst, int pod_ifindex) {
  netlink::Route r;
  r.dst = dst.network();
  r.gateway = gateway_for(dst.family());
  r.oif = pod_ifindex;
  r.flags = RTNH_F_ONLINK;
  return r;
}

std::vector<IpPrefix> pod_route_dsts(const PodNetSpec& spec) {
  std::vector<IpPrefix> dsts;
  for (const auto& ip : spec.ips) dsts.push_back(default_route(ip.family));
  for (const auto& r : spec.extra_routes) {
    bool have_family = std::any_of(spec.ips.begin(), spec.ips.end(), [&](const IpAddr& ip) { return ip.family == r.family(); });
    if (have_family && std::find(dsts.begin(), dsts.end(), r.network()) == dsts.end()) dsts.push_back(r.network());
  }
  return dsts;
}

Status write_sysctl_if_off(const std::string& path) {
  auto cur = read_file(path);
  if (cur && !cur->empty() && (*cur)[0] == '1') return {};
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open", path);
  if (::write(fd.get(), "1", 1) != 1) return fail_errno("write", path);
  return {};
}

bool sysctl_on(const std::string& path) {
  auto cur = read_file(path);
  return cur && !cur->empty() && (*cur)[0] == '1';
}

}  // namespace

strand::Result<PodNetInfo> setup_pod_network(netlink::Socket& host, netlink::Socket& pod, const Netns& pod_ns,
                                     const PodNetSpec& spec, Rollback& rollback) {
  PodNetInfo info;

  if (auto st = fault_point("veth"); !st) return std::unexpected(st.error());
  netlink::VethSpec veth;
  veth.name = spec.host_ifname;
  veth.peer_name = spec.ifname;
  veth.peer_netns_fd = pod_ns.fd();
  veth.mtu = spec.mtu;
  // One queue per end: the datapath is tc on the host end (no veth NAPI/XDP),
  // and the default, a queue per possible CPU, cost 0.2 ms more per ADD on 2
  // CPUs in sysfs objects alone (ip -batch of 100 veths each way).
  veth.queues = 1;
  auto added = netlink::veth_add(host, veth);
  if (!added && added.error().err == EEXIST) {
    // A veth of this attachment retired by a DEL moments ago, not deleted yet
    // by the agent: delete it now, then create ours.
    bool cleared = false;
    if (auto st = clear_retired(host, pod, spec, cleared); !st) return std::unexpected(st.error());
    if (cleared) added = netlink::veth_add(host, veth);
  }
  if (!added) return std::unexpected(added.error());
  rollback.add("delete veth " + spec.host_ifname, [&host, name = spec.host_ifname] {
    if (auto st = netlink::link_del(host, name); !st && st.error().err != ENODEV) {
      log::error("rollback failed", {{"step", "delete veth"}, {"error", st.error().message()}});
    }
  });

  auto host_link = netlink::link_get(host, spec.host_ifname);
  if (!host_link) return std::unexpected(host_link.error());
  auto pod_link = netlink::link_get(pod, spec.ifname);
  if (!pod_link) return std::unexpected(with_context(pod_link.error(), "in pod netns " + pod_ns.path()));
  info.host_ifindex = host_link->index;
  info.host_mac = host_link->mac;
  info.pod_ifindex = pod_link->index;
  info.pod_mac = pod_link->mac;

  // Pod side. Everything here lives on the pod's end of the veth and goes when
  // the veth is deleted, so the veth's undo step covers it.
  if (auto st = fault_point("pod-addr"); !st) return std::unexpected(st.error());
  for (const auto& ip : spec.ips) {
    netlink::Address a;
    a.ifindex = info.pod_ifindex;
    a.prefix = host_prefix(ip);
    if (ip.is_v6()) a.flags = IFA_F_NODAD;
    if (auto st = netlink::addr_add(pod, a); !st) return std::unexpected(with_context(st.error(), "pod " + spec.ifname));
  }
  if (auto st = netlink::link_set_up(pod, info.pod_ifindex); !st) return std::unexpected(st.error());

  if (auto st = fault_point("pod-neigh"); !st) return std::unexpected(st.error());
  for (const auto& ip : spec.ips) {
    netlink::Neighbor n;
    n.ifindex = info.pod_ifindex;
    n.dst = gateway_for(ip.family);
    n.lladdr = info.host_mac;
    n.state = NUD_PERMANENT;
    if (auto st = netlink::neigh_add(pod, n); !st) return std::unexpected(with_context(st.error(), "pod " + spec.ifname));
  }

  if (auto st = fault_point("pod-route"); !st) return std::unexpected(st.error());
  for (const auto& dst : pod_route_dsts(spec)) {
    if (auto st = netlink::route_add(pod, pod_route(dst, info.pod_ifindex)); !st) {
      return std::unexpected(with_context(st.error(), "pod " + spec.ifname));
    }
  }

  // Host side.
  if (auto st = netlink::link_set_up(host, info.host_ifindex); !st) return std::unexpected(st.error());
  if (auto st = fault_point("host-route"); !st) return std::unexpected(st.error());
  for (const auto& ip : spec.ips) {
    if (auto st = netlink::route_add(host, host_route(ip, info.host_ifindex), true); !st) {
      return std::unexpected(with_context(st.error(), "host " + spec.host_ifname));
    }
    // The node never resolves the pod either: with a fresh host veth, IPv6
    // neighbour discovery would wait for DAD on its link-local (~1-2 s).
    netlink::Neighbor n;
    n.ifindex = info.host_ifindex;
    n.dst = ip;
    n.lladdr = info.pod_mac;
    n.state = NUD_PERMANENT;
    if (auto st = netlink::neigh_add(host, n); !st) return std::unexpected(with_context(st.error(), "host " + spec.host_ifname));
  }
  return info;
}

Status teardown_pod_network(netlink::Socket& host, const std::string& host_ifname) {
  auto st = netlink::link_del(host, host_ifname);
  if (!st && st.error().err != ENODEV) return st;
  return {};
}

namespace {

bool gone(const Error& e) { return e.err == ENODEV || e.err == ENOENT || e.err == ESRCH; }

}  // namespace

strand::Result<int> retire_pod_network(netlink::Socket& host, const std::string& host_ifname) {
  auto link = netlink::link_get(host, host_ifname);
  if (!link) {
    if (gone(link.error())) return 0;
    return std::unexpected(link.error());
  }
  const int index = link->index;
  if (auto st = netlink::link_set(host, netlink::LinkChange{.index = index, .group = kRetiredLinkGroup}); !st) {
    if (gone(st.error())) return 0;
    return std::unexpected(st.error());
  }
  // Out of service: nothing on the node routes to the pod any more, and a new
  // pod may take its addresses (and routes) at once.
  // From here the link may vanish under us (a reaper's batch takes it as soon
  // as it is in the group): then its routes and neighbours are gone with it.
  auto routes = netlink::route_list(host, AF_UNSPEC, RT_TABLE_MAIN, index);
  if (!routes) {
    if (gone(routes.error())) return index;
    return std::unexpected(routes.error());
  }
  for (const auto& r : *routes) {
    if (auto st = netlink::route_del(host, r); !st && !gone(st.error())) return std::unexpected(st.error());
  }
  auto neighs = netlink::neigh_list(host, AF_UNSPEC, index);
  if (!neighs) {
    if (gone(neighs.error())) return index;
    return std::unexpected(neighs.error());
  }
  for (const auto& n : *neighs) {
    if (auto st = netlink::neigh_del(host, n); !st && !gone(st.error())) return std::unexpected(st.error());
  }
  return index;
}

Status clear_retired(netlink::Socket& host, netlink::Socket& pod, const PodNetSpec& spec, bool& cleared) {
  cleared = false;
  std::vector<int> doomed;
  if (auto l = netlink::link_get(host, spec.host_ifname); l && l->group == kRetiredLinkGroup) doomed.push_back(l->index);
  if (auto p = netlink::link_get(pod, spec.ifname); p && p->peer_index > 0) {
    if (auto l = netlink::link_get(host, p->peer_index); l && l->group == kRetiredLinkGroup) doomed.push_back(l->index);
  }
  for (int index : doomed) {
    if (auto st = netlink::link_del(host, index); !st && !gone(st.error())) return st;
    cleared = true;
  }
  return {};
}

strand::Result<PodNetInfo> check_pod_network(netlink::Socket& host, netlink::Socket& pod, const PodNetSpec& spec) {
  auto differs = [](std::string what) { return fail("CHECK", 0, std::move(what)); };
  PodNetInfo info;
  auto pod_link = netlink::link_get(pod, spec.ifname);
  if (!pod_link) return differs("interface " + spec.ifname + " missing in the pod netns");
  auto host_link = netlink::link_get(host, spec.host_ifname);
  if (!host_link) return differs("host interface " + spec.host_ifname + " missing");
  info.pod_ifindex = pod_link->index;
  info.pod_mac = pod_link->mac;
  info.host_ifindex = host_link->index;
  info.host_mac = host_link->mac;
  if (!pod_link->up()) return differs("interface " + spec.ifname + " is down");
  if (!host_link->up()) return differs("host interface " + spec.host_ifname + " is down");
  if (pod_link->mtu != spec.mtu) {
    return differs("interface " + spec.ifname + " mtu " + std::to_string(pod_link->mtu) + ", expected " + std::to_string(spec.mtu));
  }
  if (host_link->mtu != spec.mtu) {
    return differs("host interface " + spec.host_ifname + " mtu " + std::to_string(host_link->mtu) + ", expected " +
                   std::to_string(spec.mtu));
  }

  auto addrs = netlink::addr_list(pod, 0, info.pod_ifindex);
  if (!addrs) return std::unexpected(addrs.error());
  for (const auto& ip : spec.ips) {
    bool found = std::any_of(addrs->begin(), addrs->end(), [&](const netlink::Address& a) { return a.prefix.addr == ip; });
    if (!found) return differs("address " + ip.str() + " missing on " + spec.ifname);
  }

  auto neighs = netlink::neigh_list(pod, 0, info.pod_ifindex);
  if (!neighs) return std::unexpected(neighs.error());
  for (const auto& ip : spec.ips) {
    const IpAddr& gw = gateway_for(ip.family);
    auto it = std::find_if(neighs->begin(), neighs->end(), [&](const netlink::Neighbor& n) { return n.dst == gw; });
    if (it == neighs->end()) return differs("gateway neighbour " + gw.str() + " missing on " + spec.ifname);
    if (!(it->state & NUD_PERMANENT)) return differs("gateway neighbour " + gw.str() + " is not permanent");
    if (!it->lladdr || *it->lladdr != info.host_mac) {
      return differs("gateway neighbour " + gw.str() + " does not point at " + netlink::mac_str(info.host_mac));
    }
  }

  for (int family : {AF_INET, AF_INET6}) {
    bool want = std::any_of(spec.ips.begin(), spec.ips.end(), [&](const IpAddr& ip) { return ip.family == family; });
    if (!want) continue;
    auto routes = netlink::route_list(pod, family, RT_TABLE_MAIN, info.pod_ifindex);
    if (!routes) return std::unexpected(routes.error());
    for (const auto& dst : pod_route_dsts(spec)) {
      if (dst.family() != family) continue;
      bool found = std::any_of(routes->begin(), routes->end(), [&](const netlink::Route& r) {
        return r.dst == dst && r.gateway && *r.gateway == gateway_for(family);
      });
      if (!found) return differs("route " + dst.str() + " via " + gateway_for(family).str() + " missing in the pod");
    }
    auto host_neighs = netlink::neigh_list(host, family, info.host_ifindex);
    if (!host_neighs) return std::unexpected(host_neighs.error());
    for (const auto& ip : spec.ips) {
      if (ip.family != family) continue;
      bool found = std::any_of(host_neighs->begin(), host_neighs->end(), [&](const netlink::Neighbor& n) {
        return n.dst == ip && (n.state & NUD_PERMANENT) && n.lladdr && *n.lladdr == info.pod_mac;
      });
      if (!found) return differs("host neighbour " + ip.str() + " -> " + netlink::mac_str(info.pod_mac) + " missing on " + spec.host_ifname);
    }
    auto host_routes = netlink::route_list(host, family, RT_TABLE_MAIN, info.host_ifindex);
    if (!host_routes) return std::unexpected(host_routes.error());
    for (const auto& ip : spec.ips) {
      if (ip.family != family) continue;
      bool found = std::any_of(host_routes->begin(), host_routes->end(),
                               [&](const netlink::Route& r) { return r.dst == host_prefix(ip); });
      if (!found) return differs("host route " + host_prefix(ip).str() + " dev " + spec.host_ifname + " missing");
    }
  }
  return info;
}

Status ensure_forwarding(bool v4, bool v6) {
  if (v4) {
    if (auto st = write_sysctl_if_off("/proc/sys/net/ipv4/ip_forward"); !st) return st;
  }
  if (v6) {
    if (auto st = write_sysctl_if_off("/proc/sys/net/ipv6/conf/all/forwarding"); !st) return st;
  }
  return {};
}

bool forwarding_enabled(bool v4, bool v6) {
  return (!v4 || sysctl_on("/proc/sys/net/ipv4/ip_forward")) &&
         (!v6 || sysctl_on("/proc/sys/net/ipv6/conf/all/forwarding"));
}

}  // namespace strand::cni
