// strand_xdp on the node's uplink, attached by the real strand-agent: an uplink
// veth in the test's node netns, its peer in an "outside" netns. The agent
// attaches `uplink` with a pinned bpf_link (native mode on veth); pings from
// outside are counted exactly in node_stats, with the agent alive and after
// kill -9; a restarted agent reuses the same link (same link id, same
// program), switches a link running another program back to its own with
// bpf_link_update (same link id), replaces a link whose device went away; an
// agent started without --uplink detaches it, and --cleanup leaves no link, no
// pin and no program on the device.
#include <linux/bpf.h>
#include <linux/if_link.h>

#include <arpa/inet.h>
#include <net/if.h>

#include "tests/netns/agent/agent_fixture.h"

namespace strand::test {
namespace {

// ping -s 100: Ethernet 14 + IPv4 20 + ICMP 8 + 100 bytes of payload.
constexpr uint64_t kPingFrame = 14 + 20 + 8 + 100;

struct NodeCounts {
  uint64_t v4_packets = 0, v4_bytes = 0, v6_packets = 0, denied = 0;
};

class UplinkXdpTest : public AgentFixture {
 protected:
  void SetUp() override {
    AgentFixture::SetUp();
    if (IsSkipped()) return;
    outside_ = std::make_unique<TestNetns>(prefix() + "x");
    ASSERT_NO_FATAL_FAILURE(make_uplink());
  }

  // The uplink veth: node side in the node netns, its peer in the outside netns.
  void make_uplink() {
    // No IPv6 on either end (no ND/MLD noise) and static neighbours (no ARP):
    // the only IPv4 frames the uplink receives are the test's pings.
    const std::string node_cmds =
        "ip link add " + uplink() + " type veth peer name " + peer() + " netns " + outside_->name() +
        " && sysctl -qw net.ipv6.conf." + uplink() + ".disable_ipv6=1" +
        " && ip addr add 192.0.2.1/24 dev " + uplink() + " && ip link set " + uplink() + " up";
    std::string out;
    ASSERT_EQ(ns_exec(node_->name(), "sh -c '" + node_cmds + "'", &out), 0) << out;
    const std::string outside_cmds = "sysctl -qw net.ipv6.conf." + peer() + ".disable_ipv6=1" +
                                     " && ip addr add 192.0.2.2/24 dev " + peer() + " && ip link set " + peer() +
                                     " up";
    ASSERT_EQ(ns_exec(outside_->name(), "sh -c '" + outside_cmds + "'", &out), 0) << out;
    ASSERT_EQ(ns_exec(node_->name(), "ip neigh replace 192.0.2.2 lladdr " + mac(outside_->name(), peer()) +
                                         " dev " + uplink() + " nud permanent",
                      &out),
              0)
        << out;
    ASSERT_EQ(ns_exec(outside_->name(), "ip neigh replace 192.0.2.1 lladdr " + mac(node_->name(), uplink()) +
                                            " dev " + peer() + " nud permanent",
                      &out),
              0)
        << out;
  }
  void TearDown() override {
    AgentFixture::TearDown();  // --cleanup, pins removed, node netns (and the uplink) gone
    outside_.reset();
  }

  std::string uplink() const { return prefix() + "u"; }
  std::string peer() const { return prefix() + "e"; }
  std::string link_pin_path() const { return pin_root_ + "/links/uplink_xdp"; }

  static std::string mac(const std::string& ns, const std::string& dev) {
    std::string out;
    EXPECT_EQ(ns_exec(ns, "cat /sys/class/net/" + dev + "/address", &out), 0) << out;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }

  // n pings of kPingFrame bytes from outside to the node; true when all were answered.
  bool ping_node(int n) {
    std::string out;
    return ns_exec(outside_->name(), "ping -n -q -c " + std::to_string(n) + " -i 0.05 -s 100 -W 1 192.0.2.1", &out) ==
           0;
  }

  NodeCounts counts() const {
    NodeCounts c;
    UniqueFd fd(bpf_obj_get((pin_root_ + "/maps/node_stats").c_str()));
    EXPECT_TRUE(fd) << "pinned node_stats: " << std::strerror(errno);
    if (!fd) return c;
    std::vector<strand_node_stats> per_cpu(static_cast<size_t>(libbpf_num_possible_cpus()));
    __u32 zero = 0;
    EXPECT_EQ(bpf_map_lookup_elem(fd.get(), &zero, per_cpu.data()), 0);
    for (const auto& s : per_cpu) {
      c.v4_packets += s.packets[STRAND_NODE_IPV4];
      c.v4_bytes += s.bytes[STRAND_NODE_IPV4];
      c.v6_packets += s.packets[STRAND_NODE_IPV6];
      c.denied += s.drops[STRAND_DROP_PREFILTER_DENIED];
    }
    return c;
  }

