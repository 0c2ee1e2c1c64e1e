// LocalDirSource on a temporary directory: inotify events drive the model.
// Events are queued by the kernel when the file operation returns, so the
// poll-driven tests call process_events() right after each operation and
// need no sleeps; one test runs the source's own thread.
#include "agent/sources/localdir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/fs.h"

namespace strand::sources {
namespace {

using model::Key;
using model::Kind;

namespace fs = std::filesystem;

class LocalDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "strand-localdir-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto src = LocalDirSource::open(dir_, model_);
    ASSERT_TRUE(src.has_value()) << src.error().message();
    source_ = std::move(*src);
  }
  void TearDown() override {
    source_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // Written in place, closed: one IN_CLOSE_WRITE.
  void write(const std::string& name, const std::string& text) const {
    std::ofstream out(path(name), std::ios::trunc);
    out << text;
  }
  // Written beside and renamed in: IN_MOVED_TO.
  void write_renamed(const std::string& name, const std::string& text) const {
    ASSERT_TRUE(write_file_atomic(path(name), text).has_value());
  }

  void process() {
    auto n = source_->process_events();
    ASSERT_TRUE(n.has_value()) << n.error().message();
  }

  std::vector<Key> keys() const {
    return model_.read([](uint64_t, const model::Model::Objects& objs) {
      std::vector<Key> out;
      for (const auto& [k, o] : objs) out.push_back(k);
      return out;
    });
  }

  std::string dir_;
  model::Model model_;
  std::unique_ptr<LocalDirSource> source_;
};

std::string pod_yaml(const std::string& ns, const std::string& name, const std::string& label) {
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + ns + ", labels: {pod: " + label +
         "}}\n";
}

const char* kPolicy = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: x}
spec: {podSelector: {}}
)";

TEST_F(LocalDir, RescanAtStartReadsEveryManifestOnly) {
  write("a.yaml", pod_yaml("x", "a", "a") + "---\n" + kPolicy);
  write("b.json", R"({"kind": "List", "items": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}]})");
  write("notes.txt", pod_yaml("x", "txt", "t"));
  write(".hidden.yaml", pod_yaml("x", "hidden", "h"));
  fs::create_directory(path("sub.yaml"));  // a directory, not a manifest
  write("sub.yaml/c.yaml", pod_yaml("x", "nested", "n"));

  EXPECT_FALSE(source_->synced());
  source_->rescan();
  EXPECT_TRUE(source_->synced());
  EXPECT_EQ(keys(), (std::vector<Key>{{Kind::kNamespace, "", "x"}, {Kind::kPod, "x", "a"}, {Kind::kNetworkPolicy, "x", "deny"}}));
  EXPECT_EQ(model_.version(), 1u);  // one update for the whole scan
  EXPECT_EQ(source_->stats(), (LocalDirStats{.loads = 2, .errors = 0, .rescans = 1, .overflows = 0}));
}

TEST_F(LocalDir, WriteRenameModifyDelete) {
  source_->rescan();
  EXPECT_EQ(model_.version(), 0u);

  write("pods.yaml", pod_yaml("x", "a", "a") + "---\n" + pod_yaml("x", "b", "b"));
  process();
  EXPECT_EQ(keys(), (std::vector<Key>{{Kind::kPod, "x", "a"}, {Kind::kPod, "x", "b"}}));
  EXPECT_EQ(model_.version(), 1u);

  write_renamed("policy.yaml", kPolicy);
  process();
  EXPECT_EQ(keys(), (std::vector<Key>{{Kind::kPod, "x", "a"}, {Kind::kPod, "x", "b"}, {Kind::kNetworkPolicy, "x", "deny"}}));
  EXPECT_EQ(model_.version(), 2u);

  // Labels of a change; b no longer in the file: gone.
  std::vector<model::Change> seen;
  auto sub = model_.subscribe([&](uint64_t, std::span<const model::Change> c) { seen.assign(c.begin(), c.end()); });
  write_renamed("pods.yaml", pod_yaml("x", "a", "web"));
  process();
  EXPECT_EQ(model_.pod_labels("x", "a"), (policy::Labels{{"pod", "web"}}));
  EXPECT_EQ(seen, (std::vector<model::Change>{{{Kind::kPod, "x", "a"}, model::ChangeOp::kUpdated},
                                              {{Kind::kPod, "x", "b"}, model::ChangeOp::kRemoved}}));
  EXPECT_EQ(model_.version(), 3u);

  // The same content again: no new version.
  write("pods.yaml", pod_yaml("x", "a", "web"));
  process();
  EXPECT_EQ(model_.version(), 3u);

  ASSERT_EQ(::unlink(path("policy.yaml").c_str()), 0);
  process();
  EXPECT_EQ(keys(), (std::vector<Key>{{Kind::kPod, "x", "a"}}));
  EXPECT_EQ(model_.version(), 4u);

  // Renamed out of the directory: its objects go too.
  fs::rename(path("pods.yaml"), dir_ + "/../" + fs::path(dir_).filename().string() + "-moved.yaml");
  process();
  fs::remove(dir_ + "/../" + fs::path(dir_).filename().string() + "-moved.yaml");
  EXPECT_EQ(keys(), std::vector<Key>{});
  EXPECT_EQ(model_.version(), 5u);
  EXPECT_EQ(source_->stats().errors, 0u);
}

