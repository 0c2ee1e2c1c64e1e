// The real strand-agent in a node netns the test owns, driven by the real
// plugin: ADD attaches from_pod/to_pod (tcx links pinned per node) and fills
// the endpoints map; pods ping through the programs; kill -9 keeps the links;
// a restarted agent reuses them (no second attachment) and re-attaches what
// went missing; DEL and --cleanup leave no pins.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/agent_client.h"
#include "common/endpoint_record.h"
#include "common/netns.h"
#include "tests/netns/cni/harness.h"
#include "strand_maps.h"

namespace strand::test {
namespace {

constexpr auto kTcxIngress = static_cast<bpf_attach_type>(46);
constexpr auto kTcxEgress = static_cast<bpf_attach_type>(47);

std::string prefix() { return "stag" + std::to_string(::getpid() % 100000); }

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces and bpffs";
    sweep_netns(prefix());
    node_ = std::make_unique<TestNetns>(prefix() + "n");
    pin_root_ = "/sys/fs/bpf/strand/" + node_name();
    std::filesystem::remove_all(pin_root_);
  }
  void TearDown() override {
    stop_agent(SIGKILL);
    if (node_) {
      run_agent({"--cleanup"});  // before DEL: it finds tc filters through the records
      for (const auto& [id, pod] : pods_) (void)call("DEL", id, pod, conf());
    }
    std::error_code ec;
    std::filesystem::remove_all(pin_root_, ec);
    std::filesystem::remove("/sys/fs/bpf/strand", ec);  // only when empty
    pods_.clear();
    pod_ns_.clear();
    node_.reset();
  }

  std::string node_name() const { return prefix() + "node"; }
  std::string sock() const { return tmp_.path() + "/agent.sock"; }
  std::string state() const { return tmp_.path() + "/state"; }

  nlohmann::json conf() const {
    nlohmann::json ranges = nlohmann::json::array({nlohmann::json::array({{{"subnet", "10.78.0.0/24"}}})});
    return {{"cniVersion", "1.1.0"},
            {"name", "test"},
            {"type", "strand"},
            {"mtu", 1400},
            {"agentRequired", true},
            {"agentSocket", sock()},
            {"stateDir", state()},
            {"logFile", tmp_.path() + "/strand.log"},
            {"logLevel", "debug"},
            {"ipam", {{"type", "strand-ipam"}, {"dataDir", tmp_.path() + "/ipam"}, {"ranges", ranges}}}};
  }

