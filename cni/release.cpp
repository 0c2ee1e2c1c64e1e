#include "cni/release.h"
#include "cni/error_json.h"

#include <sys/stat.h>

#include "cni/detached_reap.h"
#include "cni/names.h"
#include "cni/pod_network.h"
#include "common/agent_client.h"
#include "common/clock.h"
#include "common/endpoint_record.h"
#include "common/log.h"
#include "netlink/ops.h"

namespace strand::cni {
namespace {

// The agent detaches the endpoint; with `reap` it also takes over deleting the
// retired veth (batched with others). True when it said it will.
bool tell_agent(const NetConf& conf, const ipam::Request& req, bool reap) {
  nlohmann::json msg = {{"op", "del"}, {"containerID", req.container_id}, {"ifname", req.ifname}, {"reap", reap}};
  auto reply = agent_call(conf.agent_socket, msg, conf.agent_timeout_ms);
  if (!reply) {
    log::warn("agent not told of delete", {{"error", reply.error().message()}});
    return false;
  }
  if (!reply->ok) log::warn("agent refused delete", {{"error", reply->error}});
  return reply->ok && reply->body.value("reaping", false);
}

}  // namespace

// DEL does not wait for the kernel to destroy the veth (20+ ms, an RCU grace
// period per link): the veth is retired (out of service: its routes and
// neighbours gone, moved to the retired link group; an ADD of the same names
// deletes it first, cni/pod_network.h clear_retired) and the
// agent deletes retired links in batches; without an agent a detached child of
// the plugin deletes it (cni/detached_reap.h). When the agent is there but
// does not take it over, the veth is deleted here.
CniStatus release_attachment(const NetConf& conf, netlink::Socket& host, ipam::Ipam& ipam, const ipam::Request& req,
                             ReleaseTimes* times) {
  ReleaseTimes t;
  const std::string host_if = host_ifname(req.container_id, req.ifname);
  int64_t t0 = mono_us();
  struct stat sb {};
  if (::stat(conf.agent_socket.c_str(), &sb) == 0) {
    auto retired = retire_pod_network(host, host_if);
    if (!retired) return std::unexpected(to_cni_error(retired.error(), "retire host veth " + host_if));
    const int64_t t1 = mono_us();
    t.veth_us = t1 - t0;
    const bool reaping = tell_agent(conf, req, *retired != 0);
    t0 = mono_us();
    t.agent_us = t0 - t1;
    if (*retired != 0 && !reaping) {
      auto st = netlink::link_del(host, *retired);
      if (!st && st.error().err != ENODEV) {
        return std::unexpected(to_cni_error(st.error(), "delete retired veth of " + host_if));
      }
    }
  } else {
    auto retired = retire_pod_network(host, host_if);
    if (!retired) return std::unexpected(to_cni_error(retired.error(), "retire host veth " + host_if));
    if (*retired != 0 && !spawn_detached_reap()) {
      if (auto st = teardown_pod_network(host, host_if); !st) {
        return std::unexpected(to_cni_error(st.error(), "delete host veth " + host_if));
      }
    }
  }
  const int64_t t2 = mono_us();
  t.veth_us += t2 - t0;
  if (auto st = ipam.del(req); !st) return st;
  t.ipam_us = mono_us() - t2;
  if (times) *times = t;
  EndpointStore store(conf.state_dir);
  if (auto st = store.remove(req.container_id, req.ifname); !st) {
    return std::unexpected(to_cni_error(st.error(), "remove endpoint record"));
  }
  return {};
}

}  // namespace strand::cni