  // The pinned link's id and program id (0, 0 when there is no pin).
  std::pair<uint32_t, uint32_t> pinned_link() const {
    UniqueFd fd(bpf_obj_get(link_pin_path().c_str()));
    if (!fd) return {0, 0};
    bpf_link_info info{};
    uint32_t len = sizeof(info);
    EXPECT_EQ(bpf_obj_get_info_by_fd(fd.get(), &info, &len), 0);
    EXPECT_EQ(info.type, BPF_LINK_TYPE_XDP);
    return {info.id, info.prog_id};
  }

  // The program on the uplink and its mode, as the kernel reports them in the node netns.
  std::pair<uint32_t, uint8_t> device_prog() const {
    auto ns = Netns::open(node_->path());
    EXPECT_TRUE(ns);
    auto guard = ns->enter();
    EXPECT_TRUE(guard);
    const int ifindex = static_cast<int>(::if_nametoindex(uplink().c_str()));
    EXPECT_NE(ifindex, 0) << uplink();
    bpf_xdp_query_opts q{};
    q.sz = sizeof(q);
    EXPECT_EQ(bpf_xdp_query(ifindex, 0, &q), 0);
    return {q.prog_id, q.attach_mode};
  }

  void expect_pings_counted(int n, const char* when) {
    const auto before = counts();
    ASSERT_TRUE(ping_node(n)) << when;
    const auto after = counts();
    EXPECT_EQ(after.v4_packets - before.v4_packets, static_cast<uint64_t>(n)) << when;
    EXPECT_EQ(after.v4_bytes - before.v4_bytes, n * kPingFrame) << when;
    EXPECT_EQ(after.v6_packets - before.v6_packets, 0u) << when;
    EXPECT_EQ(after.denied - before.denied, 0u) << when;
  }

