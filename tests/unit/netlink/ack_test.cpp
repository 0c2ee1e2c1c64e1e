// ACK parsing: NLMSG_ERROR with and without extended-ACK TLVs, capped or
// echoing the request, and the NLMSG_DONE closing a dump.
#include <gtest/gtest.h>

#include <cstring>

#include "netlink/attr.h"
#include "netlink/messages.h"

namespace strand::netlink {
namespace {

struct Tlvs {
  std::string_view text;
  std::optional<uint32_t> offs;
  std::optional<uint32_t> miss_type;
};

// The NLMSG_ERROR the kernel sends for `request`: under NETLINK_CAP_ACK only
// the request's header is echoed (NLM_F_CAPPED); without it the whole request
// sits between nlmsgerr and the TLVs.
Message make_ack(const Message& request, int error, bool capped, const Tlvs& tlvs = {}) {
  bool any = !tlvs.text.empty() || tlvs.offs || tlvs.miss_type;
  detail::Builder b(NLMSG_ERROR, static_cast<uint16_t>((capped ? NLM_F_CAPPED : 0) | (any ? NLM_F_ACK_TLVS : 0)));
  auto& e = b.append<nlmsgerr>();
  e.error = error;
  std::memcpy(&e.msg, request.data(), sizeof(nlmsghdr));
  if (!tlvs.text.empty()) b.put_str(NLMSGERR_ATTR_MSG, tlvs.text);
  if (tlvs.offs) b.put_u32(NLMSGERR_ATTR_OFFS, *tlvs.offs);
  if (tlvs.miss_type) b.put_u32(NLMSGERR_ATTR_MISS_TYPE, *tlvs.miss_type);
  Message m = std::move(b).finish();
  if (!capped) {
    size_t at = NLMSG_HDRLEN + sizeof(nlmsgerr);
    m.insert(m.begin() + static_cast<long>(at), request.begin() + NLMSG_HDRLEN, request.end());
    reinterpret_cast<nlmsghdr*>(m.data())->nlmsg_len = static_cast<uint32_t>(m.size());
  }
  return m;
}

Message make_done(int error, std::string_view text = {}) {
  detail::Builder b(NLMSG_DONE, static_cast<uint16_t>(NLM_F_MULTI | (text.empty() ? 0 : NLM_F_ACK_TLVS)));
  b.append<int>() = error;
  if (!text.empty()) b.put_str(NLMSGERR_ATTR_MSG, text);
  return std::move(b).finish();
}

int err_of(const Result<Ack>& r) { return r ? 0 : r.error().err; }

const Message kRequest = build_link_change(LinkChange{.index = 7, .mtu = 10});

TEST(NetlinkParseAck, SuccessCapped) {
  auto ack = parse_ack(make_ack(kRequest, 0, true));
  ASSERT_TRUE(ack) << ack.error().message();
  EXPECT_EQ(ack->error, 0);
  EXPECT_EQ(ack->message, "");
  EXPECT_FALSE(ack->offset);
}

TEST(NetlinkParseAck, ErrorWithExtAckCapped) {
  auto ack = parse_ack(make_ack(kRequest, -EINVAL, true, {.text = "mtu less than device minimum", .offs = 36}));
  ASSERT_TRUE(ack) << ack.error().message();
  EXPECT_EQ(ack->error, -EINVAL);
  EXPECT_EQ(ack->message, "mtu less than device minimum");
  EXPECT_EQ(ack->offset, 36u);
  Error e = ack_error(*ack, "RTM_SETLINK", "link index 7 mtu 10");
  EXPECT_EQ(e.op, "RTM_SETLINK");
  EXPECT_EQ(e.err, EINVAL);
  EXPECT_EQ(e.context, "link index 7 mtu 10: mtu less than device minimum");
  EXPECT_EQ(e.message(), "RTM_SETLINK link index 7 mtu 10: mtu less than device minimum: Invalid argument (EINVAL)");
}

TEST(NetlinkParseAck, ErrorWithExtAckAfterTheEchoedRequest) {
  auto ack = parse_ack(make_ack(kRequest, -EEXIST, false, {.text = "File exists here"}));
  ASSERT_TRUE(ack) << ack.error().message();
  EXPECT_EQ(ack->error, -EEXIST);
  EXPECT_EQ(ack->message, "File exists here");
}

TEST(NetlinkParseAck, ErrorWithoutExtAck) {
  auto ack = parse_ack(make_ack(kRequest, -ENODEV, false));
  ASSERT_TRUE(ack);
  Error e = ack_error(*ack, "RTM_DELLINK", "link st4a1");
  EXPECT_EQ(e.err, ENODEV);
  EXPECT_EQ(e.context, "link st4a1");
}

TEST(NetlinkParseAck, MissingAttributeWithoutText) {
  auto ack = parse_ack(make_ack(kRequest, -EINVAL, true, {.miss_type = 3}));
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->missing_type, 3u);
  EXPECT_EQ(ack_error(*ack, "RTM_NEWLINK", "").context, "missing attribute 3");
}

TEST(NetlinkParseAck, DoneCarriesTheDumpStatus) {
  auto ok = parse_ack(make_done(0));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->error, 0);
  auto bad = parse_ack(make_done(-ENOENT, "ipv4: FIB table does not exist"));
  ASSERT_TRUE(bad) << bad.error().message();
  EXPECT_EQ(bad->error, -ENOENT);
  EXPECT_EQ(ack_error(*bad, "RTM_GETROUTE", "dump").message(),
            "RTM_GETROUTE dump: ipv4: FIB table does not exist: No such file or directory (ENOENT)");
}

TEST(NetlinkParseAck, MalformedIsEbadmsg) {
  Message ack = make_ack(kRequest, -EINVAL, true, {.text = "bad"});
  // Truncated inside nlmsgerr.
  Message shortened(ack.begin(), ack.begin() + NLMSG_HDRLEN + 8);
  reinterpret_cast<nlmsghdr*>(shortened.data())->nlmsg_len = static_cast<uint32_t>(shortened.size());
  EXPECT_EQ(err_of(parse_ack(shortened)), EBADMSG);
  // nlmsg_len past the buffer.
  EXPECT_EQ(err_of(parse_ack(std::span<const std::byte>(ack.data(), ack.size() - 1))), EBADMSG);
  // The last TLV cut short.
  Message cut = ack;
  reinterpret_cast<nlmsghdr*>(cut.data())->nlmsg_len -= 2;
  cut.resize(cut.size() - 2);
  EXPECT_EQ(err_of(parse_ack(cut)), EBADMSG);
  // A positive "errno" is not something the kernel sends.
  EXPECT_EQ(err_of(parse_ack(make_ack(kRequest, 5, true))), EBADMSG);
  // Not an ACK at all.
  EXPECT_EQ(err_of(parse_ack(kRequest)), EBADMSG);
}

TEST(NetlinkMessageTypeName, NamesKnownTypes) {
  EXPECT_EQ(message_type_name(RTM_NEWLINK), "RTM_NEWLINK");
  EXPECT_EQ(message_type_name(NLMSG_ERROR), "NLMSG_ERROR");
  EXPECT_EQ(message_type_name(999), "message 999");
}

}  // namespace
}  // namespace strand::netlink
