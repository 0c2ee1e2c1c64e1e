// K8sSource against FakeApiServer (HTTPS on 127.0.0.1): list, watch, resume,
// bookmarks, 410, reconnects, paging, credentials. Waits poll the model or
// the stats with a deadline; the server's hold_watches() and
// close_watches() order the steps, so no test sleeps to synchronise.
#include "agent/sources/k8s/source.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include "agent/sources/k8s/base64.h"
#include "common/fs.h"
#include "fake_apiserver.h"
#include "test_pki.h"

namespace strand::sources::k8s {
namespace {

using namespace std::chrono_literals;
using model::Key;
using model::Kind;
using nlohmann::json;
using testing::FakeApiServer;
using testing::FakeApiServerOptions;
using testing::GoneMode;
using testing::kNamespaces;
using testing::kNodes;
using testing::kPods;
using testing::kPolicies;
using testing::RecordedRequest;
namespace fs = std::filesystem;

const testing::Pki& pki() {
  static const testing::Pki p = testing::make_pki();
  return p;
}

// Objects shaped as the API returns them (the server sets resourceVersion).
json pod(const std::string& ns, const std::string& name, const std::string& ip, const std::string& app = "web") {
  return {{"kind", "Pod"},
          {"apiVersion", "v1"},
          {"metadata",
           {{"name", name}, {"namespace", ns}, {"uid", "uid-" + ns + "-" + name},
            {"creationTimestamp", "2026-11-23T22:00:00Z"}, {"labels", {{"app", app}}}}},
          {"spec",
           {{"nodeName", "node-1"},
            {"containers", {{{"name", "c"}, {"image", "busybox"},
                             {"ports", {{{"name", "http"}, {"containerPort", 80}, {"protocol", "TCP"}}}}}}}}},
          {"status", {{"phase", "Running"}, {"podIP", ip}, {"podIPs", {{{"ip", ip}}}}}}};
}
json ns(const std::string& name) {
  return {{"kind", "Namespace"},
          {"apiVersion", "v1"},
          {"metadata", {{"name", name}, {"uid", "uid-ns-" + name}, {"labels", {{"kubernetes.io/metadata.name", name}}}}},
          {"spec", {{"finalizers", {"kubernetes"}}}},
          {"status", {{"phase", "Active"}}}};
}
json node(const std::string& name, const std::string& ip, const std::string& cidr) {
  return {{"kind", "Node"},
          {"apiVersion", "v1"},
          {"metadata", {{"name", name}, {"uid", "uid-node-" + name}}},
          {"spec", {{"podCIDR", cidr}, {"podCIDRs", {cidr}}}},
          {"status", {{"addresses", {{{"type", "InternalIP"}, {"address", ip}}, {{"type", "Hostname"}, {"address", name}}}}}}};
}
json policy(const std::string& ns, const std::string& name) {
  return {{"kind", "NetworkPolicy"},
          {"apiVersion", "networking.k8s.io/v1"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"uid", "uid-np-" + name}, {"generation", 1}}},
          {"spec", {{"podSelector", {{"matchLabels", {{"app", "web"}}}}}, {"policyTypes", {"Ingress"}},
                    {"ingress", {{{"from", {{{"podSelector", json::object()}}}}}}}}}};
}

ReflectorOptions fast_options() {
  ReflectorOptions o;
  o.watch_timeout_seconds = 60;
  o.watch_idle_grace = 5s;
  o.request_timeout = 5s;
  o.backoff_min = 20ms;
  o.backoff_max = 200ms;
  return o;
}

