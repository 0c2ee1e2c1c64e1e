// Addresses, seeding and exact comparisons shared by the datapath tests.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "harness.h"
#include "packet.h"

namespace strand::test {

// One pod on the test interface, a remote subnet per family in ipcache.
inline constexpr std::uint32_t kEpId = 7;
inline constexpr std::uint32_t kEpIdentity = 1000;
inline constexpr std::uint32_t kRemoteIdentity4 = 2000;
inline constexpr std::uint32_t kRemoteIdentity6 = 2001;

inline const Ip4 kPod4{10, 1, 0, 5};
inline const Ip4 kRemote4{10, 2, 0, 9};  // in 10.2.0.0/16
inline const Ip4 kWorld4{192, 0, 2, 1};  // in no ipcache prefix
inline const Ip6 kPod6{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
inline const Ip6 kRemote6{0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};

template <std::size_t N>
std::vector<std::uint8_t> vec(const std::array<std::uint8_t, N>& a) {
  return {a.begin(), a.end()};
}

inline void seed(TcDatapath& dp) {
  dp.set_endpoint(kTestIfindex, strand_endpoint{kEpId, kEpIdentity, 0, 0});
  dp.add_ipcache(lpm_key({10, 2, 0, 0}, 16), kRemoteIdentity4);
  dp.add_ipcache(lpm_key({0x20, 0x01, 0x0d, 0xb8, 0, 2}, 48), kRemoteIdentity6);
}

inline std::string addr_string(const __be32* a, std::uint8_t family) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == STRAND_FAMILY_IPV4 ? AF_INET : AF_INET6, a, buf, sizeof(buf));
  return buf;
}

inline std::string to_string(const strand_ct_key& k) {
  return addr_string(k.saddr, k.family) + ":" + std::to_string(ntohs(k.sport)) + " -> " +
         addr_string(k.daddr, k.family) + ":" + std::to_string(ntohs(k.dport)) +
         " proto " + std::to_string(k.proto) + " dir " + std::to_string(k.dir);
}

inline bool same_key(const strand_ct_key& a, const strand_ct_key& b) {
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

// Every field, so a counter that moved unexpectedly fails by name.
inline void expect_stats_eq(const strand_ep_stats& got, const strand_ep_stats& want) {
  for (int d = 0; d < 2; ++d) {
    SCOPED_TRACE("dir " + std::to_string(d));
    EXPECT_EQ(got.packets[d], want.packets[d]) << "packets";
    EXPECT_EQ(got.bytes[d], want.bytes[d]) << "bytes";
    EXPECT_EQ(got.non_ip[d], want.non_ip[d]) << "non_ip";
    EXPECT_EQ(got.fragments[d], want.fragments[d]) << "fragments";
  }
  EXPECT_EQ(got.events_sent, want.events_sent) << "events_sent";
  EXPECT_EQ(got.events_limited, want.events_limited) << "events_limited";
  EXPECT_EQ(got.events_lost, want.events_lost) << "events_lost";
  EXPECT_EQ(got.pad, 0u);
  for (int d = 0; d < 2; ++d) {
    for (std::uint32_t r = 0; r < STRAND_DROP_SLOTS; ++r) {
      EXPECT_EQ(got.drops[d][r], want.drops[d][r]) << "drops[" << d << "][" << r << "]";
    }
  }
}

}  // namespace strand::test
