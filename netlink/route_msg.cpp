// Route messages: RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE.
#include <linux/rtnetlink.h>

#include "netlink/attr.h"
#include "netlink/messages.h"

namespace strand::netlink {

namespace {

constexpr std::string_view kWhat = "route";

// rtm_table is 8 bits; RTA_TABLE carries any table and wins when present.
uint8_t header_table(uint32_t table) { return table < 256 ? static_cast<uint8_t>(table) : uint8_t{RT_TABLE_UNSPEC}; }

Message build_route(uint16_t type, uint16_t flags, const Route& r, bool del) {
  detail::Builder b(type, flags);
  auto& rtm = b.append<rtmsg>();
  rtm.rtm_family = static_cast<uint8_t>(r.family());
  rtm.rtm_dst_len = r.dst.len;
  rtm.rtm_table = header_table(r.table);
  // A delete matches any protocol and scope, as `ip route del` does.
  rtm.rtm_protocol = del ? uint8_t{RTPROT_UNSPEC} : r.protocol;
  rtm.rtm_scope = del ? uint8_t{RT_SCOPE_NOWHERE} : r.scope;
  rtm.rtm_type = r.type;
  rtm.rtm_flags = r.flags;
  b.put_u32(RTA_TABLE, r.table);
  if (r.dst.len != 0) b.put_ip(RTA_DST, r.dst.addr);
  if (r.gateway) b.put_ip(RTA_GATEWAY, *r.gateway);
  if (r.oif != 0) b.put_u32(RTA_OIF, static_cast<uint32_t>(r.oif));
  if (r.priority) b.put_u32(RTA_PRIORITY, *r.priority);
  if (r.prefsrc) b.put_ip(RTA_PREFSRC, *r.prefsrc);
  if (r.mtu && !del) {
    size_t metrics = b.nest_start(RTA_METRICS);
    b.put_u32(RTAX_MTU, *r.mtu);
    b.nest_end(metrics);
  }
  return std::move(b).finish();
}

Status parse_metrics(const nlattr& metrics, Route& r) {
  if (auto ok = detail::validate(metrics, detail::AttrKind::kNested, kWhat); !ok) return ok;
  return detail::for_each_attr(detail::payload(metrics), kWhat, [&](const nlattr& a) -> Status {
    if (detail::attr_type(a) != RTAX_MTU) return {};
    return detail::store(detail::get_u32(a, kWhat), r.mtu);
  });
}

}  // namespace

Message build_route_add(const Route& r, bool replace) {
  return build_route(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), r, false);
}

Message build_route_del(const Route& r) { return build_route(RTM_DELROUTE, NLM_F_REQUEST, r, true); }

Message build_route_dump(int family, uint32_t table, int oif) {
  detail::Builder b(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP);
  auto& rtm = b.append<rtmsg>();
  rtm.rtm_family = static_cast<uint8_t>(family);
  rtm.rtm_table = header_table(table);
  if (table != 0) b.put_u32(RTA_TABLE, table);
  if (oif != 0) b.put_u32(RTA_OIF, static_cast<uint32_t>(oif));
  return std::move(b).finish();
}

Result<Route> parse_route(std::span<const std::byte> msg) {
  auto m = detail::open_message<rtmsg>(msg, {RTM_NEWROUTE, RTM_DELROUTE}, kWhat);
  if (!m) return std::unexpected(m.error());
  int family = m->hdr.rtm_family;
  if (family != AF_INET && family != AF_INET6) {
    return fail("parse route", EAFNOSUPPORT, "family " + std::to_string(family));
  }
  Route r;
  r.dst.addr.family = family;
  r.dst.len = m->hdr.rtm_dst_len;
  if (r.dst.len > r.dst.addr.max_prefix()) return detail::bad_message(kWhat, "prefix length too long");
  r.table = m->hdr.rtm_table;
  r.protocol = m->hdr.rtm_protocol;
  r.scope = m->hdr.rtm_scope;
  r.type = m->hdr.rtm_type;
  r.flags = m->hdr.rtm_flags;
  auto ok = detail::for_each_attr(m->attrs, kWhat, [&](const nlattr& a) -> Status {
    switch (detail::attr_type(a)) {
      case RTA_DST:
        return detail::store(detail::get_ip(a, family, kWhat), r.dst.addr);
      case RTA_GATEWAY:
        return detail::store(detail::get_ip(a, family, kWhat), r.gateway);
      case RTA_PREFSRC:
        return detail::store(detail::get_ip(a, family, kWhat), r.prefsrc);
      case RTA_OIF:
        return detail::store(detail::get_u32(a, kWhat), r.oif);
      case RTA_PRIORITY:
        return detail::store(detail::get_u32(a, kWhat), r.priority);
      case RTA_TABLE:
        return detail::store(detail::get_u32(a, kWhat), r.table);
      case RTA_METRICS:
        return parse_metrics(a, r);
      default:
        break;
    }
    return {};
  });
  if (!ok) return std::unexpected(ok.error());
  return r;
}

}  // namespace strand::netlink
