// STATUS: 50 when an ADD could not succeed now (no free address, agent
// required but not answering); 51 when existing pods are degraded too
// (forwarding off on the node, so their traffic no longer routes).
#include "cni/ipam/ipam.h"
#include "cni/error_json.h"
#include "cni/plugin.h"
#include "cni/pod_network.h"
#include "common/agent_client.h"
#include "common/endpoint_record.h"

namespace strand::cni {

CniStatus cmd_status(const Env& env, const NetConf& conf) {
  EndpointStore store(conf.state_dir);
  auto records = store.list();
  if (records) {
    bool v4 = false, v6 = false;
    for (const auto& rec : *records) {
      for (const auto& ip : rec.ips) (ip.addr.is_v4() ? v4 : v6) = true;
    }
    if ((v4 || v6) && !forwarding_enabled(v4, v6)) {
      return cni_fail(Code::kLimitedConnectivity, "forwarding is off on the node: existing pods cannot route");
    }
  }
  auto ipam = ipam::make_ipam(conf.raw);
  if (!ipam) return std::unexpected(ipam.error());
  ipam::Request req{"", "", "", "", env.path_raw, conf.raw};
  if (auto st = (*ipam)->status(req); !st) {
    auto e = st.error();
    if (e.code != static_cast<int>(Code::kPluginNotAvailable) && e.code != static_cast<int>(Code::kLimitedConnectivity)) {
      e = CniError{static_cast<int>(Code::kPluginNotAvailable), "ipam not available: " + e.msg, e.details};
    }
    return std::unexpected(e);
  }
  if (conf.agent_required) {
    auto reply = agent_call(conf.agent_socket, nlohmann::json{{"op", "status"}}, conf.agent_timeout_ms);
    if (!reply) return cni_fail(Code::kPluginNotAvailable, "agent at " + conf.agent_socket + " is not answering", reply.error().message());
    if (!reply->ok) return cni_fail(Code::kPluginNotAvailable, "agent not ready: " + reply->error);
  }
  return {};
}

}  // namespace strand::cni