  std::unique_ptr<TestNetns> outside_;
};

// A program of the test's own that passes everything and counts nothing.
UniqueFd load_pass_prog() {
  const bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = XDP_PASS},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  bpf_prog_load_opts o{};
  o.sz = sizeof(o);
  o.expected_attach_type = BPF_XDP;  // as libbpf loads SEC("xdp"): a link only takes the same type
  return UniqueFd(bpf_prog_load(BPF_PROG_TYPE_XDP, "test_pass", "GPL", insns, 2, &o));
}

TEST_F(UplinkXdpTest, AttachCountsReusesUpdatesAndCleansUp) {
  ASSERT_NO_FATAL_FAILURE(start_agent({"--uplink", uplink()}));
  const auto [link_id, prog_id] = pinned_link();
  ASSERT_NE(link_id, 0u) << "no link pinned at " << link_pin_path() << "\n" << agent_log();
  const auto [dev_prog, dev_mode] = device_prog();
  EXPECT_EQ(dev_prog, prog_id);
  EXPECT_EQ(dev_mode, XDP_ATTACHED_DRV) << "veth runs XDP natively";
  EXPECT_NE(agent_log().find("uplink XDP attached uplink=" + uplink() + " mode=native link=created"), std::string::npos)
      << agent_log();
  EXPECT_TRUE(std::filesystem::exists(pin_root_ + "/maps/prefilter"));
  ASSERT_NO_FATAL_FAILURE(expect_pings_counted(5, "agent running"));

  // The CIDR deny list: the outside address denied, its pings dropped and counted.
  {
    UniqueFd pf(bpf_obj_get((pin_root_ + "/maps/prefilter").c_str()));
    ASSERT_TRUE(pf);
    strand_lpm_key key{};
    key.family = STRAND_FAMILY_IPV4;
    ASSERT_EQ(::inet_pton(AF_INET, "192.0.2.0", key.addr), 1);
    key.prefixlen = STRAND_LPM_PREFIX(24);
    strand_prefilter_value zero{};
    ASSERT_EQ(bpf_map_update_elem(pf.get(), &key, &zero, BPF_NOEXIST), 0);
    const auto before = counts();
    EXPECT_FALSE(ping_node(3)) << "denied source answered";
    const auto after = counts();
    EXPECT_EQ(after.denied - before.denied, 3u);
    EXPECT_EQ(after.v4_packets - before.v4_packets, 3u) << "counted before the deny";
    strand_prefilter_value hits{};
    ASSERT_EQ(bpf_map_lookup_elem(pf.get(), &key, &hits), 0);
    EXPECT_EQ(hits.packets, 3u);
    EXPECT_EQ(hits.bytes, 3 * kPingFrame);
    ASSERT_EQ(bpf_map_delete_elem(pf.get(), &key), 0);
  }

  // kill -9: the pinned link keeps the program running and counting.
  stop_agent(SIGKILL);
  ASSERT_NO_FATAL_FAILURE(expect_pings_counted(4, "agent dead"));
  EXPECT_EQ(pinned_link(), std::make_pair(link_id, prog_id));

  // Restart with the same object: the same link and the same program.
  ASSERT_NO_FATAL_FAILURE(start_agent({"--uplink", uplink()}));
  EXPECT_EQ(pinned_link(), std::make_pair(link_id, prog_id));
  EXPECT_EQ(device_prog().first, prog_id);
  EXPECT_NE(agent_log().find("link=reused link_id=" + std::to_string(link_id)), std::string::npos) << agent_log();
  ASSERT_NO_FATAL_FAILURE(expect_pings_counted(3, "after restart"));

  // The link runs another program (as after an upgrade): the agent switches it
  // back to its own under the same link.
  stop_agent(SIGKILL);
  auto pass = load_pass_prog();
  ASSERT_TRUE(pass) << std::strerror(errno);
  {
    UniqueFd l(bpf_obj_get(link_pin_path().c_str()));
    ASSERT_TRUE(l);
    ASSERT_EQ(bpf_link_update(l.get(), pass.get(), nullptr), 0) << std::strerror(errno);
  }
  {
    const auto before = counts();
    ASSERT_TRUE(ping_node(2));
    EXPECT_EQ(counts().v4_packets, before.v4_packets) << "the test's program counts nothing";
  }
  ASSERT_NO_FATAL_FAILURE(start_agent({"--uplink", uplink()}));
  const auto [link_id2, prog_id2] = pinned_link();
  EXPECT_EQ(link_id2, link_id);
  EXPECT_NE(prog_id2, 0u);
  bpf_prog_info pass_info{};
  uint32_t len = sizeof(pass_info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(pass.get(), &pass_info, &len), 0);
  EXPECT_NE(prog_id2, pass_info.id);
  EXPECT_EQ(device_prog().first, prog_id2);
  EXPECT_NE(agent_log().find("link=updated link_id=" + std::to_string(link_id)), std::string::npos) << agent_log();
  ASSERT_NO_FATAL_FAILURE(expect_pings_counted(3, "after update"));

  // An agent started without --uplink takes its program off the uplink.
  stop_agent(SIGTERM);
  ASSERT_NO_FATAL_FAILURE(start_agent());
  EXPECT_EQ(pinned_link(), std::make_pair(0u, 0u));
  EXPECT_EQ(device_prog().first, 0u) << "the uplink program stayed attached";
  EXPECT_NE(agent_log().find("uplink XDP detached reason=no-uplink-configured"), std::string::npos) << agent_log();
  {
    const auto before = counts();
    ASSERT_TRUE(ping_node(2));
    EXPECT_EQ(counts().v4_packets, before.v4_packets) << "counted with no program attached";
  }

  // --cleanup: no link, no pin, no program on the device, no map pins.
  stop_agent(SIGTERM);
  ASSERT_NO_FATAL_FAILURE(start_agent({"--uplink", uplink()}));
  EXPECT_NE(pinned_link().first, 0u);
  stop_agent(SIGTERM);
  EXPECT_EQ(run_agent({"--cleanup"}), 0) << agent_log();
  EXPECT_FALSE(std::filesystem::exists(link_pin_path()));
  EXPECT_FALSE(std::filesystem::exists(pin_root_)) << "pins left under " << pin_root_;
  EXPECT_EQ(device_prog().first, 0u) << "a program is still attached to the uplink";
}

TEST_F(UplinkXdpTest, UplinkRecreatedWhileAgentDownGetsANewLink) {
  ASSERT_NO_FATAL_FAILURE(start_agent({"--uplink", uplink()}));
  const auto [link_id, prog_id] = pinned_link();
  ASSERT_NE(link_id, 0u) << agent_log();
  stop_agent(SIGKILL);
  // The uplink goes away and comes back (a new device): the pinned link is defunct.
  std::string out;
  ASSERT_EQ(ns_exec(node_->name(), "ip link del " + uplink(), &out), 0) << out;
  outside_.reset();
  outside_ = std::make_unique<TestNetns>(prefix() + "x");
  ASSERT_NO_FATAL_FAILURE(make_uplink());
  ASSERT_NO_FATAL_FAILURE(start_agent({"--uplink", uplink()}));
  const auto [link_id2, prog_id2] = pinned_link();
  EXPECT_NE(link_id2, 0u);
  EXPECT_NE(link_id2, link_id) << "a link of a deleted device was reused";
  EXPECT_EQ(device_prog().first, prog_id2);
  EXPECT_NE(agent_log().find("stale uplink link removed"), std::string::npos) << agent_log();
  EXPECT_NE(agent_log().find("link=created link_id=" + std::to_string(link_id2)), std::string::npos) << agent_log();
  ASSERT_NO_FATAL_FAILURE(expect_pings_counted(4, "new device"));
}

}  // namespace
}  // namespace strand::test