  std::vector<std::string> agent_args(std::vector<std::string> extra) const {
    std::vector<std::string> a = {bin_dir() + "/strand-agent", "--node",      node_name(),
                                  "--bpffs",                   "/sys/fs/bpf", "--state-dir",
                                  state(),                     "--socket",    sock(),
                                  "--log-file",                tmp_.path() + "/agent.log",
                                  "--log-level",               "debug"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  // Starts strand-agent in the node netns (entered on this thread for the spawn).
  pid_t spawn_agent(std::vector<std::string> extra) {
    auto ns = Netns::open(node_->path());
    EXPECT_TRUE(ns);
    if (!ns) return -1;
    auto guard = ns->enter();
    EXPECT_TRUE(guard);
    if (!guard) return -1;
    auto args = agent_args(std::move(extra));
    std::vector<char*> argv;
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    EXPECT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0) << argv[0];
    return pid;
  }

  // Runs the agent to completion (--cleanup); returns its exit code.
  int run_agent(std::vector<std::string> extra) {
    pid_t pid = spawn_agent(std::move(extra));
    if (pid < 0) return -1;
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  void start_agent(std::vector<std::string> extra = {}) {
    agent_ = spawn_agent(extra);
    ASSERT_GT(agent_, 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = agent_call(sock(), {{"op", "status"}}, 500);
      if (r && r->ok) return;
      int status = 0;
      if (::waitpid(agent_, &status, WNOHANG) == agent_) {
        agent_ = -1;
        FAIL() << "agent exited early: " << agent_log();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "agent not ready in 10s: " << agent_log();
  }

  void stop_agent(int sig) {
    if (agent_ <= 0) return;
    ::kill(agent_, sig);
    int status = 0;
    ::waitpid(agent_, &status, 0);
    agent_ = -1;
  }

  std::string agent_log() const {
    std::string out;
    (void)run_shell_cat(tmp_.path() + "/agent.log", out);
    return out;
  }
  static bool run_shell_cat(const std::string& path, std::string& out) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) return false;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
    std::fclose(f);
    return true;
  }

  PluginOutput call(const std::string& cmd, const std::string& id, int pod_index, const nlohmann::json& c) {
    PluginCall pc;
    pc.command = cmd;
    pc.container_id = id;
    pc.netns = "/run/netns/" + prefix() + "p" + std::to_string(pod_index);
    pc.args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + id;
    return run_plugin(node_->name(), pc, c);
  }

  PluginOutput add(const std::string& id, int pod_index) {
    auto& ns = pod_ns_[pod_index];
    if (!ns) ns = std::make_unique<TestNetns>(prefix() + "p" + std::to_string(pod_index));
    pods_[id] = pod_index;
    return call("ADD", id, pod_index, conf());
  }

  EndpointRecord record(const std::string& id) const {
    auto r = EndpointStore(state()).read(id, "eth0");
    EXPECT_TRUE(r && *r) << id;
    return r && *r ? **r : EndpointRecord{};
  }

  // Program ids attached by tcx at the node's ifindex.
  std::vector<uint32_t> tcx_progs(int ifindex, bpf_attach_type type) const {
    auto ns = Netns::open(node_->path());
    EXPECT_TRUE(ns);
    auto guard = ns->enter();
    EXPECT_TRUE(guard);
    std::vector<uint32_t> ids(16);
    uint32_t count = static_cast<uint32_t>(ids.size()), flags = 0;
    if (bpf_prog_query(ifindex, type, 0, &flags, ids.data(), &count) != 0) {
      ADD_FAILURE() << "bpf_prog_query ifindex " << ifindex << ": " << std::strerror(errno);
      return {};
    }
    ids.resize(count);
    return ids;
  }

  std::string link_pin(const std::string& host_if, const char* hook) const {
    return pin_root_ + "/links/" + host_if + "_" + hook;
  }

  // The endpoints map entry of ifindex, through the pinned map.
  std::optional<strand_endpoint> endpoint_entry(int ifindex) const {
    UniqueFd fd(bpf_obj_get((pin_root_ + "/maps/endpoints").c_str()));
    EXPECT_TRUE(fd) << "pinned endpoints map: " << std::strerror(errno);
    if (!fd) return std::nullopt;
    __u32 key = static_cast<__u32>(ifindex);
    strand_endpoint ep{};
    if (bpf_map_lookup_elem(fd.get(), &key, &ep) != 0) return std::nullopt;
    return ep;
  }

  // Packets the programs counted for ep_id (ep_stats, summed over CPUs, both directions).
  uint64_t ep_packets(uint32_t ep_id) const {
    UniqueFd fd(bpf_obj_get((pin_root_ + "/maps/ep_stats").c_str()));
    EXPECT_TRUE(fd) << "pinned ep_stats map: " << std::strerror(errno);
    if (!fd) return 0;
    const int ncpu = libbpf_num_possible_cpus();
    std::vector<strand_ep_stats> per_cpu(static_cast<size_t>(ncpu));
    if (bpf_map_lookup_elem(fd.get(), &ep_id, per_cpu.data()) != 0) return 0;
    uint64_t n = 0;
    for (const auto& s : per_cpu) n += s.packets[0] + s.packets[1];
    return n;
  }

  // Exactly one program on each hook of the record's host veth, with both links pinned.
  void expect_attached(const EndpointRecord& r) {
    EXPECT_TRUE(std::filesystem::exists(link_pin(r.host_ifname, "ingress"))) << r.host_ifname;
    EXPECT_TRUE(std::filesystem::exists(link_pin(r.host_ifname, "egress"))) << r.host_ifname;
    EXPECT_EQ(tcx_progs(r.host_ifindex, kTcxIngress).size(), 1u) << r.host_ifname;
    EXPECT_EQ(tcx_progs(r.host_ifindex, kTcxEgress).size(), 1u) << r.host_ifname;
    auto ep = endpoint_entry(r.host_ifindex);
    ASSERT_TRUE(ep) << "no endpoints entry for ifindex " << r.host_ifindex;
    EXPECT_NE(ep->ep_id, 0u);
    EXPECT_EQ(ep->identity, 0u);
  }

  bool ping(int from_pod, const std::string& ip) {
    std::string out;
    int rc = ns_exec(prefix() + "p" + std::to_string(from_pod), "ping -c 2 -i 0.2 -W 2 " + ip, &out);
    EXPECT_EQ(rc, 0) << out;
    return rc == 0;
  }

  static std::string ip_of(const PluginOutput& r) {
    std::string a = r.json["ips"][0].value("address", "");
    return a.substr(0, a.find('/'));
  }

  TempDir tmp_;
  std::unique_ptr<TestNetns> node_;
  std::map<int, std::unique_ptr<TestNetns>> pod_ns_;
  std::map<std::string, int> pods_;  // container id -> pod index, DELeted in TearDown
  std::string pin_root_;
  pid_t agent_ = -1;
};

TEST_F(AgentTest, AttachSurvivesRestartAndDetaches) {
  ASSERT_NO_FATAL_FAILURE(start_agent());
  auto a = add("c1", 1);
  ASSERT_EQ(a.exit_code, 0) << a.out << agent_log();
  auto b = add("c2", 2);
  ASSERT_EQ(b.exit_code, 0) << b.out << agent_log();
  const auto ra = record("c1"), rb = record("c2");
  ASSERT_NO_FATAL_FAILURE(expect_attached(ra));
  ASSERT_NO_FATAL_FAILURE(expect_attached(rb));
  EXPECT_NE(agent_log().find("mode=tcx"), std::string::npos) << agent_log();
  const auto a_in = tcx_progs(ra.host_ifindex, kTcxIngress);
  // A repeated add (a retried handshake) attaches nothing more.
  auto again = agent_call(sock(), {{"op", "add"}, {"endpoint", nlohmann::json::parse(encode_endpoint_record(ra))}}, 2000);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->ok) << again->error;
  EXPECT_EQ(tcx_progs(ra.host_ifindex, kTcxIngress), a_in);
  ASSERT_NO_FATAL_FAILURE(expect_attached(ra));

  // Traffic passes through the attached programs: their per-endpoint counters move.
  const uint32_t a_ep = endpoint_entry(ra.host_ifindex).value_or(strand_endpoint{}).ep_id;
  const uint64_t before = ep_packets(a_ep);
  ASSERT_TRUE(ping(1, ip_of(b)));
  ASSERT_TRUE(ping(2, ip_of(a)));
  const uint64_t after = ep_packets(a_ep);
  EXPECT_GE(after, before + 8) << "4 echo requests and 4 replies cross c1's host veth";
  auto with_prev = conf();
  with_prev["prevResult"] = a.json;
  EXPECT_EQ(call("CHECK", "c1", 1, with_prev).exit_code, 0);

  // kill -9: the pinned links keep the programs attached.
  stop_agent(SIGKILL);
  ASSERT_TRUE(ping(1, ip_of(b)));
  EXPECT_GE(ep_packets(a_ep), after + 4) << "programs still run with the agent dead";
  EXPECT_EQ(tcx_progs(ra.host_ifindex, kTcxIngress), a_in);
  // Lose c2's attachment while the agent is down: the restart must bring it back.
  for (const char* hook : {"ingress", "egress"}) {
    UniqueFd l(bpf_obj_get(link_pin(rb.host_ifname, hook).c_str()));
    ASSERT_TRUE(l);
    ASSERT_EQ(bpf_link_detach(l.get()), 0);
    ASSERT_EQ(::unlink(link_pin(rb.host_ifname, hook).c_str()), 0);
  }
  EXPECT_TRUE(tcx_progs(rb.host_ifindex, kTcxIngress).empty());

  ASSERT_NO_FATAL_FAILURE(start_agent());
  // c1: the same link and program as before (reused, not attached twice).
  EXPECT_EQ(tcx_progs(ra.host_ifindex, kTcxIngress), a_in);
  ASSERT_NO_FATAL_FAILURE(expect_attached(ra));
  // c2: attached again from its record.
  ASSERT_NO_FATAL_FAILURE(expect_attached(rb));
  EXPECT_NE(agent_log().find("reused_maps=7"), std::string::npos) << agent_log();
  ASSERT_TRUE(ping(1, ip_of(b)));
  EXPECT_EQ(call("CHECK", "c1", 1, with_prev).exit_code, 0);
  auto direct = agent_call(sock(), {{"op", "check"}, {"containerID", "c2"}, {"ifname", "eth0"}}, 2000);
  ASSERT_TRUE(direct);
  EXPECT_TRUE(direct->ok) << direct->error;

  // DEL detaches and unpins; the agent no longer reports it attached.
  auto d = call("DEL", "c1", 1, conf());
  EXPECT_EQ(d.exit_code, 0) << d.out;
  pods_.erase("c1");
  EXPECT_FALSE(std::filesystem::exists(link_pin(ra.host_ifname, "ingress")));
  EXPECT_FALSE(std::filesystem::exists(link_pin(ra.host_ifname, "egress")));
  EXPECT_FALSE(endpoint_entry(ra.host_ifindex));
  auto gone = agent_call(sock(), {{"op", "check"}, {"containerID", "c1"}, {"ifname", "eth0"}}, 2000);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->ok);
  EXPECT_TRUE(std::filesystem::exists(link_pin(rb.host_ifname, "ingress")));  // c2 untouched

