#pragma once
// A node netns with the real strand-agent and the real plugin: the fixture of
// the agent's netns tests (tests/netns/*). Pods are ADDed through the plugin
// with K8S_POD_NAMESPACE=default and K8S_POD_NAME=<container id>; TearDown
// kills the agent, runs --cleanup, DELs every pod and removes the pins.
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

constexpr auto kTcxIngress = static_cast<bpf_attach_type>(46);
constexpr auto kTcxEgress = static_cast<bpf_attach_type>(47);

inline std::string prefix() { return "stag" + std::to_string(::getpid() % 100000); }

class AgentFixture : public ::testing::Test {
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
  pid_t spawn_agent(std::vector<std::string> extra) { return spawn_in_netns(node_->path(), agent_args(std::move(extra))); }

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
    ASSERT_TRUE(wait_agent_ready(agent_, sock(), tmp_.path() + "/agent.log"));
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

  PluginOutput call(const std::string& cmd, const std::string& id, int pod_index, const nlohmann::json& c,
                    const std::string& plugin = "strand") {
    PluginCall pc;
    pc.command = cmd;
    pc.container_id = id;
    pc.netns = "/run/netns/" + prefix() + "p" + std::to_string(pod_index);
    pc.args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + id;
    return run_plugin(node_->name(), pc, c, plugin);
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

}  // namespace strand::test
