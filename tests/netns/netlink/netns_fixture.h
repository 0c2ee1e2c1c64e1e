#pragma once
// Fixture for privileged netlink tests: two fresh namespaces per test, "host"
// and "pod", named stnl<pid>h / stnl<pid>p, with a netlink socket opened in
// each. Nothing runs in the machine's own namespace. Namespaces are removed in
// TearDown (which runs after failed assertions too); leftovers of crashed runs
// (their pid gone) are swept when the suite starts.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "common/netns.h"
#include "netlink/ops.h"
#include "netlink/socket.h"

extern char** environ;

namespace strand::netlink::testing {

inline constexpr std::string_view kPrefix = "stnl";

// Runs a command (the test fixture's only use of `ip`) and returns its exit status.
inline int run(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Deletes stnl<pid>* namespaces whose process is gone.
inline void sweep_leftovers() {
  DIR* d = opendir("/run/netns");
  if (d == nullptr) return;
  std::vector<std::string> stale;
  while (dirent* e = readdir(d)) {
    std::string_view name = e->d_name;
    if (!name.starts_with(kPrefix)) continue;
    std::string digits;
    for (char c : name.substr(kPrefix.size())) {
      if (c < '0' || c > '9') break;
      digits += c;
    }
    if (digits.empty()) continue;
    pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH) stale.emplace_back(name);
  }
  closedir(d);
  for (const auto& n : stale) run({"ip", "netns", "del", n});
}

class NetnsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() == 0) sweep_leftovers();
  }

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "not root: creating network namespaces needs CAP_SYS_ADMIN";
    host_ = make_ns("h");
    pod_ = make_ns("p");
    ASSERT_TRUE(host_ && pod_);
    auto hs = Socket::open_in(*host_);
    ASSERT_TRUE(hs) << hs.error().message();
    hs_.emplace(std::move(*hs));
    auto ps = Socket::open_in(*pod_);
    ASSERT_TRUE(ps) << ps.error().message();
    ps_.emplace(std::move(*ps));
  }

  void TearDown() override {
    hs_.reset();
    ps_.reset();
    host_.reset();
    pod_.reset();
    for (const auto& n : names_) run({"ip", "netns", "del", n});
  }

  // A fresh namespace stnl<pid><tag>.
  std::optional<Netns> make_ns(const std::string& tag) {
    std::string name = std::string(kPrefix) + std::to_string(getpid()) + tag;
    run({"ip", "netns", "del", name});  // left by an earlier test in this process
    EXPECT_EQ(run({"ip", "netns", "add", name}), 0) << "ip netns add " << name;
    names_.push_back(name);
    auto ns = Netns::open("/run/netns/" + name);
    EXPECT_TRUE(ns) << ns.error().message();
    if (!ns) return std::nullopt;
    return std::move(*ns);
  }

  // A socket subscribed to `groups`, opened inside `ns`.
  static Result<Socket> open_events(const Netns& ns, std::span<const unsigned> groups) {
    auto guard = ns.enter();
    if (!guard) return std::unexpected(guard.error());
    return Socket::open(groups);
  }

  Socket& hs() { return *hs_; }
  Socket& ps() { return *ps_; }

  std::optional<Netns> host_, pod_;
  std::optional<Socket> hs_, ps_;
  std::vector<std::string> names_;
};

// The errno of a failed Result/Status, 0 when it succeeded.
template <typename T>
int err_of(const std::expected<T, Error>& r) {
  return r ? 0 : r.error().err;
}

// Asserts a Result/Status is ok, printing the error otherwise.
#define ASSERT_OK(expr)                                                       \
  do {                                                                        \
    auto&& strand_ok_ = (expr);                                               \
    ASSERT_TRUE(strand_ok_) << #expr << ": " << strand_ok_.error().message(); \
  } while (0)

#define EXPECT_OK(expr)                                                       \
  do {                                                                        \
    auto&& strand_ok_ = (expr);                                               \
    EXPECT_TRUE(strand_ok_) << #expr << ": " << strand_ok_.error().message(); \
  } while (0)

// The value of a Result, failing the test (and returning) when it is an error.
#define ASSERT_VALUE(var, expr)                                                   \
  auto var##_result_ = (expr);                                                    \
  ASSERT_TRUE(var##_result_) << #expr << ": " << var##_result_.error().message(); \
  auto& var = *var##_result_

}  // namespace strand::netlink::testing
