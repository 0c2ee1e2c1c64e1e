// Model: versions, net changes per update, notifications and readers.
#include "agent/model/model.h"

#include <gtest/gtest.h>

#include <thread>

namespace strand::model {
namespace {

Pod pod(const std::string& ns, const std::string& name, policy::Labels labels) {
  Pod p;
  p.base.ns = ns;
  p.base.name = name;
  p.base.labels = std::move(labels);
  p.uid = "uid-" + name;
  p.node_name = "node-1";
  return p;
}

Namespace ns(const std::string& name, policy::Labels labels = {}) { return Namespace{{name, std::move(labels)}, {}}; }

struct Recorder {
  std::vector<std::pair<uint64_t, std::vector<Change>>> calls;
  Model::Subscriber fn() {
    return [this](uint64_t v, std::span<const Change> c) { calls.emplace_back(v, std::vector<Change>(c.begin(), c.end())); };
  }
};

const Key kPodXA{Kind::kPod, "x", "a"};

TEST(Model, AddUpdateRemoveBumpVersionOnceEachAndNotify) {
  Model m;
  Recorder rec;
  auto sub = m.subscribe(rec.fn());
  EXPECT_EQ(m.version(), 0u);

  EXPECT_EQ(m.upsert(pod("x", "a", {{"pod", "a"}})), 1u);
  EXPECT_EQ(m.upsert(pod("x", "a", {{"pod", "a"}})), 1u);  // equal: no change
  EXPECT_EQ(m.upsert(pod("x", "a", {{"pod", "b"}})), 2u);
  EXPECT_EQ(m.remove(kPodXA), 3u);
  EXPECT_EQ(m.remove(kPodXA), 3u);  // already gone

  ASSERT_EQ(rec.calls.size(), 3u);
  EXPECT_EQ(rec.calls[0], (std::pair<uint64_t, std::vector<Change>>{1, {{kPodXA, ChangeOp::kAdded}}}));
  EXPECT_EQ(rec.calls[1], (std::pair<uint64_t, std::vector<Change>>{2, {{kPodXA, ChangeOp::kUpdated}}}));
  EXPECT_EQ(rec.calls[2], (std::pair<uint64_t, std::vector<Change>>{3, {{kPodXA, ChangeOp::kRemoved}}}));
}

TEST(Model, ReappliedObjectReplacesTheOldOneEntirely) {
  Model m;
  m.upsert(pod("x", "a", {{"pod", "a"}, {"tier", "web"}}));
  m.upsert(pod("x", "a", {{"pod", "a"}}));
  EXPECT_EQ(m.pod_labels("x", "a"), (policy::Labels{{"pod", "a"}}));
  EXPECT_EQ(m.pod_labels("x", "zz"), std::nullopt);
}

TEST(Model, BatchIsOneVersionWithNetChangesSortedByKey) {
  Model m;
  m.upsert(pod("x", "b", {{"pod", "b"}}));
  m.upsert(pod("x", "c", {{"pod", "c"}}));
  Recorder rec;
  auto sub = m.subscribe(rec.fn());

  Update u;
  u.removals = {Key{Kind::kPod, "x", "b"}, Key{Kind::kPod, "x", "c"}, Key{Kind::kNode, "", "missing"}};
  u.upserts.push_back(pod("x", "b", {{"pod", "b"}}));   // removed and put back equal: no change
  u.upserts.push_back(pod("y", "a", {{"pod", "a"}}));
  u.upserts.push_back(ns("x"));
  EXPECT_EQ(m.apply(std::move(u)), 3u);

  ASSERT_EQ(rec.calls.size(), 1u);
  EXPECT_EQ(rec.calls[0].first, 3u);
  EXPECT_EQ(rec.calls[0].second, (std::vector<Change>{{{Kind::kNamespace, "", "x"}, ChangeOp::kAdded},
                                                      {{Kind::kPod, "x", "c"}, ChangeOp::kRemoved},
                                                      {{Kind::kPod, "y", "a"}, ChangeOp::kAdded}}));
  EXPECT_EQ(m.counts(), (Counts{1, 2, 0, 0}));
}

TEST(Model, DestroyedSubscriptionIsNotCalledAgain) {
  Model m;
  Recorder rec;
  {
    auto sub = m.subscribe(rec.fn());
    m.upsert(ns("x"));
    Subscription moved = std::move(sub);
    m.upsert(ns("y"));
  }
  m.upsert(ns("z"));
  EXPECT_EQ(rec.calls.size(), 2u);
}

TEST(Model, ClusterHasNamespacesPodsPoliciesAndNodeIps) {
  Model m;
  Update u;
  u.upserts.push_back(ns("x", {{"ns", "x"}}));
  u.upserts.push_back(pod("x", "a", {{"pod", "a"}}));
  policy::NetworkPolicy np;
  np.ns = "x";
  np.name = "deny";
  u.upserts.push_back(np);
  Node node{"node-1",
            {{"InternalIP", "192.168.1.10"}, {"Hostname", "node-1"}, {"ExternalIP", "fd00::10"}},
            {IpPrefix::parse("10.244.1.0/24").value()}};
  u.upserts.push_back(node);
  m.apply(std::move(u));

  auto c = m.cluster();
  ASSERT_EQ(c.namespaces.size(), 1u);
  EXPECT_EQ(c.namespaces[0], (policy::Namespace{"x", {{"ns", "x"}}}));
  ASSERT_EQ(c.pods.size(), 1u);
  EXPECT_EQ(c.pods[0].name, "a");
  ASSERT_EQ(c.policies.size(), 1u);
  EXPECT_EQ(c.policies[0].id(), "x/deny");
  EXPECT_EQ(c.node_ips, (std::vector<IpAddr>{IpAddr::parse("192.168.1.10").value(), IpAddr::parse("fd00::10").value()}));
  EXPECT_EQ(m.get(Key{Kind::kNode, "", "node-1"}), std::optional<Object>(node));
}

TEST(Model, ConcurrentWritersNotifyInVersionOrder) {
  Model m;
  std::vector<uint64_t> versions;
  auto sub = m.subscribe([&](uint64_t v, std::span<const Change> c) {
    versions.push_back(v);  // calls are serialised: no lock needed
    EXPECT_EQ(c.size(), 1u);
  });
  constexpr int kPerThread = 500;
  auto writer = [&](const std::string& nsname) {
    for (int i = 0; i < kPerThread; ++i) m.upsert(pod(nsname, "p" + std::to_string(i), {}));
  };
  std::thread t1(writer, "x"), t2(writer, "y");
  for (int i = 0; i < 200; ++i) (void)m.cluster();  // readers alongside
  t1.join();
  t2.join();
  ASSERT_EQ(versions.size(), 2u * kPerThread);
  for (size_t i = 0; i < versions.size(); ++i) EXPECT_EQ(versions[i], i + 1);
  EXPECT_EQ(m.counts().pods, 2u * kPerThread);
}

}  // namespace
}  // namespace strand::model
