#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "common/agent_client.h"
#include "common/netns.h"

extern char** environ;

namespace strand::test {

std::string bin_dir() {
  if (const char* b = std::getenv("STRAND_BIN"); b != nullptr && *b != '\0') return b;
  char self[4096] = {};
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::filesystem::path p(std::string(self, n > 0 ? static_cast<size_t>(n) : 0));
  return (p.parent_path().parent_path() / "bin").string();
}

static int run_shell(const std::string& cmd, std::string* out) {
  FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  if (f == nullptr) return -1;
  std::array<char, 4096> buf{};
  std::string o;
  size_t n;
  while ((n = ::fread(buf.data(), 1, buf.size(), f)) > 0) o.append(buf.data(), n);
  int rc = ::pclose(f);
  if (out != nullptr) *out = o;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TestNetns::TestNetns(std::string name) : name_(std::move(name)) {
  run_shell("ip netns del " + name_, nullptr);
  std::string out;
  int rc = run_shell("ip netns add " + name_, &out);
  EXPECT_EQ(rc, 0) << "ip netns add " << name_ << ": " << out;
  live_ = rc == 0;
  if (live_) run_shell("ip netns exec " + name_ + " ip link set lo up", nullptr);
}

TestNetns::~TestNetns() { remove(); }

void TestNetns::remove() {
  if (!live_) return;
  run_shell("ip netns del " + name_, nullptr);
  live_ = false;
}

int ns_exec(const std::string& ns, const std::string& cmd, std::string* out) {
  return run_shell("ip netns exec " + ns + " " + cmd, out);
}

void sweep_netns(const std::string& prefix) {
  DIR* d = ::opendir("/run/netns");
  if (d == nullptr) return;
  std::vector<std::string> names;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind(prefix, 0) == 0) names.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) run_shell("ip netns del " + n, nullptr);
}

pid_t spawn_process(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  EXPECT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0) << argv[0];
  return pid;
}

pid_t spawn_in_netns(const std::string& netns_path, std::vector<std::string> args) {
  auto ns = Netns::open(netns_path);
  EXPECT_TRUE(ns) << "open netns " << netns_path;
  if (!ns) return -1;
  auto guard = ns->enter();
  EXPECT_TRUE(guard);
  if (!guard) return -1;
  return spawn_process(std::move(args));
}

