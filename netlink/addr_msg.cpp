// Address messages: RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR.
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "netlink/attr.h"
#include "netlink/messages.h"

namespace strand::netlink {

namespace {

constexpr std::string_view kWhat = "address";

Message build_addr(uint16_t type, uint16_t flags, const Address& a) {
  detail::Builder b(type, flags);
  auto& ifa = b.append<ifaddrmsg>();
  ifa.ifa_family = static_cast<uint8_t>(a.prefix.family());
  ifa.ifa_prefixlen = a.prefix.len;
  ifa.ifa_flags = static_cast<uint8_t>(a.flags & 0xff);
  ifa.ifa_scope = a.scope;
  ifa.ifa_index = static_cast<uint32_t>(a.ifindex);
  b.put_ip(IFA_LOCAL, a.prefix.addr);
  b.put_ip(IFA_ADDRESS, a.prefix.addr);
  b.put_u32(IFA_FLAGS, a.flags);
  return std::move(b).finish();
}

}  // namespace

Message build_addr_add(const Address& a, bool replace) {
  return build_addr(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), a);
}

Message build_addr_del(const Address& a) { return build_addr(RTM_DELADDR, NLM_F_REQUEST, a); }

Message build_addr_dump(int family, int ifindex) {
  detail::Builder b(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
  auto& ifa = b.append<ifaddrmsg>();
  ifa.ifa_family = static_cast<uint8_t>(family);
  ifa.ifa_index = static_cast<uint32_t>(ifindex);
  return std::move(b).finish();
}

Result<Address> parse_addr(std::span<const std::byte> msg) {
  auto m = detail::open_message<ifaddrmsg>(msg, {RTM_NEWADDR, RTM_DELADDR}, kWhat);
  if (!m) return std::unexpected(m.error());
  int family = m->hdr.ifa_family;
  if (family != AF_INET && family != AF_INET6) {
    return fail("parse address", EAFNOSUPPORT, "family " + std::to_string(family));
  }
  Address out;
  out.ifindex = static_cast<int>(m->hdr.ifa_index);
  out.scope = m->hdr.ifa_scope;
  out.flags = m->hdr.ifa_flags;
  out.prefix.len = m->hdr.ifa_prefixlen;
  if (out.prefix.len > (family == AF_INET ? 32 : 128)) return detail::bad_message(kWhat, "prefix length too long");
  std::optional<IpAddr> local, address;
  auto ok = detail::for_each_attr(m->attrs, kWhat, [&](const nlattr& a) -> Status {
    switch (detail::attr_type(a)) {
      case IFA_LOCAL:
        return detail::store(detail::get_ip(a, family, kWhat), local);
      case IFA_ADDRESS:
        return detail::store(detail::get_ip(a, family, kWhat), address);
      case IFA_FLAGS:
        return detail::store(detail::get_u32(a, kWhat), out.flags);
      default:
        break;
    }
    return {};
  });
  if (!ok) return std::unexpected(ok.error());
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on a
  // point-to-point link and the only one the kernel sends for IPv6 otherwise.
  if (local) {
    out.prefix.addr = *local;
  } else if (address) {
    out.prefix.addr = *address;
  } else {
    return detail::bad_message(kWhat, "no IFA_LOCAL or IFA_ADDRESS");
  }
  return out;
}

}  // namespace strand::netlink
