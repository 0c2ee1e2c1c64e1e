#include "cni/run.h"

#include "cni/error_json.h"
#include "cni/plugin.h"
#include "cni/result_json.h"
#include "cni/version.h"
#include "common/log.h"

namespace strand::cni {

Outcome error_outcome(const CniError& e, const std::string& version) {
  log::error("failed", {{"code", std::to_string(e.code)}, {"msg", e.msg}, {"details", e.details}});
  return Outcome{1, encode_error(e, version).dump() + "\n"};
}

CniStatus version_gate(const Env& env, const NetConf& conf) {
  const std::string& version = conf.cni_version;
  if ((env.command == Command::kGc || env.command == Command::kStatus) && !supports_gc_status(version)) {
    return cni_fail(Code::kIncompatibleVersion, std::string(command_name(env.command)) +
                                                    " needs cniVersion 1.1.0 or later, the config says " + version);
  }
  if (env.command == Command::kCheck && !supports_check(version)) {
    return cni_fail(Code::kIncompatibleVersion, "CHECK needs cniVersion 0.4.0 or later, the config says " + version);
  }
  return {};
}

Outcome run_verb(const Env& env, const NetConf& conf) {
  const std::string& version = conf.cni_version;
  if (auto gate = version_gate(env, conf); !gate) return error_outcome(gate.error(), version);
  CniStatus st;
  switch (env.command) {
    case Command::kAdd: {
      auto r = cmd_add(env, conf);
      if (!r) return error_outcome(r.error(), version);
      return Outcome{0, encode_result(*r, version).dump() + "\n"};
    }
    case Command::kDel:
      st = cmd_del(env, conf);
      break;
    case Command::kCheck:
      st = cmd_check(env, conf);
      break;
    case Command::kGc:
      st = cmd_gc(env, conf);
      break;
    case Command::kStatus:
      st = cmd_status(env, conf);
      break;
    case Command::kVersion:
      break;
  }
  if (!st) return error_outcome(st.error(), version);
  return {};
}

}  // namespace strand::cni
