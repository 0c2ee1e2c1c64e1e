#include "ctl/cli.h"

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdint>

#include "ctl/client.h"
#include "ctl/why.h"

namespace strand::ctl {
namespace {

std::string check_pod(const std::string& v) {
  const auto slash = v.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == v.size() || v.find('/', slash + 1) != std::string::npos)
    return "want NAMESPACE/NAME, got \"" + v + "\"";
  return {};
}

std::string check_limit(const std::string& v) {
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc{} || end != v.data() + v.size() || n == 0)
    return "want a whole number of at least 1, got \"" + v + "\"";
  return {};
}

std::string check_namespace(const std::string& v) {
  if (v.empty() || v.find('/') != std::string::npos) return "want a namespace name, got \"" + v + "\"";
  return {};
}

std::string check_port(const std::string& v) {
  auto p = normalize_port(v);
  return p ? std::string() : p.error();
}

}  // namespace

std::expected<Options, int> parse_args(int argc, const char* const* argv, const char* env_agent,
                                       std::ostream& out, std::ostream& err) {
  CLI::App app{"strandctl: inspect a Strand node agent (endpoints, flows, drops, policies, why, status)", "strandctl"};
  app.require_subcommand(1);
  app.fallthrough();

  std::optional<std::string> agent;
  std::string output = "table";
  app.add_option("--agent", agent,
                 "agent HTTP address HOST:PORT (default: $STRAND_AGENT, else " + std::string(kDefaultAgent) + ")");
  app.add_option("-o,--output", output, "output format: table (default) or json (the API's JSON)")
      ->check(CLI::IsMember({"table", "json"}));

  Options opts;
  std::optional<std::string> pod;
  std::optional<uint64_t> limit;
  bool follow = false;

  const auto add_filters = [&](CLI::App* sub, bool followable) {
    sub->add_option("--pod", pod, "only this pod's items, NAMESPACE/NAME")->check(CLI::Validator(check_pod, "NS/NAME"));
    sub->add_option("--limit", limit,
                    std::string("at most N items, newest first (agent default 1000)") +
                        (followable ? "; with --follow, of the first listing" : ""))
        ->check(CLI::Validator(check_limit, "N>0"));
  };
  auto* endpoints = app.add_subcommand("endpoints", "pods on this node, their addresses and per-pod counters");
  add_filters(endpoints, false);
  auto* flows = app.add_subcommand("flows", "active and recently ended flows");
  add_filters(flows, true);
  flows->add_flag("-f,--follow", follow, "keep polling every second and print new flows as they appear");
  auto* drops = app.add_subcommand("drops", "recent dropped packets with their reason");
  add_filters(drops, true);
  drops->add_flag("-f,--follow", follow, "keep polling every second and print new drops as they appear");
  auto* status = app.add_subcommand("status", "agent health, readiness checks, counts and lost events");
  auto* policies = app.add_subcommand("policies", "NetworkPolicies: what they select, this node's endpoints, rule hits");
  std::optional<std::string> ns;
  policies->add_option("-n,--namespace", ns, "only this namespace's policies")
      ->check(CLI::Validator(check_namespace, "NS"));
  auto* why = app.add_subcommand(
      "why", "explain whether policy lets --from reach --to on --port (exit 0 allowed, 3 denied)");
  why->add_option("--from", opts.from, "the source: NAMESPACE/POD or an IP address")
      ->required()
      ->check(CLI::Validator(check_why_endpoint, "NS/POD|IP"));
  why->add_option("--to", opts.to, "the destination: NAMESPACE/POD or an IP address")
      ->required()
      ->check(CLI::Validator(check_why_endpoint, "NS/POD|IP"));
  why->add_option("--port", opts.port, "the destination port, PORT or PORT/PROTO (TCP, UDP, SCTP; default TCP)")
      ->required()
      ->check(CLI::Validator(check_port, "P[/PROTO]"));
  for (CLI::App* sub : {endpoints, flows, drops, status, policies, why})
    sub->footer("Global options, before or after the command: --agent HOST:PORT (or $STRAND_AGENT), -o table|json");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return std::unexpected(code == 0 ? kExitOk : kExitUsage);
  }

  if (endpoints->parsed()) opts.command = Command::kEndpoints;
  if (flows->parsed()) opts.command = Command::kFlows;
  if (drops->parsed()) opts.command = Command::kDrops;
  if (status->parsed()) opts.command = Command::kStatus;
  if (policies->parsed()) opts.command = Command::kPolicies;
  if (why->parsed()) {
    opts.command = Command::kWhy;
    opts.port = normalize_port(opts.port).value();  // checked above
  }
  auto addr = choose_address(agent, env_agent);
  if (!addr) {
    err << "strandctl: " << describe(addr.error()) << "\n";
    return std::unexpected(kExitUsage);
  }
  opts.agent = *addr;
  opts.output = output == "json" ? Output::kJson : Output::kTable;
  opts.pod = pod;
  opts.limit = limit;
  opts.follow = follow;
  opts.ns = ns;
  return opts;
}

}  // namespace strand::ctl
