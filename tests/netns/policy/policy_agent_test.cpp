// NetworkPolicy end to end on one node: the real agent with --source-dir,
// pods ADDed through the real plugin (namespace "default", pod name = the
// container id), TCP connections between them. Every step waits for the
// agent to report the manifests' generation, never for a fixed time.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <httplib.h>

#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include "common/fs.h"
#include "tests/netns/agent/agent_fixture.h"

namespace strand::test {
namespace {

constexpr int kHttpPort = 9464;
constexpr uint16_t kPort = 8080;
constexpr const char* kNodeAddress = "10.79.0.1";  // add_node_address()

template <typename F>
auto in_netns(const std::string& path, F fn) {
  using R = decltype(fn());
  std::packaged_task<R()> task([&] {
    auto ns = Netns::open(path);
    if (!ns) throw std::runtime_error(ns.error().message());
    auto g = ns->enter();
    if (!g) throw std::runtime_error(g.error().message());
    return fn();
  });
  auto fut = task.get_future();
  std::thread t(std::move(task));
  t.join();
  return fut.get();
}

// Whether a TCP connection to ip:port completes within timeout_ms, from the
// calling thread's netns.
bool connect_within(const std::string& ip, uint16_t port, int timeout_ms) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0) return true;
  if (errno != EINPROGRESS) return false;
  pollfd p{fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, timeout_ms) != 1) return false;
  int err = 0;
  socklen_t len = sizeof(err);
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  return err == 0;
}

std::string pod_manifest(const std::string& name, const std::string& app) {
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: default, labels: {app: " + app +
         "}}\nspec: {nodeName: n, containers: [{name: c, ports: [{name: web, containerPort: 8080}]}]}\n";
}

const char* kAllowClient = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client, namespace: default}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: web}]
)";

class PolicyTest : public AgentFixture {
 protected:
  void SetUp() override {
    AgentFixture::SetUp();
    if (IsSkipped()) return;
    std::filesystem::create_directories(dir());
  }
  void TearDown() override {
    servers_.clear();
    AgentFixture::TearDown();
  }

  std::string dir() const { return tmp_.path() + "/manifests"; }
  std::string pod_path(int i) const { return "/run/netns/" + prefix() + "p" + std::to_string(i); }