template <typename P>
bool eventually(P pred, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

class K8sSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "strand-k8ssrc-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
  }
  void TearDown() override {
    source_.reset();
    server_.reset();
    fs::remove_all(dir_);
  }

  void start_server(FakeApiServerOptions o = {}) {
    o.cert_pem = pki().server.cert_pem;
    o.key_pem = pki().server.key_pem;
    server_ = std::make_unique<FakeApiServer>(o);
    ASSERT_TRUE(server_->start());
  }
  ClusterConfig token_config(const std::string& token = "good-token") const {
    ClusterConfig c;
    c.server = parse_server_url(server_->url()).value();
    c.ca_pem = pki().ca.cert_pem;
    c.token = token;
    c.origin = "test";
    return c;
  }
  void open(ClusterConfig c, ReflectorOptions o = fast_options()) {
    auto s = K8sSource::open(std::move(c), model_, o);
    ASSERT_TRUE(s.has_value()) << s.error().message();
    source_ = std::move(*s);
    ASSERT_TRUE(source_->start().has_value());
  }
  // Synced, with all four watches open at the server.
  void wait_watching() {
    ASSERT_TRUE(eventually([&] { return source_->synced(); })) << "never synced";
    ASSERT_TRUE(eventually([&] { return server_->open_watches() == 4; })) << server_->open_watches();
    // ... and the client has read every watch response the server answered.
    ASSERT_TRUE(eventually([&] {
      size_t answered = 0;
      for (const auto& r : server_->requests()) answered += r.is_watch() && r.status == 200 ? 1 : 0;
      return source_->stats().watches == answered;
    }));
  }
  ReflectorStats pods() const { return source_->stats().per_kind.at(Kind::kPod); }
  std::vector<RecordedRequest> watches_of(const std::string& path) const {
    std::vector<RecordedRequest> out;
    for (auto& r : server_->requests()) {
      if (r.path == path && r.is_watch()) out.push_back(r);
    }
    return out;
  }
  std::string write(const std::string& name, const std::string& text) const {
    EXPECT_TRUE(write_file_atomic(dir_ + "/" + name, text).has_value());
    return dir_ + "/" + name;
  }
  bool has(const Key& k) const { return model_.get(k).has_value(); }

  std::string dir_;
  model::Model model_;
  std::unique_ptr<FakeApiServer> server_;
  std::unique_ptr<K8sSource> source_;
};

