// Neighbour messages: RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH.
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "netlink/attr.h"
#include "netlink/messages.h"

namespace strand::netlink {

namespace {

constexpr std::string_view kWhat = "neighbour";

Message build_neigh(uint16_t type, uint16_t flags, const Neighbor& n) {
  detail::Builder b(type, flags);
  auto& ndm = b.append<ndmsg>();
  ndm.ndm_family = static_cast<uint8_t>(n.dst.family);
  ndm.ndm_ifindex = n.ifindex;
  ndm.ndm_state = n.state;
  ndm.ndm_flags = n.flags;
  b.put_ip(NDA_DST, n.dst);
  if (n.lladdr) b.put(NDA_LLADDR, n.lladdr->data(), n.lladdr->size());
  return std::move(b).finish();
}

}  // namespace

Message build_neigh_add(const Neighbor& n, bool replace) {
  return build_neigh(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), n);
}

Message build_neigh_del(const Neighbor& n) { return build_neigh(RTM_DELNEIGH, NLM_F_REQUEST, n); }

Message build_neigh_dump(int family, int ifindex) {
  detail::Builder b(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP);
  b.append<ndmsg>().ndm_family = static_cast<uint8_t>(family);
  // Strict dumps take the link filter as an attribute; the header's ifindex must be 0.
  if (ifindex != 0) b.put_u32(NDA_IFINDEX, static_cast<uint32_t>(ifindex));
  return std::move(b).finish();
}

Result<Neighbor> parse_neigh(std::span<const std::byte> msg) {
  auto m = detail::open_message<ndmsg>(msg, {RTM_NEWNEIGH, RTM_DELNEIGH}, kWhat);
  if (!m) return std::unexpected(m.error());
  int family = m->hdr.ndm_family;
  if (family != AF_INET && family != AF_INET6) {
    return fail("parse neighbour", EAFNOSUPPORT, "family " + std::to_string(family));
  }
  Neighbor n;
  n.ifindex = m->hdr.ndm_ifindex;
  n.state = m->hdr.ndm_state;
  n.flags = m->hdr.ndm_flags;
  bool have_dst = false;
  auto ok = detail::for_each_attr(m->attrs, kWhat, [&](const nlattr& a) -> Status {
    switch (detail::attr_type(a)) {
      case NDA_DST:
        have_dst = true;
        return detail::store(detail::get_ip(a, family, kWhat), n.dst);
      case NDA_LLADDR:
        // Link-layer addresses are as long as the link type's; only
        // Ethernet-sized ones are a Mac.
        if (detail::payload_len(a) == sizeof(Mac)) {
          Mac mac;
          std::memcpy(mac.data(), detail::payload_ptr(a), mac.size());
          n.lladdr = mac;
        }
        break;
      default:
        break;
    }
    return {};
  });
  if (!ok) return std::unexpected(ok.error());
  if (!have_dst) return detail::bad_message(kWhat, "no NDA_DST");
  return n;
}

}  // namespace strand::netlink