  void start(std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {"--http", "127.0.0.1:" + std::to_string(kHttpPort), "--source-dir", dir()});
    ASSERT_NO_FATAL_FAILURE(start_agent(extra));
  }

  void write(const std::string& file, const std::string& text) {
    ASSERT_TRUE(write_file_atomic(dir() + "/" + file, text).has_value());
  }
  void remove(const std::string& file) { std::filesystem::remove(dir() + "/" + file); }

  std::pair<int, std::string> get(const std::string& path) {
    return in_netns(node_->path(), [&] {
      httplib::Client c("127.0.0.1", kHttpPort);
      c.set_read_timeout(5, 0);
      auto r = c.Get(path.c_str());
      return r ? std::pair<int, std::string>{r->status, r->body} : std::pair<int, std::string>{-1, ""};
    });
  }
  nlohmann::json get_json(const std::string& path) {
    auto [status, body] = get(path);
    EXPECT_EQ(status, 200) << path << ": " << body;
    return status == 200 ? nlohmann::json::parse(body) : nlohmann::json::object();
  }

  // Bumps .generation and waits until the agent has it in the datapath.
  void sync() {
    ++gen_;
    write(".generation", std::to_string(gen_));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    uint64_t seen = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      auto [status, body] = get("/v1/policies?summary=true");
      if (status == 200) {
        seen = nlohmann::json::parse(body).value("generation", uint64_t{0});
        if (seen >= gen_) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    FAIL() << "generation " << gen_ << " not applied in 10 s (agent has " << seen << "): " << agent_log();
  }

  // A pod with its manifest written first, as kubelet's API server would have it.
  std::string add_pod(const std::string& id, int index, const std::string& app) {
    write("pod-" + id + ".yaml", pod_manifest(id, app));
    auto r = add(id, index);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return ip_of(r);
  }

  // kNodeAddress on the node, to send from: on a veth pair inside the
  // test's node netns (this kernel has no dummy devices).
  void add_node_address() {
    std::string out;
    ASSERT_EQ(ns_exec(node_->name(),
                      "sh -c 'ip link add sprobe type veth peer name sprobe1 && ip addr add " + std::string(kNodeAddress) +
                          "/32 dev sprobe && ip link set sprobe up && ip link set sprobe1 up'",
                      &out),
              0)
        << out;
  }

  // A TCP server accepting (and closing) connections in pod `index`.
  void serve(int index, uint16_t port = kPort) {
    auto srv = std::make_unique<Server>();
    srv->fd = in_netns(pod_path(index), [] { return UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)); });
    ASSERT_TRUE(srv->fd);
    int one = 1;
    ::setsockopt(srv->fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ASSERT_EQ(::bind(srv->fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)), 0) << std::strerror(errno);
    // Room for the probers' bursts while the accepting thread waits for a CPU.
    ASSERT_EQ(::listen(srv->fd.get(), 1024), 0);
    Server* s = srv.get();
    srv->thread = std::jthread([s](std::stop_token st) {
      while (!st.stop_requested()) {
        pollfd p{s->fd.get(), POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        UniqueFd c(::accept4(s->fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (c) ++s->accepted;
      }
    });
    servers_.push_back(std::move(srv));
  }

  // Whether a TCP connection from pod `from` to ip:kPort completes within 1 s.
  bool connects(int from, const std::string& ip) {
    return in_netns(pod_path(from), [&] { return connect_within(ip, kPort, 1000); });
  }

  // Connections from pod `from` to ip:port one after the other, 1 ms apart,
  // each given timeout_ms (a dropped SYN is sent again only after 1 s: any
  // drop is a failure), until the prober's thread is stopped.
  struct Prober {
    std::atomic<int> attempts{0};
    std::atomic<int> completed{0};
    std::jthread thread;
  };
  std::unique_ptr<Prober> probe(int from, const std::string& ip, uint16_t port, int timeout_ms) {
    auto p = std::make_unique<Prober>();
    Prober* raw = p.get();
    p->thread = std::jthread([raw, path = pod_path(from), ip, port, timeout_ms](std::stop_token st) {
      auto ns = Netns::open(path);
      if (!ns) return;
      auto guard = ns->enter();
      if (!guard) return;
      while (!st.stop_requested()) {
        const bool ok = connect_within(ip, port, timeout_ms);
        ++raw->attempts;
        if (ok) ++raw->completed;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
    return p;
  }

  nlohmann::json policy_drops(const std::string& pod) {
    nlohmann::json out = nlohmann::json::array();
    const nlohmann::json body = get_json("/v1/drops?pod=default/" + pod);  // outlives the loop (g++ 12)
    for (const auto& d : body["items"]) {
      if (d["reason"] == "policy-denied" || d["reason"] == "policy-audit") out.push_back(d);
    }
    return out;
  }

  struct Server {
    UniqueFd fd;
    std::atomic<int> accepted{0};
    std::jthread thread;
  };
  std::vector<std::unique_ptr<Server>> servers_;
  uint64_t gen_ = 0;
};

TEST_F(PolicyTest, IngressRuleAllowsItsPeerAndIsolationDeniesTheRestWithThePolicyNamed) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string ip_b = add_pod("b", 2, "server");
  add_pod("a", 1, "client");
  add_pod("c", 3, "other");
  ASSERT_NO_FATAL_FAILURE(serve(2));
  ASSERT_NO_FATAL_FAILURE(sync());
  EXPECT_TRUE(connects(1, ip_b));
  EXPECT_TRUE(connects(3, ip_b)) << "no policy yet: unrestricted";

  write("allow-client.yaml", kAllowClient);
  ASSERT_NO_FATAL_FAILURE(sync());
  EXPECT_TRUE(connects(1, ip_b)) << "a is a client: allowed by the named port rule";
  EXPECT_FALSE(connects(3, ip_b)) << "c is not a client: isolation denies";
  EXPECT_TRUE(connects(1, ip_b));

  // The drop names the policy that isolates b.
  auto drops = policy_drops("b");
  ASSERT_FALSE(drops.empty()) << get("/v1/drops").second;
  EXPECT_EQ(drops[0]["reason"], "policy-denied");
  EXPECT_EQ(drops[0]["direction"], "ingress");
  EXPECT_EQ(drops[0]["policy"]["verdict"], "isolated");
  EXPECT_EQ(drops[0]["policy"]["isolatedBy"], nlohmann::json::array({"default/allow-client"}));

  // Two connections from a after the policy: two hits of its only rule.
  auto pols = get_json("/v1/policies");
  ASSERT_EQ(pols["items"].size(), 1u) << pols.dump();
  const auto& p = pols["items"][0];
  EXPECT_EQ(p["enforced"], true) << p.dump();
  ASSERT_EQ(p["rules"].size(), 1u);
  EXPECT_EQ(p["rules"][0]["hits"], 2) << p.dump();
  EXPECT_EQ(p["endpoints"], nlohmann::json::parse(R"([{"namespace":"default","pod":"b","directions":["ingress"]}])"));

  // The flow a -> b names the rule that allowed it.
  bool named = false;
  const nlohmann::json flows = get_json("/v1/flows?pod=default/b");
  for (const auto& f : flows["items"]) {
    if (f["dstPort"] == kPort && f["policy"].is_object() && f["policy"]["verdict"] == "allowed") {
      EXPECT_EQ(f["policy"]["policy"], "default/allow-client");
      EXPECT_EQ(f["policy"]["direction"], "ingress");
      EXPECT_EQ(f["policy"]["index"], 0);
      named = true;
    }
  }
  EXPECT_TRUE(named) << get("/v1/flows").second;

  // why agrees with the datapath.
  auto why = get_json("/v1/why?from=default/c&to=default/b&port=8080");
  EXPECT_EQ(why["allowed"], false) << why.dump();
  EXPECT_EQ(why["ingress"]["isolatedBy"], nlohmann::json::array({"default/allow-client"}));
  why = get_json("/v1/why?from=default/a&to=default/b&port=8080/TCP");
  EXPECT_EQ(why["allowed"], true) << why.dump();
  EXPECT_EQ(why["ingress"]["allowedBy"]["policy"], "default/allow-client");
  EXPECT_EQ(why["ingress"]["allowedBy"]["ruleId"], p["rules"][0]["ruleId"]);
  EXPECT_EQ(get("/v1/why?from=default/c&to=default/b&port=http").first, 400);
  EXPECT_EQ(get("/v1/why?from=default/zz&to=default/b&port=80").first, 404);

  // Labels change: c becomes a client, then the policy goes.
  write("pod-c.yaml", pod_manifest("c", "client"));
  ASSERT_NO_FATAL_FAILURE(sync());
  EXPECT_TRUE(connects(3, ip_b));
  write("pod-c.yaml", pod_manifest("c", "other"));
  ASSERT_NO_FATAL_FAILURE(sync());
  EXPECT_FALSE(connects(3, ip_b));
  remove("allow-client.yaml");
  ASSERT_NO_FATAL_FAILURE(sync());
  EXPECT_TRUE(connects(3, ip_b));
  auto e = endpoint_entry(record("b").host_ifindex);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->flags, 0u);
}

TEST_F(PolicyTest, NewPodIsUnderItsPolicyWhenAddReturnsAndTheNodeStillReachesIt) {
  ASSERT_NO_FATAL_FAILURE(start());
  write("deny.yaml", R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: default}
spec: {podSelector: {matchLabels: {app: server}}}
)");
  add_pod("c", 3, "other");
  ASSERT_NO_FATAL_FAILURE(sync());
  // No sync between the ADD and the first connection.
  const std::string ip_b = add_pod("b", 2, "server");
  ASSERT_NO_FATAL_FAILURE(serve(2));
  auto e = endpoint_entry(record("b").host_ifindex);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->flags, static_cast<uint32_t>(STRAND_EP_F_ENFORCE_INGRESS));
  EXPECT_NE(e->identity, 0u);
  EXPECT_FALSE(connects(3, ip_b));
  // The node is always allowed (kubelet probes).
  ASSERT_NO_FATAL_FAILURE(add_node_address());
  std::string out;
  // The agent notices the new address within a second (HOST follows the
  // node's addresses); ping until the deadline.
  EXPECT_EQ(ns_exec(node_->name(), "ping -c 1 -i 0.2 -w 5 " + ip_b, &out), 0) << out;
}

