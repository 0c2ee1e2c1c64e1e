#include "lab/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <thread>

extern char** environ;

namespace strand::lab {

namespace {

using Clock = std::chrono::steady_clock;

struct Pipe {
  UniqueFd r, w;
  static Result<Pipe> make() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail_errno("pipe2");
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
  }
};

std::vector<std::string> merged_env(const Env& extra) {
  std::map<std::string, std::string> m;
  for (char** e = environ; *e; ++e) {
    std::string s = *e;
    auto eq = s.find('=');
    if (eq != std::string::npos) m[s.substr(0, eq)] = s.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) m[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> cstrs(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

class Actions {
 public:
  Actions() { posix_spawn_file_actions_init(&a_); }
  ~Actions() { posix_spawn_file_actions_destroy(&a_); }
  posix_spawn_file_actions_t* get() { return &a_; }

 private:
  posix_spawn_file_actions_t a_;
};

class Attrs {
 public:
  Attrs() { posix_spawnattr_init(&a_); }
  ~Attrs() { posix_spawnattr_destroy(&a_); }
  posix_spawnattr_t* get() { return &a_; }

 private:
  posix_spawnattr_t a_;
};

// Spawns with the calling thread moved into `ns` for the spawn only.
Result<pid_t> spawn_in(const std::vector<std::string>& argv, const Env& env, const Netns* ns, Actions& fa, Attrs& at) {
  std::vector<std::string> args = argv;
  auto envs = merged_env(env);
  auto cargs = cstrs(args);
  auto cenv = cstrs(envs);
  std::optional<Netns::Guard> guard;
  if (ns) {
    auto g = ns->enter();
    if (!g) return std::unexpected(g.error());
    guard.emplace(std::move(*g));
  }
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, args[0].c_str(), fa.get(), at.get(), cargs.data(), cenv.data());
  if (rc != 0) return fail("posix_spawn", rc, args[0]);
  return pid;
}

}  // namespace

Result<RunOutput> run(const std::vector<std::string>& argv, const Env& env, const std::string& input, const Netns* ns,
                      int timeout_ms) {
  auto in = Pipe::make();
  auto out = Pipe::make();
  auto err = Pipe::make();
  if (!in || !out || !err) return fail_errno("pipe2");
  Actions fa;
  posix_spawn_file_actions_adddup2(fa.get(), in->r.get(), 0);
  posix_spawn_file_actions_adddup2(fa.get(), out->w.get(), 1);
  posix_spawn_file_actions_adddup2(fa.get(), err->w.get(), 2);
  Attrs at;
  auto pid = spawn_in(argv, env, ns, fa, at);
  if (!pid) return std::unexpected(pid.error());
  in->r.reset();
  out->w.reset();
  err->w.reset();
  // Inputs here are network configs, far below a pipe's capacity.
  size_t off = 0;
  ::signal(SIGPIPE, SIG_IGN);
  while (off < input.size()) {
    ssize_t n = ::write(in->w.get(), input.data() + off, input.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  in->w.reset();
  RunOutput res;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  bool out_open = true, err_open = true, timed_out = false;
  char buf[8192];
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p[2] = {{out_open ? out->r.get() : -1, POLLIN, 0}, {err_open ? err->r.get() : -1, POLLIN, 0}};
    int rc = ::poll(p, 2, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    for (int i = 0; i < 2; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(p[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
      } else {
        (i == 0 ? res.out : res.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  if (timed_out) ::kill(*pid, SIGKILL);
  int status = 0;
  while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return fail("run", ETIMEDOUT, argv[0] + " took longer than " + std::to_string(timeout_ms) + " ms");
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return res;
}

Result<pid_t> spawn_daemon(const std::vector<std::string>& argv, const Netns* ns, const std::string& log_file,
                           UniqueFd* ready_fd) {
  Actions fa;
  posix_spawn_file_actions_addopen(fa.get(), 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(fa.get(), 1, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(fa.get(), 1, 2);
  std::optional<Pipe> ready;
  if (ready_fd) {
    auto p = Pipe::make();
    if (!p) return std::unexpected(p.error());
    ready.emplace(std::move(*p));
    posix_spawn_file_actions_adddup2(fa.get(), ready->w.get(), 3);
  }
  Attrs at;
  posix_spawnattr_setflags(at.get(), POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(at.get(), &none);
  posix_spawnattr_setsigdefault(at.get(), &all);
  auto pid = spawn_in(argv, {}, ns, fa, at);
  if (!pid) return pid;
  if (ready) *ready_fd = std::move(ready->r);
  return pid;
}

Result<std::string> read_line(int fd, int timeout_ms) {
  std::string line;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return fail("read ready line", ETIMEDOUT);
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) return fail("read ready line", EPIPE, line);
    if (c == '\n') return line;
    line += c;
  }
}

std::vector<pid_t> processes_in_netns(const std::string& ns_path) {
  std::vector<pid_t> out;
  struct stat want {};
  if (::stat(ns_path.c_str(), &want) != 0) return out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  const pid_t self = ::getpid();
  while (auto* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == self) continue;
    struct stat st {};
    std::string p = "/proc/" + std::string(e->d_name) + "/ns/net";
    if (::stat(p.c_str(), &st) != 0) continue;
    if (st.st_ino == want.st_ino && st.st_dev == want.st_dev) out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return out;
}

namespace {
bool alive(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid) return false;  // our child, reaped
  if (::kill(pid, 0) != 0) return false;
  // A zombie of another parent is as good as gone.
  std::string stat;
  if (FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r")) {
    char buf[512];
    size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    std::fclose(f);
    stat = buf;
    auto rp = stat.rfind(')');
    if (rp != std::string::npos && rp + 2 < stat.size() && stat[rp + 2] == 'Z') return false;
  }
  return true;
}

bool wait_gone(const std::vector<pid_t>& pids, int ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    bool any = false;
    for (pid_t p : pids) any = any || alive(p);
    if (!any) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}
}  // namespace

void terminate(const std::vector<pid_t>& pids, int grace_ms) {
  if (pids.empty()) return;
  for (pid_t p : pids) ::kill(p, SIGTERM);
  if (wait_gone(pids, grace_ms)) return;
  for (pid_t p : pids) ::kill(p, SIGKILL);
  (void)wait_gone(pids, grace_ms);
}

std::string self_dir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}

}  // namespace strand::lab
