#include "common/pod_gateway.h"

#include <sys/socket.h>

namespace strand {

const IpAddr& gateway_v4() {
  static const IpAddr gw = IpAddr::v4(169, 254, 1, 1);
  return gw;
}

const IpAddr& gateway_v6() {
  static const IpAddr gw = *IpAddr::parse("fe80::1");
  return gw;
}

const IpAddr& gateway_for(int family) { return family == AF_INET6 ? gateway_v6() : gateway_v4(); }

}  // namespace strand
