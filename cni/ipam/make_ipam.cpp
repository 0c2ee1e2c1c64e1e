#include "cni/ipam/delegate.h"
#include "cni/ipam/host_ipam.h"
#include "cni/ipam/ipam.h"

namespace strand::cni::ipam {

CniResult<std::unique_ptr<Ipam>> make_ipam(const nlohmann::json& netconf) {
  if (!netconf.is_object() || !netconf.contains("ipam") || !netconf["ipam"].is_object()) {
    return cni_fail(Code::kInvalidConfig, "field \"ipam\" must be an object with a \"type\"");
  }
  const auto& conf = netconf["ipam"];
  if (!conf.contains("type") || !conf["type"].is_string() || conf["type"].get<std::string>().empty()) {
    return cni_fail(Code::kInvalidConfig, "field \"ipam.type\" must be a non-empty string");
  }
  std::string type = conf["type"];
  if (type == "strand-ipam") return std::unique_ptr<Ipam>(std::make_unique<HostIpam>());
  return std::unique_ptr<Ipam>(std::make_unique<DelegateIpam>(type));
}

}  // namespace strand::cni::ipam
