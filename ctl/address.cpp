#include "ctl/address.h"

#include <cerrno>
#include <charconv>

namespace strand::ctl {

std::string AgentAddress::str() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<AgentAddress> parse_address(std::string_view text) {
  const std::string shown(text);
  std::string_view s = text;
  if (s.starts_with("http://")) s.remove_prefix(7);
  if (s.ends_with('/')) s.remove_suffix(1);
  std::string_view host;
  std::string_view port;
  if (s.starts_with('[')) {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return fail("parse agent address", EINVAL, "\"" + shown + "\": expected [IPV6]:PORT");
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos)
      return fail("parse agent address", EINVAL, "\"" + shown + "\": expected HOST:PORT");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return fail("parse agent address", EINVAL, "\"" + shown + "\": put an IPv6 address in brackets, [::1]:9464");
  }
  if (host.empty()) return fail("parse agent address", EINVAL, "\"" + shown + "\": empty host");
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
    return fail("parse agent address", EINVAL, "\"" + shown + "\": port must be 1-65535");
  return AgentAddress{std::string(host), static_cast<uint16_t>(value)};
}

Result<AgentAddress> choose_address(const std::optional<std::string>& flag, const char* env_value) {
  if (flag) {
    auto a = parse_address(*flag);
    if (!a) return std::unexpected(with_context(a.error(), "--agent"));
    return a;
  }
  if (env_value != nullptr && *env_value != '\0') {
    auto a = parse_address(env_value);
    if (!a) return std::unexpected(with_context(a.error(), std::string(kAgentEnv)));
    return a;
  }
  return parse_address(kDefaultAgent);
}

}  // namespace strand::ctl
