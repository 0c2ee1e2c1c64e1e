#pragma once
// HostIpamConf: strand-ipam's configuration, in host-local's shape so that
// switching between the two is a change of "type" only:
//   "ipam": {"type": "strand-ipam",
//            "ranges": [[{"subnet": "10.244.1.0/24", "rangeStart": ..., "rangeEnd": ...,
//                         "gateway": ...}, ...], [{"subnet": "fd00:1::/64"}]],
//            "routes": [{"dst": "0.0.0.0/0", "gw": ...}],
//            "dataDir": "/var/lib/cni/networks", "resolvConf": "/etc/resolv.conf"}
// plus the legacy single range ("subnet", "rangeStart", "rangeEnd", "gateway"
// directly in "ipam"), which becomes the first range set.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cni/ipam/range.h"
#include "cni/types.h"

namespace strand::cni::ipam {

inline constexpr std::string_view kDefaultDataDir = "/var/lib/cni/networks";

struct HostIpamConf {
  std::string network;                // netconf "name": files live in <data_dir>/<network>/
  std::string data_dir{kDefaultDataDir};
  std::vector<RangeSet> range_sets;   // one address from each
  std::vector<Route> routes;
  std::string resolv_conf;            // empty: no DNS in the result
};

// Reads and validates netconf["name"] and netconf["ipam"]. Fills host-local's
// defaults: gateway = the subnet's first address, rangeStart = the address
// after the network, rangeEnd = the last address (IPv4: before the broadcast).
// Errors are code 7 with a message naming the field ("ipam.ranges[0][1].gateway: ...").
[[nodiscard]] CniResult<HostIpamConf> parse_host_ipam_conf(const nlohmann::json& netconf);

}  // namespace strand::cni::ipam