TEST_F(K8sSourceTest, InitialListFillsTheModel) {
  start_server();
  server_->add(kNamespaces, ns("x"));
  server_->add(kNamespaces, ns("y"));
  server_->add(kPods, pod("x", "a", "10.1.0.1"));
  server_->add(kPods, pod("x", "b", "10.1.0.2"));
  server_->add(kPods, pod("y", "a", "10.1.0.3", "db"));
  server_->add(kPolicies, policy("x", "allow-web"));
  server_->add(kNodes, node("node-1", "192.168.0.1", "10.1.0.0/24"));
  open(token_config());
  wait_watching();

  EXPECT_EQ(model_.counts(), (model::Counts{2, 3, 1, 1}));
  auto p = model_.get({Kind::kPod, "y", "a"});
  ASSERT_TRUE(p.has_value());
  const auto& yp = std::get<model::Pod>(*p);
  EXPECT_EQ(yp.uid, "uid-y-a");
  EXPECT_EQ(yp.node_name, "node-1");
  EXPECT_EQ(yp.base.labels.at("app"), "db");
  ASSERT_EQ(yp.base.ips.size(), 1u);
  EXPECT_EQ(yp.base.ips[0].str(), "10.1.0.3");
  auto n = model_.get({Kind::kNode, "", "node-1"});
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(std::get<model::Node>(*n).pod_cidrs.at(0).str(), "10.1.0.0/24");
  EXPECT_TRUE(has({Kind::kNetworkPolicy, "x", "allow-web"}));

  auto s = source_->stats();
  EXPECT_EQ(s.lists, 4u);
  EXPECT_EQ(s.relists, 0u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(s.watch_events, 0u);
  EXPECT_EQ(s.watches, 4u);
  EXPECT_EQ(pods().resource_version, "107");
  // Each reflector: one list, then a watch from the list's resourceVersion.
  for (const char* path : {kPods, kNamespaces, kNodes, kPolicies}) {
    auto w = watches_of(path);
    ASSERT_EQ(w.size(), 1u) << path;
    EXPECT_EQ(w[0].q("resourceVersion"), "107") << path;
    EXPECT_EQ(w[0].q("allowWatchBookmarks"), "true") << path;
    EXPECT_EQ(w[0].q("timeoutSeconds"), "60") << path;
  }
  for (const auto& r : server_->requests()) EXPECT_EQ(r.authorization, "Bearer good-token") << r.path;
}

TEST_F(K8sSourceTest, WatchAddedModifiedDeleted) {
  start_server();
  server_->add(kNamespaces, ns("x"));
  open(token_config());
  wait_watching();
  std::vector<model::Change> changes;
  std::mutex mu;
  auto sub = model_.subscribe([&](uint64_t, std::span<const model::Change> cs) {
    std::lock_guard lock(mu);
    changes.insert(changes.end(), cs.begin(), cs.end());
  });

  server_->add(kPods, pod("x", "a", "10.1.0.1"));
  ASSERT_TRUE(eventually([&] { return has({Kind::kPod, "x", "a"}); }));
  server_->modify(kPods, pod("x", "a", "10.1.0.1", "api"));
  ASSERT_TRUE(eventually([&] {
    auto p = model_.get({Kind::kPod, "x", "a"});
    return p && std::get<model::Pod>(*p).base.labels.at("app") == "api";
  }));
  const uint64_t deleted_rv = server_->remove(kPods, "x", "a");
  ASSERT_TRUE(eventually([&] { return !has({Kind::kPod, "x", "a"}); }));
  ASSERT_TRUE(eventually([&] { return pods().resource_version == std::to_string(deleted_rv); }));

  std::lock_guard lock(mu);
  const Key a{Kind::kPod, "x", "a"};
  EXPECT_EQ(changes, (std::vector<model::Change>{{a, model::ChangeOp::kAdded}, {a, model::ChangeOp::kUpdated},
                                                 {a, model::ChangeOp::kRemoved}}));
  EXPECT_EQ(pods().watch_events, 3u);
  EXPECT_EQ(source_->stats().errors, 0u);
}

TEST_F(K8sSourceTest, EventsSplitAcrossChunkBoundaries) {
  start_server();
  open(token_config());
  wait_watching();
  // 7-byte chunks: every event spans several chunks, and chunks carry the
  // end of one event and the start of the next.
  server_->set_chunk_split(7);
  for (int i = 0; i < 5; ++i) server_->add(kPods, pod("x", "p" + std::to_string(i), "10.1.0." + std::to_string(i + 1)));
  ASSERT_TRUE(eventually([&] { return model_.counts().pods == 5; })) << model_.counts().pods;
  for (int i = 0; i < 5; ++i) {
    auto p = model_.get({Kind::kPod, "x", "p" + std::to_string(i)});
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(std::get<model::Pod>(*p).base.ips.at(0).str(), "10.1.0." + std::to_string(i + 1));
  }
  EXPECT_EQ(pods().watch_events, 5u);
  EXPECT_EQ(pods().errors, 0u);
  EXPECT_EQ(pods().watches, 1u);
}

TEST_F(K8sSourceTest, BookmarkAdvancesTheResumePoint) {
  start_server();
  open(token_config());
  wait_watching();
  const uint64_t pod_rv = server_->add(kPods, pod("x", "a", "10.1.0.1"));
  ASSERT_TRUE(eventually([&] { return pods().resource_version == std::to_string(pod_rv); }));
  // Other resources move the revision on; the pods watch only hears of it
  // through a bookmark.
  server_->add(kNamespaces, ns("x"));
  server_->add(kNamespaces, ns("y"));
  const uint64_t bm = server_->bookmark(kPods);
  ASSERT_GT(bm, pod_rv);
  ASSERT_TRUE(eventually([&] { return pods().bookmarks == 1; }));
  EXPECT_EQ(pods().resource_version, std::to_string(bm));
  EXPECT_EQ(pods().watch_events, 1u);  // a bookmark is not an object event

  server_->close_watches();
  ASSERT_TRUE(eventually([&] { return watches_of(kPods).size() == 2; }));
  EXPECT_EQ(watches_of(kPods)[1].q("resourceVersion"), std::to_string(bm));
  EXPECT_EQ(model_.counts().pods, 1u);
}

TEST_F(K8sSourceTest, ClosedWatchResumesWithNothingLostOrDoubled) {
  start_server();
  server_->add(kPods, pod("x", "p0", "10.1.0.10"));
  open(token_config());
  wait_watching();
  const uint64_t rv1 = server_->add(kPods, pod("x", "p1", "10.1.0.11"));
  ASSERT_TRUE(eventually([&] { return pods().resource_version == std::to_string(rv1); }));

  // The server ends every watch; the reconnects wait at the server while
  // three more changes happen.
  server_->hold_watches(true);
  server_->close_watches();
  ASSERT_TRUE(eventually([&] { return server_->held_watches() == 4; }));
  server_->add(kPods, pod("x", "p2", "10.1.0.12"));
  server_->modify(kPods, pod("x", "p1", "10.1.0.11", "api"));
  const uint64_t last = server_->remove(kPods, "x", "p0");
  server_->hold_watches(false);

  ASSERT_TRUE(eventually([&] { return pods().resource_version == std::to_string(last); }));
  auto w = watches_of(kPods);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[1].q("resourceVersion"), std::to_string(rv1));
  // Four events sent, four received: none replayed twice, none missed.
  EXPECT_EQ(pods().watch_events, 4u);
  EXPECT_EQ(server_->events_sent(), 4u);
  EXPECT_EQ(pods().lists, 1u);
  EXPECT_EQ(pods().errors, 0u);
  EXPECT_FALSE(has({Kind::kPod, "x", "p0"}));
  EXPECT_TRUE(has({Kind::kPod, "x", "p2"}));
  EXPECT_EQ(std::get<model::Pod>(*model_.get({Kind::kPod, "x", "p1"})).base.labels.at("app"), "api");
}