TEST_F(PolicyTest, AuditNamespaceForwardsAndReportsWouldBeDrops) {
  ASSERT_NO_FATAL_FAILURE(start());
  write("ns.yaml", R"(apiVersion: v1
kind: Namespace
metadata: {name: default, annotations: {strand.io/policy-audit: "true"}}
)");
  write("allow-client.yaml", kAllowClient);
  const std::string ip_b = add_pod("b", 2, "server");
  add_pod("c", 3, "other");
  ASSERT_NO_FATAL_FAILURE(serve(2));
  ASSERT_NO_FATAL_FAILURE(sync());
  auto e = endpoint_entry(record("b").host_ifindex);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->flags, static_cast<uint32_t>(STRAND_EP_F_ENFORCE_INGRESS | STRAND_EP_F_AUDIT));
  EXPECT_TRUE(connects(3, ip_b)) << "audit mode forwards";
  auto drops = policy_drops("b");
  ASSERT_EQ(drops.size(), 1u) << get("/v1/drops").second;
  EXPECT_EQ(drops[0]["reason"], "policy-audit");
  EXPECT_EQ(drops[0]["policy"]["isolatedBy"], nlohmann::json::array({"default/allow-client"}));
}

TEST_F(PolicyTest, AuditFlagForwardsAndReportsWouldBeDrops) {
  // --policy-audit: every endpoint in audit mode, no namespace annotation.
  ASSERT_NO_FATAL_FAILURE(start({"--policy-audit"}));
  write("allow-client.yaml", kAllowClient);
  const std::string ip_b = add_pod("b", 2, "server");
  const std::string ip_a = add_pod("a", 1, "client");
  const std::string ip_c = add_pod("c", 3, "other");
  ASSERT_NO_FATAL_FAILURE(serve(2));
  ASSERT_NO_FATAL_FAILURE(sync());
  auto e = endpoint_entry(record("b").host_ifindex);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->flags, static_cast<uint32_t>(STRAND_EP_F_ENFORCE_INGRESS | STRAND_EP_F_AUDIT));
  auto ec = endpoint_entry(record("c").host_ifindex);
  ASSERT_TRUE(ec);
  EXPECT_EQ(ec->flags, static_cast<uint32_t>(STRAND_EP_F_AUDIT));
  EXPECT_TRUE(connects(3, ip_b)) << "audit mode forwards what isolation would deny";
  EXPECT_TRUE(connects(1, ip_b));

  // One would-be drop (c's SYN), reported as policy-audit with the policy.
  auto drops = policy_drops("b");
  ASSERT_EQ(drops.size(), 1u) << get("/v1/drops").second;
  EXPECT_EQ(drops[0]["reason"], "policy-audit");
  EXPECT_EQ(drops[0]["direction"], "ingress");
  EXPECT_EQ(drops[0]["src"], ip_c);
  EXPECT_EQ(drops[0]["policy"]["verdict"], "isolated");
  EXPECT_EQ(drops[0]["policy"]["isolatedBy"], nlohmann::json::array({"default/allow-client"}));
  const auto [status, metrics] = get("/metrics");
  EXPECT_NE(metrics.find("strand_drops_total{namespace=\"default\",pod=\"b\",direction=\"ingress\",reason=\"policy-"
                         "audit\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("reason=\"policy-denied\""), std::string::npos) << metrics;

  // The flows say which connection passed only because of audit mode.
  int audited = 0, allowed = 0;
  const nlohmann::json flows = get_json("/v1/flows?pod=default/b");
  for (const auto& f : flows["items"]) {
    if (f["dstPort"] != kPort) continue;
    if (f["src"] == ip_c) {
      EXPECT_EQ(f["verdict"], "audit") << f.dump();
      EXPECT_EQ(f["policy"]["verdict"], "isolated") << f.dump();
      ++audited;
    } else if (f["src"] == ip_a) {
      EXPECT_EQ(f["verdict"], "allowed") << f.dump();
      EXPECT_EQ(f["policy"]["policy"], "default/allow-client") << f.dump();
      ++allowed;
    }
  }
  EXPECT_EQ(audited, 1) << flows.dump();
  EXPECT_EQ(allowed, 1) << flows.dump();
  EXPECT_EQ(get_json("/v1/endpoints?pod=default/b")["items"][0]["enforce"]["audit"], true);
}

