#pragma once
// The agent's HTTP address: HOST:PORT from --agent, else $STRAND_AGENT, else
// the agent's default listen address.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace strand::ctl {

inline constexpr std::string_view kDefaultAgent = "127.0.0.1:9464";
inline constexpr std::string_view kAgentEnv = "STRAND_AGENT";

struct AgentAddress {
  std::string host;  // name, IPv4 or IPv6 (without brackets)
  uint16_t port = 0;

  // "127.0.0.1:9464", "[::1]:9464"
  [[nodiscard]] std::string str() const;
  bool operator==(const AgentAddress&) const = default;
};

// "HOST:PORT" or "[V6]:PORT"; an "http://" prefix and a trailing "/" are accepted.
[[nodiscard]] Result<AgentAddress> parse_address(std::string_view text);

// The flag when given, else the environment value when non-empty, else the default.
// Errors name where the bad value came from.
[[nodiscard]] Result<AgentAddress> choose_address(const std::optional<std::string>& flag,
                                                  const char* env_value);

}  // namespace strand::ctl
