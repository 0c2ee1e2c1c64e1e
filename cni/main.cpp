// strand: the CNI plugin. Also strand-ipam, the built-in IPAM as a standalone
// plugin, when invoked under that name. Wires env + conf to one verb; stdout
// carries only the result or the spec's error JSON.
#include <unistd.h>

#include <cstdio>
#include <iterator>
#include <string>

#include "cni/conf.h"
#include "cni/env.h"
#include "cni/error_json.h"
#include "cni/ipam_plugin.h"
#include "cni/plugin.h"
#include "cni/result_json.h"
#include "cni/version.h"
#include "common/log.h"

extern char** environ;

namespace {

using namespace strand::cni;

std::string read_stdin() {
  std::string in;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (n == 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  return in;
}

void print(const nlohmann::json& j) {
  std::string s = j.dump() + "\n";
  ::fwrite(s.data(), 1, s.size(), stdout);
  ::fflush(stdout);
}

// The version an error is reported in: the conf's when it parses that far.
std::string error_version(const std::string& input) {
  auto j = nlohmann::json::parse(input, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("cniVersion") && j["cniVersion"].is_string()) {
    std::string v = j["cniVersion"].get<std::string>();
    if (version_supported(v)) return v;
  }
  return std::string(kLatestVersion);
}

int report(const CniError& e, const std::string& version) {
  strand::log::error("failed", {{"code", std::to_string(e.code)}, {"msg", e.msg}, {"details", e.details}});
  print(encode_error(e, version));
  return 1;
}

}  // namespace

int main(int /*argc*/, char** argv) {
  std::string self = argv[0] != nullptr ? argv[0] : "strand";
  auto slash = self.rfind('/');
  if (slash != std::string::npos) self = self.substr(slash + 1);
  const bool ipam_mode = self == "strand-ipam";
  // Until the conf names a log file, log to stderr: stdout carries only JSON.
  strand::log::init(self, "", "info");

  std::string input = read_stdin();
  auto env = parse_env(environ);
  if (!env) return report(env.error(), error_version(input));

  if (env->command == Command::kVersion) {
    auto j = nlohmann::json::parse(input, nullptr, false);
    std::string v;
    if (!j.is_discarded() && j.is_object() && j.contains("cniVersion") && j["cniVersion"].is_string()) v = j["cniVersion"];
    print(version_info(v));
    return 0;
  }

  auto conf = parse_netconf(std::string_view(input));
  if (!conf) return report(conf.error(), error_version(input));
  const std::string& version = conf->cni_version;
  if ((env->command == Command::kGc || env->command == Command::kStatus) && !supports_gc_status(version)) {
    return report(CniError{static_cast<int>(Code::kIncompatibleVersion),
                           std::string(command_name(env->command)) + " needs cniVersion 1.1.0 or later, the config says " + version, ""},
                  version);
  }
  if (env->command == Command::kCheck && !supports_check(version)) {
    return report(CniError{static_cast<int>(Code::kIncompatibleVersion), "CHECK needs cniVersion 0.4.0 or later, the config says " + version, ""},
                  version);
  }

  strand::log::init(self, conf->log_file, conf->log_level);
  strand::log::set_context({{"cmd", std::string(command_name(env->command))},
                            {"container", env->container_id},
                            {"ifname", env->ifname}});

  if (ipam_mode) {
    auto out = run_ipam_plugin(*env, *conf);
    if (!out) return report(out.error(), version);
    if (!out->is_null()) print(*out);
    return 0;
  }

  switch (env->command) {
    case Command::kAdd: {
      auto r = cmd_add(*env, *conf);
      if (!r) return report(r.error(), version);
      print(encode_result(*r, version));
      return 0;
    }
    case Command::kDel: {
      auto r = cmd_del(*env, *conf);
      if (!r) return report(r.error(), version);
      return 0;
    }
    case Command::kCheck: {
      auto r = cmd_check(*env, *conf);
      if (!r) return report(r.error(), version);
      return 0;
    }
    case Command::kGc: {
      auto r = cmd_gc(*env, *conf);
      if (!r) return report(r.error(), version);
      return 0;
    }
    case Command::kStatus: {
      auto r = cmd_status(*env, *conf);
      if (!r) return report(r.error(), version);
      return 0;
    }
    case Command::kVersion:
      break;
  }
  return 0;
}
