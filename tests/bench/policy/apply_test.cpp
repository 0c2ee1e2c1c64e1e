// bench_policy_apply against a fake agent: an HTTP server that reports the
// generation of DIR/.generation only 20 ms after it first sees it (a slow
// "datapath"). The tool must measure at least that, write policies the
// agent's manifest parser accepts, and say when the contract is missing.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <csignal>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "agent/sources/manifest.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct ToolRun {
  int rc = -1;
  std::string out;
};

ToolRun run(const std::string& args) {
  ToolRun r;
  FILE* p = ::popen((std::string(BENCH_POLICY_APPLY) + " " + args + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  int st = ::pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class FakeAgent {
 public:
  // stuck_at: never reports more than that.
  FakeAgent(fs::path dir, bool with_generation, uint64_t stuck_at = UINT64_MAX)
      : dir_(std::move(dir)), stuck_at_(stuck_at) {
    svr_.Get("/v1/policies", [this, with_generation](const httplib::Request&, httplib::Response& res) {
      nlohmann::json body{{"items", nlohmann::json::array({{{"name", "p0"}, {"generation", 999}}})}};
      if (with_generation) body["generation"] = reported();
      res.set_content(body.dump(), "application/json");
    });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
  }
  ~FakeAgent() {
    svr_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  int requests() const {
    std::lock_guard l(mu_);
    return requests_;
  }

 private:
  uint64_t reported() {
    std::lock_guard l(mu_);
    ++requests_;
    uint64_t now_value = 0;
    std::ifstream(dir_ / ".generation") >> now_value;
    if (now_value != seen_) {
      seen_ = now_value;
      seen_at_ = Clock::now();
    }
    if (Clock::now() - seen_at_ >= std::chrono::milliseconds(20)) reported_ = std::min(seen_, stuck_at_);
    return reported_;
  }

  fs::path dir_;
  uint64_t stuck_at_;
  httplib::Server svr_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  uint64_t seen_ = 0, reported_ = 0;
  Clock::time_point seen_at_{};
  int requests_ = 0;
};

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("bench_policy_apply_test." + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(PolicyApply, MeasuresUntilTheAgentReportsTheGeneration) {
  fs::path dir = temp_dir();
  std::ofstream(dir / ".generation") << "4\n";
  FakeAgent agent(dir, true);
  const std::string common = "--dir " + dir.string() + " --http 127.0.0.1:" + std::to_string(agent.port());

  ToolRun w = run("wait " + common);
  ASSERT_EQ(w.rc, 0) << w.out;
  EXPECT_EQ(nlohmann::json::parse(w.out)["generation"], 4);

  ToolRun r = run("latency " + common + " --count 5 --first-index 7 --server-ip 10.104.0.2 --client-ip 10.104.0.3");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["count"], 5);
  EXPECT_EQ(j["generation"], 9);
  ASSERT_EQ(j["samples_ms"].size(), 5u);
  for (double s : j["samples_ms"]) {
    EXPECT_GE(s, 20.0);
    EXPECT_LT(s, 2000.0);
  }
  EXPECT_GE(j["p99_ms"].get<double>(), j["p50_ms"].get<double>());
  EXPECT_GT(j["polls"].get<int>(), 5);
  std::string g;
  std::ifstream(dir / ".generation") >> g;
  EXPECT_EQ(g, "9");

  // Five new policies, p7..p11, each a List the agent's parser takes, selecting the server.
  for (int i = 7; i < 12; ++i) {
    fs::path f = dir / ("extra-" + std::to_string(i) + ".json");
    ASSERT_TRUE(fs::exists(f)) << f;
    std::ifstream in(f);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto m = strand::sources::parse_manifest(text, f.string());
    ASSERT_TRUE(m.has_value()) << m.error().message();
    ASSERT_EQ(m->objects.size(), 1u);
    auto& np = std::get<strand::policy::NetworkPolicy>(m->objects[0]);
    EXPECT_EQ(np.id(), "bench/p" + std::to_string(i));
    EXPECT_EQ(np.pod_selector.match_labels.at("role"), "server");
    EXPECT_EQ(np.ingress.size(), 10u);
  }
  // No temp file left behind.
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 6u);
  fs::remove_all(dir);
}

TEST(PolicyApply, SaysWhenTheAgentHasNoGeneration) {
  fs::path dir = temp_dir();
  std::ofstream(dir / ".generation") << "1\n";
  FakeAgent agent(dir, false);
  const std::string common = "--dir " + dir.string() + " --http 127.0.0.1:" + std::to_string(agent.port());
  ToolRun w = run("wait " + common);
  EXPECT_EQ(w.rc, 3) << w.out;
  ToolRun r = run("latency " + common + " --count 2");
  EXPECT_EQ(r.rc, 3) << r.out;
  EXPECT_FALSE(fs::exists(dir / "extra-1000.json"));
  fs::remove_all(dir);
}

TEST(PolicyApply, TimesOutWhenTheGenerationNeverComes) {
  fs::path dir = temp_dir();
  std::ofstream(dir / ".generation") << "3\n";
  FakeAgent agent(dir, true, /*stuck_at=*/2);
  const std::string common = "--dir " + dir.string() + " --http 127.0.0.1:" + std::to_string(agent.port());
  const auto t0 = Clock::now();
  ToolRun w = run("wait " + common + " --timeout-ms 300");
  EXPECT_EQ(w.rc, 1) << w.out;
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(300));
  ToolRun r = run("latency " + common + " --count 2 --timeout-ms 300");
  EXPECT_EQ(r.rc, 1) << r.out;
  fs::remove_all(dir);
}

// The datapath mode refuses a port that is open before its policy is written
// (here: a listener on loopback, nothing in between).
TEST(PolicyApply, DatapathModeWantsThePortBlockedFirst) {
  fs::path dir = temp_dir();
  std::ofstream(dir / ".generation") << "1\n";
  const int base = 23000 + ::getpid() % 1000;
  FILE* lis = ::popen((std::string(BENCH_POLICY_APPLY) + " listen --probe-base " + std::to_string(base) +
                       " --count 2 & echo $!").c_str(), "r");
  ASSERT_NE(lis, nullptr);
  int pid = 0;
  ASSERT_EQ(std::fscanf(lis, "%d", &pid), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ToolRun r = run("latency --dir " + dir.string() + " --count 2 --probe 127.0.0.1 --probe-base " + std::to_string(base));
  ::kill(pid, SIGKILL);
  ::pclose(lis);
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_FALSE(fs::exists(dir / "extra-1000.json"));  // nothing written
  // Past the generator's address space: an error, not a crash.
  ToolRun big = run("latency --dir " + dir.string() + " --count 2 --first-index 5000 --probe 127.0.0.1 --probe-base 1");
  EXPECT_EQ(big.rc, 2) << big.out;
  fs::remove_all(dir);
}

}  // namespace
