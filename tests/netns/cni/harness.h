#pragma once
// Test harness for the plugin: namespaces owned by the test (a "node" and its
// pods), the plugin binary run as a runtime runs it, and leak checks.
#include <gtest/gtest.h>

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cni/exec.h"
#include "common/fd.h"

namespace strand::test {

// Directory of build/bin, from STRAND_BIN or next to the test binary.
std::string bin_dir();

// A named netns (/run/netns/<name>) removed on destruction.
class TestNetns {
 public:
  explicit TestNetns(std::string name);
  ~TestNetns();
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;
  const std::string& name() const { return name_; }
  std::string path() const { return "/run/netns/" + name_; }
  void remove();

 private:
  std::string name_;
  bool live_ = false;
};

// Runs a shell command inside a netns (ip netns exec); returns exit code, output.
int ns_exec(const std::string& ns, const std::string& cmd, std::string* out = nullptr);
// Removes every netns whose name starts with prefix (leftovers of a crashed run).
void sweep_netns(const std::string& prefix);

struct PluginCall {
  std::string command;
  std::string container_id;
  std::string netns;
  std::string ifname = "eth0";
  std::string args;
  std::string path;  // CNI_PATH; default: bin_dir():/usr/lib/cni
  std::map<std::string, std::string> extra_env;
};

struct PluginOutput {
  int exit_code = -1;
  std::string out;
  std::string err;
  nlohmann::json json;  // parsed stdout, null when empty/not JSON
};

// Starts args[0] with `args` and this process's environment, in the calling
// thread's namespaces, without waiting; -1 (and a test failure) when it cannot.
pid_t spawn_process(std::vector<std::string> args);
// The same inside the netns at `netns_path` (entered on this thread for the spawn).
pid_t spawn_in_netns(const std::string& netns_path, std::vector<std::string> args);

// Waits up to 10 s for the strand-agent `pid` to answer a status request on
// `socket`; pid becomes -1 when the agent exited (and was reaped). A failure
// says why, with the agent's log (`log_file`).
::testing::AssertionResult wait_agent_ready(pid_t& pid, const std::string& socket, const std::string& log_file);

// Runs `plugin` (a file in bin_dir(), or an absolute path) with `conf` on stdin, inside netns `node`.
PluginOutput run_plugin(const std::string& node, const PluginCall& call, const nlohmann::json& conf,
                        const std::string& plugin = "strand");

// A plugin process started without waiting for it, so that a test can kill it.
struct SpawnedPlugin {
  pid_t pid = -1;
  UniqueFd out, err;
  std::chrono::steady_clock::time_point started;
};
// Starts `plugin` as run_plugin does (in `node`, entered on the calling thread,
// so the child starts there), with `conf` already on its stdin.
std::optional<SpawnedPlugin> spawn_plugin(const std::string& node, const PluginCall& call, const nlohmann::json& conf,
                                          const std::string& plugin = "strand");
struct FinishedPlugin {
  PluginOutput output;  // exit_code -1 when a signal ended it
  int signal = 0;       // the signal that ended it, 0 when it exited
  std::chrono::microseconds took{0};  // from the spawn to the end of its output
};
// Reads the process's output to the end and reaps it.
FinishedPlugin wait_plugin(SpawnedPlugin& p);

// A per-test directory under /tmp, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Links in a netns other than lo (names).
std::vector<std::string> links_in(const std::string& ns);
// Files in a directory (names), empty when missing.
std::vector<std::string> files_in(const std::string& dir);
// What an endpoint state directory holds besides its spare/ directory of
// recycled inodes (common/spare_files.h), which holds no record.
std::vector<std::string> state_files_in(const std::string& dir);

}  // namespace strand::test