TEST_F(PolicyTest, PolicyThatCannotBeEnforcedFailsClosedAndIsReported) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string ip_b = add_pod("b", 2, "server");
  add_pod("a", 1, "client");
  ASSERT_NO_FATAL_FAILURE(serve(2));
  write("allow-client.yaml", kAllowClient);
  ASSERT_NO_FATAL_FAILURE(sync());
  EXPECT_TRUE(connects(1, ip_b));
  auto count = [&](const std::string& what) {
    const std::string log = agent_log();
    size_t n = 0;
    for (size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
    return n;
  };
  auto metric = [&](const std::string& state) {
    const std::string m = get("/metrics").second;
    const std::string series = "strand_policies{state=\"" + state + "\"} ";
    const size_t at = m.find(series);
    return at == std::string::npos ? std::string("missing") : m.substr(at + series.size(), m.find('\n', at) - at - series.size());
  };
  EXPECT_EQ(metric("enforced"), "1");
  EXPECT_EQ(metric("not_enforced"), "0");

  // A field this agent does not know, in the rule: the policy is kept, not
  // enforced, and b fails closed (a no longer gets in).
  write("allow-client.yaml", std::string(kAllowClient) + "    futureField: true\n");
  ASSERT_NO_FATAL_FAILURE(sync());
  EXPECT_FALSE(connects(1, ip_b)) << "fails closed";
  const std::string reason = "spec.ingress[0].futureField: unknown field (not enforceable by this agent)";
  auto pols = get_json("/v1/policies");
  ASSERT_EQ(pols["items"].size(), 1u) << pols.dump();
  EXPECT_EQ(pols["items"][0]["enforced"], false) << pols.dump();
  EXPECT_EQ(pols["items"][0]["reason"], reason);
  EXPECT_EQ(pols["items"][0]["endpoints"],
            nlohmann::json::parse(R"([{"namespace":"default","pod":"b","directions":["ingress"]}])"));
  EXPECT_EQ(metric("enforced"), "0");
  EXPECT_EQ(metric("not_enforced"), "1");
  auto drops = policy_drops("b");
  ASSERT_FALSE(drops.empty());
  EXPECT_EQ(drops.back()["policy"]["isolatedBy"], nlohmann::json::array({"default/allow-client"}));
  // why agrees with the datapath and says why.
  auto why = get_json("/v1/why?from=default/a&to=default/b&port=8080");
  EXPECT_EQ(why["allowed"], false) << why.dump();
  EXPECT_EQ(why["ingress"]["notEnforced"],
            nlohmann::json::array({{{"policy", "default/allow-client"}, {"reason", reason}}}));
  // Logged once, however many syncs follow.
  ASSERT_NO_FATAL_FAILURE(sync());
  add_pod("c", 3, "other");
  ASSERT_NO_FATAL_FAILURE(sync());
  EXPECT_EQ(count("policy not enforced, the pods it selects fail closed policy=default/allow-client reason=\"" + reason +
                  "\""),
            1u)
      << agent_log();

  // A rule that does not parse (a bad CIDR): not enforced either, naming it.
  write("allow-client.yaml", R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client, namespace: default}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{ipBlock: {cidr: 10.78.0.0/33}}]
)");
  ASSERT_NO_FATAL_FAILURE(sync());
  EXPECT_FALSE(connects(1, ip_b));
  pols = get_json("/v1/policies");
  EXPECT_EQ(pols["items"][0]["reason"], "spec.ingress[0].from[0].ipBlock.cidr: '10.78.0.0/33' is not a valid IPv4 or IPv6 CIDR")
      << pols.dump();

  // Fixed: enforced again, and logged.
  write("allow-client.yaml", kAllowClient);
  ASSERT_NO_FATAL_FAILURE(sync());
  EXPECT_TRUE(connects(1, ip_b));
  EXPECT_EQ(count("policy enforced again policy=default/allow-client"), 1u) << agent_log();
  EXPECT_EQ(metric("enforced"), "1");
  EXPECT_EQ(metric("not_enforced"), "0");
}

