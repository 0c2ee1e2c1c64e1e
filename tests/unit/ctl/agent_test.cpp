// strandctl against a fake agent on loopback: the command functions in-process
// and the real binary (exit codes, SIGINT under --follow).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stop_token>
#include <thread>

#include "canned.h"
#include "common/fd.h"
#include "ctl/commands.h"
#include "ctl/policies.h"
#include "ctl/render.h"
#include "ctl/why.h"
#include "fake_agent.h"

extern char** environ;

namespace strand::ctl {
namespace {

using testing::FakeAgent;
using namespace std::chrono_literals;

// Flow 20: a new TCP flow of web-1, recorded after the follower started.
constexpr const char* kFlowNew = R"({
  "seq": 20, "namespace": "default", "pod": "web-1", "direction": "ingress", "family": 4, "protocol": "TCP",
  "src": "10.244.2.9", "srcPort": 41000, "dst": "10.244.1.5", "dstPort": 80, "state": "syn-sent", "active": true,
  "tx": {"packets": 0, "bytes": 0}, "rx": {"packets": 1, "bytes": 74}, "tcpFlags": {"tx": "", "rx": "SYN"},
  "handshakeRttUs": null, "firstSeen": "2026-11-23T19:04:05.000000000Z", "firstSeenMs": 1795460645000,
  "lastSeen": "2026-11-23T19:04:05.000000000Z", "lastSeenMs": 1795460645000,
  "verdict": "allowed", "policy": null, "rule": null})";

// A TCP port on 127.0.0.1 that refuses connections: bound, never listening,
// and held for the test so nothing else takes it.
class ClosedPort {
 public:
  ClosedPort() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    EXPECT_EQ(getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
  }
  [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  UniqueFd fd_;
  int port_ = 0;
};

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

Options opts_for(const FakeAgent& agent, Command c) {
  Options o;
  o.command = c;
  o.agent = parse_address(agent.address()).value();
  return o;
}

Outcome run_in_process(const Options& o) {
  std::ostringstream out;
  std::ostringstream err;
  std::stop_source never;
  Io io{out, err, [] { return int64_t{canned::kNowMs}; }, never.get_token(), 50ms};
  Outcome r;
  r.code = run_command(o, io);
  r.out = out.str();
  r.err = err.str();
  return r;
}

class Ctl : public ::testing::Test {
 protected:
  void SetUp() override {
    agent_.add_flow(canned::kFlowTcp);
    agent_.add_flow(canned::kFlowIcmp6);
    agent_.add_flow(canned::kFlowUdp6);
    agent_.add_drop(canned::kDropPolicy);
    agent_.add_drop(canned::kDropUnparsed);
    agent_.set_lost(5);
  }
  FakeAgent agent_;
};

TEST_F(Ctl, EndpointsTable) {
  const Outcome r = run_in_process(opts_for(agent_, Command::kEndpoints));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "");
  std::vector<Row> rows;
  for (const json& it : items_of(json::parse(canned::kEndpoints))) rows.push_back(endpoint_row(it));
  EXPECT_EQ(r.out, render_table(endpoint_headers(), rows));
  EXPECT_EQ(agent_.requests(), std::vector<std::string>{"/v1/endpoints"});
}

TEST_F(Ctl, FlowsPassPodAndLimitAndKeepTheAgentsOrder) {
  Options o = opts_for(agent_, Command::kFlows);
  o.pod = "default/web-1";
  o.limit = 5;
  const Outcome r = run_in_process(o);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(agent_.requests(), std::vector<std::string>{"/v1/flows?limit=5&pod=default/web-1"});
  // Newest first, as the agent sends them: 18 then 17; 19 is another pod's.
  EXPECT_EQ(r.out, render_table(flow_headers(), {flow_row(json::parse(canned::kFlowIcmp6), canned::kNowMs),
                                                 flow_row(json::parse(canned::kFlowTcp), canned::kNowMs)}));
}

