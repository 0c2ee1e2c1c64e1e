// ADD: intent record -> IPAM -> veth, addresses, routes, neighbours -> record
// "ready" -> agent handshake -> result. Every step registers its undo; any
// failure rolls back everything and returns the spec's error.
#include <sys/stat.h>
#include <time.h>

#include "cni/ipam/ipam.h"
#include "cni/error_json.h"
#include "cni/names.h"
#include "cni/plugin.h"
#include "cni/pod_network.h"
#include "cni/sockets.h"
#include "common/agent_client.h"
#include "common/clock.h"
#include "common/endpoint_record.h"
#include "common/fault.h"
#include "common/log.h"
#include "netlink/ops.h"

namespace strand::cni {

namespace {

uint64_t unix_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// One address per family: the first IPv4 and the first IPv6 the IPAM gave.
std::vector<IpAddr> pod_addresses(const Result& ipam) {
  std::vector<IpAddr> out;
  for (int family : {AF_INET, AF_INET6}) {
    for (const auto& ip : ipam.ips) {
      if (ip.address.family() == family) {
        out.push_back(ip.address.addr);
        break;
      }
    }
  }
  return out;
}

CniStatus handshake(const NetConf& conf, const EndpointRecord& rec) {
  nlohmann::json req = {{"op", "add"}, {"endpoint", nlohmann::json::parse(encode_endpoint_record(rec))}};
  if (auto st = fault_point("agent"); !st) {
    return cni_fail(Code::kTryAgainLater, "agent did not attach the datapath", st.error().message());
  }
  if (!conf.agent_required) {
    struct stat sb {};
    if (::stat(conf.agent_socket.c_str(), &sb) != 0) return {};  // plugin-only use: no agent on this node
  }
  auto reply = agent_call(conf.agent_socket, req, conf.agent_timeout_ms);
  std::string why;
  if (!reply) {
    why = reply.error().message();
  } else if (!reply->ok) {
    why = reply->error;
  }
  if (why.empty()) return {};
  if (!conf.agent_required) {
    log::warn("agent handshake failed, continuing without datapath", {{"error", why}});
    return {};
  }
  return cni_fail(Code::kTryAgainLater, "agent at " + conf.agent_socket + " did not attach the datapath", why);
}

}  // namespace

CniResult<Result> cmd_add(const Env& env, const NetConf& conf) {
  const int64_t t_start = mono_us();
  auto sockets = open_pod_sockets(env.netns);
  if (!sockets) return std::unexpected(sockets.error());
  const Netns& pod_ns = sockets->pod_ns;
  netlink::Socket& host = sockets->host;
  netlink::Socket& pod = sockets->pod;

  // The pod's interface must not exist yet: a second ADD without DEL is an
  // error. One held by a veth that a DEL retired moments ago goes first.
  const std::string host_if = host_ifname(env.container_id, env.ifname);
  if (auto existing = netlink::link_get(pod, env.ifname); existing) {
    bool cleared = false;
    PodNetSpec names{.ifname = env.ifname, .host_ifname = host_if};
    if (auto st = clear_retired(host, pod, names, cleared); !st) {
      return std::unexpected(to_cni_error(st.error(), "delete retired veth holding " + env.ifname));
    }
    if (!cleared) return cni_fail(Code::kInvalidEnv, "interface " + env.ifname + " already exists in " + env.netns);
  }

  EndpointStore store(conf.state_dir);
  EndpointRecord rec;
  rec.container_id = env.container_id;
  rec.ifname = env.ifname;
  rec.netns = env.netns;
  rec.network = conf.name;
  rec.host_ifname = host_if;
  rec.mtu = conf.mtu;
  rec.pod_namespace = env.pod_namespace();
  rec.pod_name = env.pod_name();
  rec.pod_uid = env.pod_uid();
  rec.created_ms = unix_ms();

  auto ipam = ipam::make_ipam(conf.raw);
  if (!ipam) return std::unexpected(ipam.error());
  ipam::Request req = ipam_request(env, conf);

  // Declared after everything its undo steps refer to, so it runs first.
  Rollback rollback;
  if (auto st = fault_point("record"); !st) return std::unexpected(to_cni_error(st.error(), "write endpoint record"));
  if (auto st = store.write(rec); !st) return std::unexpected(to_cni_error(st.error(), "write endpoint record"));
  rollback.add("remove endpoint record", [&store, &rec] {
    if (auto st = store.remove(rec.container_id, rec.ifname); !st) {
      log::error("rollback failed", {{"step", "remove endpoint record"}, {"error", st.error().message()}});
    }
  });

  if (auto st = fault_point("ipam"); !st) return std::unexpected(to_cni_error(st.error(), "ipam"));
  const int64_t t_ipam = mono_us();
  auto allocated = (*ipam)->add(req);
  if (!allocated) return std::unexpected(allocated.error());
  rollback.add("release addresses", [&ipam, &req] {
    if (auto st = (*ipam)->del(req); !st) log::error("rollback failed", {{"step", "ipam release"}, {"error", st.error().msg}});
  });

  PodNetSpec spec;
  spec.ifname = env.ifname;
  spec.host_ifname = host_if;
  spec.mtu = conf.mtu;
  spec.ips = pod_addresses(*allocated);
  if (spec.ips.empty()) return cni_fail(Code::kIoFailure, "ipam returned no usable address");
  for (const auto& r : allocated->routes) spec.extra_routes.push_back(r.dst);

  bool has_v4 = false, has_v6 = false;
  for (const auto& ip : spec.ips) (ip.is_v4() ? has_v4 : has_v6) = true;
  if (auto st = ensure_forwarding(has_v4, has_v6); !st) return std::unexpected(to_cni_error(st.error(), "enable forwarding"));

  const int64_t t_net = mono_us();
  auto info = setup_pod_network(host, pod, pod_ns, spec, rollback);
  if (!info) return std::unexpected(to_cni_error(info.error(), "set up pod network"));

  rec.host_ifindex = info->host_ifindex;
  rec.pod_ifindex = info->pod_ifindex;
  rec.host_mac = netlink::mac_str(info->host_mac);
  rec.pod_mac = netlink::mac_str(info->pod_mac);
  for (const auto& ip : spec.ips) rec.ips.push_back(IpPrefix{ip, static_cast<uint8_t>(ip.max_prefix())});
  rec.state = "ready";
  if (auto st = store.write(rec); !st) return std::unexpected(to_cni_error(st.error(), "write endpoint record"));

  const int64_t t_agent = mono_us();
  if (auto st = handshake(conf, rec); !st) return std::unexpected(st.error());
  const int64_t t_done = mono_us();

  rollback.commit();

  Result result;
  result.cni_version = conf.cni_version;
  result.interfaces.push_back(Interface{host_if, rec.host_mac, conf.mtu, "", "", ""});
  result.interfaces.push_back(Interface{env.ifname, rec.pod_mac, conf.mtu, env.netns, "", ""});
  for (const auto& ip : spec.ips) {
    result.ips.push_back(IpConfig{IpPrefix{ip, static_cast<uint8_t>(ip.max_prefix())}, gateway_for(ip.family), 1});
  }
  for (const auto& ip : spec.ips) {
    Route r;
    r.dst.addr.family = ip.family;
    r.gw = gateway_for(ip.family);
    result.routes.push_back(r);
  }
  for (const auto& r : allocated->routes) {
    Route copy = r;
    if (!copy.gw) copy.gw = gateway_for(r.dst.family());
    if (std::find(result.routes.begin(), result.routes.end(), copy) == result.routes.end()) result.routes.push_back(copy);
  }
  result.dns = allocated->dns.empty() ? conf.dns : allocated->dns;
  log::info("pod added", {{"host_if", host_if}, {"ips", [&] {
                             std::string s;
                             for (const auto& ip : spec.ips) s += (s.empty() ? "" : ",") + ip.str();
                             return s;
                           }()},
                          {"us", std::to_string(t_done - t_start)},
                          {"ipam_us", std::to_string(t_net - t_ipam)},
                          {"net_us", std::to_string(t_agent - t_net)},
                          {"agent_us", std::to_string(t_done - t_agent)}});
  return result;
}

}  // namespace strand::cni
