// The agent's side of the verb handoff: what it declines, and a verb run on
// its worker through a socketpair (no root needed: the verbs chosen fail on
// their version check before touching the kernel).
#include "agent/cni_handoff.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>
#include <filesystem>
#include <map>
#include <string>

#include "cni/handoff_wire.h"
#include "common/agent_client.h"

namespace strand::agent {
namespace {

namespace fs = std::filesystem;

cni::NsIdentity own_ns() {
  struct stat net {}, mnt {};
  EXPECT_EQ(::stat("/proc/thread-self/ns/net", &net), 0);
  EXPECT_EQ(::stat("/proc/self/ns/mnt", &mnt), 0);
  return {{net.st_dev, net.st_ino}, {mnt.st_dev, mnt.st_ino}};
}

class CniHandoffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("strand-handoff-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    sock_path_ = (dir_ / "agent.sock").string();
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path_.c_str());
    ASSERT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string conf(const std::string& version, const std::string& socket, const std::string& ipam = "strand-ipam") {
    return nlohmann::json{{"cniVersion", version},
                          {"name", "n"},
                          {"type", "strand"},
                          {"agentSocket", socket},
                          {"logFile", (dir_ / "strand.log").string()},
                          {"ipam", {{"type", ipam}}}}
        .dump();
  }

  // Offers `request` to a CniHandoff as the server would; returns the reply
  // line the plugin end reads ("" when the handoff did not take it).
  std::string offer(CniHandoff& h, const nlohmann::json& request) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    UniqueFd agent_end(sv[0]), plugin_end(sv[1]);
    if (!h.take(request.dump(), agent_end)) return "";
    h.drain();
    std::string got;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(plugin_end.get(), buf, sizeof(buf), 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }

  nlohmann::json request(const std::string& command, const std::string& conf_text) {
    return cni::encode_handoff_request({{{"CNI_COMMAND", command},
                                         {"CNI_CONTAINERID", "c1"},
                                         {"CNI_NETNS", "/proc/self/ns/net"},
                                         {"CNI_IFNAME", "eth0"},
                                         {"CNI_PATH", "/nonexistent"}},
                                        conf_text,
                                        own_ns()});
  }

