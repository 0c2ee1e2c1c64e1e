#pragma once
// Pure builders and parsers for rtnetlink messages: values in, bytes out, and
// back. No I/O here; the Socket fills in seq/pid and sends.
//
// Builders return one request with NLM_F_REQUEST and its semantic flags
// (CREATE/EXCL/REPLACE, DUMP for dump requests) set and seq = pid = 0.
// Parsers take one message (nlmsghdr and payload), check the header lengths,
// validate every attribute they read (type and length) before reading it,
// skip attributes they do not know, and fail with EBADMSG when the message or
// an attribute is truncated or has the wrong length. A parser given a family it
// does not model (not AF_INET/AF_INET6 for addresses, routes and neighbours)
// fails with EAFNOSUPPORT so a dump walker can skip the message.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"
#include "netlink/socket.h"
#include "netlink/types.h"

namespace strand::netlink {

// Links
[[nodiscard]] Message build_veth_add(const VethSpec& spec);
[[nodiscard]] Message build_link_get(std::string_view name);
[[nodiscard]] Message build_link_get(int index);
[[nodiscard]] Message build_link_dump();
[[nodiscard]] Message build_link_change(const LinkChange& change);
[[nodiscard]] Message build_link_del(int index);
[[nodiscard]] Message build_link_del(std::string_view name);
[[nodiscard]] Message build_link_del_group(uint32_t group);
// RTM_NEWLINK or RTM_DELLINK.
[[nodiscard]] Result<Link> parse_link(std::span<const std::byte> msg);

// Addresses: IFA_LOCAL and IFA_ADDRESS both carry the address; IFA_FLAGS
// carries all 32 flag bits (ifa_flags the low 8).
[[nodiscard]] Message build_addr_add(const Address& a, bool replace);
[[nodiscard]] Message build_addr_del(const Address& a);
// family 0 = all; ifindex 0 = all links (filtered by the kernel under strict checking).
[[nodiscard]] Message build_addr_dump(int family, int ifindex);
// RTM_NEWADDR or RTM_DELADDR.
[[nodiscard]] Result<Address> parse_addr(std::span<const std::byte> msg);

// Routes: rtm_table holds the table when < 256 and RTA_TABLE always does.
[[nodiscard]] Message build_route_add(const Route& r, bool replace);
// Matches loosely as `ip route del` does: any scope and protocol.
[[nodiscard]] Message build_route_del(const Route& r);
// Strict dump filter: family, table (0 = all) and oif (0 = all).
[[nodiscard]] Message build_route_dump(int family, uint32_t table, int oif);
// RTM_NEWROUTE or RTM_DELROUTE.
[[nodiscard]] Result<Route> parse_route(std::span<const std::byte> msg);

// Neighbours
[[nodiscard]] Message build_neigh_add(const Neighbor& n, bool replace);
[[nodiscard]] Message build_neigh_del(const Neighbor& n);
// Strict dump filter: family and NDA_IFINDEX (0 = all).
[[nodiscard]] Message build_neigh_dump(int family, int ifindex);
// RTM_NEWNEIGH or RTM_DELNEIGH.
[[nodiscard]] Result<Neighbor> parse_neigh(std::span<const std::byte> msg);

// Acknowledgements: an NLMSG_ERROR (ACK or error) or the NLMSG_DONE closing a
// dump, with the extended-ACK attributes when the kernel added them.
struct Ack {
  int error = 0;                         // 0 or a negative errno, as the kernel sends it
  std::string message;                   // NLMSGERR_ATTR_MSG
  std::optional<uint32_t> offset;        // NLMSGERR_ATTR_OFFS: bad attribute's offset in the request
  std::optional<uint32_t> missing_type;  // NLMSGERR_ATTR_MISS_TYPE
};
[[nodiscard]] Result<Ack> parse_ack(std::span<const std::byte> msg);
// Error{op, -ack.error, context + ": " + ack text}; the text is the kernel's
// message, or "missing attribute N" when it only named a missing attribute.
[[nodiscard]] Error ack_error(const Ack& ack, std::string_view op, std::string_view context);

// "RTM_NEWLINK", "NLMSG_ERROR", ... or "message N".
[[nodiscard]] std::string message_type_name(uint16_t type);

}  // namespace strand::netlink
