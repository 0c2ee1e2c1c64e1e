#pragma once
// IpAddr and IpPrefix: IPv4/IPv6 values shared by netlink, IPAM and the CNI.
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace strand {

struct IpAddr {
  int family = 0;                  // AF_INET or AF_INET6; 0 = unset
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

  [[nodiscard]] static Result<IpAddr> parse(std::string_view text);
  [[nodiscard]] static IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
  [[nodiscard]] std::string str() const;
  [[nodiscard]] bool is_v4() const { return family == AF_INET; }
  [[nodiscard]] bool is_v6() const { return family == AF_INET6; }
  [[nodiscard]] bool valid() const { return family == AF_INET || family == AF_INET6; }
  [[nodiscard]] size_t size() const { return is_v4() ? 4 : 16; }
  [[nodiscard]] unsigned max_prefix() const { return is_v4() ? 32 : 128; }
  // The address plus n (wraps within the family); used to walk IPAM ranges.
  [[nodiscard]] IpAddr plus(uint64_t n) const;
  [[nodiscard]] IpAddr next() const { return plus(1); }

  auto operator<=>(const IpAddr&) const = default;
  bool operator==(const IpAddr&) const = default;
};

struct IpPrefix {
  IpAddr addr;       // may have host bits set (an interface address "10.0.0.5/24")
  uint8_t len = 0;

  // "10.0.0.5/24", "fd00::1/64"; a bare address gets the full length.
  [[nodiscard]] static Result<IpPrefix> parse(std::string_view text);
  [[nodiscard]] std::string str() const;
  [[nodiscard]] IpPrefix network() const;         // host bits cleared
  [[nodiscard]] IpAddr last() const;              // all host bits set
  [[nodiscard]] bool contains(const IpAddr& a) const;
  [[nodiscard]] bool contains(const IpPrefix& p) const { return p.len >= len && contains(p.addr); }
  [[nodiscard]] int family() const { return addr.family; }

  auto operator<=>(const IpPrefix&) const = default;
  bool operator==(const IpPrefix&) const = default;
};

}  // namespace strand