// The file "<dir>/.generation" (hidden: never a manifest) reports its number
// with the model version that includes every manifest written before it.
TEST_F(LocalDir, GenerationReportsTheModelVersionOfEverythingBeforeIt) {
  std::vector<std::pair<uint64_t, uint64_t>> gens;
  source_->on_generation([&](uint64_t g, uint64_t v) { gens.emplace_back(g, v); });
  write_renamed(".generation", "7\n");
  source_->rescan();
  EXPECT_EQ(gens, (std::vector<std::pair<uint64_t, uint64_t>>{{7, 0}}));

  // Manifests and the generation in one batch of events: the manifests are
  // applied first (one update: version 1), then the generation reported.
  write("pods.yaml", pod_yaml("x", "a", "a"));
  write_renamed("policy.yaml", kPolicy);
  write_renamed(".generation", "8");
  process();
  ASSERT_EQ(gens.size(), 2u);
  EXPECT_EQ(gens[1], (std::pair<uint64_t, uint64_t>{8, 1}));
  EXPECT_EQ(model_.version(), 1u);

  // In place (IN_CLOSE_WRITE) works too; garbage is ignored, not reported.
  write(".generation", "9");
  process();
  write(".generation", "ten");
  process();
  write(".generation", "");
  process();
  EXPECT_EQ(gens.size(), 3u);
  EXPECT_EQ(gens[2], (std::pair<uint64_t, uint64_t>{9, 1}));
  EXPECT_EQ(keys().size(), 2u);  // .generation is not a manifest
  EXPECT_EQ(source_->stats().errors, 0u);
}

TEST_F(LocalDir, RenameWithinTheDirectoryIsOneUpdateWithoutRemoval) {
  write("a.yaml", pod_yaml("x", "a", "a"));
  source_->rescan();
  EXPECT_EQ(model_.version(), 1u);
  fs::rename(path("a.yaml"), path("b.yaml"));
  process();
  EXPECT_EQ(keys(), (std::vector<Key>{{Kind::kPod, "x", "a"}}));
  EXPECT_EQ(model_.version(), 1u);  // MOVED_FROM and MOVED_TO read together: no net change
}

TEST_F(LocalDir, BadFileKeepsItsPreviousObjects) {
  write("pods.yaml", pod_yaml("x", "a", "a"));
  source_->rescan();
  ASSERT_EQ(model_.version(), 1u);

  write("pods.yaml", pod_yaml("x", "a", "changed") + "---\nkind: Pod\nmetadata: {name: [\n");  // syntax error
  process();
  EXPECT_EQ(model_.pod_labels("x", "a"), (policy::Labels{{"pod", "a"}}));
  EXPECT_EQ(model_.version(), 1u);
  EXPECT_EQ(source_->stats().errors, 1u);

  write("pods.yaml", pod_yaml("x", "a", "a") + "---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\n");  // no name
  process();
  EXPECT_EQ(keys(), (std::vector<Key>{{Kind::kPod, "x", "a"}}));
  EXPECT_EQ(source_->stats().errors, 2u);

  // A new bad file adds nothing and does not disturb the others.
  write("new.yaml", "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {namespace: x}\n");  // no name
  process();
  EXPECT_EQ(keys(), (std::vector<Key>{{Kind::kPod, "x", "a"}}));
  EXPECT_EQ(source_->stats().errors, 3u);

  write("pods.yaml", pod_yaml("x", "a", "fixed"));
  process();
  EXPECT_EQ(model_.pod_labels("x", "a"), (policy::Labels{{"pod", "fixed"}}));
  EXPECT_EQ(model_.version(), 2u);
}

