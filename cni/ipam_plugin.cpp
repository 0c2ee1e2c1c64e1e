#include "cni/ipam_plugin.h"

#include "cni/ipam/host_ipam.h"
#include "cni/plugin.h"
#include "cni/result_json.h"

namespace strand::cni {

CniResult<nlohmann::json> run_ipam_plugin(const Env& env, const NetConf& conf) {
  ipam::HostIpam ipam;
  ipam::Request req = ipam_request(env, conf);
  switch (env.command) {
    case Command::kAdd: {
      auto r = ipam.add(req);
      if (!r) return std::unexpected(r.error());
      return encode_result(*r, conf.cni_version);
    }
    case Command::kDel:
      if (auto st = ipam.del(req); !st) return std::unexpected(st.error());
      return nullptr;
    case Command::kCheck:
      if (auto st = ipam.check(req); !st) return std::unexpected(st.error());
      return nullptr;
    case Command::kGc:
      if (auto st = ipam.gc(req, conf.valid_attachments); !st) return std::unexpected(st.error());
      return nullptr;
    case Command::kStatus:
      if (auto st = ipam.status(req); !st) return std::unexpected(st.error());
      return nullptr;
    case Command::kVersion:
      break;
  }
  return nullptr;
}

}  // namespace strand::cni
