#include "harness.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "common/netns.h"

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
    auto out = cni::exec_plugin(bin_dir() + "/" + plugin, env, conf.dump());
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

}  // namespace strand::test
