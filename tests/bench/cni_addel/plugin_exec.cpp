#include "tests/bench/cni_addel/plugin_exec.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/fd.h"

namespace strand::bench {
namespace {

struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

Result<std::pair<UniqueFd, UniqueFd>> make_pipe(const std::string& what) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return fail_errno("pipe2", what);
  return std::pair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

Result<PluginOutcome> run_plugin(const PluginCall& call, int stderr_fd) {
  auto in = make_pipe("stdin of " + call.path);
  if (!in) return std::unexpected(in.error());
  auto out = make_pipe("stdout of " + call.path);
  if (!out) return std::unexpected(out.error());
  auto& [in_r, in_w] = *in;
  auto& [out_r, out_w] = *out;

  SpawnSetup setup;
  posix_spawn_file_actions_adddup2(&setup.actions, in_r.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, out_w.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, stderr_fd, STDERR_FILENO);
  // The driver ignores SIGPIPE and its workers may block signals: the plugin
  // starts with default dispositions and an empty mask, as under a runtime.
  sigset_t none, pipe_only;
  sigemptyset(&none);
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &pipe_only);
  posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> envp;
  envp.reserve(call.env.size() + 1);
  for (const auto& e : call.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(call.path.c_str()), nullptr};

  PluginOutcome outcome;
  const auto start = std::chrono::steady_clock::now();  // CLOCK_MONOTONIC
  pid_t pid = -1;
  if (int rc = posix_spawn(&pid, call.path.c_str(), &setup.actions, &setup.attr, argv, envp.data()); rc != 0) {
    return fail("posix_spawn", rc, call.path);
  }
  in_r.reset();
  out_w.reset();

  // The config is far below the pipe's capacity; a plugin that exits without
  // reading it (EPIPE) is judged by its exit status.
  const char* p = call.stdin_data.data();
  size_t left = call.stdin_data.size();
  while (left > 0) {
    ssize_t n = ::write(in_w.get(), p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  in_w.reset();

  char buf[16384];
  for (;;) {
    ssize_t n = ::read(out_r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return fail("read", err, "stdout of " + call.path);
    }
    if (n == 0) break;
    outcome.stdout_data.append(buf, static_cast<size_t>(n));
  }

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return fail_errno("waitpid", call.path);
  }
  outcome.elapsed = std::chrono::steady_clock::now() - start;
  if (WIFEXITED(status)) {
    outcome.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    outcome.signal = WTERMSIG(status);
  }
  return outcome;
}

}  // namespace strand::bench
