#pragma once
// The verb handoff between the plugin and the agent, on the agent's socket
// (the framing and other ops are common/agent_client.h's). Pure: unit-tested
// without root.
//
// Request, one line:
//   {"op":"cni","env":{"CNI_COMMAND":"ADD",...every CNI_* variable},
//    "conf":"<the network config as read from stdin>",
//    "netns":[dev,ino],"mntns":[dev,ino]}   the plugin's namespaces
// Replies:
//   {"ok":true,"exit":0,"stdout":"..."}     the agent ran the verb; print, exit
//   {"ok":false,"declined":true,"error":"why"}   run the verb in the plugin
// Any other reply (an agent without the op answers {"ok":false,"error":..})
// counts as a decline.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cni/run.h"
#include "common/error.h"

namespace strand::cni {

struct NsId {
  uint64_t dev = 0;
  uint64_t ino = 0;
  bool operator==(const NsId&) const = default;
};

// The namespaces a verb's paths and links are read in: the network namespace
// (host-side links, routes) and the mount namespace (CNI_NETNS, stateDir,
// dataDir, agentSocket). The agent runs a verb only when both are its own.
struct NsIdentity {
  NsId net;
  NsId mnt;
  bool operator==(const NsIdentity&) const = default;
};

using EnvVars = std::map<std::string, std::string, std::less<>>;

struct HandoffRequest {
  EnvVars env;       // CNI_* only
  std::string conf;  // verbatim
  NsIdentity ns;
};

struct HandoffReply {
  bool declined = false;
  std::string why;  // declined: the agent's reason
  Outcome outcome;  // not declined: what to print and exit with
};

// Whether a verb with this command (CNI_COMMAND) and this config's IPAM type
// may run in the agent at all: ADD, DEL, CHECK, GC, STATUS with strand-ipam,
// and no fault injection. Delegated IPAM plugins inherit the plugin's
// environment, so the plugin runs those. The shim applies the same rule.
[[nodiscard]] bool handoff_eligible(std::string_view command, std::string_view ipam_type, bool fault_injection);

[[nodiscard]] nlohmann::json encode_handoff_request(const HandoffRequest& r);
// EBADMSG with the field named when a part is missing or of the wrong type.
[[nodiscard]] strand::Result<HandoffRequest> decode_handoff_request(const nlohmann::json& j);

[[nodiscard]] nlohmann::json encode_handoff_reply(const Outcome& o);
[[nodiscard]] nlohmann::json encode_handoff_decline(const std::string& why);
// A reply that is neither a result nor a decline (unknown op, malformed) is a
// decline carrying the agent's error text.
[[nodiscard]] HandoffReply decode_handoff_reply(const nlohmann::json& j);

}  // namespace strand::cni
