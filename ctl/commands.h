#pragma once
// The strandctl commands, independent of argv and of the process: output goes
// to the given streams, time comes from a clock function, and --follow stops
// when the stop token is triggered (SIGINT in the binary, the test otherwise).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <stop_token>
#include <string>

#include "ctl/address.h"

namespace strand::ctl {

enum class Command { kEndpoints, kFlows, kDrops, kStatus, kPolicies, kWhy };
enum class Output { kTable, kJson };

struct Options {
  Command command = Command::kStatus;
  AgentAddress agent;
  Output output = Output::kTable;
  std::optional<std::string> pod;  // "NAMESPACE/NAME"
  std::optional<uint64_t> limit;
  bool follow = false;  // flows and drops only
  std::optional<std::string> ns;  // policies: only this namespace's
  // why: "NS/POD" or an IP address each, and "PORT/PROTO" (normalized).
  std::string from;
  std::string to;
  std::string port;
};

struct Io {
  std::ostream& out;
  std::ostream& err;
  std::function<int64_t()> now_ms;  // unix ms, for AGE and TIME columns
  std::stop_token stop;             // ends --follow
  std::chrono::milliseconds poll_interval{1000};
};

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitAgent = 1;  // unreachable, HTTP error, bad body
inline constexpr int kExitUsage = 2;
inline constexpr int kExitDenied = 3;  // why: the agent's verdict is "denied"

// Runs one command; errors are printed to io.err as "strandctl: ...".
[[nodiscard]] int run_command(const Options& opts, Io& io);

// Wall clock in unix milliseconds.
[[nodiscard]] int64_t system_now_ms();

}  // namespace strand::ctl