  fs::path dir_;
  std::string sock_path_;
  UniqueFd listener_;
};

TEST_F(CniHandoffTest, OtherOpsAreNotTaken) {
  CniHandoff h(sock_path_, [](const nlohmann::json&) { return nlohmann::json{{"ok", true}}; });
  EXPECT_EQ(offer(h, {{"op", "status"}}), "");
  EXPECT_EQ(offer(h, nlohmann::json::array()), "");
}

TEST_F(CniHandoffTest, RunsTheVerbAndLogsItInThePluginsFile) {
  CniHandoff h(sock_path_, [](const nlohmann::json&) { return nlohmann::json{{"ok", true}}; });
  HandoffCounts counts;
  h.set_counts(&counts);
  // GC needs cniVersion 1.1.0: run_verb answers code 1 without touching the kernel.
  auto line = offer(h, request("GC", conf("1.0.0", sock_path_)));
  ASSERT_FALSE(line.empty());
  ASSERT_EQ(line.back(), '\n');
  auto reply = cni::decode_handoff_reply(nlohmann::json::parse(line));
  ASSERT_FALSE(reply.declined) << reply.why;
  EXPECT_EQ(reply.outcome.exit, 1);
  EXPECT_EQ(counts.snapshot(), (std::map<std::string, uint64_t>{{"run", 1}}));
  auto err = nlohmann::json::parse(reply.outcome.out);
  EXPECT_EQ(err["code"], 1);
  EXPECT_EQ(err["cniVersion"], "1.0.0");
  std::string log;
  std::FILE* f = std::fopen((dir_ / "strand.log").c_str(), "r");
  ASSERT_NE(f, nullptr);
  char buf[4096];
  size_t n = std::fread(buf, 1, sizeof(buf), f);
  std::fclose(f);
  log.assign(buf, n);
  EXPECT_NE(log.find("verb run by strand-agent failed cmd=GC container=c1 ifname=eth0"), std::string::npos) << log;
}

TEST_F(CniHandoffTest, DeclinesWhatThePluginMustRun) {
  CniHandoff h(sock_path_, [](const nlohmann::json&) { return nlohmann::json{{"ok", true}}; });
  HandoffCounts counts;
  h.set_counts(&counts);
  auto why = [&](const nlohmann::json& req) {
    auto line = offer(h, req);
    EXPECT_FALSE(line.empty());
    auto r = cni::decode_handoff_reply(nlohmann::json::parse(line));
    EXPECT_TRUE(r.declined);
    return r.why;
  };
  EXPECT_NE(why(request("ADD", conf("1.0.0", sock_path_, "host-local"))).find("runs in the plugin"), std::string::npos);
  EXPECT_NE(why(request("VERSION", conf("1.0.0", sock_path_))).find("runs in the plugin"), std::string::npos);
  EXPECT_NE(why(request("ADD", conf("1.0.0", (dir_ / "other.sock").string()))).find("not this agent's socket"),
            std::string::npos);
  EXPECT_NE(why(request("ADD", "{not json")).find("config"), std::string::npos);
  auto no_cmd = request("ADD", conf("1.0.0", sock_path_));
  no_cmd["env"].erase("CNI_COMMAND");
  EXPECT_NE(why(no_cmd).find("environment"), std::string::npos);
  auto bad = request("ADD", conf("1.0.0", sock_path_));
  bad["netns"] = "x";
  EXPECT_NE(why(bad).find("netns"), std::string::npos);
  EXPECT_EQ(counts.snapshot(), (std::map<std::string, uint64_t>{{"declined-bad-request", 3},
                                                                 {"declined-other-socket", 1},
                                                                 {"declined-plugin-runs-it", 2}}));
}

// A runner that records when each verb starts and ends, and holds every ADD
// until released.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  std::vector<std::string> events;  // "start ADD c1", "end ADD c1", ...
  cni::Outcome run(const cni::Env& env, const cni::NetConf&) {
    const std::string verb = std::string(cni::command_name(env.command)) + " " + env.container_id;
    std::unique_lock lock(mu);
    events.push_back("start " + verb);
    cv.notify_all();
    if (env.command == cni::Command::kAdd) cv.wait(lock, [&] { return released; });
    events.push_back("end " + verb);
    return {};
  }
  bool wait_for(const std::string& event) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(5),
                       [&] { return std::find(events.begin(), events.end(), event) != events.end(); });
  }
  void release() {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
  bool seen(const std::string& event) {
    std::lock_guard lock(mu);
    return std::find(events.begin(), events.end(), event) != events.end();
  }
  size_t index(const std::string& event) {
    std::lock_guard lock(mu);
    return static_cast<size_t>(std::find(events.begin(), events.end(), event) - events.begin());
  }
};