TEST_F(LocalDir, PolicyThatDoesNotParseIsLoadedNotEnforced) {
  // Neither skipped (its pods would be unrestricted) nor holding its file's
  // previous objects in place: the policy is there, not enforced.
  write("p.yaml", std::string(kPolicy) + "---\n" + pod_yaml("x", "a", "a"));
  source_->rescan();
  write("p.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: x}\nspec:\n"
        "  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]\n---\n" +
            pod_yaml("x", "a", "changed"));
  process();
  EXPECT_EQ(source_->stats().errors, 0u);
  EXPECT_EQ(model_.pod_labels("x", "a"), (policy::Labels{{"pod", "changed"}}));
  auto o = model_.get({Kind::kNetworkPolicy, "x", "deny"});
  ASSERT_TRUE(o.has_value());
  const auto& np = std::get<policy::NetworkPolicy>(*o);
  EXPECT_EQ(np.not_enforced, "spec.ingress[0].from[0].ipBlock.cidr: '10.0.0.0/33' is not a valid IPv4 or IPv6 CIDR");
  EXPECT_TRUE(np.ingress.empty());
  EXPECT_EQ(np.pod_selector, policy::LabelSelector{});
}

TEST_F(LocalDir, ObjectInTwoFilesSurvivesTheRemovalOfOne) {
  write("one.yaml", pod_yaml("x", "a", "one"));
  source_->rescan();
  write("two.yaml", pod_yaml("x", "a", "two"));
  process();
  EXPECT_EQ(model_.pod_labels("x", "a"), (policy::Labels{{"pod", "two"}}));  // loaded last wins
  ASSERT_EQ(::unlink(path("two.yaml").c_str()), 0);
  process();
  EXPECT_EQ(model_.pod_labels("x", "a"), (policy::Labels{{"pod", "one"}}));
  ASSERT_EQ(::unlink(path("one.yaml").c_str()), 0);
  process();
  EXPECT_EQ(keys(), std::vector<Key>{});
}

TEST_F(LocalDir, SymlinkIntoTheDirectoryIsRead) {
  source_->rescan();
  std::string target = dir_ + "-target.yaml";
  {
    std::ofstream out(target);
    out << pod_yaml("x", "linked", "l");
  }
  fs::create_symlink(target, path("linked.yaml"));
  process();
  fs::remove(target);
  EXPECT_EQ(keys(), (std::vector<Key>{{Kind::kPod, "x", "linked"}}));
}

TEST_F(LocalDir, QueueOverflowRescans) {
  long max_events = 0;
  {
    std::ifstream in("/proc/sys/fs/inotify/max_queued_events");
    in >> max_events;
  }
  if (max_events <= 0 || max_events > 200000) GTEST_SKIP() << "max_queued_events=" << max_events << " too large to overflow quickly";
  write("pods.yaml", pod_yaml("x", "a", "a"));
  source_->rescan();

  // Fill the queue with events of files that are no manifests, then change a
  // manifest. Two names alternate: the kernel merges an event identical to the
  // one before it.
  for (long i = 0; i <= max_events; ++i) {
    int fd = ::open(path(i % 2 == 0 ? "noise-0.txt" : "noise-1.txt").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ::close(fd);
  }
  write("pods.yaml", pod_yaml("x", "a", "after-overflow"));
  process();
  EXPECT_EQ(model_.pod_labels("x", "a"), (policy::Labels{{"pod", "after-overflow"}}));
  EXPECT_EQ(source_->stats(), (LocalDirStats{.loads = 2, .errors = 0, .rescans = 2, .overflows = 1}));
}

TEST_F(LocalDir, OwnThreadFollowsTheDirectoryAndStops) {
  write("ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n");
  std::mutex mu;
  std::condition_variable cv;
  uint64_t last = 0;
  auto sub = model_.subscribe([&](uint64_t v, std::span<const model::Change>) {
    std::lock_guard lock(mu);
    last = v;
    cv.notify_all();
  });
  ASSERT_TRUE(source_->start().has_value());
  EXPECT_TRUE(source_->synced());  // start() returns with the directory read
  EXPECT_EQ(keys(), (std::vector<Key>{{Kind::kNamespace, "", "x"}}));

  write_renamed("pods.yaml", pod_yaml("x", "a", "a"));
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return last >= 2; }));
  }
  EXPECT_EQ(keys(), (std::vector<Key>{{Kind::kNamespace, "", "x"}, {Kind::kPod, "x", "a"}}));

  source_->stop();
  write("late.yaml", pod_yaml("x", "late", "l"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // time a running thread would have had
  EXPECT_EQ(model_.version(), 2u);  // stopped: nothing read any more
}

TEST(LocalDirOpen, MissingDirectoryIsAnError) {
  model::Model m;
  auto src = LocalDirSource::open("/nonexistent/strand-source", m);
  ASSERT_FALSE(src.has_value());
  EXPECT_EQ(src.error().err, ENOENT);
  EXPECT_EQ(src.error().op, "stat");
}

}  // namespace
}  // namespace strand::sources
