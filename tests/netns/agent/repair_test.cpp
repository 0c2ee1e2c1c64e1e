// The agent's netlink repair watcher, end to end: the real agent in a node
// netns, pods ADDed by the real plugin, and each thing the watcher keeps in
// place taken away the way an admin or another program would. Every repair is
// asserted in the kernel, within a bound, and counted exactly ({"op":"repairs"}).
// Also: kill -9 of the agent under continuous traffic loses nothing, and
// --cleanup after repairs leaves nothing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <regex>

#include "netlink/ops.h"
#include "tests/netns/agent/agent_fixture.h"

namespace strand::test {
namespace {

using Clock = std::chrono::steady_clock;
using Counts = std::map<std::string, uint64_t>;

class RepairTest : public AgentFixture {
 protected:
  Counts repairs() {
    auto r = agent_call(sock(), {{"op", "repairs"}}, 2000);
    EXPECT_TRUE(r && r->ok) << (r ? r->error : r.error().message());
    Counts c;
    if (r && r->body.contains("repairs")) {
      for (const auto& [k, v] : r->body["repairs"].items()) c[k] = v.get<uint64_t>();
    }
    return c;
  }

  // Polls the agent's counters (1 ms) until they equal `want`; returns how
  // long since `since`, or fails after `bound`.
  double wait_counts(const Counts& want, Clock::time_point since, std::chrono::milliseconds bound = std::chrono::seconds(2)) {
    Counts c;
    while (Clock::now() - since < bound) {
      c = repairs();
      if (c == want) return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    c = repairs();
    if (c == want) return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
    ADD_FAILURE() << "repairs " << nlohmann::json(c).dump() << ", want " << nlohmann::json(want).dump() << " within "
                  << bound.count() << " ms\n"
                  << agent_log();
    return -1;
  }

  netlink::Socket socket_in(const std::string& ns_path) {
    auto ns = Netns::open(ns_path);
    EXPECT_TRUE(ns) << ns_path;
    auto s = netlink::Socket::open_in(*ns);
    EXPECT_TRUE(s) << ns_path;
    return std::move(*s);
  }
  netlink::Socket node_socket() { return socket_in(node_->path()); }
  netlink::Socket pod_socket(int pod) { return socket_in(pod_ns_.at(pod)->path()); }

  static std::optional<netlink::Neighbor> find_neigh(netlink::Socket& s, int ifindex, const IpAddr& dst) {
    auto all = netlink::neigh_list(s, 0, ifindex);
    EXPECT_TRUE(all);
    if (!all) return std::nullopt;
    for (const auto& n : *all) {
      if (n.dst == dst) return n;
    }
    return std::nullopt;
  }
  static bool has_host_route(netlink::Socket& s, const EndpointRecord& r, const IpAddr& ip) {
    auto all = netlink::route_list(s, ip.family, RT_TABLE_MAIN, r.host_ifindex);
    EXPECT_TRUE(all);
    if (!all) return false;
    for (const auto& rt : *all) {
      // IPv6 routes have no scope (dumps say universe): scope link is checked for IPv4.
      if (rt.dst == IpPrefix{ip, static_cast<uint8_t>(ip.max_prefix())} && (ip.is_v6() || rt.scope == RT_SCOPE_LINK)) return true;
    }
    return false;
  }
  static void expect_permanent(const std::optional<netlink::Neighbor>& n, const std::string& mac, const char* what) {
    ASSERT_TRUE(n) << what << " missing";
    EXPECT_TRUE(n->state & NUD_PERMANENT) << what << " state " << n->state;
    ASSERT_TRUE(n->lladdr) << what;
    EXPECT_EQ(netlink::mac_str(*n->lladdr), mac) << what;
  }

  uint32_t link_id(const std::string& pin) const {
    UniqueFd fd(bpf_obj_get(pin.c_str()));
    EXPECT_TRUE(fd) << pin << ": " << std::strerror(errno);
    if (!fd) return 0;
    bpf_link_info info{};
    uint32_t len = sizeof(info);
    EXPECT_EQ(bpf_obj_get_info_by_fd(fd.get(), &info, &len), 0);
    return info.id;
  }
  bool ep_stats_present(uint32_t ep_id) const {
    UniqueFd fd(bpf_obj_get((pin_root_ + "/maps/ep_stats").c_str()));
    EXPECT_TRUE(fd);
    std::vector<strand_ep_stats> per_cpu(static_cast<size_t>(libbpf_num_possible_cpus()));
    return bpf_map_lookup_elem(fd.get(), &ep_id, per_cpu.data()) == 0;
  }

  // Pods without IPv6 (and a node without it): then the only packets on a
  // pod's veth are the ones the test sends (no router solicitations, no MLD),
  // and its ep_stats counters can be checked exactly.
  void v4_only_pods(std::initializer_list<int> pods) {
    const std::string off = "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1";
    ASSERT_EQ(ns_exec(node_->name(), off), 0);
    for (int p : pods) {
      auto& ns = pod_ns_[p];
      ns = std::make_unique<TestNetns>(prefix() + "p" + std::to_string(p));
      ASSERT_EQ(ns_exec(ns->name(), off), 0);
    }
  }

  std::vector<double> latencies_;
  void report(const char* what, double ms) {
    latencies_.push_back(ms);
    std::printf("repair latency %-28s %.2f ms\n", what, ms);
  }
};

IpAddr ip4(const PluginOutput& r) {
  std::string a = r.json["ips"][0].value("address", "");
  return *IpAddr::parse(a.substr(0, a.find('/')));
}

// Each event-driven repair with the periodic reconcile out of the way (1 h):
// what is put back is put back because of the notification.
TEST_F(RepairTest, EventsRepairRoutesNeighboursAndEndVanishedVeths) {
  ASSERT_NO_FATAL_FAILURE(start_agent({"--reconcile-seconds", "3600"}));
  auto a = add("c1", 1);
  ASSERT_EQ(a.exit_code, 0) << a.out << agent_log();
  auto b = add("c2", 2);
  ASSERT_EQ(b.exit_code, 0) << b.out << agent_log();
  auto c = add("c3", 3);
  ASSERT_EQ(c.exit_code, 0) << c.out << agent_log();
  const auto ra = record("c1"), rb = record("c2"), rc = record("c3");
  const IpAddr ipa = ip4(a);
  EXPECT_EQ(repairs(), Counts{});
  auto node = node_socket();
  auto pod1 = pod_socket(1);
  Counts want;

  // 1. The pod's host route.
  auto t = Clock::now();
  ASSERT_TRUE(netlink::route_del(node, netlink::Route{.dst = IpPrefix{ipa, 32}, .oif = ra.host_ifindex, .scope = RT_SCOPE_LINK}));
  want["host-route"] = 1;
  report("host route deleted", wait_counts(want, t));
  EXPECT_TRUE(has_host_route(node, ra, ipa));

  // 2. The host-side permanent neighbour: deleted, then replaced by a dynamic one.
  t = Clock::now();
  ASSERT_TRUE(netlink::neigh_del(node, netlink::Neighbor{.ifindex = ra.host_ifindex, .dst = ipa}));
  want["host-neighbour"] = 1;
  report("host neighbour deleted", wait_counts(want, t));
  expect_permanent(find_neigh(node, ra.host_ifindex, ipa), ra.pod_mac, "host neighbour");
  t = Clock::now();
  ASSERT_TRUE(netlink::neigh_add(node, netlink::Neighbor{.ifindex = ra.host_ifindex, .dst = ipa,
                                                         .lladdr = *netlink::parse_mac(ra.pod_mac), .state = NUD_REACHABLE}));
  want["host-neighbour"] = 2;
  report("host neighbour made dynamic", wait_counts(want, t));
  expect_permanent(find_neigh(node, ra.host_ifindex, ipa), ra.pod_mac, "host neighbour");

  // 3. The gateway neighbour inside the pod: deleted, then made stale.
  const IpAddr gw = *IpAddr::parse("169.254.1.1");
  t = Clock::now();
  ASSERT_TRUE(netlink::neigh_del(pod1, netlink::Neighbor{.ifindex = ra.pod_ifindex, .dst = gw}));
  want["pod-neighbour"] = 1;
  report("pod gateway neighbour deleted", wait_counts(want, t));
  expect_permanent(find_neigh(pod1, ra.pod_ifindex, gw), ra.host_mac, "pod gateway neighbour");
  t = Clock::now();
  ASSERT_TRUE(netlink::neigh_add(pod1, netlink::Neighbor{.ifindex = ra.pod_ifindex, .dst = gw,
                                                         .lladdr = *netlink::parse_mac(ra.host_mac), .state = NUD_STALE}));
  want["pod-neighbour"] = 2;
  report("pod gateway neighbour stale", wait_counts(want, t));
  expect_permanent(find_neigh(pod1, ra.pod_ifindex, gw), ra.host_mac, "pod gateway neighbour");
  ASSERT_TRUE(ping(1, ip_of(b)));  // and the pods still talk through it all
  EXPECT_NE(agent_log().find("repaired kind=pod-neighbour pod=default/c1"), std::string::npos) << agent_log();

  // 4. c2's host veth deleted behind the CNI's back: the endpoint ends.
  ASSERT_TRUE(endpoint_entry(rb.host_ifindex));
  ASSERT_TRUE(ep_stats_present(static_cast<uint32_t>(rb.host_ifindex)));
  t = Clock::now();
  ASSERT_TRUE(netlink::link_del(node, rb.host_ifindex));
  want["endpoint-gone"] = 1;
  report("host veth deleted", wait_counts(want, t));
  EXPECT_FALSE(endpoint_entry(rb.host_ifindex));
  EXPECT_FALSE(ep_stats_present(static_cast<uint32_t>(rb.host_ifindex)));
  EXPECT_FALSE(std::filesystem::exists(link_pin(rb.host_ifname, "ingress")));
  EXPECT_FALSE(std::filesystem::exists(link_pin(rb.host_ifname, "egress")));
  EXPECT_TRUE(EndpointStore(state()).read("c2", "eth0").value_or(std::nullopt)) << "the record is the CNI's";
  auto gone = agent_call(sock(), {{"op", "check"}, {"containerID", "c2"}, {"ifname", "eth0"}}, 2000);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->ok);
  ASSERT_NO_FATAL_FAILURE(expect_attached(ra));  // c1 untouched
  // The CNI's DEL of the vanished pod still succeeds.
  auto d = call("DEL", "c2", 2, conf());
  EXPECT_EQ(d.exit_code, 0) << d.out;
  pods_.erase("c2");

