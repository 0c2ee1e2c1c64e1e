#pragma once
// The runtime's environment (CNI_* variables), parsed and validated per verb.
//
// Required per command (spec 1.1.0 "Parameters" and each verb's inputs; CNI_PATH
// also for ADD/DEL/CHECK as libcni's skel demands, since delegated IPAM is
// found through it):
//              CONTAINERID  NETNS  IFNAME  PATH
//   ADD            yes       yes    yes    yes
//   DEL            yes        -     yes    yes
//   CHECK          yes       yes    yes    yes
//   GC              -         -      -     yes
//   STATUS          -         -      -      -
//   VERSION         -         -      -      -
// A variable that is set is validated even where it is optional. Every error
// is code 4 (invalid environment) and names the variable.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cni/types.h"

namespace strand::cni {

enum class Command { kAdd, kDel, kCheck, kVersion, kStatus, kGc };

[[nodiscard]] std::optional<Command> parse_command(std::string_view text);  // exact, upper case
[[nodiscard]] std::string_view command_name(Command c);                      // "ADD"

struct Env {
  Command command = Command::kVersion;
  std::string container_id;
  std::string netns;                                     // empty when not given
  std::string ifname;
  std::string args_raw;                                  // CNI_ARGS verbatim (passed to delegates)
  std::vector<std::pair<std::string, std::string>> args;  // CNI_ARGS parsed, in order
  std::string path_raw;                                  // CNI_PATH verbatim
  std::vector<std::string> path;                         // CNI_PATH split on ':', empty parts dropped

  // The value of CNI_ARGS key `key` (the last one when repeated).
  [[nodiscard]] std::optional<std::string> arg(std::string_view key) const;
  [[nodiscard]] std::string pod_namespace() const { return arg("K8S_POD_NAMESPACE").value_or(""); }
  [[nodiscard]] std::string pod_name() const { return arg("K8S_POD_NAME").value_or(""); }
  [[nodiscard]] std::string pod_uid() const { return arg("K8S_POD_UID").value_or(""); }
  // IgnoreUnknown=1|true|t|True|TRUE (Go's ParseBool): unknown CNI_ARGS keys
  // must not be an error.
  [[nodiscard]] bool ignore_unknown() const;
};

// From a name -> value map (tests) or a NUL-terminated `environ` array.
[[nodiscard]] CniResult<Env> parse_env(const std::map<std::string, std::string, std::less<>>& vars);
[[nodiscard]] CniResult<Env> parse_env(const char* const* envp);

// The pieces, for reuse and tests. Each returns code 4 naming the variable.
[[nodiscard]] CniStatus validate_container_id(std::string_view id);  // ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$
[[nodiscard]] CniStatus validate_ifname(std::string_view name);      // 1..15 bytes, not . or .., no / : space
// "K=V;K=V". A pair without '=' or with an empty key is an error; empty
// segments (";;", trailing ';') are skipped; V may contain '='.
[[nodiscard]] CniResult<std::vector<std::pair<std::string, std::string>>> parse_cni_args(std::string_view raw);

}  // namespace strand::cni
