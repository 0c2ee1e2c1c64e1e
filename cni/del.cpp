// DEL: idempotent. A missing netns, link, allocation or record is success.
// Order: take the veth out of service (retired, for the agent or a detached
// child of the plugin to delete; its routes and the pod end go with it), tell
// the agent, release the addresses, remove the record last so an interrupted
// DEL is still found by the next DEL or GC.
#include "cni/ipam/ipam.h"
#include "cni/error_json.h"
#include "cni/names.h"
#include "cni/plugin.h"
#include "cni/pod_network.h"
#include "cni/release.h"
#include "common/clock.h"
#include "common/log.h"

namespace strand::cni {

CniStatus cmd_del(const Env& env, const NetConf& conf) {
  auto host = netlink::Socket::open();
  if (!host) return std::unexpected(to_cni_error(host.error(), "open netlink socket"));
  auto ipam = ipam::make_ipam(conf.raw);
  if (!ipam) return std::unexpected(ipam.error());
  ipam::Request req = ipam_request(env, conf);
  const int64_t t0 = mono_us();
  ReleaseTimes t;
  if (auto st = release_attachment(conf, *host, **ipam, req, &t); !st) return st;
  log::info("pod deleted", {{"host_if", host_ifname(env.container_id, env.ifname)},
                            {"us", std::to_string(mono_us() - t0)},
                            {"veth_us", std::to_string(t.veth_us)},
                            {"agent_us", std::to_string(t.agent_us)},
                            {"ipam_us", std::to_string(t.ipam_us)}});
  return {};
}

}  // namespace strand::cni