TEST_F(Ctl, DropsTable) {
  const Outcome r = run_in_process(opts_for(agent_, Command::kDrops));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, render_table(drop_headers(), {drop_row(json::parse(canned::kDropUnparsed), canned::kNowMs),
                                                 drop_row(json::parse(canned::kDropPolicy), canned::kNowMs)}));
}

TEST_F(Ctl, JsonIsTheBodyAsReceived) {
  Options o = opts_for(agent_, Command::kEndpoints);
  o.output = Output::kJson;
  const Outcome r = run_in_process(o);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, json::parse(canned::kEndpoints).dump(2) + "\n");
  // Key order kept: the agent's, not alphabetical.
  EXPECT_LT(r.out.find("\"namespace\""), r.out.find("\"containerId\""));

  o.command = Command::kDrops;
  const Outcome d = run_in_process(o);
  ASSERT_EQ(d.code, kExitOk) << d.err;
  const json body = json::parse(d.out);
  EXPECT_EQ(body["lost"], 5);
  ASSERT_EQ(body["items"].size(), 2u);
  EXPECT_EQ(body["items"][1], json::parse(canned::kDropPolicy));
}

TEST_F(Ctl, Status) {
  agent_.set_ready(false);
  const Outcome r = run_in_process(opts_for(agent_, Command::kStatus));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "Agent:        " + agent_.address() +
                "\n"
                "Health:       ok\n"
                "Ready:        no (HTTP 503)\n"
                "  datapath:   ok\n"
                "  socket:     not listening\n"
                "  sources:    ok\n"
                "Endpoints:    2\n"
                "Flows:        2 active, 1 ended\n"
                "Events lost:  5\n");
  EXPECT_EQ(agent_.requests(), (std::vector<std::string>{"/healthz", "/readyz", "/v1/endpoints",
                                                         "/v1/flows?limit=100000", "/v1/drops?limit=1"}));
  Options j = opts_for(agent_, Command::kStatus);
  j.output = Output::kJson;
  agent_.set_ready(true);
  const Outcome rj = run_in_process(j);
  ASSERT_EQ(rj.code, kExitOk) << rj.err;
  const json s = json::parse(rj.out);
  EXPECT_EQ(s["readyStatus"], 200);
  EXPECT_EQ(s["ready"], json::parse(canned::kReady));
  EXPECT_EQ(s["endpoints"], 2);
  EXPECT_EQ(s["flows"]["active"], 2);
  EXPECT_EQ(s["flows"]["ended"], 1);
  EXPECT_EQ(s["eventsLost"], 5);
}

TEST_F(Ctl, HttpErrorExitsOneNamingAddressAndError) {
  agent_.force("/v1/flows", 500, R"({"error": "ct map unreadable"})");
  const Outcome r = run_in_process(opts_for(agent_, Command::kFlows));
  EXPECT_EQ(r.code, kExitAgent);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "strandctl: agent at " + agent_.address() +
                       ": GET /v1/flows: HTTP 500 Internal Server Error: ct map unreadable\n");

  agent_.force("/readyz", 500, "boom");
  const Outcome s = run_in_process(opts_for(agent_, Command::kStatus));
  EXPECT_EQ(s.code, kExitAgent);
  EXPECT_EQ(s.err, "strandctl: agent at " + agent_.address() + ": GET /readyz: HTTP 500 Internal Server Error: boom\n");

  agent_.force("/v1/endpoints", 200, "not json");
  const Outcome e = run_in_process(opts_for(agent_, Command::kEndpoints));
  EXPECT_EQ(e.code, kExitAgent);
  EXPECT_EQ(e.err, "strandctl: agent at " + agent_.address() + ": GET /v1/endpoints: the body is not JSON\n");
}

// The agent's 404 body for a pod its model does not know (agent/http/server.cpp: Error::message()).
constexpr const char* kNoPodError =
    R"js({"error": "why no pod x/zz in the agent's model: No such file or directory (ENOENT)"})js";

Options why_opts(const FakeAgent& agent, std::string from, std::string to, std::string port) {
  Options o = opts_for(agent, Command::kWhy);
  o.from = std::move(from);
  o.to = std::move(to);
  o.port = std::move(port);
  return o;
}

