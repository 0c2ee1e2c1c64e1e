#include "cni/release.h"
#include "cni/error_json.h"

#include <sys/stat.h>

#include "cni/names.h"
#include "cni/pod_network.h"
#include "common/agent_client.h"
#include "common/endpoint_record.h"
#include "common/log.h"

namespace strand::cni {

CniStatus release_attachment(const NetConf& conf, netlink::Socket& host, ipam::Ipam& ipam, const ipam::Request& req) {
  struct stat sb {};
  if (::stat(conf.agent_socket.c_str(), &sb) == 0) {
    nlohmann::json msg = {{"op", "del"}, {"containerID", req.container_id}, {"ifname", req.ifname}};
    // The agent also notices the link going away; this only makes it prompt.
    auto reply = agent_call(conf.agent_socket, msg, conf.agent_timeout_ms);
    if (!reply) log::warn("agent not told of delete", {{"error", reply.error().message()}});
  }
  const std::string host_if = host_ifname(req.container_id, req.ifname);
  if (auto st = teardown_pod_network(host, host_if); !st) {
    return std::unexpected(to_cni_error(st.error(), "delete host veth " + host_if));
  }
  if (auto st = ipam.del(req); !st) return st;
  EndpointStore store(conf.state_dir);
  if (auto st = store.remove(req.container_id, req.ifname); !st) {
    return std::unexpected(to_cni_error(st.error(), "remove endpoint record"));
  }
  return {};
}

}  // namespace strand::cni
