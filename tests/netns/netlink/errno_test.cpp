// Errno table: each bad request gets the kernel's exact errno, the object in
// the context and, where the kernel gives one, its ext-ack message.
#include <fcntl.h>

#include <functional>

#include "netlink/messages.h"
#include "netns_fixture.h"

namespace strand::netlink {
namespace {

using testing::err_of;
using testing::NetnsTest;

IpAddr ip(std::string_view s) { return IpAddr::parse(s).value(); }
IpPrefix prefix(std::string_view s) { return IpPrefix::parse(s).value(); }

struct Case {
  const char* name;
  std::function<Status()> call;
  int err;
  std::string_view context;  // must appear in Error.context
};

class NetlinkErrors : public NetnsTest {};

TEST_F(NetlinkErrors, Table) {
  ASSERT_OK(veth_add(hs(), VethSpec{.name = "st0", .peer_name = "eth0", .peer_netns_fd = pod_->fd()}));
  ASSERT_VALUE(st0, link_get(hs(), "st0"));
  const int idx = st0.index;
  UniqueFd not_a_netns(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(not_a_netns);

  const Case cases[] = {
      {"veth that exists", [&] { return veth_add(hs(), VethSpec{.name = "st0", .peer_name = "x"}); }, EEXIST,
       "veth st0 peer x"},
      {"name longer than IFNAMSIZ",
       [&] { return veth_add(hs(), VethSpec{.name = "abcdefghijklmnop", .peer_name = "x"}); }, ERANGE,
       "veth abcdefghijklmnop peer x: Attribute failed policy validation"},
      {"name with a slash", [&] { return veth_add(hs(), VethSpec{.name = "a/b", .peer_name = "x"}); }, EINVAL,
       "veth a/b"},
      {"move into a closed fd", [&] { return link_set_netns(hs(), idx, 99999); }, EBADF, "netns fd 99999"},
      {"request shorter than nlmsghdr", [&] { return hs().request(Message(8), "RTM_NEWLINK", "x"); }, EINVAL,
       "shorter than nlmsghdr"},
      {"delete missing link by name", [&] { return link_del(hs(), "nope0"); }, ENODEV, "link nope0"},
      {"delete missing link by index", [&] { return link_del(hs(), 99999); }, ENODEV, "link index 99999"},
      {"get missing link",
       [&]() -> Status {
         auto l = link_get(hs(), "nope0");
         if (!l) return std::unexpected(l.error());
         return {};
       },
       ENODEV, "link nope0"},
      {"mtu below the minimum", [&] { return link_set_mtu(hs(), idx, 10); }, EINVAL,
       "mtu 10: mtu less than device minimum"},
      {"mtu above the maximum", [&] { return link_set_mtu(hs(), idx, 1 << 20); }, EINVAL,
       "mtu greater than device maximum"},
      {"rename onto an existing name", [&] { return link_rename(hs(), idx, "lo"); }, EEXIST, "name lo"},
      {"move into something not a netns", [&] { return link_set_netns(hs(), idx, not_a_netns.get()); }, EINVAL,
       "netns fd"},
      {"route via an unreachable gateway",
       [&] { return route_add(hs(), Route{.dst = prefix("10.1.0.0/24"), .gateway = ip("192.0.2.1")}); }, ENETUNREACH,
       "route 10.1.0.0/24 via 192.0.2.1: Nexthop has invalid gateway"},
      {"onlink route on a link that is down",
       [&] {
         return route_add(
             hs(), Route{.dst = prefix("0.0.0.0/0"), .gateway = ip("169.254.1.1"), .oif = idx, .flags = RTNH_F_ONLINK});
       },
       ENETDOWN, "Nexthop device is not up"},
      {"delete missing route", [&] { return route_del(hs(), Route{.dst = prefix("10.2.0.5/32"), .oif = idx}); }, ESRCH,
       "route 10.2.0.5/32"},
      {"address on a missing link",
       [&] { return addr_add(hs(), Address{.ifindex = 99999, .prefix = prefix("10.3.0.1/24")}); }, ENODEV,
       "address 10.3.0.1/24 dev 99999"},
      {"delete missing address",
       [&] { return addr_del(hs(), Address{.ifindex = idx, .prefix = prefix("10.3.0.1/24")}); }, EADDRNOTAVAIL,
       "address 10.3.0.1/24"},
      {"delete missing neighbour", [&] { return neigh_del(hs(), Neighbor{.ifindex = idx, .dst = ip("10.4.0.1")}); },
       ENOENT, "neighbour 10.4.0.1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Status st = c.call();
    ASSERT_FALSE(st) << "succeeded";
    EXPECT_EQ(st.error().err, c.err) << st.error().message();
    EXPECT_NE(st.error().context.find(c.context), std::string::npos) << st.error().message();
    EXPECT_FALSE(st.error().op.empty());
  }
}

TEST_F(NetlinkErrors, DumpErrorsCarryTheExtAckText) {
  // A strict route dump of a table that does not exist fails in the kernel...
  auto raw = hs().dump(build_route_dump(AF_INET, 4321, 0), "RTM_GETROUTE");
  ASSERT_FALSE(raw);
  EXPECT_EQ(raw.error().err, ENOENT);
  EXPECT_NE(raw.error().context.find("FIB table does not exist"), std::string::npos) << raw.error().message();
  // ...which route_list reports as the empty table it is.
  ASSERT_VALUE(none, route_list(hs(), AF_INET, 4321));
  EXPECT_TRUE(none.empty());
  // The socket is still in step afterwards.
  ASSERT_VALUE(links, link_list(hs()));
  EXPECT_EQ(links.size(), 1u);
}

}  // namespace
}  // namespace strand::netlink