TEST_F(Ctl, WhyAllowedExitsZero) {
  agent_.set_why("x/a", "y/b", "53/UDP", 200, canned::kWhyAllowed);
  const Outcome r = run_in_process(why_opts(agent_, "x/a", "y/b", "53/UDP"));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, render_why(json::parse(canned::kWhyAllowed)));
  EXPECT_TRUE(r.out.starts_with("ALLOWED  x/a -> y/b 53/UDP\n")) << r.out;
  EXPECT_EQ(agent_.requests(), std::vector<std::string>{"/v1/why?from=x/a&port=53/UDP&to=y/b"});
}

TEST_F(Ctl, WhyDeniedExitsThreeForEitherSide) {
  agent_.set_why("x/a", "y/b", "80/TCP", 200, canned::kWhyDeniedIngress);
  agent_.set_why("x/a", "192.0.2.10", "443/TCP", 200, canned::kWhyDeniedEgress);
  const Outcome in = run_in_process(why_opts(agent_, "x/a", "y/b", "80/TCP"));
  EXPECT_EQ(in.code, kExitDenied) << in.err;
  EXPECT_EQ(in.err, "");
  EXPECT_EQ(in.out, render_why(json::parse(canned::kWhyDeniedIngress)));
  EXPECT_NE(in.out.find("ingress of y/b:  denied: isolated by y/allow-z, y/deny-all"), std::string::npos) << in.out;
  const Outcome eg = run_in_process(why_opts(agent_, "x/a", "192.0.2.10", "443/TCP"));
  EXPECT_EQ(eg.code, kExitDenied) << eg.err;
  EXPECT_EQ(eg.out, render_why(json::parse(canned::kWhyDeniedEgress)));
  EXPECT_NE(eg.out.find("egress of x/a:          denied: isolated by x/deny-egress"), std::string::npos) << eg.out;
}

TEST_F(Ctl, WhyJsonIsTheBodyAndKeepsTheExitCode) {
  agent_.set_why("x/a", "y/b", "80/TCP", 200, canned::kWhyDeniedIngress);
  agent_.set_why("x/a", "y/b", "53/UDP", 200, canned::kWhyAllowed);
  Options o = why_opts(agent_, "x/a", "y/b", "80/TCP");
  o.output = Output::kJson;
  const Outcome d = run_in_process(o);
  EXPECT_EQ(d.code, kExitDenied) << d.err;
  EXPECT_EQ(d.out, json::parse(canned::kWhyDeniedIngress).dump(2) + "\n");
  o.port = "53/UDP";
  const Outcome a = run_in_process(o);
  EXPECT_EQ(a.code, kExitOk) << a.err;
  EXPECT_EQ(a.out, json::parse(canned::kWhyAllowed).dump(2) + "\n");
}

TEST_F(Ctl, WhyUnknownPodAndBadAnswersExitOne) {
  agent_.set_why("x/zz", "y/b", "80/TCP", 404, kNoPodError);
  const Outcome r = run_in_process(why_opts(agent_, "x/zz", "y/b", "80/TCP"));
  EXPECT_EQ(r.code, kExitAgent);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "strandctl: agent at " + agent_.address() +
                       ": why x/zz -> y/b 80/TCP: HTTP 404 Not Found: why no pod x/zz in the agent's model: No such file or "
                       "directory (ENOENT)\n");
  // An agent without a model, and one that answers something else.
  agent_.set_why("x/a", "y/b", "80/TCP", 404, R"js({"error": "this agent has no cluster model (no source configured)"})js");
  const Outcome m = run_in_process(why_opts(agent_, "x/a", "y/b", "80/TCP"));
  EXPECT_EQ(m.code, kExitAgent);
  EXPECT_EQ(m.err, "strandctl: agent at " + agent_.address() +
                       ": why x/a -> y/b 80/TCP: HTTP 404 Not Found: this agent has no cluster model (no source "
                       "configured)\n");
  agent_.set_why("x/a", "y/b", "81/TCP", 200, R"({"items": []})");
  const Outcome odd = run_in_process(why_opts(agent_, "x/a", "y/b", "81/TCP"));
  EXPECT_EQ(odd.code, kExitAgent);
  EXPECT_EQ(odd.out, "");
  EXPECT_EQ(odd.err, "strandctl: agent at " + agent_.address() + ": why x/a -> y/b 81/TCP: the body is not a verdict\n");
}

