// parse_tc on notifications as the kernel sends them.
#include <gtest/gtest.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <cstring>

#include "netlink/messages.h"

namespace strand::netlink {
namespace {

Message tc_msg(uint16_t type, int ifindex, std::string_view kind, size_t attr_len_override = 0) {
  const size_t kind_len = kind.size() + 1;
  const size_t attr_len = NLA_HDRLEN + kind_len;
  const size_t len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(tcmsg)) + NLA_ALIGN(attr_len);
  Message m(len);
  auto* nlh = reinterpret_cast<nlmsghdr*>(m.data());
  nlh->nlmsg_len = static_cast<uint32_t>(len);
  nlh->nlmsg_type = type;
  auto* t = reinterpret_cast<tcmsg*>(m.data() + NLMSG_HDRLEN);
  t->tcm_ifindex = ifindex;
  t->tcm_handle = 1;
  t->tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS);
  t->tcm_info = (1u << 16) | 0x0300;
  auto* a = reinterpret_cast<nlattr*>(m.data() + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(tcmsg)));
  a->nla_len = static_cast<uint16_t>(attr_len_override ? attr_len_override : attr_len);
  a->nla_type = TCA_KIND;
  std::memcpy(reinterpret_cast<char*>(a) + NLA_HDRLEN, kind.data(), kind.size());
  return m;
}

TEST(NetlinkParseTc, FilterDeleted) {
  auto t = parse_tc(tc_msg(RTM_DELTFILTER, 9, "bpf"));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->type, RTM_DELTFILTER);
  EXPECT_EQ(t->ifindex, 9);
  EXPECT_EQ(t->handle, 1u);
  EXPECT_EQ(t->parent, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS));
  EXPECT_EQ(t->info >> 16, 1u);
  EXPECT_EQ(t->kind, "bpf");
}

TEST(NetlinkParseTc, QdiscTypesAccepted) {
  for (uint16_t type : {RTM_NEWQDISC, RTM_DELQDISC, RTM_NEWTFILTER}) {
    auto t = parse_tc(tc_msg(type, 3, "clsact"));
    ASSERT_TRUE(t) << type;
    EXPECT_EQ(t->type, type);
    EXPECT_EQ(t->kind, "clsact");
  }
  EXPECT_EQ(message_type_name(RTM_DELTFILTER), "RTM_DELTFILTER");
  EXPECT_EQ(message_type_name(RTM_DELQDISC), "RTM_DELQDISC");
}

TEST(NetlinkParseTc, Malformed) {
  auto other = tc_msg(RTM_NEWLINK, 3, "bpf");
  auto r = parse_tc(other);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err, EBADMSG);
  auto cut = tc_msg(RTM_DELTFILTER, 3, "bpf");
  reinterpret_cast<nlmsghdr*>(cut.data())->nlmsg_len = NLMSG_HDRLEN + 8;
  r = parse_tc(cut);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err, EBADMSG);
  auto overlong = tc_msg(RTM_DELTFILTER, 3, "bpf", 64);  // attribute runs past the message
  r = parse_tc(overlong);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err, EBADMSG);
}

}  // namespace
}  // namespace strand::netlink
