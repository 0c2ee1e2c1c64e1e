// The real strand-agent in a node netns the test owns, driven by the real
// plugin: ADD attaches from_pod/to_pod (tcx links pinned per node) and fills
// the endpoints map; pods ping through the programs; kill -9 keeps the links;
// a restarted agent reuses them (no second attachment) and re-attaches what
// went missing; DEL and --cleanup leave no pins.
#include <set>

#include "tests/netns/agent/agent_fixture.h"

namespace strand::test {
namespace {

class AgentTest : public AgentFixture {
 protected:
  // The plugin's log file (conf "logFile").
  std::string plugin_log() const {
    std::string out;
    (void)run_shell_cat(tmp_.path() + "/strand.log", out);
    return out;
  }

  // After every pod's DEL: no record, no veth (the reaper gets 5 s), no pin.
  void expect_all_deleted() {
    EXPECT_TRUE(state_files_in(state()).empty()) << ::testing::PrintToString(state_files_in(state()));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!links_in(node_->name()).empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(links_in(node_->name()).empty()) << ::testing::PrintToString(links_in(node_->name()));
    EXPECT_TRUE(files_in(pin_root_ + "/links").empty());
    pods_.clear();
  }
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
  EXPECT_NE(agent_log().find("reused_maps=8"), std::string::npos) << agent_log();
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

bool has_line(const std::string& text, std::initializer_list<std::string_view> parts) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    bool all = true;
    for (auto p : parts) all = all && line.find(p) != std::string_view::npos;
    if (all) return true;
    start = end + 1;
  }
  return false;
}

TEST_F(AgentTest, HandedOverVerbsRunInTheAgent) {
  ASSERT_NO_FATAL_FAILURE(start_agent());
  auto a = add("h1", 1);
  ASSERT_EQ(a.exit_code, 0) << a.out << agent_log();
  ASSERT_EQ(a.json["ips"].size(), 1u) << a.out;
  // The agent ran the ADD; the plugin's log file has a line for it.
  EXPECT_TRUE(has_line(agent_log(), {"pod added", "container=h1"})) << agent_log();
  EXPECT_TRUE(has_line(plugin_log(), {"verb run by strand-agent", "cmd=ADD", "container=h1"})) << plugin_log();
  EXPECT_FALSE(has_line(plugin_log(), {"pod added"})) << plugin_log();
  const auto rec = record("h1");
  ASSERT_NO_FATAL_FAILURE(expect_attached(rec));
  auto b = add("h2", 2);
  ASSERT_EQ(b.exit_code, 0) << b.out << agent_log();
  ASSERT_TRUE(ping(1, ip_of(b)));

  auto with_prev = conf();
  with_prev["prevResult"] = a.json;
  auto check = call("CHECK", "h1", 1, with_prev);
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_TRUE(check.out.empty()) << check.out;
  EXPECT_TRUE(has_line(plugin_log(), {"verb run by strand-agent", "cmd=CHECK", "container=h1"})) << plugin_log();
  // A second ADD of the same attachment fails in the agent as it would in the
  // plugin: the spec's error on stdout, the failure in the plugin's log.
  auto twice = add("h1", 1);
  EXPECT_EQ(twice.exit_code, 1) << twice.out;
  EXPECT_TRUE(twice.json.contains("code")) << twice.out;
  EXPECT_TRUE(has_line(plugin_log(), {"verb run by strand-agent failed", "cmd=ADD", "container=h1"})) << plugin_log();

  for (const char* id : {"h1", "h2"}) {
    auto d = call("DEL", id, pods_[id], conf());
    EXPECT_EQ(d.exit_code, 0) << d.out;
    EXPECT_TRUE(has_line(plugin_log(), {"verb run by strand-agent", "cmd=DEL", std::string("container=") + id}));
  }
  expect_all_deleted();
}

TEST_F(AgentTest, ConcurrentHandedOverVerbsGetDistinctAddresses) {
  ASSERT_NO_FATAL_FAILURE(start_agent());
  // More than the agent's queue takes at once: the rest are declined and run
  // in their plugin processes, side by side with the agent's workers.
  constexpr int kPods = 40;
  for (int i = 0; i < kPods; ++i) {
    pod_ns_[i] = std::make_unique<TestNetns>(prefix() + "p" + std::to_string(i));
    pods_["cc" + std::to_string(i)] = i;
  }
  std::vector<PluginOutput> outs(kPods);
  std::vector<std::thread> threads;
  for (int i = 0; i < kPods; ++i) {
    threads.emplace_back([&, i] { outs[i] = call("ADD", "cc" + std::to_string(i), i, conf()); });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ips;
  for (int i = 0; i < kPods; ++i) {
    ASSERT_EQ(outs[i].exit_code, 0) << i << " " << outs[i].out << outs[i].err;
    ips.insert(ip_of(outs[i]));
    ASSERT_NO_FATAL_FAILURE(expect_attached(record("cc" + std::to_string(i))));
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kPods));
  threads.clear();
  for (int i = 0; i < kPods; ++i) {
    threads.emplace_back([&, i] { outs[i] = call("DEL", "cc" + std::to_string(i), i, conf()); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kPods; ++i) EXPECT_EQ(outs[i].exit_code, 0) << outs[i].out;
  expect_all_deleted();
}

TEST_F(AgentTest, PluginInAnotherMountNamespace) {
  ASSERT_NO_FATAL_FAILURE(start_agent());
  auto wrapper = [&](const std::string& name, const std::string& before) {
    const std::string path = tmp_.path() + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "w");
    EXPECT_NE(f, nullptr);
    std::fprintf(f, "#!/bin/sh\nexec unshare -m sh -c '%sexec %s/strand'\n", before.c_str(), bin_dir().c_str());
    std::fclose(f);
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path;
  };
  // A private copy of the node's mounts: every path is the same file, the
  // agent takes the verb.
  const auto same = wrapper("same.sh", "");
  pod_ns_[1] = std::make_unique<TestNetns>(prefix() + "p1");
  pods_["m1"] = 1;
  auto a = call("ADD", "m1", 1, conf(), same);
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_TRUE(has_line(plugin_log(), {"verb run by strand-agent", "cmd=ADD", "container=m1"})) << plugin_log();
  // Its own IPAM directory (a tmpfs over dataDir): the agent would write the
  // allocation where the plugin does not look. Declined: the plugin runs it.
  const auto other = wrapper("other.sh", "mount -t tmpfs strand-test " + tmp_.path() + "/ipam && ");
  pod_ns_[2] = std::make_unique<TestNetns>(prefix() + "p2");
  pods_["m2"] = 2;
  auto b = call("ADD", "m2", 2, conf(), other);
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
  EXPECT_FALSE(has_line(plugin_log(), {"verb run by strand-agent", "container=m2"})) << plugin_log();
  EXPECT_TRUE(has_line(plugin_log(), {"pod added", "container=m2"})) << plugin_log();
  EXPECT_TRUE(has_line(agent_log(), {"cni verb declined", "/ipam"})) << agent_log();
  ASSERT_NO_FATAL_FAILURE(expect_attached(record("m2")));
  for (const char* id : {"m1", "m2"}) EXPECT_EQ(call("DEL", id, pods_[id], conf()).exit_code, 0) << id;
  expect_all_deleted();
}

TEST_F(AgentTest, ConfigLargerThanTheAgentTakesRunsInThePlugin) {
  ASSERT_NO_FATAL_FAILURE(start_agent());
  auto big = conf();
  big["args"] = {{"padding", std::string(80 * 1024, 'x')}};  // more than the agent reads in one request
  pod_ns_[1] = std::make_unique<TestNetns>(prefix() + "p1");
  pods_["g1"] = 1;
  auto a = call("ADD", "g1", 1, big);
  ASSERT_EQ(a.exit_code, 0) << a.out << a.err;
  EXPECT_TRUE(has_line(plugin_log(), {"pod added", "container=g1"})) << plugin_log();
  ASSERT_NO_FATAL_FAILURE(expect_attached(record("g1")));
  EXPECT_EQ(call("DEL", "g1", 1, big).exit_code, 0);
  expect_all_deleted();
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