TEST_F(Ctl, PoliciesTableAndJson) {
  const Outcome r = run_in_process(opts_for(agent_, Command::kPolicies));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, render_policies(json::parse(canned::kPolicies)));
  EXPECT_TRUE(r.out.starts_with("NAMESPACE    NAME       TYPES")) << r.out;
  EXPECT_EQ(agent_.requests(), std::vector<std::string>{"/v1/policies"});

  Options j = opts_for(agent_, Command::kPolicies);
  j.output = Output::kJson;
  const Outcome rj = run_in_process(j);
  EXPECT_EQ(rj.code, kExitOk) << rj.err;
  EXPECT_EQ(rj.out, json::parse(canned::kPolicies).dump(2) + "\n");

  j.ns = "kube-system";
  const Outcome ns = run_in_process(j);
  EXPECT_EQ(ns.code, kExitOk) << ns.err;
  const json body = json::parse(ns.out);
  ASSERT_EQ(body["items"].size(), 1u);
  EXPECT_EQ(body["items"][0]["name"], "odd");
  EXPECT_EQ(body["isolationDenies"], 7);

  Options t = opts_for(agent_, Command::kPolicies);
  t.ns = "default";
  const Outcome nt = run_in_process(t);
  EXPECT_EQ(nt.code, kExitOk) << nt.err;
  EXPECT_EQ(nt.out,
            "NAMESPACE  NAME       TYPES           ENFORCED  SELECTS      LOCAL       RULES  HITS\n"
            "default    allow-web  Ingress         yes       web-1,web-2  web-1       2      12\n"
            "default    deny-all   Ingress,Egress  yes       5 pods       web-1,db-0  0      -\n"
            "Isolation denies:  7\n"
            "Model version:     42 (applied 41)\n"
            "Generation:        3\n");
}

TEST_F(Ctl, FlowsAndDropsTablesNameThePolicy) {
  const Outcome f = run_in_process(opts_for(agent_, Command::kFlows));
  ASSERT_EQ(f.code, kExitOk) << f.err;
  std::istringstream lines(f.out);
  std::vector<std::string> got;
  for (std::string l; std::getline(lines, l);) got.push_back(l);
  ASSERT_EQ(got.size(), 4u) << f.out;
  EXPECT_TRUE(got[0].ends_with("VERDICT  POLICY")) << got[0];
  EXPECT_TRUE(got[1].ends_with("allowed  -")) << got[1];                               // 19: not isolated
  EXPECT_TRUE(got[2].ends_with("allowed  -")) << got[2];                               // 18: no policy object
  EXPECT_TRUE(got[3].ends_with("allowed  default/allow-egress egress[0]")) << got[3];  // 17
  const Outcome d = run_in_process(opts_for(agent_, Command::kDrops));
  ASSERT_EQ(d.code, kExitOk) << d.err;
  EXPECT_NE(d.out.find("policy-denied  TCP    10.244.2.7:50000         10.244.1.5:8080        isolated by default/allow-web\n"),
            std::string::npos)
      << d.out;
}

TEST(CtlUnreachable, ExitsOneWithConnectionRefused) {
  const ClosedPort closed;
  for (Command c : {Command::kEndpoints, Command::kFlows, Command::kDrops, Command::kStatus}) {
    Options o;
    o.command = c;
    o.agent = parse_address(closed.address()).value();
    o.follow = c == Command::kFlows;
    const Outcome r = run_in_process(o);
    EXPECT_EQ(r.code, kExitAgent);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "strandctl: cannot reach agent at " + closed.address() + ": connection refused\n");
  }
}