  // --cleanup while c2 is still attached: everything of the node goes.
  stop_agent(SIGTERM);
  EXPECT_EQ(run_agent({"--cleanup"}), 0) << agent_log();
  EXPECT_FALSE(std::filesystem::exists(pin_root_));
  EXPECT_TRUE(tcx_progs(rb.host_ifindex, kTcxIngress).empty());
  EXPECT_TRUE(tcx_progs(rb.host_ifindex, kTcxEgress).empty());
}

// `tc filter show` lines of a hook of a node device that are bpf filters (tc
// prints a chain line first, then one line per filter with its handle).
std::vector<std::string> tc_filters(const std::string& node_ns, const std::string& dev, const char* hook) {
  std::string out;
  EXPECT_EQ(ns_exec(node_ns, "tc filter show dev " + dev + " " + hook, &out), 0) << out;
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    std::string line = out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (line.find(" bpf ") != std::string::npos && line.find(" handle ") != std::string::npos) lines.push_back(line);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return lines;
}

// The fallback for kernels without tcx, forced: clsact filters, no link pins.
TEST_F(AgentTest, TcFallbackAttachesFilters) {
  ASSERT_NO_FATAL_FAILURE(start_agent({"--attach-mode", "tc"}));
  auto a = add("c1", 1);
  ASSERT_EQ(a.exit_code, 0) << a.out << agent_log();
  auto b = add("c2", 2);
  ASSERT_EQ(b.exit_code, 0) << b.out << agent_log();
  const auto ra = record("c1"), rb = record("c2");
  EXPECT_NE(agent_log().find("mode=tc "), std::string::npos) << agent_log();
  for (const auto& r : {ra, rb}) {
    auto in = tc_filters(node_->name(), r.host_ifname, "ingress");
    auto eg = tc_filters(node_->name(), r.host_ifname, "egress");
    ASSERT_EQ(in.size(), 1u) << r.host_ifname;
    ASSERT_EQ(eg.size(), 1u) << r.host_ifname;
    EXPECT_NE(in[0].find("from_pod"), std::string::npos) << in[0];
    EXPECT_NE(eg[0].find("to_pod"), std::string::npos) << eg[0];
    EXPECT_TRUE(tcx_progs(r.host_ifindex, kTcxIngress).empty());
    EXPECT_TRUE(endpoint_entry(r.host_ifindex));
  }
  EXPECT_TRUE(files_in(pin_root_ + "/links").empty());
  const uint64_t before = ep_packets(static_cast<uint32_t>(ra.host_ifindex));
  ASSERT_TRUE(ping(1, ip_of(b)));
  EXPECT_GE(ep_packets(static_cast<uint32_t>(ra.host_ifindex)), before + 4);
  auto with_prev = conf();
  with_prev["prevResult"] = a.json;
  EXPECT_EQ(call("CHECK", "c1", 1, with_prev).exit_code, 0);

  // Filters live with the device: kill -9 and restart keep exactly one each.
  stop_agent(SIGKILL);
  ASSERT_TRUE(ping(1, ip_of(b)));
  ASSERT_NO_FATAL_FAILURE(start_agent({"--attach-mode", "tc"}));
  EXPECT_EQ(tc_filters(node_->name(), ra.host_ifname, "ingress").size(), 1u);
  EXPECT_EQ(tc_filters(node_->name(), ra.host_ifname, "egress").size(), 1u);
  EXPECT_EQ(call("CHECK", "c1", 1, with_prev).exit_code, 0);

  // del removes the filters of that veth only.
  auto d = agent_call(sock(), {{"op", "del"}, {"containerID", "c1"}, {"ifname", "eth0"}}, 2000);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->ok) << d->error;
  EXPECT_TRUE(tc_filters(node_->name(), ra.host_ifname, "ingress").empty());
  EXPECT_TRUE(tc_filters(node_->name(), ra.host_ifname, "egress").empty());
  EXPECT_FALSE(endpoint_entry(ra.host_ifindex));
  EXPECT_EQ(tc_filters(node_->name(), rb.host_ifname, "ingress").size(), 1u);

  // --cleanup removes the rest (found through the records) and every pin.
  stop_agent(SIGTERM);
  EXPECT_EQ(run_agent({"--cleanup"}), 0) << agent_log();
  EXPECT_TRUE(tc_filters(node_->name(), rb.host_ifname, "ingress").empty());
  EXPECT_TRUE(tc_filters(node_->name(), rb.host_ifname, "egress").empty());
  EXPECT_FALSE(std::filesystem::exists(pin_root_));
}