class Gone : public K8sSourceTest, public ::testing::WithParamInterface<GoneMode> {};

TEST_P(Gone, RelistAppliesTheDifferenceInOneUpdate) {
  start_server();
  server_->set_gone_mode(GetParam());
  server_->add(kNamespaces, ns("x"));
  server_->add(kPods, pod("x", "a", "10.1.0.1"));
  server_->add(kPods, pod("x", "b", "10.1.0.2"));
  open(token_config());
  wait_watching();

  std::vector<std::vector<model::Change>> updates;
  std::mutex mu;
  auto sub = model_.subscribe([&](uint64_t, std::span<const model::Change> cs) {
    std::lock_guard lock(mu);
    updates.emplace_back(cs.begin(), cs.end());
  });
  // While the watches are down: a delete, an add and a change, then the
  // history is compacted past the reflectors' resourceVersion.
  server_->hold_watches(true);
  server_->close_watches();
  ASSERT_TRUE(eventually([&] { return server_->held_watches() == 4; }));
  server_->remove(kPods, "x", "a");
  server_->add(kPods, pod("x", "c", "10.1.0.3"));
  server_->modify(kPods, pod("x", "b", "10.1.0.2", "api"));
  server_->compact();
  server_->hold_watches(false);

  ASSERT_TRUE(eventually([&] { return source_->stats().relists == 4; })) << source_->stats().relists;
  wait_watching();
  auto s = source_->stats();
  EXPECT_EQ(s.gone, 4u);
  EXPECT_EQ(s.lists, 8u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(s.watch_events, 0u);  // the changes came with the relist
  {
    std::lock_guard lock(mu);
    // The pods relist is one update: a removed, b updated, c added.
    const std::vector<model::Change> want = {{{Kind::kPod, "x", "a"}, model::ChangeOp::kRemoved},
                                             {{Kind::kPod, "x", "b"}, model::ChangeOp::kUpdated},
                                             {{Kind::kPod, "x", "c"}, model::ChangeOp::kAdded}};
    ASSERT_EQ(updates.size(), 1u);  // the other relists changed nothing
    EXPECT_EQ(updates[0], want);
  }
  EXPECT_EQ(model_.counts().pods, 2u);
  // The new watch starts from the relist's resourceVersion.
  auto w = watches_of(kPods);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[2].q("resourceVersion"), std::to_string(server_->resource_version()));
  if (GetParam() == GoneMode::kHttpStatus) {
    EXPECT_EQ(w[1].status, 410);
  } else {
    EXPECT_EQ(w[1].status, 200);
  }
  // And events after the relist arrive.
  server_->add(kPods, pod("x", "d", "10.1.0.4"));
  ASSERT_TRUE(eventually([&] { return has({Kind::kPod, "x", "d"}); }));
}

INSTANTIATE_TEST_SUITE_P(Modes, Gone, ::testing::Values(GoneMode::kErrorEvent, GoneMode::kHttpStatus),
                         [](const auto& info) { return info.param == GoneMode::kErrorEvent ? "ErrorEvent" : "HttpStatus"; });

TEST_F(K8sSourceTest, GoneRightAfterAListBacksOff) {
  // A relist whose watch is 410 again at once must not relist in a loop:
  // the second 410 in a row waits out a backoff (here 10 s) first.
  start_server();
  server_->set_always_gone(true);
  auto o = fast_options();
  o.backoff_min = 10s;
  o.backoff_max = 20s;
  open(token_config(), o);
  ASSERT_TRUE(eventually([&] { return pods().gone == 2; }));
  // Without the backoff a relist and a 410 take a few ms: look for a third
  // one for 300 ms (an absence check, not a synchronisation).
  EXPECT_FALSE(eventually([&] { return pods().gone > 2; }, 300ms)) << pods().gone;
  source_->stop();
  EXPECT_EQ(pods().gone, 2u);
  EXPECT_EQ(pods().lists, 2u);
  EXPECT_EQ(pods().relists, 1u);
  EXPECT_EQ(pods().reconnects, 0u);  // the backoff was cut short by stop()
  EXPECT_EQ(pods().errors, 0u);
}

