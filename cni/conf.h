#pragma once
// The network configuration the runtime writes on stdin, parsed and validated.
//
// Spec fields: cniVersion (required, one of kSupportedVersions), cniVersions
// (informational), name (required, ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$), type
// (required), ipam, dns, capabilities, runtimeConfig, args, prevResult (decoded
// in the conf's version shape when it carries no cniVersion of its own), and for
// GC cni.dev/valid-attachments (libcni also writes the older key
// cni.dev/attachments; it is read when the first is absent).
//
// Strand's fields and defaults:
//   mtu            68..65535, default 1500 (the pod's veth pair)
//   logFile        default "" = log to stderr (the runtime keeps the plugin's
//                  stderr); a path = append to that file. Never stdout.
//   logLevel       trace | debug | info | warn | error, default "info"
//   agentRequired  default true: ADD fails with 11 when the agent does not answer
//   agentSocket    default "/run/strand/agent.sock"
//   agentTimeoutMs 1..120000, default 2000
//   stateDir       default "/var/lib/strand/endpoints"
// Unknown top-level fields are ignored (plugin-specific keys of other plugins).
//
// Errors: not JSON, or not an object -> 6 with the parser's message; cniVersion
// absent -> 7; cniVersion not supported -> 1 listing the supported versions;
// any other missing or mistyped field -> 7 naming it; a prevResult that does
// not decode -> its decoder's code (1 or 6), message prefixed "prevResult".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cni/types.h"

namespace strand::cni {

inline constexpr uint32_t kDefaultMtu = 1500;
inline constexpr std::string_view kDefaultAgentSocket = "/run/strand/agent.sock";
inline constexpr uint32_t kDefaultAgentTimeoutMs = 2000;
inline constexpr std::string_view kDefaultStateDir = "/var/lib/strand/endpoints";

struct NetConf {
  std::string cni_version;
  std::vector<std::string> cni_versions;
  std::string name;
  std::string type;
  nlohmann::json ipam;            // the "ipam" object verbatim; null when absent
  Dns dns;
  nlohmann::json capabilities;    // object or null
  nlohmann::json runtime_config;  // object or null
  nlohmann::json args;            // object or null
  std::optional<Result> prev_result;
  std::vector<Attachment> valid_attachments;  // GC only
  bool has_valid_attachments = false;         // the key was present (an empty list means "none valid")

  uint32_t mtu = kDefaultMtu;
  std::string log_file;
  std::string log_level = "info";
  bool agent_required = true;
  std::string agent_socket{kDefaultAgentSocket};
  uint32_t agent_timeout_ms = kDefaultAgentTimeoutMs;
  std::string state_dir{kDefaultStateDir};

  nlohmann::json raw;  // the whole configuration as received (delegated IPAM gets it verbatim)
};

// From stdin's text, or from an already parsed document.
[[nodiscard]] CniResult<NetConf> parse_netconf(std::string_view text);
[[nodiscard]] CniResult<NetConf> netconf_from_json(const nlohmann::json& j);

// The network name rule of the spec (also used for CNI_CONTAINERID).
[[nodiscard]] bool valid_network_name(std::string_view name);

}  // namespace strand::cni