TEST_F(PolicyTest, HostNetworkPodOnTheNodesAddressLeavesItTheNodes) {
  // A hostNetwork pod's podIP is the node's address: the node (kubelet
  // probes) must still reach isolated pods, whatever the pod's labels.
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_NO_FATAL_FAILURE(add_node_address());
  std::string out;
  for (const char* name : {"kube-proxy", "node-exporter"}) {
    write(std::string("pod-") + name + ".yaml",
          std::string("apiVersion: v1\nkind: Pod\nmetadata: {name: ") + name +
              ", namespace: default, labels: {app: server}}\nspec: {nodeName: n, hostNetwork: true}\n"
              "status: {phase: Running, podIP: " + kNodeAddress + ", podIPs: [{ip: " + kNodeAddress + "}]}\n");
  }
  write("deny.yaml", R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: default}
spec: {podSelector: {matchLabels: {app: server}}}
)");
  const std::string ip_b = add_pod("b", 2, "server");
  ASSERT_NO_FATAL_FAILURE(sync());
  EXPECT_EQ(ns_exec(node_->name(), "ping -c 1 -i 0.2 -w 5 -I " + std::string(kNodeAddress) + " " + ip_b, &out), 0) << out;
  auto pols = get_json("/v1/policies");
  ASSERT_EQ(pols["items"].size(), 1u);
  EXPECT_EQ(pols["items"][0]["selects"], nlohmann::json::parse(R"([{"namespace":"default","pod":"b"}])"));
  auto why = get_json("/v1/why?from=default/kube-proxy&to=default/b&port=8080");
  EXPECT_EQ(why["allowed"], true) << why.dump();
}

