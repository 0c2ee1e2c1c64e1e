// DEL with the agent running: the pod's veth is retired (in the retired group,
// no route, no neighbour) and the agent deletes it moments later; an ADD that
// finds its names held by a retired veth deletes it first; without an agent
// a detached child of the plugin deletes it; GC deletes retired veths no one
// reaped.
#include <chrono>
#include <thread>

#include "common/retired_links.h"
#include "tests/netns/agent/agent_fixture.h"

namespace strand::test {
namespace {

class ReapTest : public AgentFixture {
 protected:
  // Names of the links in the node netns that start with `prefix`.
  std::vector<std::string> node_links(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const auto& l : links_in(node_->name())) {
      if (l.rfind(prefix, 0) == 0) out.push_back(l);
    }
    return out;
  }
  std::string node_cmd(const std::string& cmd) const {
    std::string out;
    ns_exec(node_->name(), cmd, &out);
    return out;
  }
  // Waits until no retired link is left in the node netns; false after `ms`.
  bool wait_reaped(int ms) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (node_cmd("ip -o link show group " + std::to_string(kRetiredLinkGroup)).empty()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return node_cmd("ip -o link show group " + std::to_string(kRetiredLinkGroup)).empty();
  }
};

TEST_F(ReapTest, AgentReapsRetiredVeth) {
  ASSERT_NO_FATAL_FAILURE(start_agent());
  auto a = add("c1", 1);
  ASSERT_EQ(a.exit_code, 0) << a.out << agent_log();
  auto b = add("c2", 2);
  ASSERT_EQ(b.exit_code, 0) << b.out << agent_log();
  const std::string pod_ip = ip_of(a);

  auto d = call("DEL", "c1", 1, conf());
  ASSERT_EQ(d.exit_code, 0) << d.out << agent_log();
  pods_.erase("c1");
  // Right after DEL: no route or neighbour for the pod on the node (retired or already deleted).
  EXPECT_EQ(node_cmd("ip route show " + pod_ip), "");
  EXPECT_EQ(node_cmd("ip neigh show " + pod_ip), "");
  // The agent deletes the retired pair: both ends.
  EXPECT_TRUE(wait_reaped(2000)) << node_cmd("ip -d link");
  EXPECT_TRUE(links_in(prefix() + "p1").empty()) << "only lo is left in the pod";
  EXPECT_EQ(node_links("st").size(), 1u) << "c2's veth stays";
  // The same pod netns takes a new pod, which works.
  auto c = add("c3", 1);
  ASSERT_EQ(c.exit_code, 0) << c.out;
  EXPECT_TRUE(ping(2, ip_of(c)));
}

TEST_F(ReapTest, AddReplacesAVethStillRetired) {
  auto cf = conf();
  cf["agentRequired"] = false;
  pod_ns_[1] = std::make_unique<TestNetns>(prefix() + "p1");
  auto a = call("ADD", "c1", 1, cf);
  ASSERT_EQ(a.exit_code, 0) << a.out;
  pods_["c1"] = 1;
  const auto ra = record("c1");
  // Retired as DEL does it, not reaped (no agent).
  ASSERT_EQ(ns_exec(node_->name(), "ip link set " + ra.host_ifname + " group " + std::to_string(kRetiredLinkGroup)), 0);
  // The same attachment again: its names are taken by the retired veth, which goes first.
  auto again = call("ADD", "c1", 1, cf);
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(node_links("st").size(), 1u);
  EXPECT_EQ(node_cmd("ip -o link show group " + std::to_string(kRetiredLinkGroup)), "");
  auto d = call("DEL", "c1", 1, cf);
  EXPECT_EQ(d.exit_code, 0) << d.out;
  pods_.erase("c1");
}

TEST_F(ReapTest, WithoutAgentADetachedChildDeletesTheVeth) {
  auto c = conf();
  c["agentRequired"] = false;
  pod_ns_[1] = std::make_unique<TestNetns>(prefix() + "p1");
  auto a = call("ADD", "c1", 1, c);
  ASSERT_EQ(a.exit_code, 0) << a.out;
  pods_["c1"] = 1;
  const std::string pod_ip = ip_of(a);
  auto d = call("DEL", "c1", 1, c);
  ASSERT_EQ(d.exit_code, 0) << d.out;
  pods_.erase("c1");
  // Out of service when DEL returns, deleted moments later by the child.
  EXPECT_EQ(node_cmd("ip route show " + pod_ip), "");
  EXPECT_EQ(node_cmd("ip neigh show " + pod_ip), "");
  EXPECT_TRUE(wait_reaped(2000)) << node_cmd("ip -d link");
  EXPECT_TRUE(node_links("st").empty());
  EXPECT_TRUE(links_in(prefix() + "p1").empty()) << "only lo is left in the pod";
}

TEST_F(ReapTest, GcDeletesRetiredVethsNoAgentReaped) {
  ASSERT_NO_FATAL_FAILURE(start_agent());
  auto a = add("c1", 1);
  ASSERT_EQ(a.exit_code, 0) << a.out;
  // Retire the veth by hand the way DEL does, with the agent gone: nobody reaps it.
  stop_agent(SIGKILL);
  const auto ra = record("c1");
  ASSERT_EQ(ns_exec(node_->name(), "ip link set " + ra.host_ifname + " group " + std::to_string(kRetiredLinkGroup)), 0);
  auto gc = conf();
  gc["cni.dev/valid-attachments"] = nlohmann::json::array();
  PluginCall pc;
  pc.command = "GC";
  auto out = run_plugin(node_->name(), pc, gc);
  EXPECT_EQ(out.exit_code, 0) << out.out;
  pods_.erase("c1");
  EXPECT_TRUE(node_links("st").empty());
}

}  // namespace
}  // namespace strand::test