// Runs --follow on a thread until the test stops it; output is read after join.
class Follow {
 public:
  explicit Follow(Options o) : opts_(std::move(o)) {
    thread_ = std::thread([this] {
      Io io{out_, err_, [] { return int64_t{canned::kNowMs}; }, stop_.get_token(), 20ms};
      code_ = run_command(opts_, io);
    });
  }
  ~Follow() {
    if (thread_.joinable()) (void)finish();  // a failed ASSERT left it running
  }
  Follow(const Follow&) = delete;
  Follow& operator=(const Follow&) = delete;
  Outcome finish() {
    stop_.request_stop();
    thread_.join();
    return {code_, out_.str(), err_.str()};
  }

 private:
  Options opts_;
  std::ostringstream out_;
  std::ostringstream err_;
  std::stop_source stop_;
  int code_ = -1;
  std::thread thread_;
};

TEST_F(Ctl, FollowPrintsNewItemsOnce) {
  Options o = opts_for(agent_, Command::kFlows);
  o.follow = true;
  Follow f(o);
  ASSERT_TRUE(agent_.wait_for_request("/v1/flows?after=19"));
  agent_.add_flow(kFlowNew);
  // A poll with after=20 means the follower has seen and printed flow 20.
  ASSERT_TRUE(agent_.wait_for_request("/v1/flows?after=20"));
  const Outcome r = f.finish();
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.err, "");
  const int64_t now = canned::kNowMs;
  TableStream expect(flow_headers());
  std::string want = expect.render({flow_row(json::parse(canned::kFlowTcp), now),
                                    flow_row(json::parse(canned::kFlowIcmp6), now),
                                    flow_row(json::parse(canned::kFlowUdp6), now)});
  want += expect.render({flow_row(json::parse(kFlowNew), now)});
  EXPECT_EQ(r.out, want);
  const auto reqs = agent_.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.front(), "/v1/flows");
}

TEST_F(Ctl, FollowJsonLinesWithPod) {
  Options o = opts_for(agent_, Command::kFlows);
  o.follow = true;
  o.output = Output::kJson;
  o.pod = "default/web-1";
  Follow f(o);
  ASSERT_TRUE(agent_.wait_for_request("/v1/flows?after=18&pod=default/web-1"));
  agent_.add_flow(kFlowNew);
  ASSERT_TRUE(agent_.wait_for_request("/v1/flows?after=20&pod=default/web-1"));
  const Outcome r = f.finish();
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, json::parse(canned::kFlowTcp).dump() + "\n" + json::parse(canned::kFlowIcmp6).dump() + "\n" +
                       json::parse(kFlowNew).dump() + "\n");
}

TEST_F(Ctl, FollowDoesNotRepeatRowsWhenTheAgentIgnoresAfter) {
  agent_.ignore_after(true);
  Options o = opts_for(agent_, Command::kDrops);
  o.follow = true;
  o.output = Output::kJson;
  Follow f(o);
  ASSERT_TRUE(agent_.wait_for_count("/v1/drops?after=4", 3));
  const Outcome r = f.finish();
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, json::parse(canned::kDropPolicy).dump() + "\n" + json::parse(canned::kDropUnparsed).dump() + "\n");
}

TEST_F(Ctl, FollowRidesOutAnOutageAndARestartedAgent) {
  Options o = opts_for(agent_, Command::kFlows);
  o.follow = true;
  o.output = Output::kJson;
  Follow f(o);
  ASSERT_TRUE(agent_.wait_for_request("/v1/flows?after=19"));
  agent_.force("/v1/flows", 503, R"({"error": "starting"})");
  // Restarted: sequence numbers start again at 1.
  agent_.clear_flows();
  json restarted = json::parse(kFlowNew);
  restarted["seq"] = 1;
  agent_.add_flow(restarted.dump());
  const size_t before = agent_.count("/v1/flows?after=19");
  ASSERT_TRUE(agent_.wait_for_count("/v1/flows?after=19", before + 2));
  agent_.force("/v1/flows", 0, "");
  ASSERT_TRUE(agent_.wait_for_request("/v1/flows?after=1"));
  const Outcome r = f.finish();
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, json::parse(canned::kFlowTcp).dump() + "\n" + json::parse(canned::kFlowIcmp6).dump() + "\n" +
                       json::parse(canned::kFlowUdp6).dump() + "\n" + restarted.dump() + "\n");
  const std::string addr = agent_.address();
  EXPECT_EQ(r.err, "strandctl: agent at " + addr + ": GET /v1/flows?after=19: HTTP 503 Service Unavailable: starting (retrying)\n"
                   "strandctl: agent at " + addr + " is back\n"
                   "strandctl: agent at " + addr + " restarted; following its new items\n");
}

