#include "netlink/types.h"

#include <gtest/gtest.h>
#include <net/if.h>

namespace strand::netlink {
namespace {

TEST(NetlinkMac, FormatsLowercase) {
  EXPECT_EQ(mac_str(Mac{0x0a, 0xBC, 0, 0x01, 0xff, 0x10}), "0a:bc:00:01:ff:10");
  EXPECT_EQ(mac_str(Mac{}), "00:00:00:00:00:00");
}

TEST(NetlinkMac, ParsesBothSeparatorsAndCases) {
  EXPECT_EQ(parse_mac("0a:BC:00:01:ff:10"), (Mac{0x0a, 0xbc, 0, 0x01, 0xff, 0x10}));
  EXPECT_EQ(parse_mac("ee-ee-ee-ee-ee-ee"), (Mac{0xee, 0xee, 0xee, 0xee, 0xee, 0xee}));
  auto m = Mac{0x02, 0x42, 0xac, 0x11, 0x00, 0x02};
  EXPECT_EQ(parse_mac(mac_str(m)), m);
}

TEST(NetlinkMac, RejectsMalformed) {
  for (const char* bad : {"", "0a:bc:00:01:ff", "0a:bc:00:01:ff:10:", "0a:bc:00:01:ff:1g", "0a:bc:00:01:ff 10",
                          "0abc:00:01:ff:10:", "0a:bc:00:01:ff:100"}) {
    auto r = parse_mac(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().err, EINVAL) << bad;
    }
  }
}

TEST(NetlinkLink, UpFollowsIffUp) {
  Link l;
  EXPECT_FALSE(l.up());
  l.flags = IFF_UP | IFF_BROADCAST;
  EXPECT_TRUE(l.up());
  l.flags = IFF_RUNNING;
  EXPECT_FALSE(l.up());
}

}  // namespace
}  // namespace strand::netlink
