#include "common/ip.h"

#include <gtest/gtest.h>

namespace strand {
namespace {

TEST(IpAddr, ParsesAndFormatsBothFamilies) {
  auto v4 = IpAddr::parse("10.244.1.5");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->str(), "10.244.1.5");
  auto v6 = IpAddr::parse("fd00::1:5");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->is_v6());
  EXPECT_EQ(v6->str(), "fd00::1:5");
}

TEST(IpAddr, RejectsGarbage) {
  for (const char* bad : {"", "10.0.0", "10.0.0.256", "fd00:::1", "host", "10.0.0.1/24"}) {
    auto r = IpAddr::parse(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().err, EINVAL);
    }
  }
}

TEST(IpAddr, PlusCarriesAcrossBytes) {
  EXPECT_EQ(IpAddr::parse("10.0.0.255")->next().str(), "10.0.1.0");
  EXPECT_EQ(IpAddr::parse("10.0.0.1")->plus(256 + 3).str(), "10.0.1.4");
  EXPECT_EQ(IpAddr::parse("fd00::ffff")->next().str(), "fd00::1:0");
}

TEST(IpPrefix, NetworkLastContains) {
  auto p = IpPrefix::parse("10.244.1.77/24");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->network().str(), "10.244.1.0/24");
  EXPECT_EQ(p->last().str(), "10.244.1.255");
  EXPECT_TRUE(p->contains(*IpAddr::parse("10.244.1.200")));
  EXPECT_FALSE(p->contains(*IpAddr::parse("10.244.2.1")));
  EXPECT_FALSE(p->contains(*IpAddr::parse("fd00::1")));
  auto p6 = IpPrefix::parse("fd00:10:244:1::/64");
  ASSERT_TRUE(p6);
  EXPECT_EQ(p6->last().str(), "fd00:10:244:1:ffff:ffff:ffff:ffff");
  auto p20 = IpPrefix::parse("10.16.255.1/12");
  EXPECT_EQ(p20->network().str(), "10.16.0.0/12");
}

TEST(IpPrefix, BareAddressIsHostPrefixAndBadLengthsFail) {
  EXPECT_EQ(IpPrefix::parse("10.0.0.1")->len, 32);
  EXPECT_EQ(IpPrefix::parse("::1")->len, 128);
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/33"));
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/"));
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/2x"));
}

}  // namespace
}  // namespace strand
