// strand: the CNI plugin. Also strand-ipam, the built-in IPAM as a standalone
// plugin, when invoked under that name. Wires env + conf to one verb; stdout
// carries only the result or the spec's error JSON.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iterator>
#include <string>

#include "cni/conf.h"
#include "cni/env.h"
#include "cni/error_json.h"
#include "cni/ipam_plugin.h"
#include "cni/run.h"
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


// The version an error is reported in: the conf's when it parses that far.
std::string error_version(const std::string& input) {
  auto j = nlohmann::json::parse(input, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("cniVersion") && j["cniVersion"].is_string()) {
    std::string v = j["cniVersion"].get<std::string>();
    if (version_supported(v)) return v;
  }
  return std::string(kLatestVersion);
}

// stdout carries exactly this: no stdio buffer in between.
int emit(const Outcome& o) {
  size_t off = 0;
  while (off < o.out.size()) {
    ssize_t n = ::write(1, o.out.data() + off, o.out.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  return o.exit;
}

int report(const CniError& e, const std::string& version) { return emit(error_outcome(e, version)); }

void print(const nlohmann::json& j) { (void)emit(Outcome{0, j.dump() + "\n"}); }

}  // namespace

int main(int /*argc*/, char** argv) {
  std::string self = argv[0] != nullptr ? argv[0] : "strand";
  auto slash = self.rfind('/');
  if (slash != std::string::npos) self = self.substr(slash + 1);
  const bool ipam_mode = self == "strand-ipam";
  std::string input = read_stdin();
  // Set by the strand shim (cni/shim/strand_shim.c) when the agent took this
  // verb and never answered.
  std::string agent_lost;
  if (const char* lost = std::getenv("STRAND_AGENT_LOST")) {
    agent_lost = lost;
    ::unsetenv("STRAND_AGENT_LOST");
  }

  // Until the conf names a log file, log to stderr: stdout carries only JSON.
  strand::log::init(self, "", "info");
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

  strand::log::init(self, conf->log_file, conf->log_level);
  strand::log::set_context({{"cmd", std::string(command_name(env->command))},
                            {"container", env->container_id},
                            {"ifname", env->ifname}});
  if (!agent_lost.empty()) {
    return report(CniError{static_cast<int>(Code::kTryAgainLater),
                           "the agent at " + conf->agent_socket + " took the verb and did not finish it", agent_lost},
                  conf->cni_version);
  }

  if (ipam_mode) {
    if (auto gate = version_gate(*env, *conf); !gate) return report(gate.error(), conf->cni_version);
    auto out = run_ipam_plugin(*env, *conf);
    if (!out) return report(out.error(), conf->cni_version);
    if (!out->is_null()) print(*out);
    return 0;
  }
  return emit(run_verb(*env, *conf));
}
