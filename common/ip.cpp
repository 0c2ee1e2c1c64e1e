#include "common/ip.h"

#include <arpa/inet.h>

#include <charconv>

namespace strand {

Result<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return fail("parse ip", EINVAL, "'" + std::string(text) + "'");
  std::string s(text);
  IpAddr a;
  if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return fail("parse ip", EINVAL, "'" + s + "' is not an IPv4 or IPv6 address");
}

IpAddr IpAddr::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddr ip;
  ip.family = AF_INET;
  ip.bytes[0] = a;
  ip.bytes[1] = b;
  ip.bytes[2] = c;
  ip.bytes[3] = d;
  return ip;
}

std::string IpAddr::str() const {
  if (!valid()) return "<none>";
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, bytes.data(), buf, sizeof(buf));
  return buf;
}

IpAddr IpAddr::plus(uint64_t n) const {
  IpAddr out = *this;
  int i = static_cast<int>(size()) - 1;
  unsigned carry = 0;
  while (i >= 0 && (n != 0 || carry != 0)) {
    unsigned sum = out.bytes[i] + static_cast<unsigned>(n & 0xff) + carry;
    out.bytes[i] = static_cast<uint8_t>(sum & 0xff);
    carry = sum >> 8;
    n >>= 8;
    --i;
  }
  return out;
}

Result<IpPrefix> IpPrefix::parse(std::string_view text) {
  auto slash = text.find('/');
  auto addr = IpAddr::parse(text.substr(0, slash));
  if (!addr) return std::unexpected(addr.error());
  IpPrefix p{*addr, static_cast<uint8_t>(addr->max_prefix())};
  if (slash == std::string_view::npos) return p;
  auto len_text = text.substr(slash + 1);
  unsigned len = 0;
  auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (ec != std::errc() || ptr != len_text.data() + len_text.size() || len_text.empty() || len > addr->max_prefix()) {
    return fail("parse prefix", EINVAL, "'" + std::string(text) + "' has an invalid prefix length");
  }
  p.len = static_cast<uint8_t>(len);
  return p;
}

std::string IpPrefix::str() const { return addr.str() + "/" + std::to_string(len); }

IpPrefix IpPrefix::network() const {
  IpPrefix out = *this;
  for (size_t i = 0; i < addr.size(); ++i) {
    int bits = static_cast<int>(len) - static_cast<int>(i * 8);
    uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
    out.addr.bytes[i] &= mask;
  }
  return out;
}

IpAddr IpPrefix::last() const {
  IpAddr out = network().addr;
  for (size_t i = 0; i < addr.size(); ++i) {
    int bits = static_cast<int>(len) - static_cast<int>(i * 8);
    uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
    out.bytes[i] |= static_cast<uint8_t>(~mask);
  }
  return out;
}

bool IpPrefix::contains(const IpAddr& a) const {
  if (a.family != addr.family) return false;
  IpPrefix other{a, len};
  return other.network().addr == network().addr;
}

}  // namespace strand
