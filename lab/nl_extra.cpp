#include "lab/nl_extra.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace strand::lab {

namespace {

// One request in a fixed buffer (these messages are small), copied out as a Message.
class Msg {
 public:
  Msg(uint16_t type, uint16_t flags) {
    nlh_ = mnl_nlmsg_put_header(buf_);
    nlh_->nlmsg_type = type;
    nlh_->nlmsg_flags = flags;
  }
  template <typename T>
  T* header() {
    return static_cast<T*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(T)));
  }
  nlmsghdr* nlh() { return nlh_; }
  netlink::Message finish() {
    auto* b = reinterpret_cast<const std::byte*>(nlh_);
    return netlink::Message(b, b + nlh_->nlmsg_len);
  }

 private:
  alignas(8) char buf_[1024]{};
  nlmsghdr* nlh_;
};

}  // namespace

netlink::Message build_bridge_add(const std::string& name) {
  Msg m(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
  m.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(m.nlh(), IFLA_IFNAME, name.c_str());
  auto* info = mnl_attr_nest_start(m.nlh(), IFLA_LINKINFO);
  mnl_attr_put_strz(m.nlh(), IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(m.nlh(), info);
  return m.finish();
}

netlink::Message build_set_master(int index, int master) {
  Msg m(RTM_NEWLINK, NLM_F_REQUEST);
  auto* ifi = m.header<ifinfomsg>();
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = index;
  mnl_attr_put_u32(m.nlh(), IFLA_MASTER, static_cast<uint32_t>(master));
  return m.finish();
}

netlink::Message build_vxlan_add(const VxlanSpec& v) {
  Msg m(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
  m.header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(m.nlh(), IFLA_IFNAME, v.name.c_str());
  if (v.mtu) mnl_attr_put_u32(m.nlh(), IFLA_MTU, v.mtu);
  mnl_attr_put(m.nlh(), IFLA_ADDRESS, v.mac.size(), v.mac.data());
  auto* info = mnl_attr_nest_start(m.nlh(), IFLA_LINKINFO);
  mnl_attr_put_strz(m.nlh(), IFLA_INFO_KIND, "vxlan");
  auto* data = mnl_attr_nest_start(m.nlh(), IFLA_INFO_DATA);
  mnl_attr_put_u32(m.nlh(), IFLA_VXLAN_ID, v.vni);
  if (v.local.is_v4()) {
    mnl_attr_put(m.nlh(), IFLA_VXLAN_LOCAL, 4, v.local.bytes.data());
  } else {
    mnl_attr_put(m.nlh(), IFLA_VXLAN_LOCAL6, 16, v.local.bytes.data());
  }
  if (v.underlay_index) mnl_attr_put_u32(m.nlh(), IFLA_VXLAN_LINK, static_cast<uint32_t>(v.underlay_index));
  mnl_attr_put_u16(m.nlh(), IFLA_VXLAN_PORT, htons(v.port));
  mnl_attr_put_u8(m.nlh(), IFLA_VXLAN_LEARNING, 0);
  mnl_attr_nest_end(m.nlh(), data);
  mnl_attr_nest_end(m.nlh(), info);
  return m.finish();
}

netlink::Message build_fdb_add(int index, const netlink::Mac& mac, const IpAddr& dst) {
  Msg m(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE);
  auto* nd = m.header<ndmsg>();
  nd->ndm_family = AF_BRIDGE;
  nd->ndm_ifindex = index;
  nd->ndm_state = NUD_PERMANENT | NUD_NOARP;
  nd->ndm_flags = NTF_SELF;
  mnl_attr_put(m.nlh(), NDA_LLADDR, mac.size(), mac.data());
  mnl_attr_put(m.nlh(), NDA_DST, dst.size(), dst.bytes.data());
  return m.finish();
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
