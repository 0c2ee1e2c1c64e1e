#pragma once
// The strand plugin's verbs. main.cpp parses the environment and the network
// config and calls one of these; each returns the spec's error on failure.
#include <nlohmann/json.hpp>

#include "cni/conf.h"
#include "cni/env.h"
#include "cni/ipam/ipam.h"
#include "cni/types.h"

namespace strand::cni {

// The IPAM call for this invocation's attachment.
[[nodiscard]] inline ipam::Request ipam_request(const Env& env, const NetConf& conf) {
  return ipam::Request{env.container_id, env.ifname, env.netns, env.args_raw, env.path_raw, conf.raw};
}

[[nodiscard]] CniResult<Result> cmd_add(const Env& env, const NetConf& conf);
[[nodiscard]] CniStatus cmd_del(const Env& env, const NetConf& conf);
[[nodiscard]] CniStatus cmd_check(const Env& env, const NetConf& conf);
[[nodiscard]] CniStatus cmd_gc(const Env& env, const NetConf& conf);
[[nodiscard]] CniStatus cmd_status(const Env& env, const NetConf& conf);

}  // namespace strand::cni
