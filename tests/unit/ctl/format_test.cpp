// Pure pieces of strandctl: addresses, units, table layout, argv parsing.
#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <vector>

#include "ctl/address.h"
#include "ctl/cli.h"
#include "ctl/client.h"
#include "ctl/table.h"
#include "ctl/units.h"
#include "canned.h"

namespace strand::ctl {
namespace {

TEST(CtlAddress, ParsesHostPortForms) {
  EXPECT_EQ(parse_address("127.0.0.1:9464").value(), (AgentAddress{"127.0.0.1", 9464}));
  EXPECT_EQ(parse_address("[::1]:80").value(), (AgentAddress{"::1", 80}));
  EXPECT_EQ(parse_address("http://node-1:65535/").value(), (AgentAddress{"node-1", 65535}));
  EXPECT_EQ(parse_address("[fd00::1]:9464").value().str(), "[fd00::1]:9464");
  EXPECT_EQ(parse_address("localhost:1").value().str(), "localhost:1");
}

TEST(CtlAddress, RejectsMalformed) {
  for (const char* bad : {"", "host", ":80", "host:", "host:0", "host:65536", "host:12a", "::1:9464", "[::1]9464",
                          "[::1]", "[]:80", "host:-1"}) {
    auto r = parse_address(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().err, EINVAL) << bad;
    EXPECT_NE(r.error().context.find(std::string("\"") + bad + "\""), std::string::npos) << r.error().context;
  }
}

TEST(CtlAddress, FlagThenEnvThenDefault) {
  EXPECT_EQ(choose_address(std::string("10.0.0.1:1"), "10.0.0.2:2").value().str(), "10.0.0.1:1");
  EXPECT_EQ(choose_address(std::nullopt, "10.0.0.2:2").value().str(), "10.0.0.2:2");
  EXPECT_EQ(choose_address(std::nullopt, "").value().str(), "127.0.0.1:9464");
  EXPECT_EQ(choose_address(std::nullopt, nullptr).value().str(), "127.0.0.1:9464");
  auto bad_env = choose_address(std::nullopt, "nope");
  ASSERT_FALSE(bad_env);
  EXPECT_EQ(describe(bad_env.error()), "parse agent address: STRAND_AGENT: \"nope\": expected HOST:PORT");
  auto bad_flag = choose_address(std::string("x:0"), nullptr);
  ASSERT_FALSE(bad_flag);
  EXPECT_EQ(describe(bad_flag.error()), "parse agent address: --agent: \"x:0\": port must be 1-65535");
}

TEST(CtlUnits, Bytes) {
  EXPECT_EQ(format_bytes(0), "0B");
  EXPECT_EQ(format_bytes(900), "900B");
  EXPECT_EQ(format_bytes(1023), "1023B");
  EXPECT_EQ(format_bytes(1024), "1.0KiB");
  EXPECT_EQ(format_bytes(1234), "1.2KiB");
  EXPECT_EQ(format_bytes(1536), "1.5KiB");
  EXPECT_EQ(format_bytes(1048473), "1023.9KiB");
  EXPECT_EQ(format_bytes(1048575), "1.0MiB");
  EXPECT_EQ(format_bytes(5ull << 20), "5.0MiB");
  EXPECT_EQ(format_bytes(1ull << 30), "1.0GiB");
  EXPECT_EQ(format_bytes(3ull << 40), "3.0TiB");
  EXPECT_EQ(format_bytes(UINT64_MAX), "16.0EiB");
}

TEST(CtlUnits, Micros) {
  EXPECT_EQ(format_micros(0), "0us");
  EXPECT_EQ(format_micros(42), "42us");
  EXPECT_EQ(format_micros(999), "999us");
  EXPECT_EQ(format_micros(1000), "1.0ms");
  EXPECT_EQ(format_micros(1500), "1.5ms");
  EXPECT_EQ(format_micros(999949), "999.9ms");
  EXPECT_EQ(format_micros(999950), "1.0s");
  EXPECT_EQ(format_micros(2300000), "2.3s");
}

TEST(CtlUnits, Age) {
  EXPECT_EQ(format_age(-5), "0s");
  EXPECT_EQ(format_age(999), "0s");
  EXPECT_EQ(format_age(45'000), "45s");
  EXPECT_EQ(format_age(60'000), "1m");
  EXPECT_EQ(format_age(192'000), "3m12s");
  EXPECT_EQ(format_age(7'200'000), "2h");
  EXPECT_EQ(format_age(7'500'000), "2h5m");
  EXPECT_EQ(format_age(86'400'000), "1d");
  EXPECT_EQ(format_age(3 * 86'400'000LL + 4 * 3'600'000LL + 59'000), "3d4h");
}

TEST(CtlUnits, Time) {
  const int64_t now = canned::kNowMs;  // 2026-11-23T19:04:05.123Z
  EXPECT_EQ(format_time(now, now), "19:04:05.123");
  EXPECT_EQ(format_time(now - 100, now), "19:04:05.023");
  EXPECT_EQ(format_time(now - 86'399'999, now), "19:04:05.124");
  EXPECT_EQ(format_time(now - 86'400'000, now), "2026-11-22T19:04:05");
  EXPECT_EQ(format_time(1795161600500LL, now), "2026-11-20T08:00:00");
  EXPECT_EQ(format_time(0, now), "1970-01-01T00:00:00");
}

TEST(CtlTable, AlignsColumnsWithoutTrailingSpaces) {
  const std::string out = render_table({"A", "LONGER", "C"}, {{"wide-cell", "x", "last"}, {"b", "", ""}});
  EXPECT_EQ(out,
            "A          LONGER  C\n"
            "wide-cell  x       last\n"
            "b\n");
}

TEST(CtlTable, CountsCodePointsNotBytes) {
  EXPECT_EQ(display_width("µs"), 2u);
  EXPECT_EQ(render_table({"X", "Y"}, {{"é", "1"}}), "X  Y\né  1\n");
}

TEST(CtlTable, StreamPrintsHeaderOnceAndOnlyWidens) {
  TableStream t({"POD", "DIR"});
  EXPECT_EQ(t.render({}), "POD  DIR\n");
  EXPECT_EQ(t.render({{"default/web-1", "egress"}}), "default/web-1  egress\n");
  EXPECT_EQ(t.render({{"a/b", "in"}}), "a/b            in\n");
}

TEST(CtlClient, TargetEncodesValues) {
  EXPECT_EQ(build_target("/v1/flows", {}), "/v1/flows");
  EXPECT_EQ(build_target("/v1/flows", {{"pod", "default/web-1"}, {"after", "17"}}),
            "/v1/flows?pod=default%2Fweb-1&after=17");
  EXPECT_EQ(build_target("/v1/drops", {{"pod", "a b/c&d=e"}}), "/v1/drops?pod=a%20b%2Fc%26d%3De");
}

TEST(CtlClient, HttpErrorDetail) {
  EXPECT_EQ(http_error_detail(500, R"({"error": "flow table unavailable"})"),
            "HTTP 500 Internal Server Error: flow table unavailable");
  EXPECT_EQ(http_error_detail(404, "404 page not found\n"), "HTTP 404 Not Found: 404 page not found");
  EXPECT_EQ(http_error_detail(418, ""), "HTTP 418");
  EXPECT_EQ(http_error_detail(503, "line1\nline2"), "HTTP 503 Service Unavailable: line1 line2");
}

struct Parsed {
  std::expected<Options, int> opts;
  std::string out;
  std::string err;
};

Parsed parse(std::vector<const char*> args, const char* env = nullptr) {
  args.insert(args.begin(), "strandctl");
  std::ostringstream out;
  std::ostringstream err;
  auto r = parse_args(static_cast<int>(args.size()), args.data(), env, out, err);
  return {std::move(r), out.str(), err.str()};
}

TEST(CtlCli, FlowsWithEveryOption) {
  auto p = parse({"flows", "--pod", "default/web-1", "--follow", "-o", "json", "--limit", "5"});
  ASSERT_TRUE(p.opts) << p.err;
  EXPECT_EQ(p.opts->command, Command::kFlows);
  EXPECT_EQ(p.opts->pod, "default/web-1");
  EXPECT_TRUE(p.opts->follow);
  EXPECT_EQ(p.opts->output, Output::kJson);
  EXPECT_EQ(p.opts->limit, 5u);
  EXPECT_EQ(p.opts->agent.str(), "127.0.0.1:9464");
}

TEST(CtlCli, AgentFromFlagEitherSideOfTheSubcommandOrFromEnv) {
  EXPECT_EQ(parse({"--agent", "10.0.0.1:1", "status"}).opts->agent.str(), "10.0.0.1:1");
  EXPECT_EQ(parse({"drops", "--agent", "10.0.0.1:2", "-f"}).opts->agent.str(), "10.0.0.1:2");
  auto env = parse({"endpoints"}, "[::1]:3");
  ASSERT_TRUE(env.opts);
  EXPECT_EQ(env.opts->agent.str(), "[::1]:3");
  EXPECT_EQ(env.opts->command, Command::kEndpoints);
  EXPECT_FALSE(env.opts->follow);
  EXPECT_EQ(env.opts->output, Output::kTable);
  EXPECT_FALSE(env.opts->pod);
  EXPECT_FALSE(env.opts->limit);
}

TEST(CtlCli, UsageErrorsExitTwo) {
  const std::vector<std::vector<const char*>> cases = {
      {},
      {"why"},
      {"flows", "-o", "yaml"},
      {"flows", "--pod", "web-1"},
      {"flows", "--pod", "default/"},
      {"flows", "--pod", "a/b/c"},
      {"endpoints", "--follow"},
      {"status", "--pod", "default/web-1"},
      {"drops", "--limit", "0"},
      {"drops", "--limit", "many"},
      {"flows", "--agent", "nope"},
      {"flows", "drops"},
      {"why", "--from", "x/a", "--to", "y/b"},
      {"why", "--from", "x/a", "--port", "80"},
      {"why", "--to", "y/b", "--port", "80"},
      {"why", "--from", "a", "--to", "y/b", "--port", "80"},
      {"why", "--from", "x/a", "--to", "10.0.0.0/8", "--port", "80"},
      {"why", "--from", "x/a", "--to", "y/b", "--port", "0"},
      {"why", "--from", "x/a", "--to", "y/b", "--port", "65536"},
      {"why", "--from", "x/a", "--to", "y/b", "--port", "80/ICMP"},
      {"why", "--from", "x/a", "--to", "y/b", "--port", "80", "--pod", "x/a"},
      {"policies", "--namespace", "a/b"},
      {"policies", "--follow"},
  };
  for (const auto& c : cases) {
    auto p = parse(c);
    ASSERT_FALSE(p.opts) << (c.empty() ? "(none)" : c[0]);
    EXPECT_EQ(p.opts.error(), kExitUsage) << (c.empty() ? "(none)" : c[0]);
    EXPECT_FALSE(p.err.empty());
  }
  auto bad_env = parse({"status"}, "nope");
  ASSERT_FALSE(bad_env.opts);
  EXPECT_EQ(bad_env.opts.error(), kExitUsage);
  EXPECT_EQ(bad_env.err, "strandctl: parse agent address: STRAND_AGENT: \"nope\": expected HOST:PORT\n");
}

TEST(CtlCli, WhyAndPolicies) {
  auto w = parse({"why", "--from", "x/a", "--to", "fd00::7", "--port", "53/udp", "-o", "json"});
  ASSERT_TRUE(w.opts) << w.err;
  EXPECT_EQ(w.opts->command, Command::kWhy);
  EXPECT_EQ(w.opts->from, "x/a");
  EXPECT_EQ(w.opts->to, "fd00::7");
  EXPECT_EQ(w.opts->port, "53/UDP");
  EXPECT_EQ(w.opts->output, Output::kJson);
  auto tcp = parse({"why", "--port", "8080", "--to", "y/b", "--from", "10.1.2.3"});
  ASSERT_TRUE(tcp.opts) << tcp.err;
  EXPECT_EQ(tcp.opts->port, "8080/TCP");
  EXPECT_EQ(tcp.opts->from, "10.1.2.3");

  auto bad = parse({"why", "--from", "x/a", "--to", "y/b", "--port", "80/icmp"});
  ASSERT_FALSE(bad.opts);
  EXPECT_EQ(bad.opts.error(), kExitUsage);
  EXPECT_NE(bad.err.find("--port: protocol must be TCP, UDP or SCTP, got \"80/icmp\""), std::string::npos) << bad.err;
  auto pod = parse({"why", "--from", "web-1", "--to", "y/b", "--port", "80"});
  ASSERT_FALSE(pod.opts);
  EXPECT_NE(pod.err.find("--from: want NAMESPACE/POD or an IP address, got \"web-1\""), std::string::npos) << pod.err;

  auto all = parse({"policies"});
  ASSERT_TRUE(all.opts) << all.err;
  EXPECT_EQ(all.opts->command, Command::kPolicies);
  EXPECT_FALSE(all.opts->ns);
  auto one = parse({"policies", "-n", "kube-system"});
  ASSERT_TRUE(one.opts) << one.err;
  EXPECT_EQ(one.opts->ns, "kube-system");
}

TEST(CtlCli, HelpExitsZeroOnStdout) {
  auto p = parse({"--help"});
  ASSERT_FALSE(p.opts);
  EXPECT_EQ(p.opts.error(), kExitOk);
  EXPECT_NE(p.out.find("endpoints"), std::string::npos);
  EXPECT_NE(p.out.find("policies"), std::string::npos);
  EXPECT_NE(p.out.find("why"), std::string::npos);
  auto sub = parse({"flows", "--help"});
  ASSERT_FALSE(sub.opts);
  EXPECT_EQ(sub.opts.error(), kExitOk);
  EXPECT_NE(sub.out.find("--follow"), std::string::npos);
}

}  // namespace
}  // namespace strand::ctl
