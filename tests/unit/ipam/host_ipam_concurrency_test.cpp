// strand-ipam under contention: instances in threads and in separate processes
// share one data directory through its flock; a writer killed with SIGKILL at
// any point leaves nothing that DEL and GC cannot release.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "cni/ipam/host_ipam.h"
#include "ipam_test_util.h"

namespace strand::cni::ipam {
namespace {

using nlohmann::json;
using testing::net_dir;
using testing::request;
using testing::TempDir;

json dual_stack() { return {{"ranges", {{{{"subnet", "10.9.0.0/24"}}}, {{{"subnet", "fd09::/120"}}}}}}; }

// Address files and their contents.
std::map<std::string, std::string> address_files(const std::string& data_dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;  // no directory yet: no files
  for (const auto& e : std::filesystem::directory_iterator(net_dir(data_dir), ec)) {
    std::string n = e.path().filename();
    if (!e.is_regular_file() || !IpAddr::parse(n)) continue;
    std::ifstream f(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    out[n] = ss.str();
  }
  return out;
}

TEST(HostIpamConcurrency, SixtyFourThreadsGetDistinctAddresses) {
  TempDir tmp;
  const json conf = dual_stack();
  constexpr int kThreads = 64;
  std::vector<std::string> v4(kThreads), v6(kThreads), errors(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      HostIpam ipam;  // its own instance, as a separate plugin process would have
      start.arrive_and_wait();
      auto r = ipam.add(request(tmp.path(), conf, "t" + std::to_string(i)));
      if (!r) {
        errors[i] = r.error().msg;
        return;
      }
      v4[i] = r->ips.at(0).address.addr.str();
      v6[i] = r->ips.at(1).address.addr.str();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) EXPECT_EQ(errors[i], "") << "thread " << i;
  EXPECT_EQ(std::set<std::string>(v4.begin(), v4.end()).size(), size_t{kThreads});
  EXPECT_EQ(std::set<std::string>(v6.begin(), v6.end()).size(), size_t{kThreads});
  auto files = address_files(tmp.path());
  EXPECT_EQ(files.size(), size_t{2 * kThreads});
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(files[v4[i]], "t" + std::to_string(i) + "\r\neth0");
    EXPECT_EQ(files[v6[i]], "t" + std::to_string(i) + "\r\neth0");
  }
}

// Runs `body` in a child process; the child's exit status is body's result.
pid_t spawn(const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  return pid;
}

TEST(HostIpamConcurrency, SixteenProcessesGetDistinctAddresses) {
  TempDir tmp;
  const json ipam = dual_stack();
  constexpr int kProcs = 16;
  constexpr int kEach = 4;
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pids.push_back(spawn([&, p] {
      ::close(pipefd[0]);
      HostIpam ipam_impl;
      for (int k = 0; k < kEach; ++k) {
        auto r = ipam_impl.add(request(tmp.path(), ipam, "p" + std::to_string(p) + "-" + std::to_string(k)));
        if (!r) return 1;
        // One line per ADD (< PIPE_BUF, so lines never interleave).
        std::string line = r->ips.at(0).address.addr.str() + " " + r->ips.at(1).address.addr.str() + "\n";
        if (::write(pipefd[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 2;
      }
      return 0;
    }));
    ASSERT_GT(pids.back(), 0);
  }
  ::close(pipefd[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  std::set<std::string> addrs;
  std::istringstream in(out);
  for (std::string a; in >> a;) addrs.insert(a);
  EXPECT_EQ(addrs.size(), size_t{2 * kProcs * kEach});
  EXPECT_EQ(address_files(tmp.path()).size(), size_t{2 * kProcs * kEach});
}

TEST(HostIpamConcurrency, KillNineLeavesNothingDelAndGcCannotRelease) {
  TempDir tmp;
  const json ipam = dual_stack();
  constexpr int kIds = 12;
  auto id = [](int n) { return "k" + std::to_string(n % kIds); };
  std::mt19937 rng(20261123);
  HostIpam ipam_impl;
  for (int round = 0; round < 25; ++round) {
    pid_t pid = spawn([&] {
      HostIpam child;
      for (int n = 0;; ++n) {
        (void)child.add(request(tmp.path(), ipam, id(n)));
        if (n >= kIds / 2) (void)child.del(request(tmp.path(), ipam, id(n - kIds / 2)));
      }
      return 0;
    });
    ASSERT_GT(pid, 0);
    ::usleep(std::uniform_int_distribution<useconds_t>(100, 3000)(rng));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status));

    // Every address file is complete: it names one of the writer's attachments.
    for (const auto& [ip, content] : address_files(tmp.path())) {
      EXPECT_EQ(content.rfind("k", 0), 0u) << ip << " holds '" << content << "' after round " << round;
      EXPECT_NE(content.find("\r\neth0"), std::string::npos) << ip;
    }
    // Re-adding every attachment never hands one address to two of them.
    std::set<std::string> given;
    for (int n = 0; n < kIds; ++n) {
      auto r = ipam_impl.add(request(tmp.path(), ipam, id(n)));
      ASSERT_TRUE(r) << r.error().msg;
      for (const auto& c : r->ips) EXPECT_TRUE(given.insert(c.address.addr.str()).second) << c.address.str();
    }
    EXPECT_EQ(address_files(tmp.path()).size(), size_t{2 * kIds});
    // Odd rounds release by DEL, even rounds by GC.
    if (round % 2 == 1) {
      for (int n = 0; n < kIds; ++n) ASSERT_TRUE(ipam_impl.del(request(tmp.path(), ipam, id(n))));
    } else {
      ASSERT_TRUE(ipam_impl.gc(request(tmp.path(), ipam, ""), {}));
    }
    EXPECT_TRUE(address_files(tmp.path()).empty()) << "round " << round;
    for (const auto& e : std::filesystem::directory_iterator(net_dir(tmp.path()) + "/by-attachment")) {
      EXPECT_EQ(e.path().filename(), ".tmp") << "index left after round " << round;
    }
  }
  // GC also clears what a killed writer left besides addresses.
  ASSERT_TRUE(ipam_impl.gc(request(tmp.path(), ipam, ""), {}));
  std::set<std::string> left;
  for (const auto& e : std::filesystem::recursive_directory_iterator(net_dir(tmp.path()))) {
    left.insert(std::filesystem::relative(e.path(), net_dir(tmp.path())));
  }
  EXPECT_EQ(left, (std::set<std::string>{"by-attachment", "last_reserved_ip.0", "last_reserved_ip.1", "lock", "spare"}));
}

}  // namespace
}  // namespace strand::cni::ipam
