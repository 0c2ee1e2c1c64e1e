#include "lab/nl_extra.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "netlink/attr.h"

namespace strand::lab {

netlink::Message build_bridge_add(const std::string& name) {
  netlink::detail::Builder m(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
  m.append<ifinfomsg>().ifi_family = AF_UNSPEC;
  m.put_str(IFLA_IFNAME, name);
  size_t info = m.nest_start(IFLA_LINKINFO);
  m.put_str(IFLA_INFO_KIND, "bridge");
  m.nest_end(info);
  return std::move(m).finish();
}

netlink::Message build_set_master(int index, int master) {
  netlink::detail::Builder m(RTM_NEWLINK, NLM_F_REQUEST);
  auto& ifi = m.append<ifinfomsg>();
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  m.put_u32(IFLA_MASTER, static_cast<uint32_t>(master));
  return std::move(m).finish();
}

netlink::Message build_vxlan_add(const VxlanSpec& v) {
  netlink::detail::Builder m(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
  m.append<ifinfomsg>().ifi_family = AF_UNSPEC;
  m.put_str(IFLA_IFNAME, v.name);
  if (v.mtu) m.put_u32(IFLA_MTU, v.mtu);
  m.put(IFLA_ADDRESS, v.mac.data(), v.mac.size());
  size_t info = m.nest_start(IFLA_LINKINFO);
  m.put_str(IFLA_INFO_KIND, "vxlan");
  size_t data = m.nest_start(IFLA_INFO_DATA);
  m.put_u32(IFLA_VXLAN_ID, v.vni);
  if (v.local.is_v4()) {
    m.put(IFLA_VXLAN_LOCAL, v.local.bytes.data(), 4);
  } else {
    m.put(IFLA_VXLAN_LOCAL6, v.local.bytes.data(), 16);
  }
  if (v.underlay_index) m.put_u32(IFLA_VXLAN_LINK, static_cast<uint32_t>(v.underlay_index));
  m.put_u16(IFLA_VXLAN_PORT, htons(v.port));
  m.put_u8(IFLA_VXLAN_LEARNING, 0);
  m.nest_end(data);
  m.nest_end(info);
  return std::move(m).finish();
}

netlink::Message build_fdb_add(int index, const netlink::Mac& mac, const IpAddr& dst) {
  netlink::detail::Builder m(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE);
  auto& nd = m.append<ndmsg>();
  nd.ndm_family = AF_BRIDGE;
  nd.ndm_ifindex = index;
  nd.ndm_state = NUD_PERMANENT | NUD_NOARP;
  nd.ndm_flags = NTF_SELF;
  m.put(NDA_LLADDR, mac.data(), mac.size());
  m.put(NDA_DST, dst.bytes.data(), dst.size());
  return std::move(m).finish();
}

Status bridge_add(netlink::Socket& s, const std::string& name) {
  return s.request(build_bridge_add(name), "RTM_NEWLINK", "bridge " + name);
}
Status set_master(netlink::Socket& s, int index, int master) {
  return s.request(build_set_master(index, master), "RTM_NEWLINK", "master of link " + std::to_string(index));
}
Status vxlan_add(netlink::Socket& s, const VxlanSpec& v) {
  return s.request(build_vxlan_add(v), "RTM_NEWLINK", "vxlan " + v.name);
}
Status fdb_add(netlink::Socket& s, int index, const netlink::Mac& mac, const IpAddr& dst) {
  return s.request(build_fdb_add(index, mac, dst), "RTM_NEWNEIGH", "fdb " + netlink::mac_str(mac) + " dst " + dst.str());
}

Status sysctl_set(const std::string& key, const std::string& value) {
  std::string path = "/proc/sys/" + key;
  std::replace(path.begin() + 10, path.end(), '.', '/');
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open", path);
  ssize_t n = ::write(fd, value.data(), value.size());
  int e = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) return fail("write", e, path);
  return {};
}

}  // namespace strand::lab