TEST_F(PolicyTest, AgentRestartKeepsEnforcingWithoutAGap) {
  ASSERT_NO_FATAL_FAILURE(start());
  write("allow-client.yaml", kAllowClient);
  const std::string ip_b = add_pod("b", 2, "server");
  add_pod("a", 1, "client");
  add_pod("c", 3, "other");
  ASSERT_NO_FATAL_FAILURE(serve(2));
  ASSERT_NO_FATAL_FAILURE(sync());
  EXPECT_TRUE(connects(1, ip_b));
  EXPECT_FALSE(connects(3, ip_b));

  stop_agent(SIGKILL);
  EXPECT_TRUE(connects(1, ip_b)) << "pinned policy while the agent is down";
  EXPECT_FALSE(connects(3, ip_b));

  ASSERT_NO_FATAL_FAILURE(start());
  gen_ = 0;  // a new agent reports from 0 again
  ASSERT_NO_FATAL_FAILURE(sync());
  EXPECT_TRUE(connects(1, ip_b));
  EXPECT_FALSE(connects(3, ip_b));
}

// kill -9 and a restart while clients keep connecting. The pods reach the
// first agent one by one (server, other, four fillers, client last), so it
// numbers their identities in that order; the restarted agent compiles them
// all at once, in name order, so a fresh numbering swaps them (client,
// server, other, filler). Allowed: the client to the server's named port.
// Denied: the client to another port, a filler to the named port (the
// filler's fresh number is the client's old one), the other pod.
TEST_F(PolicyTest, AgentKilledAndRestartedUnderTrafficNeverDropsAllowedNorPassesDenied) {
  constexpr uint16_t kOtherPort = 9090;
  ASSERT_NO_FATAL_FAILURE(start());
  write("allow-client.yaml", kAllowClient);
  ASSERT_NO_FATAL_FAILURE(sync());
  const std::string ip_b = add_pod("b", 2, "server");
  add_pod("c", 3, "other");
  for (int i = 4; i < 8; ++i) add_pod(std::string(1, static_cast<char>('a' + i - 1)), i, "filler");
  add_pod("a", 1, "client");
  ASSERT_NO_FATAL_FAILURE(serve(2));
  ASSERT_NO_FATAL_FAILURE(serve(2, kOtherPort));
  ASSERT_NO_FATAL_FAILURE(sync());
  ASSERT_TRUE(connects(1, ip_b));
  ASSERT_FALSE(connects(4, ip_b));
  const uint32_t server_identity = endpoint_entry(record("b").host_ifindex).value_or(strand_endpoint{}).identity;

  auto allowed = probe(1, ip_b, kPort, 300);
  std::vector<std::pair<std::string, std::unique_ptr<Prober>>> denied;
  for (int copy = 0; copy < 2; ++copy) {
    denied.emplace_back("client to port 9090", probe(1, ip_b, kOtherPort, 30));
    denied.emplace_back("filler d", probe(4, ip_b, kPort, 30));
    denied.emplace_back("filler g", probe(7, ip_b, kPort, 30));
    denied.emplace_back("other", probe(3, ip_b, kPort, 30));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop_agent(SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_NO_FATAL_FAILURE(start());
  gen_ = 0;  // a new agent reports from 0 again
  ASSERT_NO_FATAL_FAILURE(sync());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  allowed->thread.request_stop();
  for (auto& [what, p] : denied) p->thread.request_stop();
  allowed->thread.join();
  for (auto& [what, p] : denied) p->thread.join();

  int denied_attempts = 0;
  EXPECT_GT(allowed->attempts.load(), 100);
  EXPECT_EQ(allowed->completed.load(), allowed->attempts.load()) << "allowed connections failed: " << agent_log();
  for (const auto& [what, p] : denied) {
    denied_attempts += p->attempts.load();
    EXPECT_GT(p->attempts.load(), 10) << what;
    EXPECT_EQ(p->completed.load(), 0) << what << ": denied connections passed " << agent_log();
  }
  std::printf("allowed: %d connections; denied: %d attempts\n", allowed->attempts.load(), denied_attempts);
  // The restart kept the identity numbers (the same pods, the same addresses).
  EXPECT_EQ(endpoint_entry(record("b").host_ifindex).value_or(strand_endpoint{}).identity, server_identity);
}

}  // namespace
}  // namespace strand::test
