// CHECK: the live state against prevResult: links, MTU, addresses, routes on
// both sides, the gateway neighbour, the allocation, the endpoint record and
// (when the agent is required) the datapath attachment.
#include "cni/ipam/ipam.h"
#include "cni/error_json.h"
#include "cni/names.h"
#include "cni/plugin.h"
#include "cni/pod_network.h"
#include "cni/sockets.h"
#include "common/agent_client.h"
#include "common/endpoint_record.h"
#include "common/log.h"

namespace strand::cni {

namespace {

// The sandbox interface of prevResult named CNI_IFNAME, and its addresses.
CniResult<std::vector<IpAddr>> expected_ips(const Env& env, const Result& prev) {
  int sandbox_index = -1;
  for (size_t i = 0; i < prev.interfaces.size(); ++i) {
    if (prev.interfaces[i].name == env.ifname && !prev.interfaces[i].sandbox.empty()) sandbox_index = static_cast<int>(i);
  }
  if (sandbox_index < 0) return cni_fail(Code::kInvalidConfig, "prevResult has no sandbox interface " + env.ifname);
  std::vector<IpAddr> ips;
  for (const auto& ip : prev.ips) {
    if (!ip.interface || *ip.interface == sandbox_index) ips.push_back(ip.address.addr);
  }
  if (ips.empty()) return cni_fail(Code::kInvalidConfig, "prevResult has no address for " + env.ifname);
  return ips;
}

CniError mismatch(const std::string& what) { return CniError{static_cast<int>(Code::kStateMismatch), "CHECK failed: " + what, ""}; }

}  // namespace

CniStatus cmd_check(const Env& env, const NetConf& conf) {
  if (!conf.prev_result) return cni_fail(Code::kInvalidConfig, "CHECK needs prevResult in the network config");
  auto ips = expected_ips(env, *conf.prev_result);
  if (!ips) return std::unexpected(ips.error());

  EndpointStore store(conf.state_dir);
  auto rec = store.read(env.container_id, env.ifname);
  if (!rec) return std::unexpected(to_cni_error(rec.error(), "read endpoint record"));
  if (!rec->has_value()) return cni_fail(Code::kUnknownContainer, "no endpoint for container " + env.container_id + " " + env.ifname);
  if ((*rec)->state != "ready") return std::unexpected(mismatch("endpoint record is " + (*rec)->state));

  auto sockets = open_pod_sockets(env.netns);
  if (!sockets) return std::unexpected(sockets.error());
  netlink::Socket& host = sockets->host;
  netlink::Socket& pod = sockets->pod;

  PodNetSpec spec;
  spec.ifname = env.ifname;
  spec.host_ifname = host_ifname(env.container_id, env.ifname);
  spec.mtu = conf.mtu;
  spec.ips = *ips;
  for (const auto& r : conf.prev_result->routes) {
    if (r.dst.len != 0) spec.extra_routes.push_back(r.dst);
  }
  auto live = check_pod_network(host, pod, spec);
  if (!live) {
    if (live.error().op == "CHECK") return std::unexpected(mismatch(live.error().context));
    return std::unexpected(to_cni_error(live.error(), "read pod network"));
  }
  for (const auto& iface : conf.prev_result->interfaces) {
    if (iface.name == env.ifname && !iface.mac.empty() && iface.mac != netlink::mac_str(live->pod_mac)) {
      return std::unexpected(mismatch("interface " + env.ifname + " mac " + netlink::mac_str(live->pod_mac) + ", prevResult says " + iface.mac));
    }
  }

  auto ipam = ipam::make_ipam(conf.raw);
  if (!ipam) return std::unexpected(ipam.error());
  ipam::Request req = ipam_request(env, conf);
  if (auto st = (*ipam)->check(req); !st) return st;

  if (conf.agent_required) {
    nlohmann::json msg = {{"op", "check"}, {"containerID", env.container_id}, {"ifname", env.ifname}};
    auto reply = agent_call(conf.agent_socket, msg, conf.agent_timeout_ms);
    if (!reply) return cni_fail(Code::kTryAgainLater, "agent at " + conf.agent_socket + " did not answer", reply.error().message());
    if (!reply->ok) return std::unexpected(mismatch("datapath: " + reply->error));
  }
  return {};
}

}  // namespace strand::cni
