#pragma once
// Plain values for rtnetlink objects. Builders turn them into messages and
// parsers turn messages back into them (netlink/messages.h).
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "common/ip.h"

namespace strand::netlink {

using Mac = std::array<uint8_t, 6>;
[[nodiscard]] std::string mac_str(const Mac& m);                 // "aa:bb:cc:dd:ee:ff"
[[nodiscard]] Result<Mac> parse_mac(std::string_view text);

struct Link {
  int index = 0;
  std::string name;
  std::string kind;            // IFLA_INFO_KIND: "veth", "bridge", "" for none
  uint32_t mtu = 0;
  Mac mac{};
  uint32_t flags = 0;          // IFF_* from ifinfomsg
  int master = 0;              // IFLA_MASTER
  int peer_index = 0;          // IFLA_LINK (a veth's peer, in its own netns)
  std::optional<int> link_netnsid;  // IFLA_LINK_NETNSID
  uint8_t oper_state = 0;      // IFLA_OPERSTATE
  uint32_t group = 0;          // IFLA_GROUP
  [[nodiscard]] bool up() const;  // IFF_UP set
};

struct VethSpec {
  std::string name;            // created in the socket's netns
  std::string peer_name;       // created in peer_netns_fd (or the same netns when -1)
  int peer_netns_fd = -1;      // IFLA_NET_NS_FD inside VETH_INFO_PEER
  uint32_t mtu = 0;            // 0 = kernel default; applied to both ends
  std::optional<Mac> mac;
  std::optional<Mac> peer_mac;
  // IFLA_NUM_TX_QUEUES and IFLA_NUM_RX_QUEUES of both ends; 0 = kernel default
  // (a veth gets a queue per possible CPU, each a set of sysfs objects the
  // kernel creates with the link).
  uint32_t queues = 0;
};

// Several changes to one existing link, sent as one RTM_SETLINK so that e.g.
// rename + MTU + up cost a single round trip. Unset fields are left alone.
struct LinkChange {
  int index = 0;
  std::optional<bool> up;
  std::optional<uint32_t> mtu;
  std::optional<Mac> mac;
  std::optional<std::string> name;
  std::optional<int> netns_fd;  // IFLA_NET_NS_FD: move the link there
  std::optional<uint32_t> group;  // IFLA_GROUP
};

struct Address {
  int ifindex = 0;
  IpPrefix prefix;             // address with its prefix length
  uint8_t scope = RT_SCOPE_UNIVERSE;
  uint32_t flags = 0;          // IFA_F_NODAD, IFA_F_PERMANENT, ...
};

struct Route {
  IpPrefix dst;                // 0.0.0.0/0 for default
  std::optional<IpAddr> gateway;
  int oif = 0;
  uint8_t scope = RT_SCOPE_UNIVERSE;
  uint32_t table = RT_TABLE_MAIN;
  uint8_t protocol = RTPROT_BOOT;
  uint8_t type = RTN_UNICAST;
  uint32_t flags = 0;          // RTNH_F_ONLINK
  std::optional<uint32_t> priority;
  std::optional<IpAddr> prefsrc;
  std::optional<uint32_t> mtu;
  [[nodiscard]] int family() const { return dst.family(); }
};

struct Neighbor {
  int ifindex = 0;
  IpAddr dst;
  std::optional<Mac> lladdr;
  uint16_t state = NUD_PERMANENT;
  uint8_t flags = 0;           // NTF_*
};

// A qdisc or filter as a notification describes it (RTM_{NEW,DEL}{QDISC,TFILTER}).
struct TcObject {
  uint16_t type = 0;           // the message type
  int ifindex = 0;
  uint32_t handle = 0;
  uint32_t parent = 0;         // TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS) ... for clsact filters
  uint32_t info = 0;           // filters: priority << 16 | protocol (network order)
  std::string kind;            // TCA_KIND: "clsact", "bpf", ...
};

}  // namespace strand::netlink
