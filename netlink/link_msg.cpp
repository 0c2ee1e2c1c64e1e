// Link messages: RTM_NEWLINK (veth), RTM_SETLINK, RTM_GETLINK, RTM_DELLINK.
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>

#include "netlink/attr.h"
#include "netlink/messages.h"

namespace strand::netlink {

namespace {

constexpr std::string_view kWhat = "link";

// Without stats a link message is about a third of the size: less to copy on
// every get and dump.
void put_ext_mask(detail::Builder& b) { b.put_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS); }

// The attributes a link's own part and a veth peer's part share.
void put_link_attrs(detail::Builder& b, std::string_view name, uint32_t mtu, const std::optional<Mac>& mac) {
  b.put_str(IFLA_IFNAME, name);
  if (mtu != 0) b.put_u32(IFLA_MTU, mtu);
  if (mac) b.put(IFLA_ADDRESS, mac->data(), mac->size());
}

// A veth end's queues each way (0: the kernel's default).
void put_queues(detail::Builder& b, uint32_t queues) {
  if (queues == 0) return;
  b.put_u32(IFLA_NUM_TX_QUEUES, queues);
  b.put_u32(IFLA_NUM_RX_QUEUES, queues);
}

Status parse_linkinfo(const nlattr& info, Link& link) {
  if (auto ok = detail::validate(info, detail::AttrKind::kNested, kWhat); !ok) return ok;
  return detail::for_each_attr(detail::payload(info), kWhat, [&](const nlattr& a) -> Status {
    if (detail::attr_type(a) != IFLA_INFO_KIND) return {};
    return detail::store(detail::get_str(a, kWhat), link.kind);
  });
}

}  // namespace

Message build_veth_add(const VethSpec& spec) {
  detail::Builder b(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
  b.append<ifinfomsg>().ifi_family = AF_UNSPEC;
  put_link_attrs(b, spec.name, spec.mtu, spec.mac);
  put_queues(b, spec.queues);
  size_t linkinfo = b.nest_start(IFLA_LINKINFO);
  b.put_str(IFLA_INFO_KIND, "veth");
  size_t data = b.nest_start(IFLA_INFO_DATA);
  size_t peer = b.nest_start(VETH_INFO_PEER);
  b.append<ifinfomsg>().ifi_family = AF_UNSPEC;  // the peer's own header
  b.put_str(IFLA_IFNAME, spec.peer_name);
  if (spec.peer_netns_fd >= 0) b.put_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(spec.peer_netns_fd));
  if (spec.mtu != 0) b.put_u32(IFLA_MTU, spec.mtu);
  if (spec.peer_mac) b.put(IFLA_ADDRESS, spec.peer_mac->data(), spec.peer_mac->size());
  put_queues(b, spec.queues);
  b.nest_end(peer);
  b.nest_end(data);
  b.nest_end(linkinfo);
  return std::move(b).finish();
}

Message build_link_get(std::string_view name) {
  detail::Builder b(RTM_GETLINK, NLM_F_REQUEST);
  b.append<ifinfomsg>().ifi_family = AF_UNSPEC;
  b.put_str(IFLA_IFNAME, name);
  put_ext_mask(b);
  return std::move(b).finish();
}

Message build_link_get(int index) {
  detail::Builder b(RTM_GETLINK, NLM_F_REQUEST);
  auto& ifi = b.append<ifinfomsg>();
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  put_ext_mask(b);
  return std::move(b).finish();
}

Message build_link_dump() {
  detail::Builder b(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP);
  b.append<ifinfomsg>().ifi_family = AF_UNSPEC;
  put_ext_mask(b);
  return std::move(b).finish();
}

Message build_link_change(const LinkChange& c) {
  detail::Builder b(RTM_SETLINK, NLM_F_REQUEST);
  auto& ifi = b.append<ifinfomsg>();
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = c.index;
  if (c.up) {
    ifi.ifi_flags = *c.up ? IFF_UP : 0;
    ifi.ifi_change = IFF_UP;
  }
  if (c.name) b.put_str(IFLA_IFNAME, *c.name);
  if (c.mtu) b.put_u32(IFLA_MTU, *c.mtu);
  if (c.mac) b.put(IFLA_ADDRESS, c.mac->data(), c.mac->size());
  if (c.netns_fd) b.put_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(*c.netns_fd));
  if (c.group) b.put_u32(IFLA_GROUP, *c.group);
  return std::move(b).finish();
}

Message build_link_del(int index) {
  detail::Builder b(RTM_DELLINK, NLM_F_REQUEST);
  auto& ifi = b.append<ifinfomsg>();
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  return std::move(b).finish();
}

Message build_link_del(std::string_view name) {
  detail::Builder b(RTM_DELLINK, NLM_F_REQUEST);
  b.append<ifinfomsg>().ifi_family = AF_UNSPEC;
  b.put_str(IFLA_IFNAME, name);
  return std::move(b).finish();
}

// Index 0 and IFLA_GROUP: the kernel deletes every link of the group in one
// batch (one RCU grace period for all of them instead of one each).
Message build_link_del_group(uint32_t group) {
  detail::Builder b(RTM_DELLINK, NLM_F_REQUEST);
  b.append<ifinfomsg>().ifi_family = AF_UNSPEC;
  b.put_u32(IFLA_GROUP, group);
  return std::move(b).finish();
}

Result<Link> parse_link(std::span<const std::byte> msg) {
  auto m = detail::open_message<ifinfomsg>(msg, {RTM_NEWLINK, RTM_DELLINK}, kWhat);
  if (!m) return std::unexpected(m.error());
  Link link;
  link.index = m->hdr.ifi_index;
  link.flags = m->hdr.ifi_flags;
  auto ok = detail::for_each_attr(m->attrs, kWhat, [&](const nlattr& a) -> Status {
    switch (detail::attr_type(a)) {
      case IFLA_IFNAME: {
        if (auto v = detail::validate(a, detail::AttrKind::kNulString, kWhat); !v) return v;
        if (detail::payload_len(a) > IFNAMSIZ) return detail::bad_message(kWhat, "IFLA_IFNAME too long");
        link.name = reinterpret_cast<const char*>(detail::payload_ptr(a));
        break;
      }
      case IFLA_MTU:
        return detail::store(detail::get_u32(a, kWhat), link.mtu);
      case IFLA_ADDRESS:
        // Hardware addresses are as long as the link type says (4 for ipip,
        // 0 for none); only Ethernet-sized ones are a Mac.
        if (detail::payload_len(a) == link.mac.size()) {
          std::memcpy(link.mac.data(), detail::payload_ptr(a), link.mac.size());
        }
        break;
      case IFLA_MASTER:
        return detail::store(detail::get_u32(a, kWhat), link.master);
      case IFLA_LINK:
        return detail::store(detail::get_u32(a, kWhat), link.peer_index);
      case IFLA_LINK_NETNSID:
        return detail::store(detail::get_u32(a, kWhat), link.link_netnsid);
      case IFLA_OPERSTATE:
        return detail::store(detail::get_u8(a, kWhat), link.oper_state);
      case IFLA_GROUP:
        return detail::store(detail::get_u32(a, kWhat), link.group);
      case IFLA_LINKINFO:
        return parse_linkinfo(a, link);
      default:
        break;
    }
    return {};
  });
  if (!ok) return std::unexpected(ok.error());
  return link;
}

}  // namespace strand::netlink
