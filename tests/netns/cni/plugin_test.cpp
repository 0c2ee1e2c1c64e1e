// The strand plugin run as a runtime runs it, in namespaces the test owns:
// ADD/CHECK/DEL, pod-to-pod traffic, rollback at every step, idempotent DEL,
// concurrency, GC, STATUS, error codes, delegated IPAM, the agent handshake.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "cni/handoff_wire.h"
#include "common/agent_client.h"
#include "common/fd.h"
#include "common/ip.h"
#include "harness.h"

namespace strand::test {
namespace {

std::string prefix() { return "stcn" + std::to_string(::getpid() % 100000); }

class PluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    sweep_netns(prefix());
    node_ = std::make_unique<TestNetns>(prefix() + "n");
  }
  void TearDown() override {
    pods_.clear();
    node_.reset();
  }

  // A pod netns, created before the plugin is called (as the runtime does).
  const TestNetns& pod(int i) {
    auto& p = pods_[i];
    if (!p) p = std::make_unique<TestNetns>(prefix() + "p" + std::to_string(i));
    return *p;
  }
  void remove_pod(int i) { pods_.erase(i); }

  nlohmann::json conf(bool dual = false, const std::string& v4 = "10.77.0.0/24") const {
    nlohmann::json ranges = nlohmann::json::array({nlohmann::json::array({{{"subnet", v4}}})});
    if (dual) ranges.push_back(nlohmann::json::array({{{"subnet", "fd77::/64"}}}));
    return {{"cniVersion", "1.1.0"},
            {"name", "test"},
            {"type", "strand"},
            {"mtu", 1400},
            {"agentRequired", false},
            {"agentSocket", tmp_.path() + "/agent.sock"},
            {"stateDir", tmp_.path() + "/state"},
            {"logFile", tmp_.path() + "/strand.log"},
            {"logLevel", "debug"},
            {"ipam", {{"type", "strand-ipam"}, {"dataDir", tmp_.path() + "/ipam"}, {"ranges", ranges}}}};
  }

  PluginOutput call(const std::string& cmd, const std::string& id, int pod_index, const nlohmann::json& c,
                    std::map<std::string, std::string> extra = {}) {
    PluginCall pc;
    pc.command = cmd;
    pc.container_id = id;
    pc.netns = pod_index >= 0 ? "/run/netns/" + prefix() + "p" + std::to_string(pod_index) : "";
    pc.args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + id;  // as kubelet sets it
    pc.extra_env = std::move(extra);
    return run_plugin(node_->name(), pc, c);
  }

  PluginOutput add(const std::string& id, int pod_index, const nlohmann::json& c) {
    pod(pod_index);
    return call("ADD", id, pod_index, c);
  }

  // Addresses allocated in the test's IPAM dir (file names that are IPs).
  std::vector<std::string> allocations() const {
    std::vector<std::string> out;
    for (const auto& f : files_in(tmp_.path() + "/ipam/test")) {
      if (IpAddr::parse(f)) out.push_back(f);
    }
    return out;
  }
  std::vector<std::string> records() const { return state_files_in(tmp_.path() + "/state"); }

  std::string log() const {
    std::string out;
    ns_exec(node_->name(), "cat " + tmp_.path() + "/strand.log", &out);
    return out;
  }

  // Nothing of the plugin's is left: no host link, no allocation, no record,
  // no route through a deleted link. A DEL leaves its veth retired for a
  // detached child of the plugin to delete: links get 3 s to go.
  void expect_clean() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!links_in(node_->name()).empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(links_in(node_->name()).empty()) << ::testing::PrintToString(links_in(node_->name()));
    EXPECT_TRUE(allocations().empty()) << ::testing::PrintToString(allocations());
    EXPECT_TRUE(records().empty()) << ::testing::PrintToString(records());
    std::string routes;
    ns_exec(node_->name(), "ip route show; ip -6 route show", &routes);
    EXPECT_EQ(routes.find("10.77."), std::string::npos) << routes;
    EXPECT_EQ(routes.find("fd77:"), std::string::npos) << routes;
  }

  TempDir tmp_;
  std::unique_ptr<TestNetns> node_;
  std::map<int, std::unique_ptr<TestNetns>> pods_;
};

std::string ip_of(const nlohmann::json& result, int family) {
  for (const auto& ip : result["ips"]) {
    auto p = IpPrefix::parse(ip["address"].get<std::string>());
    if (p && p->family() == family) return p->addr.str();
  }
  return "";
}

