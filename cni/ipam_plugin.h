#pragma once
// strand-ipam as a standalone IPAM plugin: the in-process allocator behind the
// IPAM plugin protocol, for plugins other than strand.
#include <nlohmann/json.hpp>

#include "cni/conf.h"
#include "cni/env.h"
#include "cni/types.h"

namespace strand::cni {

// ADD returns the result JSON; the other verbs return null on success.
[[nodiscard]] CniResult<nlohmann::json> run_ipam_plugin(const Env& env, const NetConf& conf);

}  // namespace strand::cni