::testing::AssertionResult wait_agent_ready(pid_t& pid, const std::string& socket, const std::string& log_file) {
  auto log = [&log_file] {
    std::ifstream in(log_file);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = agent_call(socket, {{"op", "status"}}, 500);
    if (r && r->ok) return ::testing::AssertionSuccess();
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      return ::testing::AssertionFailure() << "agent exited early: " << log();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ::testing::AssertionFailure() << "agent not ready in 10 s: " << log();
}

namespace {
std::string plugin_path(const std::string& plugin) { return plugin.starts_with('/') ? plugin : bin_dir() + "/" + plugin; }
}  // namespace

PluginOutput run_plugin(const std::string& node, const PluginCall& call, const nlohmann::json& conf,
                        const std::string& plugin) {
  PluginOutput res;
  auto ns = Netns::open("/run/netns/" + node);
  EXPECT_TRUE(ns) << "open node netns " << node;
  if (!ns) return res;
  std::vector<std::pair<std::string, std::string>> env = {
      {"CNI_COMMAND", call.command}, {"CNI_CONTAINERID", call.container_id}, {"CNI_NETNS", call.netns},
      {"CNI_IFNAME", call.ifname},   {"CNI_ARGS", call.args},
      {"CNI_PATH", call.path.empty() ? bin_dir() + ":/usr/lib/cni" : call.path}};
  for (const auto& [k, v] : call.extra_env) env.emplace_back(k, v);
  {
    auto guard = ns->enter();
    EXPECT_TRUE(guard);
    if (!guard) return res;
    auto out = cni::exec_plugin(plugin_path(plugin), env, conf.dump());
    EXPECT_TRUE(out) << (out ? "" : out.error().message());
    if (!out) return res;
    res.exit_code = out->exit_code;
    res.out = out->out;
    res.err = out->err;
  }
  res.json = nlohmann::json::parse(res.out, nullptr, false);
  if (res.json.is_discarded()) res.json = nullptr;
  return res;
}

std::optional<SpawnedPlugin> spawn_plugin(const std::string& node, const PluginCall& call, const nlohmann::json& conf,
                                          const std::string& plugin) {
  auto ns = Netns::open("/run/netns/" + node);
  EXPECT_TRUE(ns) << "open node netns " << node;
  if (!ns) return std::nullopt;
  std::map<std::string, std::string> overrides = {
      {"CNI_COMMAND", call.command}, {"CNI_CONTAINERID", call.container_id}, {"CNI_NETNS", call.netns},
      {"CNI_IFNAME", call.ifname},   {"CNI_ARGS", call.args},
      {"CNI_PATH", call.path.empty() ? bin_dir() + ":/usr/lib/cni" : call.path}};
  for (const auto& [k, v] : call.extra_env) overrides[k] = v;
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    if (!overrides.contains(kv.substr(0, kv.find('=')))) env.push_back(std::move(kv));
  }
  for (const auto& [k, v] : overrides) env.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);

  // Close-on-exec everywhere: a concurrent spawn must not inherit these.
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return std::nullopt;
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return std::nullopt;
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return std::nullopt;
  UniqueFd err_r(err[0]), err_w(err[1]);
  // The conf fits in the pipe: written before the child exists, so a child
  // killed early cannot make this write fail (or raise SIGPIPE).
  const std::string input = conf.dump();
  EXPECT_EQ(::write(in_w.get(), input.data(), input.size()), static_cast<ssize_t>(input.size()));
  in_w.reset();

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  std::string path = plugin_path(plugin);
  char* argv[] = {path.data(), nullptr};
  SpawnedPlugin p;
  int rc;
  {
    auto guard = ns->enter();
    EXPECT_TRUE(guard);
    if (!guard) {
      posix_spawn_file_actions_destroy(&fa);
      return std::nullopt;
    }
    p.started = std::chrono::steady_clock::now();
    rc = ::posix_spawn(&p.pid, path.c_str(), &fa, nullptr, argv, envp.data());
  }
  posix_spawn_file_actions_destroy(&fa);
  EXPECT_EQ(rc, 0) << "posix_spawn " << path << ": " << std::strerror(rc);
  if (rc != 0) return std::nullopt;
  p.out = std::move(out_r);
  p.err = std::move(err_r);
  return p;
}

FinishedPlugin wait_plugin(SpawnedPlugin& p) {
  FinishedPlugin f;
  std::array<char, 4096> buf{};
  while (p.out || p.err) {
    pollfd fds[2] = {{p.out.get(), POLLIN, 0}, {p.err.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      ADD_FAILURE() << "poll: " << std::strerror(errno);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      UniqueFd& fd = i == 0 ? p.out : p.err;
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fd.reset();
        continue;
      }
      (i == 0 ? f.output.out : f.output.err).append(buf.data(), static_cast<size_t>(n));
    }
  }
  f.took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - p.started);
  int status = 0;
  while (::waitpid(p.pid, &status, 0) < 0) {
    if (errno != EINTR) {
      ADD_FAILURE() << "waitpid " << p.pid << ": " << std::strerror(errno);
      return f;
    }
  }
  p.pid = -1;
  if (WIFEXITED(status)) f.output.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) f.signal = WTERMSIG(status);
  f.output.json = nlohmann::json::parse(f.output.out, nullptr, false);
  if (f.output.json.is_discarded()) f.output.json = nullptr;
  return f;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/strand-test-XXXXXX";
  if (::mkdtemp(tmpl) != nullptr) path_ = tmpl;
}

TempDir::~TempDir() {
  if (!path_.empty()) std::filesystem::remove_all(path_);
}

std::vector<std::string> links_in(const std::string& ns) {
  std::string out;
  ns_exec(ns, "ip -o link show", &out);
  std::vector<std::string> names;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find('\n', pos);
    if (end == std::string::npos) end = out.size();
    std::string line = out.substr(pos, end - pos);
    pos = end + 1;
    auto c1 = line.find(": ");
    if (c1 == std::string::npos) continue;
    auto c2 = line.find(':', c1 + 2);
    std::string name = line.substr(c1 + 2, c2 - c1 - 2);
    auto at = name.find('@');
    if (at != std::string::npos) name = name.substr(0, at);
    if (name != "lo") names.push_back(name);
  }
  return names;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> state_files_in(const std::string& dir) {
  std::vector<std::string> names = files_in(dir);
  std::error_code ec;
  if (std::filesystem::is_directory(dir + "/spare", ec)) std::erase(names, std::string("spare"));
  return names;
}

}  // namespace strand::test
