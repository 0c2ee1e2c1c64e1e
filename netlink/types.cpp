#include "netlink/types.h"

#include <net/if.h>

#include <string_view>

namespace strand::netlink {

namespace {
constexpr std::string_view kHex = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string mac_str(const Mac& m) {
  std::string out(17, ':');
  for (size_t i = 0; i < m.size(); ++i) {
    out[i * 3] = kHex[m[i] >> 4];
    out[i * 3 + 1] = kHex[m[i] & 0xf];
  }
  return out;
}

Result<Mac> parse_mac(std::string_view text) {
  // Exactly six two-digit hex groups separated by ':' (or '-').
  auto bad = [&] { return fail("parse mac", EINVAL, "'" + std::string(text) + "' is not a MAC address"); };
  if (text.size() != 17) return bad();
  Mac mac{};
  for (size_t i = 0; i < mac.size(); ++i) {
    int hi = hex_value(text[i * 3]);
    int lo = hex_value(text[i * 3 + 1]);
    if (hi < 0 || lo < 0) return bad();
    if (i + 1 < mac.size() && text[i * 3 + 2] != ':' && text[i * 3 + 2] != '-') return bad();
    mac[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return mac;
}

bool Link::up() const { return (flags & IFF_UP) != 0; }

}  // namespace strand::netlink
