#pragma once
// Processes the lab starts: programs run to completion (the CNI plugin,
// strand-agent --cleanup) and daemons (agents, echo servers) left running in a
// namespace after strand-lab exits. A child starts in the netns of the thread
// that spawns it, so callers enter the namespace first.
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/netns.h"

namespace strand::lab {

using Env = std::vector<std::pair<std::string, std::string>>;

struct RunOutput {
  int exit_code = -1;  // -1 when a signal ended it
  std::string out, err;
};

// Runs argv[0] inside `ns` (nullptr: here) with the environment plus `env`,
// `input` on stdin; waits at most timeout_ms (then kills it: ETIMEDOUT).
[[nodiscard]] Result<RunOutput> run(const std::vector<std::string>& argv, const Env& env, const std::string& input,
                                    const Netns* ns, int timeout_ms = 30000);

// Starts a daemon inside `ns`: own session, stdin /dev/null, stdout and stderr
// appended to `log_file`. With `ready_fd`, the child's fd 3 is a pipe whose
// read end is returned there (the child writes a line when ready).
[[nodiscard]] Result<pid_t> spawn_daemon(const std::vector<std::string>& argv, const Netns* ns, const std::string& log_file,
                                         UniqueFd* ready_fd = nullptr);

// Reads one line from `fd` within timeout_ms; ETIMEDOUT, or EPIPE at EOF.
[[nodiscard]] Result<std::string> read_line(int fd, int timeout_ms);

// Pids of the processes whose network namespace is the one at `ns_path`.
[[nodiscard]] std::vector<pid_t> processes_in_netns(const std::string& ns_path);
// SIGTERM, then SIGKILL after grace_ms for those still alive; waits (reaps our
// own children) until all are gone or another grace period has passed.
void terminate(const std::vector<pid_t>& pids, int grace_ms = 2000);

// Directory of the running binary (build/bin).
[[nodiscard]] std::string self_dir();

}  // namespace strand::lab