// ---- the real binary ----

// A spawned strandctl; killed and reaped if a failed ASSERT leaves it running.
struct Child {
  pid_t pid = -1;
  std::string out_path;
  std::string err_path;
  Child(pid_t p, std::string out, std::string err) : pid(p), out_path(std::move(out)), err_path(std::move(err)) {}
  Child(Child&& o) noexcept : pid(std::exchange(o.pid, -1)), out_path(std::move(o.out_path)), err_path(std::move(o.err_path)) {}
  Child(const Child&) = delete;
  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      unlink(out_path.c_str());
      unlink(err_path.c_str());
    }
  }
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

Child spawn(const std::vector<std::string>& args, const char* agent_env) {
  static int n = 0;
  const std::string base = ::testing::TempDir() + "strandctl." + std::to_string(getpid()) + "." + std::to_string(n++);
  Child c{-1, base + ".out", base + ".err"};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string_view(*e).rfind("STRAND_AGENT=", 0) != 0) env.emplace_back(*e);
  if (agent_env != nullptr) env.push_back(std::string("STRAND_AGENT=") + agent_env);
  std::vector<char*> argv{const_cast<char*>(STRANDCTL_BIN)};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  c.pid = fork();
  if (c.pid == 0) {
    const int o = open(c.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = open(c.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(127);
    execve(STRANDCTL_BIN, argv.data(), envp.data());
    _exit(127);
  }
  return c;
}

Outcome wait_child(Child& c) {
  int status = 0;
  EXPECT_EQ(waitpid(c.pid, &status, 0), c.pid);
  c.pid = -1;
  Outcome r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(c.out_path);
  r.err = slurp(c.err_path);
  unlink(c.out_path.c_str());
  unlink(c.err_path.c_str());
  return r;
}

Outcome run_binary(const std::vector<std::string>& args, const char* agent_env = nullptr) {
  Child c = spawn(args, agent_env);
  return wait_child(c);
}

TEST(CtlBinary, UnreachableAgentExitsOne) {
  const ClosedPort closed;
  const Outcome r = run_binary({"flows", "--agent", closed.address()});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "strandctl: cannot reach agent at " + closed.address() + ": connection refused\n");
  const Outcome env = run_binary({"status"}, closed.address().c_str());
  EXPECT_EQ(env.code, 1);
  EXPECT_EQ(env.err, "strandctl: cannot reach agent at " + closed.address() + ": connection refused\n");
}

