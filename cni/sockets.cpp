#include "cni/sockets.h"

#include "cni/error_json.h"

namespace strand::cni {

CniResult<PodSockets> open_pod_sockets(const std::string& netns) {
  auto pod_ns = Netns::open(netns);
  if (!pod_ns) return cni_fail(Code::kInvalidEnv, "CNI_NETNS " + netns + " cannot be opened", pod_ns.error().message());
  auto host = netlink::Socket::open();
  if (!host) return std::unexpected(to_cni_error(host.error(), "open netlink socket"));
  auto pod = netlink::Socket::open_in(*pod_ns);
  if (!pod) return std::unexpected(to_cni_error(pod.error(), "open netlink socket in the pod netns"));
  return PodSockets{std::move(*pod_ns), std::move(*host), std::move(*pod)};
}

}  // namespace strand::cni
