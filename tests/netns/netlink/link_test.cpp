// Links in fresh namespaces: veth with its peer created straight in another
// netns, changes, moves, deletion, and a dump too large for one datagram.
#include <net/if.h>

#include <algorithm>
#include <set>

#include "netlink/messages.h"
#include "netns_fixture.h"

namespace strand::netlink {
namespace {

using testing::err_of;
using testing::NetnsTest;

const Mac kHostMac{0x02, 0xaa, 0, 0, 0, 0x01};
const Mac kPodMac{0x02, 0xbb, 0, 0, 0, 0x02};

class NetlinkLinks : public NetnsTest {
 protected:
  // st0 in host, eth0 in pod.
  void add_pair() {
    ASSERT_OK(veth_add(hs(), VethSpec{.name = "st0",
                                      .peer_name = "eth0",
                                      .peer_netns_fd = pod_->fd(),
                                      .mtu = 1450,
                                      .mac = kHostMac,
                                      .peer_mac = kPodMac}));
  }
};

TEST_F(NetlinkLinks, VethPeerIsCreatedInTheOtherNetns) {
  add_pair();
  ASSERT_VALUE(host, link_get(hs(), "st0"));
  ASSERT_VALUE(pod, link_get(ps(), "eth0"));
  EXPECT_EQ(host.name, "st0");
  EXPECT_EQ(host.kind, "veth");
  EXPECT_EQ(host.mtu, 1450u);
  EXPECT_EQ(host.mac, kHostMac);
  EXPECT_FALSE(host.up());
  EXPECT_EQ(pod.name, "eth0");
  EXPECT_EQ(pod.kind, "veth");
  EXPECT_EQ(pod.mtu, 1450u);
  EXPECT_EQ(pod.mac, kPodMac);
  // Each end names the other's index, in the other namespace.
  EXPECT_EQ(host.peer_index, pod.index);
  EXPECT_EQ(pod.peer_index, host.index);
  EXPECT_TRUE(host.link_netnsid.has_value());
  EXPECT_TRUE(pod.link_netnsid.has_value());
  // Only one end per namespace.
  EXPECT_EQ(err_of(link_get(hs(), "eth0")), ENODEV);
  EXPECT_EQ(err_of(link_get(ps(), "st0")), ENODEV);
  // By index too.
  ASSERT_VALUE(by_index, link_get(ps(), pod.index));
  EXPECT_EQ(by_index.name, "eth0");
}

TEST_F(NetlinkLinks, UpDownMtuMacRename) {
  add_pair();
  ASSERT_VALUE(l, link_get(hs(), "st0"));
  ASSERT_OK(link_set_up(hs(), l.index));
  EXPECT_TRUE(link_get(hs(), l.index).value().up());
  ASSERT_OK(link_set_up(hs(), l.index, false));
  EXPECT_FALSE(link_get(hs(), l.index).value().up());

  ASSERT_OK(link_set_mtu(hs(), l.index, 9000));
  EXPECT_EQ(link_get(hs(), l.index).value().mtu, 9000u);

  const Mac mac{0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
  ASSERT_OK(link_set_mac(hs(), l.index, mac));
  EXPECT_EQ(link_get(hs(), l.index).value().mac, mac);

  ASSERT_OK(link_rename(hs(), l.index, "st0new"));
  ASSERT_VALUE(renamed, link_get(hs(), "st0new"));
  EXPECT_EQ(renamed.index, l.index);
  EXPECT_EQ(err_of(link_get(hs(), "st0")), ENODEV);

  // Several changes in one message: the pod-side sequence of a CNI ADD.
  ASSERT_VALUE(pod, link_get(ps(), "eth0"));
  ASSERT_OK(link_set(ps(), LinkChange{.index = pod.index, .up = true, .mtu = 1400, .name = "net1"}));
  ASSERT_VALUE(after, link_get(ps(), pod.index));
  EXPECT_EQ(after.name, "net1");
  EXPECT_EQ(after.mtu, 1400u);
  EXPECT_TRUE(after.up());
}

TEST_F(NetlinkLinks, SetNetnsMovesTheLink) {
  ASSERT_OK(veth_add(hs(), VethSpec{.name = "st1", .peer_name = "st1p"}));
  ASSERT_VALUE(peer, link_get(hs(), "st1p"));
  EXPECT_FALSE(peer.link_netnsid.has_value());  // both ends in one namespace
  ASSERT_OK(link_set_netns(hs(), peer.index, pod_->fd()));
  EXPECT_EQ(err_of(link_get(hs(), "st1p")), ENODEV);
  ASSERT_VALUE(moved, link_get(ps(), "st1p"));
  EXPECT_EQ(moved.kind, "veth");
  EXPECT_TRUE(moved.link_netnsid.has_value());
}

TEST_F(NetlinkLinks, DeleteByIndexAndByName) {
  add_pair();
  ASSERT_VALUE(host, link_get(hs(), "st0"));
  ASSERT_OK(link_del(hs(), host.index));
  EXPECT_EQ(err_of(link_get(hs(), "st0")), ENODEV);
  // Deleting one end of a veth removes the other.
  EXPECT_EQ(err_of(link_get(ps(), "eth0")), ENODEV);

  ASSERT_OK(veth_add(hs(), VethSpec{.name = "st2", .peer_name = "st2p"}));
  ASSERT_OK(link_del(hs(), "st2p"));
  EXPECT_EQ(err_of(link_get(hs(), "st2")), ENODEV);
}

TEST_F(NetlinkLinks, ListingSeesEveryLinkOfALargeMultipartDump) {
  // 300 links: far more than one 32 KiB datagram of RTM_NEWLINK replies.
  constexpr int kPairs = 150;
  std::set<std::string> want{"lo"};
  for (int i = 0; i < kPairs; ++i) {
    std::string a = "sta" + std::to_string(i), b = "stb" + std::to_string(i);
    ASSERT_OK(veth_add(hs(), VethSpec{.name = a, .peer_name = b}));
    want.insert(a);
    want.insert(b);
  }
  ASSERT_VALUE(raw, hs().dump(build_link_dump(), "RTM_GETLINK"));
  size_t bytes = 0;
  for (const auto& m : raw) bytes += m.size();
  EXPECT_GT(bytes, 2u * 32 * 1024) << "the dump should span several datagrams";

  ASSERT_VALUE(links, link_list(hs()));
  std::set<std::string> got;
  for (const auto& l : links) got.insert(l.name);
  EXPECT_EQ(links.size(), want.size());
  EXPECT_EQ(got, want);
  EXPECT_EQ(std::count_if(links.begin(), links.end(), [](const Link& l) { return l.kind == "veth"; }), 2 * kPairs);
  // The pod namespace still only has its loopback.
  ASSERT_VALUE(pod_links, link_list(ps()));
  ASSERT_EQ(pod_links.size(), 1u);
  EXPECT_EQ(pod_links[0].name, "lo");
}

}  // namespace
}  // namespace strand::netlink
