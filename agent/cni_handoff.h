#pragma once
// Verbs a plugin handed to this agent (cni/handoff_wire.h), run with the
// plugin's run_verb() by a few long-lived worker threads: a fresh thread per
// verb costs more in first-touch page faults (stack, malloc arena) than the
// verb itself. The verb's own calls
// to the agent (attach, detach and reap, check, status) are answered in
// process (common/agent_client.h's LocalAgent).
//
// The agent runs a verb only when its paths and links mean the same here as in
// the plugin: the same network namespace, the same files (the same mount
// namespace, or else every path the verb uses names the same file through the
// plugin's /proc/<pid>/root as here: an agent in a container with the node's
// directories mounted), the conf's agentSocket is this agent's socket, and the
// IPAM is the built-in strand-ipam. Anything else, or more than kMaxInFlight
// verbs at once, is declined and the plugin runs it. The verbs of one
// attachment (container id, ifname) run one at a time in the order they came:
// a runtime's DEL after an ADD it gave up on (its plugin was killed, or timed
// out) waits for that ADD, and is never declined for being busy.
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cni/conf.h"
#include "cni/env.h"
#include "cni/handoff_wire.h"
#include "cni/run.h"
#include "agent/repair_counts.h"
#include "common/agent_client.h"
#include "common/fd.h"

namespace strand::agent {

class CniHandoff {
 public:
  static constexpr int kMaxInFlight = 32;  // queued and running
  static constexpr int kWorkers = 4;
  static constexpr int kReplyTimeoutMs = 5000;

  // What runs a verb: cni::run_verb, or a test's stand-in.
  using Runner = std::function<cni::Outcome(const cni::Env&, const cni::NetConf&)>;

  // `socket_path`: the socket this agent serves; `handle`: its request handler.
  CniHandoff(const std::string& socket_path, LocalAgent::Handle handle, Runner runner = cni::run_verb);
  ~CniHandoff();  // drain(), then the workers end
  CniHandoff(const CniHandoff&) = delete;
  CniHandoff& operator=(const CniHandoff&) = delete;

  // Server::Takeover: false when `line` is not a "cni" request. Otherwise
  // answers a decline at once, or moves `fd` to a worker that replies when
  // the verb is done.
  [[nodiscard]] bool take(const std::string& line, UniqueFd& fd);

  // Waits for every running verb to finish.
  void drain();

  struct Context {
    cni::NsIdentity mine;
    bool same_socket = false;  // the conf's agentSocket is this agent's socket
    int in_flight = 0;
    std::string other_file;    // another mount namespace: the first path that differs, "" when none does
  };
  // The paths a verb reads or writes: CNI_NETNS, stateDir, the IPAM's dataDir
  // and resolvConf, the log file's directory.
  [[nodiscard]] static std::vector<std::string> verb_paths(const cni::Env& env, const cni::NetConf& conf);
  // Whether `path` names the same file here and under `plugin_root` (the
  // plugin's /proc/<pid>/root). A path missing on both sides compares its
  // nearest existing parent: what the verb creates there lands in the same place.
  [[nodiscard]] static bool same_file(const std::string& plugin_root, const std::string& path);

  // Why this agent would not run the verb (nullopt: it will). Pure. `kind`
  // labels strand_cni_handoffs_total{result} ("declined-<kind>").
  struct Decline {
    std::string kind;  // plugin-runs-it, other-netns, other-files, other-socket, busy (bad-request: take())
    std::string why;
  };
  [[nodiscard]] static std::optional<Decline> decline_reason(const cni::HandoffRequest& req, const cni::Env& env,
                                                             const cni::NetConf& conf, const Context& ctx);

  // Counts every offer in `counts` ("run", "declined-<kind>"); the first
  // decline of each kind is logged at warn, later ones at debug.
  void set_counts(HandoffCounts* counts) { counts_ = counts; }

 private:
  [[nodiscard]] bool same_socket(const std::string& path) const;
  using Key = std::pair<std::string, std::string>;  // (container id, ifname); empty for GC, STATUS
  [[nodiscard]] static Key key_of(const cni::Env& env);

  struct Job {
    UniqueFd fd;
    int pid = 0;  // the plugin's, for its log file
    cni::Env env;
    cni::NetConf conf;
  };
  void work();
  [[nodiscard]] std::deque<Job>::iterator next_runnable();  // under mu_
  void run(Job& job);

  void count(const std::string& result);
  void log_decline(const Decline& d);

  HandoffCounts* counts_ = nullptr;
  std::set<std::string> warned_;  // decline kinds logged at warn (under mu_)
  std::optional<cni::NsId> socket_id_;  // of the socket this agent serves
  LocalAgent::Handle handle_;
  Runner runner_;
  std::mutex mu_;
  std::condition_variable idle_;
  std::condition_variable queued_;
  std::deque<Job> jobs_;
  int in_flight_ = 0;  // queued + running
  std::map<Key, int> pending_keys_;  // attachments with verbs queued or running
  std::set<Key> running_keys_;       // attachments with a verb running
  int idle_workers_ = 0;
  int live_workers_ = 0;
  bool ending_ = false;
  std::vector<std::thread> workers_;  // started as jobs come, joined at the end
};

}  // namespace strand::agent