// A DEL while the agent is down leaves its links pinned (and defunct with the
// veth gone); the next agent start removes them and the map entry.
TEST_F(AgentTest, RestartPrunesEndpointsDeletedWhileDown) {
  ASSERT_NO_FATAL_FAILURE(start_agent());
  auto a = add("c1", 1);
  ASSERT_EQ(a.exit_code, 0) << a.out << agent_log();
  auto b = add("c2", 2);
  ASSERT_EQ(b.exit_code, 0) << b.out << agent_log();
  const auto ra = record("c1"), rb = record("c2");
  const auto a_in = tcx_progs(ra.host_ifindex, kTcxIngress);

  stop_agent(SIGKILL);
  auto d = call("DEL", "c2", 2, conf());
  ASSERT_EQ(d.exit_code, 0) << d.out;
  pods_.erase("c2");
  ASSERT_TRUE(std::filesystem::exists(link_pin(rb.host_ifname, "ingress")));  // nobody removed it yet
  ASSERT_TRUE(endpoint_entry(rb.host_ifindex));

  ASSERT_NO_FATAL_FAILURE(start_agent());
  EXPECT_FALSE(std::filesystem::exists(link_pin(rb.host_ifname, "ingress")));
  EXPECT_FALSE(std::filesystem::exists(link_pin(rb.host_ifname, "egress")));
  EXPECT_FALSE(endpoint_entry(rb.host_ifindex));
  EXPECT_EQ(tcx_progs(ra.host_ifindex, kTcxIngress), a_in);
  ASSERT_NO_FATAL_FAILURE(expect_attached(ra));
}

