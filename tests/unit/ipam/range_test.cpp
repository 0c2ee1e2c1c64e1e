#include "cni/ipam/range.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "cni/ipam/allocator.h"

namespace strand::cni::ipam {
namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

Range range(const char* subnet, const char* start, const char* end, const char* gw) {
  return Range{IpPrefix::parse(subnet)->network(), ip(start), ip(end), ip(gw)};
}

// find_free over a set with the given addresses taken; records what was asked.
struct Probe {
  std::set<std::string> taken;
  std::vector<std::string> asked;
  std::optional<IpAddr> run(const RangeSet& set, const std::optional<IpAddr>& last) {
    auto r = find_free(set, last, [this](const IpAddr& a) -> strand::Result<bool> {
      asked.push_back(a.str());
      return taken.contains(a.str());
    });
    EXPECT_TRUE(r);
    return r ? *r : std::nullopt;
  }
};

TEST(Range, ExcludesGatewayNetworkAndV4Broadcast) {
  Range r = range("10.0.0.0/29", "10.0.0.0", "10.0.0.7", "10.0.0.1");
  EXPECT_FALSE(r.allocatable(ip("10.0.0.0")));
  EXPECT_FALSE(r.allocatable(ip("10.0.0.1")));
  EXPECT_TRUE(r.allocatable(ip("10.0.0.2")));
  EXPECT_TRUE(r.allocatable(ip("10.0.0.6")));
  EXPECT_FALSE(r.allocatable(ip("10.0.0.7")));
  EXPECT_FALSE(r.allocatable(ip("10.0.0.8")));
  EXPECT_FALSE(r.allocatable(ip("fd00::2")));

  // IPv6 has no broadcast: the last address is usable, the network is not.
  Range v6 = range("fd00::/126", "fd00::", "fd00::3", "fd00::1");
  EXPECT_FALSE(v6.allocatable(ip("fd00::")));
  EXPECT_TRUE(v6.allocatable(ip("fd00::3")));
}

TEST(Range, HasAllocatableLooksPastExcludedAddresses) {
  EXPECT_FALSE(range("10.0.0.0/30", "10.0.0.1", "10.0.0.1", "10.0.0.1").has_allocatable());
  EXPECT_FALSE(range("10.0.0.0/30", "10.0.0.0", "10.0.0.1", "10.0.0.1").has_allocatable());
  EXPECT_TRUE(range("10.0.0.0/30", "10.0.0.0", "10.0.0.3", "10.0.0.1").has_allocatable());
  EXPECT_TRUE(range("10.0.0.0/24", "10.0.0.1", "10.0.0.2", "10.0.0.1").has_allocatable());
}

TEST(Range, OverlapsOnlyWithinAFamily) {
  Range a = range("10.0.0.0/24", "10.0.0.10", "10.0.0.20", "10.0.0.1");
  EXPECT_TRUE(a.overlaps(range("10.0.0.0/24", "10.0.0.20", "10.0.0.30", "10.0.0.1")));
  EXPECT_TRUE(a.overlaps(range("10.0.0.0/24", "10.0.0.12", "10.0.0.13", "10.0.0.1")));
  EXPECT_FALSE(a.overlaps(range("10.0.0.0/24", "10.0.0.21", "10.0.0.30", "10.0.0.1")));
  EXPECT_FALSE(a.overlaps(range("fd00::/64", "fd00::1", "fd00::ff", "fd00::1")));
}

TEST(Allocator, StartsAtRangeStartWithoutHistory) {
  RangeSet set{range("10.0.0.0/24", "10.0.0.1", "10.0.0.254", "10.0.0.1")};
  Probe p;
  EXPECT_EQ(p.run(set, std::nullopt)->str(), "10.0.0.2");  // .1 is the gateway
  EXPECT_EQ(p.asked, std::vector<std::string>{"10.0.0.2"});
}

TEST(Allocator, RoundRobinAfterLastAndWraps) {
  RangeSet set{range("10.0.0.0/29", "10.0.0.2", "10.0.0.5", "10.0.0.1")};
  Probe p;
  EXPECT_EQ(p.run(set, ip("10.0.0.3"))->str(), "10.0.0.4");
  p.taken = {"10.0.0.5"};
  p.asked.clear();
  EXPECT_EQ(p.run(set, ip("10.0.0.4"))->str(), "10.0.0.2");
  EXPECT_EQ(p.asked, (std::vector<std::string>{"10.0.0.5", "10.0.0.2"}));
  // A last address outside the set (the ranges changed) restarts at rangeStart.
  p.taken.clear();
  EXPECT_EQ(p.run(set, ip("192.168.0.9"))->str(), "10.0.0.2");
}

TEST(Allocator, MovesAcrossRangesOfASet) {
  RangeSet set{range("10.0.0.0/24", "10.0.0.10", "10.0.0.11", "10.0.0.1"),
               range("10.0.1.0/24", "10.0.1.10", "10.0.1.11", "10.0.1.1")};
  Probe p;
  EXPECT_EQ(p.run(set, ip("10.0.0.11"))->str(), "10.0.1.10");
  p.taken = {"10.0.1.11", "10.0.0.10"};
  EXPECT_EQ(p.run(set, ip("10.0.1.10"))->str(), "10.0.0.11");
}

TEST(Allocator, ExhaustedSetAsksEachAddressOnce) {
  RangeSet set{range("10.0.0.0/29", "10.0.0.0", "10.0.0.7", "10.0.0.1")};
  Probe p;
  p.taken = {"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"};
  EXPECT_FALSE(p.run(set, ip("10.0.0.4")));
  // Never the network (.0), gateway (.1) or broadcast (.7); each once.
  EXPECT_EQ(p.asked, (std::vector<std::string>{"10.0.0.5", "10.0.0.6", "10.0.0.2", "10.0.0.3", "10.0.0.4"}));
}

TEST(Allocator, PropagatesErrors) {
  RangeSet set{range("10.0.0.0/24", "10.0.0.1", "10.0.0.254", "10.0.0.1")};
  auto r = find_free(set, std::nullopt, [](const IpAddr&) -> strand::Result<bool> { return fail("stat", EACCES); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err, EACCES);
}

TEST(Allocator, WalksIpv6) {
  RangeSet set{range("fd00::/120", "fd00::fe", "fd00::ff", "fd00::1")};
  Probe p;
  EXPECT_EQ(p.run(set, ip("fd00::fe"))->str(), "fd00::ff");
  EXPECT_EQ(p.run(set, ip("fd00::ff"))->str(), "fd00::fe");
}

}  // namespace
}  // namespace strand::cni::ipam