TEST_F(K8sSourceTest, ServerDownThenUpReconnectsWithBackoff) {
  start_server();
  server_->add(kPods, pod("x", "a", "10.1.0.1"));
  open(token_config());
  wait_watching();
  const std::string rv = pods().resource_version;

  server_->stop();
  server_->add(kPods, pod("x", "b", "10.1.0.2"));  // while down
  // Cut watches and refused connects: at least two failed attempts each.
  ASSERT_TRUE(eventually([&] {
    for (const auto& [k, s] : source_->stats().per_kind) {
      if (s.errors < 3) return false;
    }
    return true;
  }));
  const auto up = std::chrono::steady_clock::now();
  ASSERT_TRUE(server_->start());
  ASSERT_TRUE(eventually([&] { return has({Kind::kPod, "x", "b"}); }));
  const auto took = std::chrono::steady_clock::now() - up;
  // backoff_max is 200 ms: the next attempt comes within it (plus a handshake).
  EXPECT_LT(took, 2s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  ASSERT_TRUE(eventually([&] { return server_->open_watches() == 4; }));

  auto s = source_->stats();
  EXPECT_EQ(s.relists, 0u);  // resumed, not relisted
  for (const auto& [k, r] : s.per_kind) {
    // Every failure was followed by one backoff wait and one retry.
    EXPECT_EQ(r.reconnects, r.errors) << model::kind_name(k);
    EXPECT_NE(r.last_error, "") << model::kind_name(k);
  }
  auto w = watches_of(kPods);
  ASSERT_GE(w.size(), 2u);
  EXPECT_EQ(w.back().q("resourceVersion"), rv);
  EXPECT_EQ(pods().watch_events, 1u);
}

TEST_F(K8sSourceTest, ListPagesWithContinue) {
  start_server();
  for (int i = 0; i < 5; ++i) server_->add(kPods, pod("x", "p" + std::to_string(i), "10.1.0." + std::to_string(i + 1)));
  auto o = fast_options();
  o.page_limit = 2;
  open(token_config(), o);
  wait_watching();
  EXPECT_EQ(model_.counts().pods, 5u);
  EXPECT_EQ(pods().list_pages, 3u);
  EXPECT_EQ(pods().lists, 1u);
  std::vector<RecordedRequest> lists;
  for (auto& r : server_->requests()) {
    if (r.path == kPods && !r.is_watch()) lists.push_back(r);
  }
  ASSERT_EQ(lists.size(), 3u);
  for (const auto& r : lists) EXPECT_EQ(r.q("limit"), "2");
  EXPECT_EQ(lists[0].q("continue"), "");
  EXPECT_EQ(lists[1].q("continue"), "c1/105+=");  // decoded back to the server's token
  EXPECT_EQ(lists[2].q("continue"), "c2/105+=");
  EXPECT_EQ(watches_of(kPods).at(0).q("resourceVersion"), "105");
}

TEST_F(K8sSourceTest, LargeListArrivesChunked) {
  start_server();
  for (int i = 0; i < 300; ++i) {
    server_->add(kPods, pod("x", "p" + std::to_string(i), "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)));
  }
  open(token_config());
  wait_watching();
  EXPECT_EQ(model_.counts().pods, 300u);
  EXPECT_EQ(pods().list_pages, 1u);
  EXPECT_EQ(server_->chunked_lists(), 1u);  // the pods page, over kChunkedListOver bytes
  EXPECT_EQ(std::get<model::Pod>(*model_.get({Kind::kPod, "x", "p299"})).base.ips.at(0).str(), "10.1.1.50");
}

TEST_F(K8sSourceTest, ExpiredContinueRestartsTheList) {
  start_server();
  for (int i = 0; i < 5; ++i) server_->add(kPods, pod("x", "p" + std::to_string(i), "10.1.0." + std::to_string(i + 1)));
  server_->expire_next_continue();
  auto o = fast_options();
  o.page_limit = 2;
  open(token_config(), o);
  wait_watching();
  EXPECT_EQ(model_.counts().pods, 5u);
  std::vector<int> statuses;
  std::vector<std::string> conts;
  for (auto& r : server_->requests()) {
    if (r.path != kPods || r.is_watch()) continue;
    statuses.push_back(r.status);
    conts.push_back(r.q("continue"));
  }
  // Page 1, page 2 expired, then the list again from the start.
  EXPECT_EQ(statuses, (std::vector<int>{200, 410, 200, 200, 200}));
  EXPECT_EQ(conts, (std::vector<std::string>{"", "c1/105+=", "", "c2/105+=", "c3/105+="}));
  EXPECT_EQ(pods().list_pages, 4u);
  EXPECT_EQ(pods().lists, 1u);
  EXPECT_EQ(pods().errors, 0u);
}

TEST_F(K8sSourceTest, WrongTokenIsSurfacedCountedAndARotatedTokenIsUsed) {
  start_server();
  server_->add(kPods, pod("x", "a", "10.1.0.1"));
  ClusterConfig c = token_config("");
  c.token_file = write("token", "stale-token\n");
  open(c);
  ASSERT_TRUE(eventually([&] { return pods().errors >= 2; }));
  EXPECT_FALSE(source_->synced());
  EXPECT_NE(pods().last_error.find("HTTP 401 Unauthorized"), std::string::npos) << pods().last_error;
  EXPECT_EQ(model_.counts().pods, 0u);

  write("token", "good-token\n");  // the kubelet rotates the projected token
  wait_watching();
  EXPECT_EQ(model_.counts().pods, 1u);
  source_->stop();
  size_t unauthorized = 0;
  for (const auto& r : server_->requests()) unauthorized += r.status == 401 ? 1 : 0;
  EXPECT_EQ(source_->stats().errors, unauthorized);
  EXPECT_EQ(source_->stats().reconnects, unauthorized);
}

// A kubeconfig as kubectl writes it, read by load_kubeconfig.
std::string kubeconfig_text(const std::string& server, const std::string& cluster, const std::string& user) {
  return "apiVersion: v1\nkind: Config\ncurrent-context: test\npreferences: {}\n"
         "clusters:\n- name: strand\n  cluster:\n    server: " + server + "\n" + cluster +
         "contexts:\n- name: test\n  context:\n    cluster: strand\n    user: agent\n"
         "users:\n- name: agent\n  user:\n" + user;
}

std::string b64(const std::string& s) {
  BioPtr b64f(BIO_new(BIO_f_base64()));
  BIO* mem = BIO_new(BIO_s_mem());
  BIO_set_flags(b64f.get(), BIO_FLAGS_BASE64_NO_NL);
  BIO_push(b64f.get(), mem);
  BIO_write(b64f.get(), s.data(), static_cast<int>(s.size()));
  (void)BIO_flush(b64f.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(mem, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_pop(b64f.get());
  BIO_free(mem);
  return out;
}

TEST_F(K8sSourceTest, KubeconfigWithTokenAndCaData) {
  start_server();
  server_->add(kNodes, node("node-1", "192.168.0.1", "10.1.0.0/24"));
  const std::string path = write("kubeconfig", kubeconfig_text(server_->url(),
                                                               "    certificate-authority-data: " + b64(pki().ca.cert_pem) + "\n",
                                                               "    token: good-token\n"));
  auto c = load_kubeconfig(path);
  ASSERT_TRUE(c.has_value()) << c.error().message();
  open(*c);
  wait_watching();
  EXPECT_EQ(model_.counts().nodes, 1u);
  EXPECT_EQ(source_->stats().errors, 0u);
}

TEST_F(K8sSourceTest, InClusterServiceAccount) {
  start_server();
  server_->add(kNamespaces, ns("kube-system"));
  // The service account directory as the kubelet mounts it.
  write("ca.crt", pki().ca.cert_pem);
  write("token", "good-token");
  auto c = in_cluster_config("127.0.0.1", std::to_string(server_->port()), dir_);
  ASSERT_TRUE(c.has_value()) << c.error().message();
  ASSERT_TRUE(load_files(*c).has_value());
  open(*c);
  wait_watching();
  EXPECT_EQ(model_.counts().namespaces, 1u);
  for (const auto& r : server_->requests()) EXPECT_EQ(r.authorization, "Bearer good-token") << r.path;
}

TEST_F(K8sSourceTest, KubeconfigWithClientCertificate) {
  FakeApiServerOptions o;
  o.token = "";  // authenticated by the certificate alone
  o.client_ca_pem = pki().client_ca.cert_pem;
  start_server(o);
  server_->add(kNamespaces, ns("x"));
  write("ca.crt", pki().ca.cert_pem);
  write("agent.crt", pki().client.cert_pem);
  write("agent.key", pki().client.key_pem);
  const std::string path = write("kubeconfig", kubeconfig_text(server_->url(), "    certificate-authority: ca.crt\n",
                                                               "    client-certificate: agent.crt\n    client-key: agent.key\n"));
  auto c = load_kubeconfig(path);
  ASSERT_TRUE(c.has_value()) << c.error().message();
  open(*c);
  wait_watching();
  EXPECT_EQ(model_.counts().namespaces, 1u);
  EXPECT_EQ(server_->handshake_failures(), 0u);
  for (const auto& r : server_->requests()) EXPECT_EQ(r.authorization, "") << r.path;
}

TEST_F(K8sSourceTest, ClientCertificateOfAnotherCaIsRefusedByTheServer) {
  FakeApiServerOptions o;
  o.token = "";
  o.client_ca_pem = pki().client_ca.cert_pem;
  start_server(o);
  ClusterConfig c = token_config("");
  c.client_cert_pem = pki().other_client.cert_pem;
  c.client_key_pem = pki().other_client.key_pem;
  open(c);
  ASSERT_TRUE(eventually([&] { return pods().errors >= 1 && server_->handshake_failures() >= 1; }));
  EXPECT_FALSE(source_->synced());
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(K8sSourceTest, ServerCertificateOfAnotherCaIsRefused) {
  start_server();
  server_->add(kPods, pod("x", "a", "10.1.0.1"));
  ClusterConfig c = token_config();
  c.ca_pem = pki().other_ca.cert_pem;
  open(c);
  ASSERT_TRUE(eventually([&] { return pods().errors >= 1; }));
  EXPECT_NE(pods().last_error.find("certificate verify failed"), std::string::npos) << pods().last_error;
  EXPECT_FALSE(source_->synced());
  EXPECT_TRUE(server_->requests().empty());  // no token was sent to it
  EXPECT_EQ(model_.counts().pods, 0u);
}

TEST_F(K8sSourceTest, ServerNameMustMatchTheCertificate) {
  start_server();
  ClusterConfig c = token_config();
  c.tls_server_name = "kubernetes.default.svc";  // not in the certificate (127.0.0.1, localhost)
  open(c);
  ASSERT_TRUE(eventually([&] { return pods().errors >= 1; }));
  EXPECT_NE(pods().last_error.find("certificate verify failed"), std::string::npos) << pods().last_error;
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(K8sSourceTest, InsecureSkipVerifyAcceptsAnyCertificate) {
  start_server();
  ClusterConfig c = token_config();
  c.ca_pem = pki().other_ca.cert_pem;
  c.insecure_skip_tls_verify = true;
  open(c);
  wait_watching();
  EXPECT_EQ(source_->stats().errors, 0u);
}

TEST_F(K8sSourceTest, UnparsableObjectIsSkippedAndTheWatchGoesOn) {
  start_server();
  json broken = pod("x", "bad", "10.1.0.9");
  broken["status"]["podIPs"] = {{{"ip", "not-an-ip"}}};
  server_->add(kPods, broken);
  open(token_config());
  wait_watching();
  EXPECT_EQ(pods().skipped, 1u);
  EXPECT_EQ(model_.counts().pods, 0u);
  json broken2 = pod("x", "bad2", "10.1.0.9");
  broken2["spec"]["containers"] = "nope";
  server_->add(kPods, broken2);
  server_->add(kPods, pod("x", "good", "10.1.0.2"));
  ASSERT_TRUE(eventually([&] { return has({Kind::kPod, "x", "good"}); }));
  EXPECT_EQ(pods().skipped, 2u);
  EXPECT_EQ(pods().watch_events, 2u);
  EXPECT_EQ(pods().watches, 1u);
  EXPECT_EQ(pods().errors, 0u);
  EXPECT_EQ(model_.counts().pods, 1u);
}

TEST_F(K8sSourceTest, PolicyThatDoesNotParseIsKeptNotEnforced) {
  // Skipping it would leave its pods unrestricted (failing open), or keep
  // its previous version enforced: the model gets it, not enforced, naming
  // the field; its pods fail closed.
  start_server();
  json future = policy("x", "future");
  future["spec"]["ingress"][0]["from"][0]["serviceAccountSelector"] = {{"matchLabels", {{"a", "b"}}}};
  server_->add(kPolicies, future);
  server_->add(kPolicies, policy("x", "allow-web"));
  open(token_config());
  wait_watching();
  auto get = [&](const std::string& name) {
    auto o = model_.get({Kind::kNetworkPolicy, "x", name});
    EXPECT_TRUE(o.has_value()) << name;
    return o ? std::get<policy::NetworkPolicy>(*o) : policy::NetworkPolicy{};
  };
  policy::NetworkPolicy np = get("future");
  EXPECT_EQ(np.not_enforced,
            "spec.ingress[0].from[0].serviceAccountSelector: unknown field (not enforceable by this agent)");
  EXPECT_EQ(np.pod_selector.match_labels, (policy::Labels{{"app", "web"}}));
  EXPECT_TRUE(np.ingress_type);
  EXPECT_FALSE(np.egress_type);
  EXPECT_TRUE(get("allow-web").not_enforced.empty());
  // A watched update that breaks a rule replaces the enforced version.
  json broken = policy("x", "allow-web");
  broken["spec"]["ingress"][0]["ports"] = {{{"port", 0}}};
  server_->modify(kPolicies, broken);
  ASSERT_TRUE(eventually([&] { return !get("allow-web").not_enforced.empty(); }));
  EXPECT_EQ(get("allow-web").not_enforced, "spec.ingress[0].ports[0].port: must be a port number 1-65535 or a port name");
  EXPECT_TRUE(get("allow-web").ingress.empty());
  EXPECT_EQ(source_->stats().per_kind.at(Kind::kNetworkPolicy).skipped, 0u);
  // Without a name it cannot be reported: skipped.
  json nameless = policy("x", "nameless");
  nameless["metadata"].erase("name");
  server_->add(kPolicies, nameless);
  server_->add(kPolicies, policy("x", "after"));
  ASSERT_TRUE(eventually([&] { return has({Kind::kNetworkPolicy, "x", "after"}); }));
  EXPECT_EQ(source_->stats().per_kind.at(Kind::kNetworkPolicy).skipped, 1u);
  EXPECT_EQ(model_.counts().policies, 3u);
}

TEST_F(K8sSourceTest, NonGoneErrorEventReconnectsFromTheSameResourceVersion) {
  // An ERROR event other than 410 is an error: back off and watch again
  // from where the reflector was, without relisting.
  start_server();
  server_->add(kPods, pod("x", "a", "10.1.0.1"));
  open(token_config());
  wait_watching();
  const std::string rv = pods().resource_version;
  server_->fail_watches(500, "InternalError", "etcd leader changed");
  ASSERT_TRUE(eventually([&] { return watches_of(kPods).size() == 2 && server_->open_watches() == 4; }));
  EXPECT_EQ(watches_of(kPods)[1].q("resourceVersion"), rv);
  auto s = source_->stats();
  EXPECT_EQ(s.errors, 4u);
  EXPECT_EQ(s.reconnects, 4u);
  EXPECT_EQ(s.relists, 0u);
  EXPECT_EQ(s.gone, 0u);
  EXPECT_NE(pods().last_error.find("ERROR event code 500 InternalError: etcd leader changed"), std::string::npos)
      << pods().last_error;
  server_->add(kPods, pod("x", "b", "10.1.0.2"));
  ASSERT_TRUE(eventually([&] { return has({Kind::kPod, "x", "b"}); }));
}

TEST_F(K8sSourceTest, StopIsPromptDuringBackoffAndDuringAWatch) {
  start_server();
  open(token_config());
  wait_watching();
  auto t0 = std::chrono::steady_clock::now();
  source_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);

  // Server down, long backoff: stop() does not wait for it.
  server_->stop();
  model::Model m2;
  auto o = fast_options();
  o.backoff_min = 20s;
  o.backoff_max = 30s;
  auto s = K8sSource::open(token_config(), m2, o);
  ASSERT_TRUE(s.has_value());
  ASSERT_TRUE((*s)->start().has_value());
  ASSERT_TRUE(eventually([&] { return (*s)->stats().errors == 4; }));
  t0 = std::chrono::steady_clock::now();
  (*s)->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  EXPECT_EQ((*s)->stats().reconnects, 0u);
}

}  // namespace
}  // namespace strand::sources::k8s