TEST_F(AgentTest, RequiredAgentMissingFailsAdd) {
  // No agent listening: a required agent makes ADD fail with "try again later".
  auto r = add("c9", 1);
  EXPECT_EQ(r.json.value("code", 0), 11) << r.out;
  pods_.erase("c9");
}

TEST_F(AgentTest, BadRequestsAreAnswered) {
  ASSERT_NO_FATAL_FAILURE(start_agent());
  for (const auto& req : {nlohmann::json{{"op", "nope"}}, nlohmann::json{{"op", "add"}},
                          nlohmann::json{{"op", "del"}}, nlohmann::json::array()}) {
    auto r = agent_call(sock(), req, 2000);
    ASSERT_TRUE(r) << req.dump();
    EXPECT_FALSE(r->ok) << req.dump();
    EXPECT_FALSE(r->error.empty()) << req.dump();
  }
  // An add for a veth that does not exist fails and leaves no pins.
  EndpointRecord rec;
  rec.container_id = "x";
  rec.ifname = "eth0";
  rec.host_ifname = "nosuchveth0";
  rec.state = "ready";
  auto r = agent_call(sock(), {{"op", "add"}, {"endpoint", nlohmann::json::parse(encode_endpoint_record(rec))}}, 2000);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_TRUE(files_in(pin_root_ + "/links").empty());
  // A request longer than the bound without a newline closes that connection
  // only; the agent keeps serving.
  {
    UniqueFd c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock().c_str());
    ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    timeval tv{5, 0};
    ASSERT_EQ(::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    std::string big(128 * 1024, 'x');
    size_t sent = 0;
    while (sent < big.size()) {
      ssize_t w = ::send(c.get(), big.data() + sent, big.size() - sent, MSG_NOSIGNAL);
      if (w <= 0) break;  // the agent closed it mid-way: also fine
      sent += static_cast<size_t>(w);
    }
    char buf[16];
    ssize_t r = ::recv(c.get(), buf, sizeof(buf), 0);
    const bool closed = r == 0 || (r < 0 && (errno == ECONNRESET || errno == EPIPE));
    EXPECT_TRUE(closed) << "connection left open after an oversized request: recv " << r << " "
                        << std::strerror(errno);
  }
  auto st = agent_call(sock(), {{"op", "status"}}, 2000);
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->ok);
  // DEL of something never added is success (idempotent).
  auto d = agent_call(sock(), {{"op", "del"}, {"containerID", "never"}, {"ifname", "eth0"}}, 2000);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->ok) << d->error;
}

}  // namespace
}  // namespace strand::test
