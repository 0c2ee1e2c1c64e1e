#pragma once
// Ipam: what the plugin needs from an address manager. Two implementations:
// strand-ipam served in-process (cni/ipam/host_ipam.h) and any other IPAM type
// delegated by exec through CNI_PATH (cni/ipam/delegate.h).
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cni/types.h"

namespace strand::cni::ipam {

// One IPAM call: the runtime's environment and the whole network config as the
// plugin received it (the "ipam" object is inside it; a delegated plugin gets
// it verbatim on stdin, with cniVersion and name).
struct Request {
  std::string container_id;
  std::string ifname;
  std::string netns;
  std::string cni_args;     // CNI_ARGS, passed through to delegates
  std::string cni_path;     // CNI_PATH, where delegates are found
  nlohmann::json netconf;   // full network config (object)
};

class Ipam {
 public:
  virtual ~Ipam() = default;
  // Allocates (or returns the existing allocation of) container_id+ifname.
  // Result carries ips (with gateway, no interface index), routes and dns.
  [[nodiscard]] virtual CniResult<Result> add(const Request& req) = 0;
  // Releases container_id+ifname; success when nothing was allocated.
  [[nodiscard]] virtual CniStatus del(const Request& req) = 0;
  // Verifies the allocation still exists.
  [[nodiscard]] virtual CniStatus check(const Request& req) = 0;
  // Releases every allocation whose attachment is not in `valid`.
  [[nodiscard]] virtual CniStatus gc(const Request& req, const std::vector<Attachment>& valid) = 0;
  // Code 50 when an ADD could not succeed now (no free address), else success.
  [[nodiscard]] virtual CniStatus status(const Request& req) = 0;
};

// Chooses the implementation from netconf["ipam"]["type"]: "strand-ipam" is
// in-process, anything else is delegated. Errors: code 7 when ipam is missing
// or malformed.
[[nodiscard]] CniResult<std::unique_ptr<Ipam>> make_ipam(const nlohmann::json& netconf);

}  // namespace strand::cni::ipam
