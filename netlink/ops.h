#pragma once
// Operations on links, addresses, routes and neighbours, each one message
// built by netlink/messages.h and sent on a Socket. Missing objects report
// ENODEV (links) / ENOENT / ESRCH as the kernel does; callers that must be
// idempotent (DEL) test for those.
#include <string_view>
#include <vector>

#include "netlink/socket.h"
#include "netlink/types.h"

namespace strand::netlink {

// Links
[[nodiscard]] Status veth_add(Socket& s, const VethSpec& spec);
[[nodiscard]] Result<Link> link_get(Socket& s, std::string_view name);
[[nodiscard]] Result<Link> link_get(Socket& s, int index);
[[nodiscard]] Result<std::vector<Link>> link_list(Socket& s);
[[nodiscard]] Status link_set_up(Socket& s, int index, bool up = true);
[[nodiscard]] Status link_set_mtu(Socket& s, int index, uint32_t mtu);
[[nodiscard]] Status link_set_mac(Socket& s, int index, const Mac& mac);
[[nodiscard]] Status link_rename(Socket& s, int index, std::string_view name);
[[nodiscard]] Status link_set_netns(Socket& s, int index, int netns_fd);
// Any of the above at once, in one message (e.g. rename + MTU + up).
[[nodiscard]] Status link_set(Socket& s, const LinkChange& change);
[[nodiscard]] Status link_del(Socket& s, int index);
[[nodiscard]] Status link_del(Socket& s, std::string_view name);
// Deletes every link of IFLA_GROUP `group` in one batch (none is success).
[[nodiscard]] Status link_del_group(Socket& s, uint32_t group);

// Addresses (family AF_UNSPEC = both; ifindex 0 = all links)
[[nodiscard]] Status addr_add(Socket& s, const Address& a, bool replace = false);
[[nodiscard]] Status addr_del(Socket& s, const Address& a);
[[nodiscard]] Result<std::vector<Address>> addr_list(Socket& s, int family = 0, int ifindex = 0);

// Routes (dump filtered by family/table/oif when non-zero; a table the kernel
// never created lists as empty). An IPv4 onlink gateway is refused until the
// namespace has an IPv4 address (no local table yet): add addresses first.
[[nodiscard]] Status route_add(Socket& s, const Route& r, bool replace = false);
[[nodiscard]] Status route_del(Socket& s, const Route& r);
[[nodiscard]] Result<std::vector<Route>> route_list(Socket& s, int family = 0, uint32_t table = RT_TABLE_MAIN, int oif = 0);

// Neighbours
[[nodiscard]] Status neigh_add(Socket& s, const Neighbor& n, bool replace = true);
[[nodiscard]] Status neigh_del(Socket& s, const Neighbor& n);
[[nodiscard]] Result<std::vector<Neighbor>> neigh_list(Socket& s, int family = 0, int ifindex = 0);

}  // namespace strand::netlink