TEST_F(PluginTest, AddCheckDelLeavesNothing) {
  auto c = conf();
  auto r = add("c1", 1, c);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << log();
  ASSERT_TRUE(r.json.is_object()) << r.out;
  EXPECT_EQ(r.json["cniVersion"], "1.1.0");
  ASSERT_EQ(r.json["interfaces"].size(), 2u);
  EXPECT_EQ(r.json["interfaces"][1]["name"], "eth0");
  EXPECT_EQ(r.json["interfaces"][1]["sandbox"], pod(1).path());
  EXPECT_EQ(r.json["interfaces"][1]["mtu"], 1400);
  ASSERT_EQ(r.json["ips"].size(), 1u);
  EXPECT_EQ(r.json["ips"][0]["interface"], 1);
  EXPECT_EQ(r.json["ips"][0]["gateway"], "169.254.1.1");
  std::string ip = ip_of(r.json, AF_INET);
  EXPECT_EQ(r.json["ips"][0]["address"], ip + "/32");

  std::string out;
  ASSERT_EQ(ns_exec(pod(1).name(), "ip -o addr show dev eth0", &out), 0);
  EXPECT_NE(out.find(ip + "/32"), std::string::npos) << out;
  ASSERT_EQ(ns_exec(pod(1).name(), "ip route show", &out), 0);
  EXPECT_NE(out.find("default via 169.254.1.1 dev eth0 onlink"), std::string::npos) << out;
  ASSERT_EQ(ns_exec(pod(1).name(), "ip neigh show", &out), 0);
  EXPECT_NE(out.find("169.254.1.1 dev eth0 lladdr"), std::string::npos) << out;
  EXPECT_NE(out.find("PERMANENT"), std::string::npos) << out;
  // One queue each way on both ends (the kernel's default is one per possible CPU).
  ASSERT_EQ(ns_exec(pod(1).name(), "ip -d link show eth0", &out), 0);
  EXPECT_NE(out.find("numtxqueues 1 numrxqueues 1 "), std::string::npos) << out;
  ASSERT_EQ(ns_exec(node_->name(), "ip route show", &out), 0);
  EXPECT_NE(out.find(ip + " dev st"), std::string::npos) << out;
  const std::string host_if = r.json["interfaces"][0]["name"];
  ASSERT_EQ(ns_exec(node_->name(), "ip -d link show " + host_if, &out), 0);
  EXPECT_NE(out.find("numtxqueues 1 numrxqueues 1 "), std::string::npos) << out;
  EXPECT_EQ(records().size(), 1u);
  EXPECT_EQ(allocations(), std::vector<std::string>{ip});

  auto with_prev = c;
  with_prev["prevResult"] = r.json;
  auto chk = call("CHECK", "c1", 1, with_prev);
  EXPECT_EQ(chk.exit_code, 0) << chk.out;
  EXPECT_TRUE(chk.out.empty()) << chk.out;

  auto del = call("DEL", "c1", 1, c);
  EXPECT_EQ(del.exit_code, 0) << del.out;
  EXPECT_TRUE(del.out.empty());
  expect_clean();
  EXPECT_TRUE(links_in(pod(1).name()).empty());
}

TEST_F(PluginTest, TwoDualStackPodsReachEachOther) {
  auto c = conf(true);
  auto a = add("ca", 1, c);
  auto b = add("cb", 2, c);
  ASSERT_EQ(a.exit_code, 0) << a.out << log();
  ASSERT_EQ(b.exit_code, 0) << b.out << log();
  ASSERT_EQ(a.json["ips"].size(), 2u);
  std::string b4 = ip_of(b.json, AF_INET), b6 = ip_of(b.json, AF_INET6), a4 = ip_of(a.json, AF_INET);
  ASSERT_FALSE(b4.empty());
  ASSERT_FALSE(b6.empty());
  std::string out;
  EXPECT_EQ(ns_exec(pod(1).name(), "ping -c 2 -i 0.2 -W 2 " + b4, &out), 0) << out;
  EXPECT_EQ(ns_exec(pod(2).name(), "ping -c 2 -i 0.2 -W 2 " + a4, &out), 0) << out;
  EXPECT_EQ(ns_exec(pod(1).name(), "ping -6 -c 2 -i 0.2 -W 2 " + b6, &out), 0) << out;
  EXPECT_EQ(call("DEL", "ca", 1, c).exit_code, 0);
  EXPECT_EQ(call("DEL", "cb", 2, c).exit_code, 0);
  expect_clean();
}

