#include "cni/exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "common/clock.h"
#include "common/fd.h"

extern char** environ;

namespace strand::cni {

namespace {

struct Pipe {
  UniqueFd read, write;
};

strand::Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail_errno("pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

strand::Result<std::string> find_plugin(const std::string& type, const std::string& cni_path) {
  if (type.empty() || type.find('/') != std::string::npos) return fail("find plugin", EINVAL, "bad plugin type '" + type + "'");
  size_t start = 0;
  while (start <= cni_path.size()) {
    size_t end = cni_path.find(':', start);
    if (end == std::string::npos) end = cni_path.size();
    std::string dir = cni_path.substr(start, end - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + type;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return fail("find plugin", ENOENT, "'" + type + "' in CNI_PATH " + cni_path);
}

strand::Result<ExecOutput> exec_plugin(const std::string& path, const std::vector<std::pair<std::string, std::string>>& env,
                               const std::string& input, int timeout_ms) {
  std::map<std::string, std::string> overrides(env.begin(), env.end());
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos && overrides.count(kv.substr(0, eq)) != 0) continue;
    env_strings.push_back(std::move(kv));
  }
  for (const auto& [k, v] : overrides) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  auto in = make_pipe();
  auto out = make_pipe();
  auto err = make_pipe();
  if (!in || !out || !err) return fail_errno("pipe2", path);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in->read.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out->write.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err->write.get(), 2);
  std::string argv0 = path;
  char* argv[] = {argv0.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, path.c_str(), &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return fail("posix_spawn", rc, path);
  in->read.reset();
  out->write.reset();
  err->write.reset();

  ExecOutput result;
  size_t written = 0;
  if (input.empty()) in->write.reset();
  int64_t deadline = mono_ms() + timeout_ms;
  bool timed_out = false;
  char buf[8192];
  while (out->read || err->read) {
    pollfd fds[3];
    int n = 0;
    int idx_in = -1, idx_out = -1, idx_err = -1;
    if (in->write) { idx_in = n; fds[n++] = {in->write.get(), POLLOUT, 0}; }
    if (out->read) { idx_out = n; fds[n++] = {out->read.get(), POLLIN, 0}; }
    if (err->read) { idx_err = n; fds[n++] = {err->read.get(), POLLIN, 0}; }
    int64_t left = deadline - mono_ms();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    int pr = ::poll(fds, n, static_cast<int>(left));
    if (pr < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (idx_in >= 0 && fds[idx_in].revents != 0) {
      ssize_t w = ::write(in->write.get(), input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 && errno != EINTR && errno != EAGAIN) in->write.reset();
      if (written == input.size()) in->write.reset();
    }
    auto drain = [&](int idx, UniqueFd& fd, std::string& sink) {
      if (idx < 0 || fds[idx].revents == 0) return;
      ssize_t r = ::read(fd.get(), buf, sizeof(buf));
      if (r > 0) {
        sink.append(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        fd.reset();
      }
    };
    drain(idx_out, out->read, result.out);
    drain(idx_err, err->read, result.err);
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return fail("exec plugin", ETIMEDOUT, path);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace strand::cni