  // A CNI DEL retires the veth (its routes and neighbours deleted on purpose)
  // before it tells the agent: that is no damage to repair.
  auto d3 = call("DEL", "c3", 3, conf());
  EXPECT_EQ(d3.exit_code, 0) << d3.out;
  pods_.erase("c3");
  EXPECT_FALSE(endpoint_entry(rc.host_ifindex));

  // Nothing was repaired twice or for nothing.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(repairs(), want);
  for (double ms : latencies_) EXPECT_LT(ms, 500.0) << "event-driven repairs take milliseconds";

  // --cleanup after repairs leaves nothing of ours.
  stop_agent(SIGTERM);
  EXPECT_EQ(run_agent({"--cleanup"}), 0) << agent_log();
  EXPECT_FALSE(std::filesystem::exists(pin_root_));
  EXPECT_TRUE(tcx_progs(ra.host_ifindex, kTcxIngress).empty());
  EXPECT_TRUE(tcx_progs(ra.host_ifindex, kTcxEgress).empty());
}

// Dual-stack pods; what changed while the agent was down is put back by the
// full check at start, the rest by events (the /128 and IPv6 neighbours too).
TEST_F(RepairTest, DualStackAndChangesWhileAgentDown) {
  auto dual = conf();
  dual["ipam"]["ranges"] = nlohmann::json::array({nlohmann::json::array({{{"subnet", "10.78.0.0/24"}}}),
                                                  nlohmann::json::array({{{"subnet", "fd78::/64"}}})});
  ASSERT_NO_FATAL_FAILURE(start_agent({"--reconcile-seconds", "3600"}));
  pod_ns_[1] = std::make_unique<TestNetns>(prefix() + "p1");
  pods_["c1"] = 1;
  auto a = call("ADD", "c1", 1, dual);
  ASSERT_EQ(a.exit_code, 0) << a.out << agent_log();
  const auto ra = record("c1");
  std::optional<IpAddr> v4, v6;
  for (const auto& p : ra.ips) (p.addr.is_v6() ? v6 : v4) = p.addr;
  ASSERT_TRUE(v4 && v6) << a.out;
  auto node = node_socket();
  auto pod1 = pod_socket(1);
  const IpAddr gw4 = *IpAddr::parse("169.254.1.1"), gw6 = *IpAddr::parse("fe80::1");
  EXPECT_EQ(repairs(), Counts{});

  stop_agent(SIGKILL);
  ASSERT_TRUE(netlink::route_del(node, netlink::Route{.dst = IpPrefix{*v6, 128}, .oif = ra.host_ifindex, .scope = RT_SCOPE_LINK}));
  ASSERT_TRUE(netlink::neigh_del(pod1, netlink::Neighbor{.ifindex = ra.pod_ifindex, .dst = gw4}));
  ASSERT_TRUE(netlink::neigh_del(pod1, netlink::Neighbor{.ifindex = ra.pod_ifindex, .dst = gw6}));
  ASSERT_FALSE(has_host_route(node, ra, *v6));
  ASSERT_NO_FATAL_FAILURE(start_agent({"--reconcile-seconds", "3600"}));
  auto t = Clock::now();
  report("changed while down (after ready)", wait_counts({{"host-route", 1}, {"pod-neighbour", 2}}, t));
  EXPECT_TRUE(has_host_route(node, ra, *v6));
  EXPECT_TRUE(has_host_route(node, ra, *v4));
  expect_permanent(find_neigh(pod1, ra.pod_ifindex, gw4), ra.host_mac, "pod gateway neighbour v4");
  expect_permanent(find_neigh(pod1, ra.pod_ifindex, gw6), ra.host_mac, "pod gateway neighbour v6");

  t = Clock::now();
  ASSERT_TRUE(netlink::neigh_del(node, netlink::Neighbor{.ifindex = ra.host_ifindex, .dst = *v6}));
  report("host neighbour v6 deleted", wait_counts({{"host-route", 1}, {"pod-neighbour", 2}, {"host-neighbour", 1}}, t));
  expect_permanent(find_neigh(node, ra.host_ifindex, *v6), ra.pod_mac, "host neighbour v6");
  t = Clock::now();
  ASSERT_TRUE(netlink::route_del(node, netlink::Route{.dst = IpPrefix{*v6, 128}, .oif = ra.host_ifindex, .scope = RT_SCOPE_LINK}));
  report("host route v6 deleted", wait_counts({{"host-route", 2}, {"pod-neighbour", 2}, {"host-neighbour", 1}}, t));
  EXPECT_TRUE(has_host_route(node, ra, *v6));
  auto with_prev = dual;
  with_prev["prevResult"] = a.json;
  auto chk = call("CHECK", "c1", 1, with_prev);
  EXPECT_EQ(chk.exit_code, 0) << chk.out << chk.err;
  // TearDown DELs with the fixture's conf: DEL it here with the one it was added with.
  EXPECT_EQ(call("DEL", "c1", 1, dual).exit_code, 0);
  pods_.erase("c1");
}

// tcx links detached by someone else raise no notification: the periodic
// reconcile (1 s here) finds and re-attaches them.
TEST_F(RepairTest, PeriodicReconcileReattachesDetachedLinks) {
  ASSERT_NO_FATAL_FAILURE(start_agent({"--reconcile-seconds", "1"}));
  auto a = add("c1", 1);
  ASSERT_EQ(a.exit_code, 0) << a.out << agent_log();
  auto b = add("c2", 2);
  ASSERT_EQ(b.exit_code, 0) << b.out << agent_log();
  const auto ra = record("c1");
  const uint32_t old_in = link_id(link_pin(ra.host_ifname, "ingress"));

  // The ingress link detached (its pin stays, defunct).
  {
    UniqueFd l(bpf_obj_get(link_pin(ra.host_ifname, "ingress").c_str()));
    ASSERT_TRUE(l);
    ASSERT_EQ(bpf_link_detach(l.get()), 0);
  }
  ASSERT_TRUE(tcx_progs(ra.host_ifindex, kTcxIngress).empty());
  auto t = Clock::now();
  report("tcx link detached", wait_counts({{"reattach", 1}}, t, std::chrono::milliseconds(2500)));
  ASSERT_NO_FATAL_FAILURE(expect_attached(ra));
  EXPECT_NE(link_id(link_pin(ra.host_ifname, "ingress")), old_in) << "a new link replaced the defunct one";

  // The endpoints entry deleted from the map.
  {
    UniqueFd m(bpf_obj_get((pin_root_ + "/maps/endpoints").c_str()));
    ASSERT_TRUE(m);
    __u32 key = static_cast<__u32>(ra.host_ifindex);
    ASSERT_EQ(bpf_map_delete_elem(m.get(), &key), 0);
  }
  t = Clock::now();
  report("endpoints entry deleted", wait_counts({{"reattach", 2}}, t, std::chrono::milliseconds(2500)));
  ASSERT_NO_FATAL_FAILURE(expect_attached(ra));
  ASSERT_TRUE(ping(1, ip_of(b)));

  // Two more periods: nothing else to repair.
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  EXPECT_EQ(repairs(), (Counts{{"reattach", 2}}));

  stop_agent(SIGKILL);
  EXPECT_EQ(run_agent({"--cleanup"}), 0) << agent_log();
  EXPECT_FALSE(std::filesystem::exists(pin_root_));
  EXPECT_TRUE(tcx_progs(ra.host_ifindex, kTcxIngress).empty());
  EXPECT_TRUE(tcx_progs(ra.host_ifindex, kTcxEgress).empty());
}

// `tc filter show` lines of a hook that are bpf filters.
size_t bpf_filters(const std::string& node_ns, const std::string& dev, const char* hook) {
  std::string out;
  EXPECT_EQ(ns_exec(node_ns, std::string("tc filter show dev ") + dev + " " + hook, &out), 0) << out;
  size_t n = 0, pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    if (nl == std::string::npos) nl = out.size();
    const std::string line = out.substr(pos, nl - pos);
    if (line.find(" bpf ") != std::string::npos && line.find(" handle ") != std::string::npos) ++n;
    pos = nl + 1;
  }
  return n;
}

// clsact mode: a filter or the whole qdisc deleted raises RTM_DELTFILTER /
// RTM_DELQDISC, which re-attaches at once (periodic reconcile out of the way).
TEST_F(RepairTest, TcModeFilterDeletionReattaches) {
  ASSERT_NO_FATAL_FAILURE(v4_only_pods({1, 2}));
  ASSERT_NO_FATAL_FAILURE(start_agent({"--attach-mode", "tc", "--reconcile-seconds", "3600"}));
  auto a = add("c1", 1);
  ASSERT_EQ(a.exit_code, 0) << a.out << agent_log();
  auto b = add("c2", 2);
  ASSERT_EQ(b.exit_code, 0) << b.out << agent_log();
  const auto ra = record("c1");
  ASSERT_EQ(bpf_filters(node_->name(), ra.host_ifname, "ingress"), 1u);

  auto t = Clock::now();
  ASSERT_EQ(ns_exec(node_->name(), "tc filter del dev " + ra.host_ifname + " ingress pref 1 handle 1 bpf"), 0);
  report("clsact ingress filter deleted", wait_counts({{"reattach", 1}}, t));
  EXPECT_EQ(bpf_filters(node_->name(), ra.host_ifname, "ingress"), 1u);
  EXPECT_EQ(bpf_filters(node_->name(), ra.host_ifname, "egress"), 1u);

  t = Clock::now();
  ASSERT_EQ(ns_exec(node_->name(), "tc qdisc del dev " + ra.host_ifname + " clsact"), 0);
  report("clsact qdisc deleted", wait_counts({{"reattach", 2}}, t));
  EXPECT_EQ(bpf_filters(node_->name(), ra.host_ifname, "ingress"), 1u);
  EXPECT_EQ(bpf_filters(node_->name(), ra.host_ifname, "egress"), 1u);
  const uint64_t before = ep_packets(static_cast<uint32_t>(ra.host_ifindex));
  ASSERT_TRUE(ping(1, ip_of(b)));
  EXPECT_EQ(ep_packets(static_cast<uint32_t>(ra.host_ifindex)), before + 4) << "2 requests and 2 replies through c1's veth";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(repairs(), (Counts{{"reattach", 2}}));

  stop_agent(SIGTERM);
  EXPECT_EQ(run_agent({"--cleanup"}), 0) << agent_log();
  EXPECT_EQ(bpf_filters(node_->name(), ra.host_ifname, "ingress"), 0u);
  EXPECT_EQ(bpf_filters(node_->name(), ra.host_ifname, "egress"), 0u);
  EXPECT_FALSE(std::filesystem::exists(pin_root_));
}

// A TCP stream from one pod's netns to another's, paced (4 KiB per ms); the
// receiver records the longest pause between reads.
class Stream {
 public:
  Stream(const std::string& server_ns, const std::string& client_ns, const std::string& server_ip)
      : server_ns_(server_ns), client_ns_(client_ns), ip_(server_ip) {}