TEST_F(CniHandoffTest, VerbsOfOneAttachmentRunInOrderAndAreNeverBusy) {
  Recorder rec;
  CniHandoff h(sock_path_, [](const nlohmann::json&) { return nlohmann::json{{"ok", true}}; },
               [&rec](const cni::Env& e, const cni::NetConf& c) { return rec.run(e, c); });
  HandoffCounts counts;
  h.set_counts(&counts);
  std::vector<UniqueFd> plugin_ends;
  auto send = [&](const std::string& command, const std::string& id) {
    auto req = request(command, conf("1.1.0", sock_path_));
    req["env"]["CNI_CONTAINERID"] = id;
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    UniqueFd agent_end(sv[0]);
    plugin_ends.emplace_back(sv[1]);
    EXPECT_TRUE(h.take(req.dump(), agent_end));
  };
  // The runtime killed the ADD's plugin and sent DEL: the DEL waits for the ADD.
  send("ADD", "c1");
  ASSERT_TRUE(rec.wait_for("start ADD c1"));
  send("DEL", "c1");
  // Other attachments do not wait: fill the agent up to kMaxInFlight.
  for (int i = 2; i < CniHandoff::kMaxInFlight; ++i) send("ADD", "c" + std::to_string(i));
  // Full: a new attachment is declined, but c1's next verb still queues.
  auto full = request("ADD", conf("1.1.0", sock_path_));
  full["env"]["CNI_CONTAINERID"] = "c99";
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd agent_end(sv[0]), plugin_end(sv[1]);
  timeval tv{5, 0};  // a test that fails must not hang
  ASSERT_EQ(::setsockopt(plugin_end.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
  ASSERT_TRUE(h.take(full.dump(), agent_end));
  char buf[512];
  ssize_t n = ::recv(plugin_end.get(), buf, sizeof(buf), 0);
  ASSERT_GT(n, 0);
  auto busy = cni::decode_handoff_reply(nlohmann::json::parse(std::string(buf, static_cast<size_t>(n))));
  EXPECT_TRUE(busy.declined);
  EXPECT_NE(busy.why.find("busy"), std::string::npos) << busy.why;
  send("CHECK", "c1");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(rec.seen("start DEL c1")) << "DEL c1 started while its ADD ran";
  rec.release();
  h.drain();
  EXPECT_LT(rec.index("end ADD c1"), rec.index("start DEL c1"));
  EXPECT_LT(rec.index("end DEL c1"), rec.index("start CHECK c1"));
  EXPECT_EQ(counts.snapshot(),
            (std::map<std::string, uint64_t>{{"run", CniHandoff::kMaxInFlight + 1}, {"declined-busy", 1}}));
  // Every plugin got its answer.
  for (auto& fd : plugin_ends) {
    ASSERT_EQ(::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    ssize_t r = ::recv(fd.get(), buf, sizeof(buf), 0);
    EXPECT_GT(r, 0);
  }
}

TEST(CniHandoffDecline, Reasons) {
  cni::HandoffRequest req;
  req.ns = {{4, 100}, {4, 200}};
  cni::Env env;
  env.command = cni::Command::kAdd;
  cni::NetConf conf;
  conf.ipam = {{"type", "strand-ipam"}};
  CniHandoff::Context ctx{req.ns, true, 0, ""};
  EXPECT_EQ(CniHandoff::decline_reason(req, env, conf, ctx), std::nullopt);
  auto other_net = ctx;
  other_net.mine.net.ino = 101;
  EXPECT_NE(CniHandoff::decline_reason(req, env, conf, other_net)->why.find("network namespace"), std::string::npos);
  EXPECT_EQ(CniHandoff::decline_reason(req, env, conf, other_net)->kind, "other-netns");
  // Another mount namespace that sees the same files (an agent in a container
  // with the node's directories): taken. One that does not: declined.
  auto other_mnt = ctx;
  other_mnt.mine.mnt.ino = 201;
  EXPECT_EQ(CniHandoff::decline_reason(req, env, conf, other_mnt), std::nullopt);
  other_mnt.other_file = "/var/lib/strand/endpoints";
  EXPECT_NE(CniHandoff::decline_reason(req, env, conf, other_mnt)->why.find("mount namespace and sees another /var/lib/strand/endpoints"),
            std::string::npos);
  auto other_sock = ctx;
  other_sock.same_socket = false;
  EXPECT_NE(CniHandoff::decline_reason(req, env, conf, other_sock)->why.find("socket"), std::string::npos);
  auto busy = ctx;
  busy.in_flight = CniHandoff::kMaxInFlight;
  EXPECT_NE(CniHandoff::decline_reason(req, env, conf, busy)->why.find("busy"), std::string::npos);
  EXPECT_EQ(CniHandoff::decline_reason(req, env, conf, busy)->kind, "busy");
  EXPECT_EQ(CniHandoff::decline_reason(req, env, conf, other_mnt)->kind, "other-files");
}

TEST(CniHandoffFiles, SameFileComparesThroughThePluginsRoot) {
  const fs::path root = fs::temp_directory_path() / ("strand-root-" + std::to_string(::getpid()));
  fs::remove_all(root);
  // The plugin's root is the agent's: every path is the same file.
  EXPECT_TRUE(CniHandoff::same_file("/proc/self/root", "/proc/self/ns/net"));
  EXPECT_TRUE(CniHandoff::same_file("/proc/self/root", "/tmp"));
  // Missing on both sides: the nearest parent that exists decides.
  EXPECT_TRUE(CniHandoff::same_file("/proc/self/root", "/tmp/strand-no-such-dir/x/y"));
  EXPECT_FALSE(CniHandoff::same_file("/proc/self/root", "relative/path"));
  EXPECT_FALSE(CniHandoff::same_file("/proc/self/root", ""));
  // A root of its own: /tmp there is another directory.
  fs::create_directories(root / "tmp");
  EXPECT_FALSE(CniHandoff::same_file(root.string(), "/tmp"));
  EXPECT_FALSE(CniHandoff::same_file(root.string(), "/tmp/strand-no-such-dir/x"));
  // A path only the plugin's side has.
  fs::create_directories(root / "only-there");
  EXPECT_FALSE(CniHandoff::same_file(root.string(), "/only-there"));
  fs::remove_all(root);
}

TEST(CniHandoffFiles, VerbPaths) {
  cni::Env env;
  env.netns = "/run/netns/p1";
  auto conf = cni::parse_netconf(R"({"cniVersion":"1.0.0","name":"n","type":"strand","stateDir":"/s",
    "logFile":"/var/log/strand/cni.log",
    "ipam":{"type":"strand-ipam","dataDir":"/d","resolvConf":"/etc/r.conf","ranges":[[{"subnet":"10.1.0.0/24"}]]}})");
  ASSERT_TRUE(conf.has_value()) << conf.error().msg;
  EXPECT_EQ(CniHandoff::verb_paths(env, *conf),
            (std::vector<std::string>{"/run/netns/p1", "/s", "/d", "/etc/r.conf", "/var/log/strand"}));
  // Defaults when the config names none.
  env.netns.clear();
  auto bare = cni::parse_netconf(
      R"({"cniVersion":"1.0.0","name":"n","type":"strand","ipam":{"type":"strand-ipam","ranges":[[{"subnet":"10.1.0.0/24"}]]}})");
  ASSERT_TRUE(bare.has_value()) << bare.error().msg;
  EXPECT_EQ(CniHandoff::verb_paths(env, *bare),
            (std::vector<std::string>{"/var/lib/strand/endpoints", "/var/lib/cni/networks"}));
}

TEST(LocalAgent, AnswersItsOwnSocketOnThisThreadOnly) {
  int calls = 0;
  {
    LocalAgent local("/run/test-agent.sock", [&](const nlohmann::json& req) {
      ++calls;
      return nlohmann::json{{"ok", true}, {"echo", req["op"]}};
    });
    auto r = agent_call("/run/test-agent.sock", {{"op", "status"}}, 100);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->ok);
    EXPECT_EQ(r->body["echo"], "status");
    // Another path still goes to a socket (none there).
    EXPECT_FALSE(agent_call("/nonexistent/strand.sock", {{"op", "status"}}, 100).has_value());
    // Another thread does not see it.
    bool other_ok = true;
    std::thread([&] { other_ok = agent_call("/run/test-agent.sock", {{"op", "status"}}, 100).has_value(); }).join();
    EXPECT_FALSE(other_ok);
  }
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(agent_call("/run/test-agent.sock", {{"op", "status"}}, 100).has_value());
}

}  // namespace
}  // namespace strand::agent