TEST_F(PluginTest, RollbackAtEveryStepLeavesNothing) {
  auto c = conf(true);
  for (const char* step : {"record", "ipam", "veth", "pod-addr", "pod-neigh", "pod-route", "host-route"}) {
    SCOPED_TRACE(step);
    auto r = call("ADD", "rb", (pod(1), 1), c, {{"STRAND_TEST_FAIL_AT", step}});
    EXPECT_NE(r.exit_code, 0);
    ASSERT_TRUE(r.json.is_object()) << r.out << r.err;
    EXPECT_TRUE(r.json.contains("code"));
    EXPECT_NE(r.json.value("msg", "").size() + r.json.value("details", "").size(), 0u);
    expect_clean();
    EXPECT_TRUE(links_in(pod(1).name()).empty()) << step;
  }
  // The agent step: required agent that fails -> 11, rolled back.
  auto req = c;
  req["agentRequired"] = true;
  auto r = call("ADD", "rb", 1, req, {{"STRAND_TEST_FAIL_AT", "agent"}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.json.value("code", 0), 11) << r.out;
  expect_clean();
  // And it works after all that.
  auto ok = call("ADD", "rb", 1, c);
  ASSERT_EQ(ok.exit_code, 0) << ok.out << log();
  EXPECT_EQ(call("DEL", "rb", 1, c).exit_code, 0);
  expect_clean();
}

TEST_F(PluginTest, DelIsIdempotentAndSurvivesAMissingNetns) {
  auto c = conf();
  ASSERT_EQ(add("d1", 1, c).exit_code, 0);
  EXPECT_EQ(call("DEL", "d1", 1, c).exit_code, 0);
  EXPECT_EQ(call("DEL", "d1", 1, c).exit_code, 0);
  expect_clean();
  ASSERT_EQ(add("d2", 2, c).exit_code, 0);
  remove_pod(2);  // the runtime removed the netns first
  auto r = call("DEL", "d2", 2, c);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  expect_clean();
  auto never = call("DEL", "never-added", -1, c);
  EXPECT_EQ(never.exit_code, 0) << never.out;
}

TEST_F(PluginTest, SecondAddWithoutDelFails) {
  auto c = conf();
  ASSERT_EQ(add("s1", 1, c).exit_code, 0);
  auto again = call("ADD", "s1", 1, c);
  EXPECT_NE(again.exit_code, 0);
  EXPECT_TRUE(again.json.contains("code"));
  EXPECT_EQ(call("DEL", "s1", 1, c).exit_code, 0);
  expect_clean();
}

TEST_F(PluginTest, SixtyFourConcurrentAddsGetDistinctAddresses) {
  auto c = conf();
  constexpr int kPods = 64;
  for (int i = 0; i < kPods; ++i) pod(i);
  std::vector<PluginOutput> outs(kPods);
  std::vector<std::thread> threads;
  for (int i = 0; i < kPods; ++i) {
    threads.emplace_back([&, i] { outs[i] = call("ADD", "cc" + std::to_string(i), i, c); });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ips;
  for (int i = 0; i < kPods; ++i) {
    ASSERT_EQ(outs[i].exit_code, 0) << i << " " << outs[i].out << outs[i].err;
    ips.insert(ip_of(outs[i].json, AF_INET));
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kPods));
  EXPECT_EQ(allocations().size(), static_cast<size_t>(kPods));
  EXPECT_EQ(links_in(node_->name()).size(), static_cast<size_t>(kPods));
  threads.clear();
  for (int i = 0; i < kPods; ++i) {
    threads.emplace_back([&, i] { outs[i] = call("DEL", "cc" + std::to_string(i), i, c); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kPods; ++i) EXPECT_EQ(outs[i].exit_code, 0) << outs[i].out;
  expect_clean();
}

TEST_F(PluginTest, GcReleasesEverythingNotValid) {
  auto c = conf(true);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(add("g" + std::to_string(i), i, c).exit_code, 0);
  auto gc = c;
  gc["cni.dev/valid-attachments"] = nlohmann::json::array({{{"containerID", "g1"}, {"ifname", "eth0"}}});
  auto r = call("GC", "", -1, gc);
  EXPECT_EQ(r.exit_code, 0) << r.out << log();
  EXPECT_EQ(records().size(), 1u);
  EXPECT_EQ(allocations().size(), 2u);  // g1's v4 and v6
  EXPECT_EQ(links_in(node_->name()).size(), 1u);
  gc["cni.dev/valid-attachments"] = nlohmann::json::array();
  EXPECT_EQ(call("GC", "", -1, gc).exit_code, 0);
  expect_clean();
}

TEST_F(PluginTest, StatusReportsExhaustionAndMissingAgent) {
  auto c = conf(false, "10.77.0.0/30");  // one usable address besides the gateway
  EXPECT_EQ(call("STATUS", "", -1, c).exit_code, 0);
  ASSERT_EQ(add("st1", 1, c).exit_code, 0) << log();
  auto st = call("STATUS", "", -1, c);
  EXPECT_NE(st.exit_code, 0);
  EXPECT_EQ(st.json.value("code", 0), 50) << st.out;
  auto full = add("st2", 2, c);
  EXPECT_NE(full.exit_code, 0);
  EXPECT_TRUE(full.json.contains("code"));
  EXPECT_TRUE(links_in(pod(2).name()).empty());
  EXPECT_EQ(call("DEL", "st1", 1, c).exit_code, 0);
  EXPECT_EQ(call("DEL", "st2", 2, c).exit_code, 0);
  expect_clean();

  auto req = conf();
  req["agentRequired"] = true;
  auto agent = call("STATUS", "", -1, req);
  EXPECT_EQ(agent.json.value("code", 0), 50) << agent.out;
  auto add_req = add("st3", 3, req);
  EXPECT_EQ(add_req.json.value("code", 0), 11) << add_req.out;
  expect_clean();
}

TEST_F(PluginTest, BadInputGetsTheSpecsCodes) {
  auto c = conf();
  pod(1);
  struct Case {
    const char* name;
    std::function<PluginOutput()> run;
    int code;
  };
  std::vector<Case> cases = {
      {"unknown command", [&] { return call("FROB", "x", 1, c); }, 4},
      {"bad container id", [&] { return call("ADD", "-bad", 1, c); }, 4},
      {"missing netns", [&] {
         PluginCall pc{"ADD", "x", "/run/netns/does-not-exist-strand"};
         return run_plugin(node_->name(), pc, c);
       }, 4},
      {"bad ifname", [&] {
         PluginCall pc{"ADD", "x", pod(1).path(), "this-name-is-too-long"};
         return run_plugin(node_->name(), pc, c);
       }, 4},
      {"unsupported version", [&] { auto b = c; b["cniVersion"] = "0.2.0"; return call("ADD", "x", 1, b); }, 1},
      {"missing name", [&] { auto b = c; b.erase("name"); return call("ADD", "x", 1, b); }, 7},
      {"mtu wrong type", [&] { auto b = c; b["mtu"] = "big"; return call("ADD", "x", 1, b); }, 7},
      {"no ipam", [&] { auto b = c; b.erase("ipam"); return call("ADD", "x", 1, b); }, 7},
      {"bad subnet", [&] { auto b = c; b["ipam"]["ranges"][0][0]["subnet"] = "10.0.0.0/99"; return call("ADD", "x", 1, b); }, 7},
      {"unknown ipam plugin", [&] { auto b = c; b["ipam"]["type"] = "no-such-ipam"; return call("ADD", "x", 1, b); }, 7},
      {"check without prevResult", [&] { return call("CHECK", "x", 1, c); }, 7},
      {"gc on 1.0.0", [&] { auto b = c; b["cniVersion"] = "1.0.0"; return call("GC", "", -1, b); }, 1},
      {"check on 0.3.1", [&] { auto b = c; b["cniVersion"] = "0.3.1"; return call("CHECK", "x", 1, b); }, 1},
      {"strand-ipam status on 1.0.0", [&] {
         auto b = c;
         b["cniVersion"] = "1.0.0";
         PluginCall pc{"STATUS", "", ""};
         return run_plugin(node_->name(), pc, b, "strand-ipam");
       }, 1},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    auto r = tc.run();
    EXPECT_NE(r.exit_code, 0) << r.out;
    ASSERT_TRUE(r.json.is_object()) << r.out << r.err;
    EXPECT_EQ(r.json.value("code", 0), tc.code) << r.out;
    EXPECT_FALSE(r.json.value("msg", "").empty()) << r.out;
  }
  // Malformed JSON on stdin.
  {
    auto ns = node_->name();
    std::string out;
    int rc = ns_exec(ns, "sh -c 'echo \"{nope\" | CNI_COMMAND=ADD CNI_CONTAINERID=x CNI_NETNS=" + pod(1).path() +
                             " CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni " + bin_dir() + "/strand 2>/dev/null'", &out);
    EXPECT_NE(rc, 0);
    auto j = nlohmann::json::parse(out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << out;
    EXPECT_EQ(j.value("code", 0), 6) << out;
  }
  expect_clean();
  EXPECT_TRUE(links_in(pod(1).name()).empty());
}

TEST_F(PluginTest, CheckNamesWhatDiffers) {
  auto c = conf();
  auto r = add("k1", 1, c);
  ASSERT_EQ(r.exit_code, 0);
  auto with_prev = c;
  with_prev["prevResult"] = r.json;
  ASSERT_EQ(ns_exec(pod(1).name(), "ip neigh del 169.254.1.1 dev eth0"), 0);
  auto chk = call("CHECK", "k1", 1, with_prev);
  EXPECT_NE(chk.exit_code, 0);
  EXPECT_EQ(chk.json.value("code", 0), 110) << chk.out;
  EXPECT_NE(chk.json.value("msg", "").find("169.254.1.1"), std::string::npos) << chk.out;
  ASSERT_EQ(ns_exec(pod(1).name(), "ip link set eth0 mtu 1300"), 0);
  chk = call("CHECK", "k1", 1, with_prev);
  EXPECT_NE(chk.json.value("msg", "").find("mtu"), std::string::npos) << chk.out;
  EXPECT_EQ(call("DEL", "k1", 1, c).exit_code, 0);
  expect_clean();
}

TEST_F(PluginTest, DelegatedHostLocalIpam) {
  auto c = conf();
  c["cniVersion"] = "1.0.0";  // the reference host-local here speaks up to 1.0.0
  c["ipam"] = {{"type", "host-local"}, {"dataDir", tmp_.path() + "/ipam"}, {"ranges", {{{{"subnet", "10.77.0.0/24"}}}}}};
  auto r = add("h1", 1, c);
  ASSERT_EQ(r.exit_code, 0) << r.out << log();
  EXPECT_EQ(allocations().size(), 1u);
  EXPECT_EQ(call("DEL", "h1", 1, c).exit_code, 0);
  expect_clean();
  // A failing delegate's error comes back with its code.
  c["ipam"]["ranges"][0][0]["subnet"] = "not-a-subnet";
  auto bad = add("h2", 2, c);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(bad.json.contains("code")) << bad.out;
  EXPECT_NE(bad.json.value("msg", "").find("host-local"), std::string::npos) << bad.out;
  expect_clean();
}

// A minimal agent: answers each request with `reply` and records the ops. A
// verb handed over ("cni") gets `reply` too, which is not a verb's result: the
// plugin runs the verb itself, as with an agent older than the handoff. With
// `drop_cni` it closes the connection instead, as an agent that died.
class FakeAgent {
 public:
  FakeAgent(const std::string& path, nlohmann::json reply, bool drop_cni = false)
      : path_(path), reply_(std::move(reply)), drop_cni_(drop_cni) {
    ::unlink(path.c_str());
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(fd_.get(), 16), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeAgent() {
    stop_ = true;
    ::shutdown(fd_.get(), SHUT_RDWR);
    thread_.join();
    ::unlink(path_.c_str());
  }
  std::vector<std::string> ops() {
    std::lock_guard l(mu_);
    return ops_;
  }
  std::vector<nlohmann::json> cni_requests() {
    std::lock_guard l(mu_);
    return cni_requests_;
  }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      UniqueFd conn(c);
      std::string buf, line;
      char tmp[4096];
      while (!take_line(buf, line)) {
        ssize_t n = ::recv(conn.get(), tmp, sizeof(tmp), 0);
        if (n <= 0) break;
        buf.append(tmp, static_cast<size_t>(n));
      }
      auto j = nlohmann::json::parse(line, nullptr, false);
      const std::string op = j.is_object() ? j.value("op", "?") : "?";
      {
        std::lock_guard l(mu_);
        ops_.push_back(op);
        if (op == "cni") cni_requests_.push_back(j);
      }
      if (op == "cni" && drop_cni_) continue;
      std::string out = reply_.dump() + "\n";
      (void)!::send(conn.get(), out.data(), out.size(), MSG_NOSIGNAL);
    }
  }
  std::string path_;
  nlohmann::json reply_;
  bool drop_cni_ = false;
  std::vector<nlohmann::json> cni_requests_;
  UniqueFd fd_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> ops_;
};

TEST_F(PluginTest, AgentHandshake) {
  auto c = conf();
  c["agentRequired"] = true;
  {
    FakeAgent agent(tmp_.path() + "/agent.sock", {{"ok", true}});
    auto r = add("a1", 1, c);
    ASSERT_EQ(r.exit_code, 0) << r.out << log();
    auto with_prev = c;
    with_prev["prevResult"] = r.json;
    EXPECT_EQ(call("CHECK", "a1", 1, with_prev).exit_code, 0);
    EXPECT_EQ(call("STATUS", "", -1, c).exit_code, 0);
    EXPECT_EQ(call("DEL", "a1", 1, c).exit_code, 0);
    // Each verb is offered to the agent first ("cni"); this one declines.
    EXPECT_EQ(agent.ops(),
              (std::vector<std::string>{"cni", "add", "cni", "check", "cni", "status", "cni", "del"}));
    // What the shim (C, no JSON library) sent decodes as the agent decodes it.
    auto reqs = agent.cni_requests();
    ASSERT_EQ(reqs.size(), 4u);
    auto add_req = cni::decode_handoff_request(reqs[0]);
    ASSERT_TRUE(add_req.has_value()) << add_req.error().message() << reqs[0].dump();
    EXPECT_EQ(add_req->env.at("CNI_COMMAND"), "ADD");
    EXPECT_EQ(add_req->env.at("CNI_CONTAINERID"), "a1");
    EXPECT_EQ(add_req->env.at("CNI_ARGS"), "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=a1");
    EXPECT_EQ(nlohmann::json::parse(add_req->conf), c);
    struct stat node_ns {};
    ASSERT_EQ(::stat(node_->path().c_str(), &node_ns), 0);
    EXPECT_EQ(add_req->ns.net.ino, static_cast<uint64_t>(node_ns.st_ino));
    EXPECT_EQ(cni::decode_handoff_request(reqs[1])->env.at("CNI_COMMAND"), "CHECK");
  }
  {
    FakeAgent agent(tmp_.path() + "/agent.sock", {{"ok", false}, {"error", "policy not ready"}});
    auto r = add("a2", 2, c);
    EXPECT_EQ(r.json.value("code", 0), 11) << r.out;
    EXPECT_NE(r.out.find("policy not ready"), std::string::npos) << r.out;
  }
  expect_clean();
}

TEST_F(PluginTest, AgentLostAfterTakingTheVerb) {
  auto c = conf();
  c["agentRequired"] = true;
  FakeAgent agent(tmp_.path() + "/agent.sock", {{"ok", true}}, /*drop_cni=*/true);
  // An ADD the agent took and never answered: try again later, and the plugin
  // does not run it a second time.
  auto r = add("l1", 1, c);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.json.value("code", 0), 11) << r.out;
  EXPECT_NE(r.json.value("msg", "").find("did not finish"), std::string::npos) << r.out;
  EXPECT_EQ(r.json.value("cniVersion", ""), c["cniVersion"]) << r.out;
  EXPECT_EQ(agent.ops(), (std::vector<std::string>{"cni"}));
  EXPECT_NE(log().find("took the verb and did not finish it"), std::string::npos) << log();
  // Every other verb is safe to run again: the plugin runs it.
  EXPECT_EQ(call("DEL", "l1", 1, c).exit_code, 0);
  EXPECT_EQ(agent.ops(), (std::vector<std::string>{"cni", "cni", "del"}));
  expect_clean();
}

TEST_F(PluginTest, VersionAnswersWithoutEnvironment) {
  PluginCall pc;
  pc.command = "VERSION";
  auto r = run_plugin(node_->name(), pc, {{"cniVersion", "1.0.0"}});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.json["cniVersion"], "1.0.0");
  EXPECT_EQ(r.json["supportedVersions"], nlohmann::json::array({"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}));
}

}  // namespace
}  // namespace strand::test
