#pragma once
// rtnetlink requests netlink/ does not have yet, lab-local: a bridge, a link's
// master, a VXLAN device and static FDB entries. Builders are pure; the ops
// send them on a netlink::Socket. Also sysctl writes inside the current netns.
#include <string>

#include "common/ip.h"
#include "netlink/socket.h"
#include "netlink/types.h"

namespace strand::lab {

struct VxlanSpec {
  std::string name;
  uint32_t vni = 0;
  IpAddr local;              // underlay source address
  int underlay_index = 0;    // IFLA_VXLAN_LINK
  uint16_t port = 4789;
  uint32_t mtu = 0;
  netlink::Mac mac{};
};

[[nodiscard]] netlink::Message build_bridge_add(const std::string& name);
[[nodiscard]] netlink::Message build_set_master(int index, int master);
[[nodiscard]] netlink::Message build_vxlan_add(const VxlanSpec& v);
// An AF_BRIDGE FDB entry on a VXLAN device: frames for `mac` go to `dst` (NTF_SELF, permanent).
[[nodiscard]] netlink::Message build_fdb_add(int index, const netlink::Mac& mac, const IpAddr& dst);

[[nodiscard]] Status bridge_add(netlink::Socket& s, const std::string& name);
[[nodiscard]] Status set_master(netlink::Socket& s, int index, int master);
[[nodiscard]] Status vxlan_add(netlink::Socket& s, const VxlanSpec& v);
[[nodiscard]] Status fdb_add(netlink::Socket& s, int index, const netlink::Mac& mac, const IpAddr& dst);

// Writes `value` to /proc/sys/<key with dots as slashes> of the calling thread's netns.
[[nodiscard]] Status sysctl_set(const std::string& key, const std::string& value);

}  // namespace strand::lab