  bool start() {
    {
      auto ns = Netns::open(server_ns_);
      auto g = ns->enter();
      listen_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      int one = 1;
      ::setsockopt(listen_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(kPort);
      ::inet_pton(AF_INET, ip_.c_str(), &sa.sin_addr);
      if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return false;
      if (::listen(listen_.get(), 1) != 0) return false;
    }
    {
      auto ns = Netns::open(client_ns_);
      auto g = ns->enter();
      client_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(kPort);
    ::inet_pton(AF_INET, ip_.c_str(), &sa.sin_addr);
    if (::connect(client_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return false;
    server_.reset(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!server_) return false;
    reader_ = std::thread([this] { read_loop(); });
    writer_ = std::thread([this] { write_loop(); });
    return true;
  }
  // Stops writing, closes the sending side and waits for the reader to see EOF.
  void finish() {
    stop_ = true;
    if (writer_.joinable()) writer_.join();
    ::shutdown(client_.get(), SHUT_WR);
    if (reader_.joinable()) reader_.join();
  }
  ~Stream() { finish(); }

  uint64_t sent() const { return sent_; }
  uint64_t received() const { return received_; }
  bool write_error() const { return write_error_; }
  bool read_error() const { return read_error_; }
  double max_gap_ms() const { return max_gap_us_ / 1000.0; }

 private:
  static constexpr uint16_t kPort = 5201;
  void write_loop() {
    std::vector<char> buf(4096, 'x');
    while (!stop_) {
      size_t off = 0;
      while (off < buf.size()) {
        ssize_t n = ::send(client_.get(), buf.data() + off, buf.size() - off, MSG_NOSIGNAL);
        if (n <= 0) {
          write_error_ = true;
          return;
        }
        off += static_cast<size_t>(n);
        sent_ += static_cast<uint64_t>(n);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  void read_loop() {
    std::vector<char> buf(65536);
    auto last = Clock::now();
    for (;;) {
      ssize_t n = ::recv(server_.get(), buf.data(), buf.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        read_error_ = true;
        return;
      }
      auto now = Clock::now();
      if (!stop_) {
        max_gap_us_ = std::max<int64_t>(max_gap_us_, std::chrono::duration_cast<std::chrono::microseconds>(now - last).count());
      }
      last = now;
      if (n == 0) return;
      received_ += static_cast<uint64_t>(n);
    }
  }

  std::string server_ns_, client_ns_, ip_;
  UniqueFd listen_, client_, server_;
  std::thread reader_, writer_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0}, received_{0};
  std::atomic<int64_t> max_gap_us_{0};
  std::atomic<bool> write_error_{false}, read_error_{false};
};

// kill -9 of the agent in the middle of continuous traffic: 10 ms pings from
// pod 1 to pod 2 and a TCP stream from pod 3 to pod 2. The pinned links keep
// forwarding while no agent runs, the restarted agent reuses them, and the
// per-endpoint counters never stop: pod 1's veth carries nothing but the pings
// (IPv6 off, permanent neighbours on both sides, so no ND/ARP), so its
// ep_stats packets grow by exactly 2 x the pings (each echo request passes
// from_pod, each reply to_pod), across the restart.
TEST_F(RepairTest, KillDuringTrafficLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(v4_only_pods({1, 2, 3}));
  ASSERT_NO_FATAL_FAILURE(start_agent());
  auto a = add("c1", 1);
  ASSERT_EQ(a.exit_code, 0) << a.out << agent_log();
  auto b = add("c2", 2);
  ASSERT_EQ(b.exit_code, 0) << b.out << agent_log();
  auto c = add("c3", 3);
  ASSERT_EQ(c.exit_code, 0) << c.out << agent_log();
  const auto ra = record("c1"), rb = record("c2"), rc = record("c3");
  std::map<std::string, uint32_t> ids;
  for (const auto& r : {ra, rb, rc}) {
    for (const char* hook : {"ingress", "egress"}) ids[r.host_ifname + hook] = link_id(link_pin(r.host_ifname, hook));
  }
  const auto progs_before = tcx_progs(ra.host_ifindex, kTcxIngress);
  const uint32_t ep_a = static_cast<uint32_t>(ra.host_ifindex);

  Stream stream(pod_ns_.at(2)->path(), pod_ns_.at(3)->path(), ip_of(b));
  ASSERT_TRUE(stream.start()) << std::strerror(errno);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  constexpr int kPings = 400;  // 4 s at 10 ms
  const uint64_t before = ep_packets(ep_a);
  auto pinger = std::async(std::launch::async, [&] {
    std::string out;
    int rc = ns_exec(prefix() + "p1", "ping -n -q -i 0.01 -W 1 -c " + std::to_string(kPings) + " " + ip_of(b), &out);
    return std::make_pair(rc, out);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  stop_agent(SIGKILL);
  const auto killed = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // forwarding with no agent at all
  ASSERT_NO_FATAL_FAILURE(start_agent());
  const double down_ms = std::chrono::duration<double, std::milli>(Clock::now() - killed).count();
  auto [rc_ping, out] = pinger.get();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stream.finish();
  const uint64_t after = ep_packets(ep_a);

  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"((\d+) packets transmitted, (\d+) received)"))) << out;
  EXPECT_EQ(std::stoi(m[1]), kPings) << out;
  EXPECT_EQ(std::stoi(m[2]), kPings) << "lost pings across kill -9 and restart:\n" << out;
  EXPECT_EQ(rc_ping, 0) << out;
  EXPECT_EQ(after - before, 2u * kPings) << "ep_stats of c1: every echo request and reply, across the restart";
  EXPECT_FALSE(stream.write_error());
  EXPECT_FALSE(stream.read_error());
  EXPECT_EQ(stream.received(), stream.sent());
  EXPECT_GT(stream.sent(), 4096u * 1000) << "the stream ran throughout";
  EXPECT_LT(stream.max_gap_ms(), 200.0) << "the TCP stream stalled";
  std::printf("agent down %.0f ms (kill -9 to ready); pings %d/%d; c1 ep_stats +%llu; stream %llu bytes, longest read gap %.2f ms\n",
              down_ms, std::stoi(m[2]), kPings, static_cast<unsigned long long>(after - before),
              static_cast<unsigned long long>(stream.received()), stream.max_gap_ms());

  // The restarted agent reused the pins: the same links, the same programs.
  for (const auto& r : {ra, rb, rc}) {
    for (const char* hook : {"ingress", "egress"}) {
      EXPECT_EQ(link_id(link_pin(r.host_ifname, hook)), ids[r.host_ifname + hook]) << r.host_ifname << " " << hook;
    }
    ASSERT_NO_FATAL_FAILURE(expect_attached(r));
  }
  EXPECT_EQ(tcx_progs(ra.host_ifindex, kTcxIngress), progs_before);
  EXPECT_NE(agent_log().find("reused_maps=8"), std::string::npos) << agent_log();
  EXPECT_EQ(repairs(), Counts{}) << "nothing needed repair";
}

}  // namespace
}  // namespace strand::test
