// The user-space name table made from the shared X-macro list.
#include "datapath/drop_reasons.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace strand::datapath {
namespace {

TEST(DropReasons, NamesFollowTheSharedNumbers) {
  EXPECT_EQ(drop_reason_name(STRAND_DROP_NONE), "none");
  EXPECT_EQ(drop_reason_name(STRAND_DROP_TRUNCATED_L2), "truncated-l2");
  EXPECT_EQ(drop_reason_name(STRAND_DROP_VLAN_DEPTH), "vlan-depth");
  EXPECT_EQ(drop_reason_name(STRAND_DROP_UNSUPPORTED_L3), "unsupported-l3");
  EXPECT_EQ(drop_reason_name(STRAND_DROP_TRUNCATED_L3), "truncated-l3");
  EXPECT_EQ(drop_reason_name(STRAND_DROP_MALFORMED_L3), "malformed-l3");
  EXPECT_EQ(drop_reason_name(STRAND_DROP_IPV6_EXT_LIMIT), "ipv6-ext-hdr-limit");
  EXPECT_EQ(drop_reason_name(STRAND_DROP_TRUNCATED_L4), "truncated-l4");
  EXPECT_EQ(drop_reason_name(STRAND_DROP_MALFORMED_L4), "malformed-l4");
  EXPECT_EQ(drop_reason_name(STRAND_DROP_CT_INVALID), "ct-invalid");
  EXPECT_EQ(drop_reason_name(STRAND_DROP_POLICY_DENIED), "policy-denied");
  EXPECT_EQ(drop_reason_name(STRAND_DROP_POLICY_AUDIT), "policy-audit");
  EXPECT_EQ(drop_reason_name(STRAND_DROP_PREFILTER_DENIED), "prefilter-denied");
}

// Numbers are ABI (counter slots, events): pin them.
TEST(DropReasons, NumbersAreStable) {
  EXPECT_EQ(STRAND_DROP_TRUNCATED_L2, 1);
  EXPECT_EQ(STRAND_DROP_VLAN_DEPTH, 2);
  EXPECT_EQ(STRAND_DROP_UNSUPPORTED_L3, 3);
  EXPECT_EQ(STRAND_DROP_TRUNCATED_L3, 4);
  EXPECT_EQ(STRAND_DROP_MALFORMED_L3, 5);
  EXPECT_EQ(STRAND_DROP_IPV6_EXT_LIMIT, 6);
  EXPECT_EQ(STRAND_DROP_TRUNCATED_L4, 7);
  EXPECT_EQ(STRAND_DROP_MALFORMED_L4, 8);
  EXPECT_EQ(STRAND_DROP_CT_INVALID, 9);
  EXPECT_EQ(STRAND_DROP_POLICY_DENIED, 10);
  EXPECT_EQ(STRAND_DROP_POLICY_AUDIT, 11);
  EXPECT_EQ(STRAND_DROP_PREFILTER_DENIED, 12);
  EXPECT_EQ(drop_reasons().size(), 13u);
}

TEST(DropReasons, UnlistedNumbersAreUnknown) {
  EXPECT_EQ(drop_reason_name(13), "unknown");
  EXPECT_EQ(drop_reason_name(kDropSlots), "unknown");
  EXPECT_EQ(drop_reason_name(0xffffffffu), "unknown");
}

TEST(DropReasons, NamesRoundTrip) {
  std::set<std::string> seen;
  for (const DropReasonInfo& r : drop_reasons()) {
    EXPECT_TRUE(seen.insert(std::string(r.name)).second) << r.name;
    EXPECT_EQ(drop_reason_number(r.name), r.number) << r.name;
  }
  EXPECT_EQ(drop_reason_number("no-such-reason"), std::nullopt);
  EXPECT_EQ(drop_reason_number(""), std::nullopt);
}

}  // namespace
}  // namespace strand::datapath
