// DEL: idempotent. A missing netns, link, allocation or record is success.
// Order: tell the agent, delete the veth (its routes and the pod end go with
// it), release the addresses, remove the record last so an interrupted DEL is
// still found by the next DEL or GC.
#include "cni/ipam/ipam.h"
#include "cni/error_json.h"
#include "cni/names.h"
#include "cni/plugin.h"
#include "cni/pod_network.h"
#include "cni/release.h"
#include "common/log.h"

namespace strand::cni {

CniStatus cmd_del(const Env& env, const NetConf& conf) {
  auto host = netlink::Socket::open();
  if (!host) return std::unexpected(to_cni_error(host.error(), "open netlink socket"));
  auto ipam = ipam::make_ipam(conf.raw);
  if (!ipam) return std::unexpected(ipam.error());
  ipam::Request req = ipam_request(env, conf);
  if (auto st = release_attachment(conf, *host, **ipam, req); !st) return st;
  log::info("pod deleted", {{"host_if", host_ifname(env.container_id, env.ifname)}});
  return {};
}

}  // namespace strand::cni
