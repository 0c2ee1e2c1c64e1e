// Event sockets: link notifications arrive, and an overflowing queue is
// reported as ENOBUFS so the watcher resyncs.
#include <poll.h>
#include <sys/socket.h>

#include <chrono>

#include "netlink/messages.h"
#include "netns_fixture.h"

namespace strand::netlink {
namespace {

using testing::NetnsTest;

class NetlinkEvents : public NetnsTest {};

constexpr unsigned kLinkGroup[] = {RTNLGRP_LINK};

// Reads events until `pred` matches one or `ms` pass; returns whether it did.
template <typename Pred>
bool wait_for(Socket& ev, int ms, Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{.fd = ev.fd(), .events = POLLIN};
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (::poll(&p, 1, std::max(left, 0)) <= 0) continue;
    auto msgs = ev.receive();
    if (!msgs) {
      ADD_FAILURE() << msgs.error().message();
      return false;
    }
    for (const auto& m : *msgs) {
      if (pred(m)) return true;
    }
  }
  return false;
}

TEST_F(NetlinkEvents, LinkDeletionIsSeen) {
  ASSERT_VALUE(ev, open_events(*host_, kLinkGroup));
  ASSERT_OK(veth_add(hs(), VethSpec{.name = "st5", .peer_name = "st5p"}));
  ASSERT_VALUE(l, link_get(hs(), "st5"));
  // The creation is announced too.
  EXPECT_TRUE(wait_for(ev, 2000, [&](const Message& m) {
    auto link = parse_link(m);
    return link && link->index == l.index;
  }));

  ASSERT_OK(link_del(hs(), l.index));
  bool seen = wait_for(ev, 2000, [&](const Message& m) {
    auto link = parse_link(m);
    return link && reinterpret_cast<const nlmsghdr*>(m.data())->nlmsg_type == RTM_DELLINK && link->index == l.index &&
           link->name == "st5";
  });
  EXPECT_TRUE(seen) << "no RTM_DELLINK for st5";
  // Nothing from the pod namespace reaches a host-namespace event socket.
  ASSERT_OK(veth_add(ps(), VethSpec{.name = "st6", .peer_name = "st6p"}));
  EXPECT_FALSE(wait_for(ev, 200, [&](const Message& m) {
    auto link = parse_link(m);
    return link && link->name.starts_with("st6");
  }));
}

TEST_F(NetlinkEvents, OverflowIsReportedAsEnobufs) {
  ASSERT_VALUE(ev, open_events(*host_, kLinkGroup));
  int tiny = 1;  // the kernel rounds up to its minimum: a couple of messages
  ASSERT_EQ(::setsockopt(ev.fd(), SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny)), 0);
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK(veth_add(hs(), VethSpec{.name = "sto" + std::to_string(i), .peer_name = "stq" + std::to_string(i)}));
  }
  auto first = ev.receive();
  ASSERT_FALSE(first) << "expected lost events";
  EXPECT_EQ(first.error().err, ENOBUFS);
  // After the error the socket keeps working: with room again, drain it, then
  // new events arrive.
  int roomy = 1 << 20;
  ASSERT_EQ(::setsockopt(ev.fd(), SOL_SOCKET, SO_RCVBUF, &roomy, sizeof(roomy)), 0);
  for (int i = 0; i < 100; ++i) {
    auto more = ev.receive();
    if (more && more->empty()) break;
  }
  ASSERT_OK(link_del(hs(), "sto0"));
  EXPECT_TRUE(wait_for(ev, 2000, [](const Message& m) {
    auto link = parse_link(m);
    return link && link->name == "sto0";
  }));
}

}  // namespace
}  // namespace strand::netlink
