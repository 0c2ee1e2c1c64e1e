#include "agent/repair/events.h"

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "netlink/messages.h"

namespace strand::agent::repair {
namespace {

uint16_t type_of(std::span<const std::byte> msg) {
  if (msg.size() < sizeof(nlmsghdr)) return 0;
  return reinterpret_cast<const nlmsghdr*>(msg.data())->nlmsg_type;
}

std::optional<EventTarget> neigh_event(std::span<const std::byte> msg, uint16_t type) {
  auto n = netlink::parse_neigh(msg);
  if (!n) return std::nullopt;  // AF_BRIDGE and other families: not ours
  if (type == RTM_NEWNEIGH && (n->state & NUD_PERMANENT)) return std::nullopt;
  return EventTarget{n->ifindex, netlink::message_type_name(type) + " " + n->dst.str()};
}

}  // namespace

std::optional<EventTarget> node_event(std::span<const std::byte> msg) {
  const uint16_t type = type_of(msg);
  switch (type) {
    case RTM_DELLINK: {
      auto l = netlink::parse_link(msg);
      if (!l) return std::nullopt;
      return EventTarget{l->index, "RTM_DELLINK " + l->name};
    }
    case RTM_DELROUTE: {
      auto r = netlink::parse_route(msg);
      if (!r || r->oif == 0) return std::nullopt;
      return EventTarget{r->oif, "RTM_DELROUTE " + r->dst.str()};
    }
    case RTM_NEWNEIGH:
    case RTM_DELNEIGH:
      return neigh_event(msg, type);
    case RTM_DELQDISC:
    case RTM_DELTFILTER: {
      auto t = netlink::parse_tc(msg);
      if (!t || t->ifindex <= 0) return std::nullopt;
      return EventTarget{t->ifindex, netlink::message_type_name(type) + (t->kind.empty() ? "" : " " + t->kind)};
    }
    default:
      return std::nullopt;
  }
}

std::optional<EventTarget> pod_event(std::span<const std::byte> msg) {
  const uint16_t type = type_of(msg);
  if (type != RTM_NEWNEIGH && type != RTM_DELNEIGH) return std::nullopt;
  return neigh_event(msg, type);
}

}  // namespace strand::agent::repair
