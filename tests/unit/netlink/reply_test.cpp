// Reply matching and dump collection on crafted datagrams: stale replies and
// notifications skipped, ACK errors with ext-ack, NLM_F_DUMP_INTR noticed,
// dumps spanning datagrams, errors ending a dump, malformed datagrams.
#include "netlink/reply.h"

#include <gtest/gtest.h>
#include <net/if.h>

#include <cstring>

#include "netlink/attr.h"
#include "netlink/messages.h"

namespace strand::netlink {
namespace {

constexpr uint32_t kPort = 4242;
constexpr uint32_t kSeq = 7;

Message stamp(Message m, uint32_t seq, uint32_t pid, uint16_t extra_flags = 0) {
  auto* h = reinterpret_cast<nlmsghdr*>(m.data());
  h->nlmsg_seq = seq;
  h->nlmsg_pid = pid;
  h->nlmsg_flags |= extra_flags;
  return m;
}

Message link_msg(int index, const char* name, uint32_t seq = kSeq, uint32_t pid = kPort, uint16_t flags = 0) {
  detail::Builder b(RTM_NEWLINK, NLM_F_MULTI);
  b.append<ifinfomsg>().ifi_index = index;
  b.put_str(IFLA_IFNAME, name);
  return stamp(std::move(b).finish(), seq, pid, flags);
}

Message ack(int error, std::string_view text = {}, uint32_t seq = kSeq, uint32_t pid = kPort) {
  detail::Builder b(NLMSG_ERROR, static_cast<uint16_t>(NLM_F_CAPPED | (text.empty() ? 0 : NLM_F_ACK_TLVS)));
  b.append<nlmsgerr>().error = error;
  if (!text.empty()) b.put_str(NLMSGERR_ATTR_MSG, text);
  return stamp(std::move(b).finish(), seq, pid);
}

Message done(int error = 0, uint16_t flags = 0, uint32_t seq = kSeq) {
  detail::Builder b(NLMSG_DONE, NLM_F_MULTI);
  b.append<int>() = error;
  return stamp(std::move(b).finish(), seq, kPort, flags);
}

Message datagram(std::initializer_list<Message> msgs) {
  Message d;
  for (const auto& m : msgs) d.insert(d.end(), m.begin(), m.end());
  return d;
}

std::vector<std::string> names(const std::vector<std::byte>& collected) {
  std::vector<std::string> out;
  auto ok = detail::for_each_message(collected, "test", [&](std::span<const std::byte> m) {
    out.push_back(parse_link(m).value().name);
    return true;
  });
  EXPECT_TRUE(ok);
  return out;
}

// ---- match_reply -----------------------------------------------------------

TEST(NetlinkMatchReply, AckAfterStaleRepliesAndEvents) {
  Message d = datagram({ack(-EEXIST, "", kSeq - 1),  // an earlier request's late reply
                        link_msg(3, "ev0", 0, 0),    // a notification
                        ack(0)});
  auto r = detail::match_reply(d, kPort, kSeq, "RTM_NEWLINK", "veth a", nullptr);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(*r) << r->error().message();
}

TEST(NetlinkMatchReply, OtherPortsRepliesAreNotOurs) {
  auto r = detail::match_reply(ack(-EPERM, "", kSeq, kPort + 1), kPort, kSeq, "op", "", nullptr);
  EXPECT_FALSE(r.has_value());
}

TEST(NetlinkMatchReply, ErrorAckBecomesErrorWithExtAck) {
  auto r = detail::match_reply(ack(-EINVAL, "mtu less than device minimum"), kPort, kSeq, "RTM_SETLINK",
                               "link index 3 mtu 10", nullptr);
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(*r);
  EXPECT_EQ(r->error().err, EINVAL);
  EXPECT_EQ(r->error().op, "RTM_SETLINK");
  EXPECT_EQ(r->error().context, "link index 3 mtu 10: mtu less than device minimum");
}

TEST(NetlinkMatchReply, NotYetInThisDatagram) {
  EXPECT_FALSE(detail::match_reply(link_msg(3, "ev0", 0, 0), kPort, kSeq, "op", "", nullptr).has_value());
}

TEST(NetlinkMatchReply, GetCopiesTheReply) {
  Message reply;
  auto r = detail::match_reply(datagram({link_msg(3, "x", 0, 0), link_msg(9, "eth0")}), kPort, kSeq, "RTM_GETLINK",
                               "link eth0", &reply);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(*r);
  EXPECT_EQ(parse_link(reply).value().index, 9);

  Message none;
  auto err = detail::match_reply(ack(-ENODEV), kPort, kSeq, "RTM_GETLINK", "link eth9", &none);
  ASSERT_TRUE(err.has_value());
  ASSERT_FALSE(*err);
  EXPECT_EQ(err->error().err, ENODEV);
  EXPECT_TRUE(none.empty());
}

TEST(NetlinkMatchReply, MalformedDatagramIsEbadmsg) {
  Message d = ack(0);
  reinterpret_cast<nlmsghdr*>(d.data())->nlmsg_len += 8;  // claims more than was received
  auto r = detail::match_reply(d, kPort, kSeq, "op", "", nullptr);
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(*r);
  EXPECT_EQ(r->error().err, EBADMSG);
}

// ---- DumpCollector ---------------------------------------------------------

TEST(NetlinkDumpCollector, CollectsAcrossDatagramsUntilDone) {
  std::vector<std::byte> out;
  detail::DumpCollector c(kPort, kSeq, "RTM_GETLINK", out);
  auto first = c.feed(datagram({link_msg(1, "lo"), link_msg(50, "stale", kSeq - 1), link_msg(2, "eth0")}));
  ASSERT_TRUE(first);
  EXPECT_FALSE(*first);
  auto second = c.feed(datagram({link_msg(3, "eth1"), done()}));
  ASSERT_TRUE(second);
  EXPECT_TRUE(*second);
  EXPECT_FALSE(c.interrupted());
  EXPECT_EQ(names(out), (std::vector<std::string>{"lo", "eth0", "eth1"}));
}

TEST(NetlinkDumpCollector, NoticesDumpIntrOnAnyReplyIncludingDone) {
  {
    std::vector<std::byte> out;
    detail::DumpCollector c(kPort, kSeq, "op", out);
    ASSERT_TRUE(c.feed(datagram({link_msg(1, "lo"), link_msg(2, "a", kSeq, kPort, NLM_F_DUMP_INTR), done()})));
    EXPECT_TRUE(c.interrupted());
  }
  {
    std::vector<std::byte> out;
    detail::DumpCollector c(kPort, kSeq, "op", out);
    ASSERT_TRUE(c.feed(datagram({link_msg(1, "lo"), done(0, NLM_F_DUMP_INTR)})));
    EXPECT_TRUE(c.interrupted());
  }
  {
    // Another dump's flag is not ours.
    std::vector<std::byte> out;
    detail::DumpCollector c(kPort, kSeq, "op", out);
    ASSERT_TRUE(c.feed(datagram({link_msg(1, "old", kSeq - 1, kPort, NLM_F_DUMP_INTR), done()})));
    EXPECT_FALSE(c.interrupted());
  }
}

TEST(NetlinkDumpCollector, ErrorsEndTheDump) {
  std::vector<std::byte> out;
  detail::DumpCollector c(kPort, kSeq, "RTM_GETROUTE", out);
  auto r = c.feed(done(-ENOENT));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err, ENOENT);

  detail::DumpCollector c2(kPort, kSeq, "RTM_GETROUTE", out);
  auto r2 = c2.feed(ack(-EINVAL, "Invalid values in header for FIB dump request"));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().err, EINVAL);
  EXPECT_EQ(r2.error().context, "dump: Invalid values in header for FIB dump request");
}

TEST(NetlinkDumpCollector, MalformedDatagramIsEbadmsg) {
  std::vector<std::byte> out;
  detail::DumpCollector c(kPort, kSeq, "op", out);
  Message d = datagram({link_msg(1, "lo"), link_msg(2, "eth0")});
  d.resize(d.size() - 6);  // the second message cut short
  auto r = c.feed(d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err, EBADMSG);
}

}  // namespace
}  // namespace strand::netlink
