// Traffic-control notifications: RTM_{NEW,DEL}{QDISC,TFILTER}. Only parsed:
// the agent attaches through libbpf and watches for what others remove.
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "netlink/attr.h"
#include "netlink/messages.h"

namespace strand::netlink {

namespace {
constexpr std::string_view kWhat = "tc object";
}  // namespace

Result<TcObject> parse_tc(std::span<const std::byte> msg) {
  auto m = detail::open_message<tcmsg>(
      msg, {RTM_NEWQDISC, RTM_DELQDISC, RTM_NEWTFILTER, RTM_DELTFILTER}, kWhat);
  if (!m) return std::unexpected(m.error());
  TcObject t;
  t.type = m->nlh->nlmsg_type;
  t.ifindex = m->hdr.tcm_ifindex;
  t.handle = m->hdr.tcm_handle;
  t.parent = m->hdr.tcm_parent;
  t.info = m->hdr.tcm_info;
  auto ok = detail::for_each_attr(m->attrs, kWhat, [&](const nlattr& a) -> Status {
    if (detail::attr_type(a) == TCA_KIND) {
      auto s = detail::get_str(a, kWhat);
      if (!s) return std::unexpected(s.error());
      t.kind = std::string(*s);
    }
    return {};
  });
  if (!ok) return std::unexpected(ok.error());
  return t;
}

}  // namespace strand::netlink
