// Operations: one message built by messages.h, one round trip on the Socket,
// replies parsed back. Error contexts name the object acted on; they are
// only formatted when there is an error to report.
#include "netlink/ops.h"

#include <string>

#include "netlink/messages.h"

namespace strand::netlink {

namespace {

std::string link_ctx(int index) { return "link index " + std::to_string(index); }
std::string link_ctx(std::string_view name) { return "link " + std::string(name); }

std::string addr_ctx(const Address& a) { return "address " + a.prefix.str() + " dev " + std::to_string(a.ifindex); }

std::string route_ctx(const Route& r) {
  std::string s = "route " + r.dst.str();
  if (r.gateway) s += " via " + r.gateway->str();
  if (r.oif != 0) s += " dev " + std::to_string(r.oif);
  if (r.table != RT_TABLE_MAIN) s += " table " + std::to_string(r.table);
  return s;
}

std::string neigh_ctx(const Neighbor& n) {
  std::string s = "neighbour " + n.dst.str();
  if (n.lladdr) s += " lladdr " + mac_str(*n.lladdr);
  return s + " dev " + std::to_string(n.ifindex);
}

// Runs a dump and parses every reply with `parse`, keeping those `keep`
// accepts. Families a parser does not model (EAFNOSUPPORT) are skipped.
template <typename T, typename Parse, typename Keep>
Result<std::vector<T>> list(Socket& s, Message msg, std::string_view op, Parse parse, Keep keep) {
  std::vector<T> out;
  auto ok = s.dump_each(std::move(msg), op, [&](std::span<const std::byte> m) -> Status {
    auto v = parse(m);
    if (!v) {
      if (v.error().err == EAFNOSUPPORT) return {};
      return std::unexpected(v.error());
    }
    if (keep(*v)) out.push_back(std::move(*v));
    return {};
  });
  if (!ok) return std::unexpected(ok.error());
  return out;
}

// Sends a change request; on failure names the object with ctx().
template <typename Ctx>
Status change(Socket& s, Message msg, std::string_view op, Ctx&& ctx) {
  auto st = s.request(std::move(msg), op);
  if (!st) return std::unexpected(with_context(std::move(st.error()), ctx()));
  return st;
}

template <typename Ctx>
Result<Link> get_link(Socket& s, Message msg, Ctx&& ctx) {
  auto reply = s.get(std::move(msg), "RTM_GETLINK");
  if (!reply) return std::unexpected(with_context(std::move(reply.error()), ctx()));
  auto link = parse_link(*reply);
  if (!link) return std::unexpected(with_context(std::move(link.error()), ctx()));
  return link;
}

// "link index 7 name eth0 mtu 1450 up"
std::string change_ctx(const LinkChange& c) {
  std::string s = link_ctx(c.index);
  if (c.name) s += " name " + *c.name;
  if (c.mtu) s += " mtu " + std::to_string(*c.mtu);
  if (c.mac) s += " address " + mac_str(*c.mac);
  if (c.netns_fd) s += " netns fd " + std::to_string(*c.netns_fd);
  if (c.up) s += *c.up ? " up" : " down";
  return s;
}

}  // namespace

Status veth_add(Socket& s, const VethSpec& spec) {
  return change(s, build_veth_add(spec), "RTM_NEWLINK",
                [&] { return "veth " + spec.name + " peer " + spec.peer_name; });
}

Result<Link> link_get(Socket& s, std::string_view name) {
  return get_link(s, build_link_get(name), [&] { return link_ctx(name); });
}

Result<Link> link_get(Socket& s, int index) {
  return get_link(s, build_link_get(index), [&] { return link_ctx(index); });
}

Result<std::vector<Link>> link_list(Socket& s) {
  return list<Link>(s, build_link_dump(), "RTM_GETLINK", parse_link, [](const Link&) { return true; });
}

Status link_set(Socket& s, const LinkChange& c) {
  return change(s, build_link_change(c), "RTM_SETLINK", [&] { return change_ctx(c); });
}

Status link_set_up(Socket& s, int index, bool up) { return link_set(s, LinkChange{.index = index, .up = up}); }

Status link_set_mtu(Socket& s, int index, uint32_t mtu) { return link_set(s, LinkChange{.index = index, .mtu = mtu}); }

Status link_set_mac(Socket& s, int index, const Mac& mac) {
  return link_set(s, LinkChange{.index = index, .mac = mac});
}

Status link_rename(Socket& s, int index, std::string_view name) {
  return link_set(s, LinkChange{.index = index, .name = std::string(name)});
}

Status link_set_netns(Socket& s, int index, int netns_fd) {
  return link_set(s, LinkChange{.index = index, .netns_fd = netns_fd});
}

Status link_del(Socket& s, int index) {
  return change(s, build_link_del(index), "RTM_DELLINK", [&] { return link_ctx(index); });
}

Status link_del(Socket& s, std::string_view name) {
  return change(s, build_link_del(name), "RTM_DELLINK", [&] { return link_ctx(name); });
}

Status link_del_group(Socket& s, uint32_t group) {
  auto st = change(s, build_link_del_group(group), "RTM_DELLINK", [&] { return "group " + std::to_string(group); });
  if (!st && st.error().err == ENODEV) return {};  // the group is empty
  return st;
}

Status addr_add(Socket& s, const Address& a, bool replace) {
  return change(s, build_addr_add(a, replace), "RTM_NEWADDR", [&] { return addr_ctx(a); });
}

Status addr_del(Socket& s, const Address& a) {
  return change(s, build_addr_del(a), "RTM_DELADDR", [&] { return addr_ctx(a); });
}

Result<std::vector<Address>> addr_list(Socket& s, int family, int ifindex) {
  // The kernel filters under strict checking; the filter here covers older kernels.
  return list<Address>(s, build_addr_dump(family, ifindex), "RTM_GETADDR", parse_addr, [&](const Address& a) {
    return (family == 0 || a.prefix.family() == family) && (ifindex == 0 || a.ifindex == ifindex);
  });
}

Status route_add(Socket& s, const Route& r, bool replace) {
  return change(s, build_route_add(r, replace), "RTM_NEWROUTE", [&] { return route_ctx(r); });
}

Status route_del(Socket& s, const Route& r) {
  return change(s, build_route_del(r), "RTM_DELROUTE", [&] { return route_ctx(r); });
}

Result<std::vector<Route>> route_list(Socket& s, int family, uint32_t table, int oif) {
  auto routes = list<Route>(s, build_route_dump(family, table, oif), "RTM_GETROUTE", parse_route, [&](const Route& r) {
    return (family == 0 || r.family() == family) && (table == 0 || r.table == table) && (oif == 0 || r.oif == oif);
  });
  // A strict IPv4 dump of a table that was never created is ENOENT: it has no routes.
  if (!routes && routes.error().err == ENOENT && table != 0) return std::vector<Route>{};
  return routes;
}

Status neigh_add(Socket& s, const Neighbor& n, bool replace) {
  return change(s, build_neigh_add(n, replace), "RTM_NEWNEIGH", [&] { return neigh_ctx(n); });
}

Status neigh_del(Socket& s, const Neighbor& n) {
  return change(s, build_neigh_del(n), "RTM_DELNEIGH", [&] { return neigh_ctx(n); });
}

Result<std::vector<Neighbor>> neigh_list(Socket& s, int family, int ifindex) {
  return list<Neighbor>(s, build_neigh_dump(family, ifindex), "RTM_GETNEIGH", parse_neigh, [&](const Neighbor& n) {
    return (family == 0 || n.dst.family == family) && (ifindex == 0 || n.ifindex == ifindex);
  });
}

}  // namespace strand::netlink