TEST(CtlBinary, UsageErrorExitsTwo) {
  EXPECT_EQ(run_binary({}).code, 2);
  EXPECT_EQ(run_binary({"why"}).code, 2);
  EXPECT_EQ(run_binary({"drops", "--pod", "nope"}).code, 2);
  EXPECT_EQ(run_binary({"status"}, "not-an-address").code, 2);
  const Outcome help = run_binary({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("Usage: strandctl"), std::string::npos);
}

TEST_F(Ctl, BinaryWhyExitCodes) {
  agent_.set_why("x/a", "y/b", "53/UDP", 200, canned::kWhyAllowed);
  agent_.set_why("x/a", "y/b", "80/TCP", 200, canned::kWhyDeniedIngress);
  agent_.set_why("x/zz", "y/b", "80/TCP", 404, kNoPodError);
  const Outcome ok = run_binary({"why", "--from", "x/a", "--to", "y/b", "--port", "53/udp", "--agent", agent_.address()});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(ok.out, render_why(json::parse(canned::kWhyAllowed)));
  const Outcome denied = run_binary({"why", "--from", "x/a", "--to", "y/b", "--port", "80"}, agent_.address().c_str());
  EXPECT_EQ(denied.code, 3) << denied.err;
  EXPECT_EQ(denied.err, "");
  EXPECT_EQ(denied.out, render_why(json::parse(canned::kWhyDeniedIngress)));
  const Outcome json_denied =
      run_binary({"-o", "json", "why", "--from", "x/a", "--to", "y/b", "--port", "80/TCP"}, agent_.address().c_str());
  EXPECT_EQ(json_denied.code, 3) << json_denied.err;
  EXPECT_EQ(json_denied.out, json::parse(canned::kWhyDeniedIngress).dump(2) + "\n");
  const Outcome unknown = run_binary({"why", "--from", "x/zz", "--to", "y/b", "--port", "80"}, agent_.address().c_str());
  EXPECT_EQ(unknown.code, 1);
  EXPECT_EQ(unknown.out, "");
  EXPECT_EQ(unknown.err, "strandctl: agent at " + agent_.address() +
                             ": why x/zz -> y/b 80/TCP: HTTP 404 Not Found: why no pod x/zz in the agent's model: No such file or "
                       "directory (ENOENT)\n");
  const Outcome usage = run_binary({"why", "--from", "x/a", "--to", "y/b", "--port", "99999"}, agent_.address().c_str());
  EXPECT_EQ(usage.code, 2);
  EXPECT_EQ(usage.out, "");
  EXPECT_NE(usage.err.find("--port: want PORT or PORT/PROTO with PORT 1..65535, got \"99999\""), std::string::npos)
      << usage.err;
  // Usage errors are found before any request.
  for (const auto& r : agent_.requests()) EXPECT_FALSE(r.ends_with("port=99999")) << r;
  EXPECT_EQ(agent_.count("/v1/why?from=x/a&port=80/TCP&to=y/b"), 2u);
}

TEST_F(Ctl, BinaryServerErrorExitsOne) {
  agent_.force("/v1/drops", 500, R"({"error": "ringbuf reader stopped"})");
  const Outcome r = run_binary({"drops", "--agent", agent_.address()});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "strandctl: agent at " + agent_.address() +
                       ": GET /v1/drops: HTTP 500 Internal Server Error: ringbuf reader stopped\n");
}

TEST_F(Ctl, BinaryEndpointsViaEnv) {
  const Outcome r = run_binary({"endpoints", "-o", "json"}, agent_.address().c_str());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, json::parse(canned::kEndpoints).dump(2) + "\n");
}

TEST_F(Ctl, BinaryFollowPicksUpNewDropAndExitsZeroOnSigint) {
  Child c = spawn({"drops", "--follow", "--agent", agent_.address()}, nullptr);
  ASSERT_TRUE(agent_.wait_for_request("/v1/drops?after=4"));
  agent_.add_drop(R"({"seq": 5, "time": "2026-11-23T19:04:06.000000000Z", "timeMs": 1795460646000,
    "namespace": "default", "pod": "web-1", "direction": "egress", "reason": "no-route",
    "family": 4, "protocol": "UDP", "src": "10.244.1.5", "srcPort": 5000, "dst": "10.99.0.1", "dstPort": 53,
    "length": 60, "policy": null, "rule": null})");
  ASSERT_TRUE(agent_.wait_for_request("/v1/drops?after=5"));
  ASSERT_EQ(kill(c.pid, SIGINT), 0);
  const Outcome r = wait_child(c);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.err, "");
  // Header, the two existing drops oldest first, then the new one, each once.
  std::istringstream lines(r.out);
  std::vector<std::string> got;
  for (std::string l; std::getline(lines, l);) got.push_back(l);
  ASSERT_EQ(got.size(), 4u) << r.out;
  EXPECT_TRUE(got[0].starts_with("TIME ")) << got[0];
  EXPECT_NE(got[1].find("policy-denied"), std::string::npos) << got[1];
  EXPECT_NE(got[2].find("unparsed"), std::string::npos) << got[2];
  EXPECT_NE(got[3].find("no-route"), std::string::npos) << got[3];
  EXPECT_NE(got[3].find("10.99.0.1:53"), std::string::npos) << got[3];
}

}  // namespace
}  // namespace strand::ctl
