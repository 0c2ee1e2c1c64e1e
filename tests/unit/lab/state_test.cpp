#include <gtest/gtest.h>

#include "lab/state.h"

namespace strand::lab {
namespace {

LabState sample() {
  LabState s;
  s.name = "t1";
  s.routing = "vxlan";
  s.ipv6 = true;
  s.cni = "ptp";
  s.next_node = 1;
  s.nodes.push_back({"t1-node1", 1, "t1_node1", {"10.100.0.1", "fd00:100::1"}, {"10.244.1.0/24", "fd00:10:244:1::/64"}, 4242});
  s.nodes.push_back({"t1-node2", 2, "t1_node2", {"10.100.0.2"}, {"10.244.2.0/24"}, 4243});
  PodState p;
  p.ns = "x";
  p.name = "a";
  p.uid = "u-1";
  p.node = "t1-node2";
  p.netns = "t1_p_x_a";
  p.container_id = "t1-x-a";
  p.ips = {"10.244.2.2", "fd00:10:244:2::2"};
  p.labels = {{"pod", "a"}};
  p.ports = {{"http", 80, "TCP"}, {"", 81, "UDP"}};
  p.server_pid = 99;
  s.pods[p.key()] = p;
  s.namespaces["x"] = {{"team", "a"}};
  s.namespaces["default"] = {};
  s.policies["x/deny"] = "networkpolicy_x_deny.json";
  return s;
}

TEST(State, RoundTrip) {
  LabState s = sample();
  auto back = state_from_json(nlohmann::json::parse(to_json(s).dump()));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(to_json(*back), to_json(s));
  EXPECT_EQ(back->pods.at("x/a").ports[1], (ContainerPort{"", 81, "UDP"}));
  EXPECT_EQ(back->nodes[0].agent_pid, 4242);
  EXPECT_EQ(back->next_node, 1u);
  EXPECT_EQ(back->node("t1-node2")->index, 2);
  EXPECT_EQ(back->node("nope"), nullptr);
}

TEST(State, MissingFieldsAreAnError) {
  auto j = to_json(sample());
  j.erase("nodes");
  auto back = state_from_json(j);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().err, EINVAL);
}

}  // namespace
}  // namespace strand::lab
