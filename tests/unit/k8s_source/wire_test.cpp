// The wire: HTTP request/response head, chunked decoding and record
// splitting at every possible split point, the Kubernetes List/watch/Status
// bodies, and the backoff schedule.
#include "agent/sources/k8s/wire.h"

#include <gtest/gtest.h>

#include "agent/sources/k8s/backoff.h"
#include "agent/sources/k8s/http_wire.h"

namespace strand::sources::k8s {
namespace {

using nlohmann::json;

TEST(HttpWire, BuildGet) {
  EXPECT_EQ(build_get("10.0.0.1:6443", "/api/v1/pods?limit=5", "tok"),
            "GET /api/v1/pods?limit=5 HTTP/1.1\r\nHost: 10.0.0.1:6443\r\nAccept: application/json\r\n"
            "User-Agent: strand-agent\r\nAuthorization: Bearer tok\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(build_get("h:1", "/x", "").find("Authorization"), std::string::npos);
}

TEST(HttpWire, ResponseHead) {
  auto h = parse_response_head("HTTP/1.1 410 Gone\r\nContent-Type: application/json\r\nTRANSFER-Encoding:  chunked \r\n");
  ASSERT_TRUE(h.has_value()) << h.error().message();
  EXPECT_EQ(h->status, 410);
  EXPECT_EQ(h->reason, "Gone");
  ASSERT_NE(h->header("transfer-encoding"), nullptr);
  EXPECT_EQ(*h->header("transfer-encoding"), "chunked");
  EXPECT_EQ(*h->header("content-type"), "application/json");
  EXPECT_EQ(h->header("content-length"), nullptr);
  auto no_reason = parse_response_head("HTTP/1.0 200\r\n");
  ASSERT_TRUE(no_reason.has_value());
  EXPECT_EQ(no_reason->status, 200);
  for (const char* bad : {"", "SPDY 200 OK", "HTTP/1.1 2x0 OK", "HTTP/1.1 999 X", "HTTP/1.1 200 OK\r\nnocolon\r\n",
                          "HTTP/1.1 200 OK\r\n: empty\r\n"}) {
    auto r = parse_response_head(bad);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) { EXPECT_EQ(r.error().err, EPROTO); }
  }
}

const std::string kChunked =
    "7\r\n{\"a\":1}\r\n"
    "1;ext=1\r\n\n\r\n"
    "A\r\n{\"b\":\"xy\"}\r\n"
    "0\r\nX-Trailer: t\r\n\r\n"
    "garbage after the end";

TEST(ChunkedDecoder, EverySplitPoint) {
  const std::string want = "{\"a\":1}\n{\"b\":\"xy\"}";
  for (size_t cut = 0; cut <= kChunked.size(); ++cut) {
    ChunkedDecoder d;
    std::string out;
    ASSERT_TRUE(d.feed(std::string_view(kChunked).substr(0, cut), out).has_value()) << cut;
    ASSERT_TRUE(d.feed(std::string_view(kChunked).substr(cut), out).has_value()) << cut;
    EXPECT_EQ(out, want) << cut;
    EXPECT_TRUE(d.done()) << cut;
  }
  ChunkedDecoder bytewise;
  std::string out;
  for (char c : kChunked) ASSERT_TRUE(bytewise.feed(std::string_view(&c, 1), out).has_value());
  EXPECT_EQ(out, want);
}

TEST(ChunkedDecoder, NotDoneUntilTheLastChunk) {
  ChunkedDecoder d;
  std::string out;
  ASSERT_TRUE(d.feed("3\r\nabc\r\n", out).has_value());
  EXPECT_EQ(out, "abc");
  EXPECT_FALSE(d.done());
  ASSERT_TRUE(d.feed("0\r\n", out).has_value());
  EXPECT_FALSE(d.done());  // trailers end with an empty line
  ASSERT_TRUE(d.feed("\r\n", out).has_value());
  EXPECT_TRUE(d.done());
}

TEST(ChunkedDecoder, Errors) {
  for (const char* bad : {"zz\r\n", "\r\n", "3\r\nabcX\r\n", "-1\r\n"}) {
    ChunkedDecoder d;
    std::string out;
    auto st = d.feed(bad, out);
    EXPECT_FALSE(st.has_value()) << bad;
    if (!st) { EXPECT_EQ(st.error().err, EPROTO); }
  }
}

TEST(LineSplitter, RecordsSplitAnywhere) {
  const std::string stream = "{\"type\":\"ADDED\"}\r\n\n{\"type\":\"DELETED\"}\n{\"par";
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    LineSplitter s;
    ASSERT_TRUE(s.feed(std::string_view(stream).substr(0, cut)).has_value());
    ASSERT_TRUE(s.feed(std::string_view(stream).substr(cut)).has_value());
    EXPECT_EQ(s.next(), std::optional<std::string>("{\"type\":\"ADDED\"}")) << cut;
    EXPECT_EQ(s.next(), std::optional<std::string>("{\"type\":\"DELETED\"}")) << cut;
    EXPECT_EQ(s.next(), std::nullopt) << cut;
    EXPECT_EQ(s.pending_bytes(), 5u) << cut;
  }
}

TEST(LineSplitter, RecordTooLong) {
  LineSplitter s(8);
  EXPECT_TRUE(s.feed("12345678").has_value());
  auto st = s.feed("9");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().err, EMSGSIZE);
}

TEST(HttpWire, UrlEncode) {
  EXPECT_EQ(url_encode("abc-_.~09"), "abc-_.~09");
  EXPECT_EQ(url_encode("a b/c+=&"), "a%20b%2Fc%2B%3D%26");
}

const Resource& res(model::Kind k) {
  for (const auto& r : resources()) {
    if (r.kind == k) return r;
  }
  throw std::logic_error("no resource");
}

TEST(Wire, Resources) {
  ASSERT_EQ(resources().size(), 4u);
  EXPECT_EQ(res(model::Kind::kPod).path, "/api/v1/pods");
  EXPECT_EQ(res(model::Kind::kNamespace).path, "/api/v1/namespaces");
  EXPECT_EQ(res(model::Kind::kNode).path, "/api/v1/nodes");
  EXPECT_EQ(res(model::Kind::kNetworkPolicy).path, "/apis/networking.k8s.io/v1/networkpolicies");
}

TEST(Wire, Targets) {
  EXPECT_EQ(list_target(res(model::Kind::kPod), 500, ""), "/api/v1/pods?limit=500");
  EXPECT_EQ(list_target(res(model::Kind::kPod), 2, "eyJ2Ijo=+/"), "/api/v1/pods?limit=2&continue=eyJ2Ijo%3D%2B%2F");
  EXPECT_EQ(watch_target(res(model::Kind::kNetworkPolicy), "123", 300),
            "/apis/networking.k8s.io/v1/networkpolicies?watch=1&allowWatchBookmarks=true&resourceVersion=123&"
            "timeoutSeconds=300");
}

// A PodList as kube-apiserver returns it: items without kind/apiVersion.
const char* kPodList = R"({"kind":"PodList","apiVersion":"v1",
  "metadata":{"resourceVersion":"4711","continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ","remainingItemCount":3},
  "items":[{"metadata":{"name":"a","namespace":"x","uid":"u-1","resourceVersion":"4700","labels":{"pod":"a"}},
            "spec":{"nodeName":"n1","containers":[{"name":"c","image":"busybox","ports":[{"name":"http","containerPort":80,"protocol":"TCP"}]}]},
            "status":{"phase":"Running","podIP":"10.1.0.5","podIPs":[{"ip":"10.1.0.5"},{"ip":"fd00::5"}]}}]})";

TEST(Wire, ParseList) {
  auto page = parse_list(kPodList);
  ASSERT_TRUE(page.has_value()) << page.error().message();
  EXPECT_EQ(page->kind, "PodList");
  EXPECT_EQ(page->resource_version, "4711");
  EXPECT_EQ(page->cont, "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ");
  ASSERT_EQ(page->items.size(), 1u);
  auto obj = parse_item(res(model::Kind::kPod), page->items[0]);
  ASSERT_TRUE(obj.has_value()) << obj.error().message();
  ASSERT_TRUE(obj->has_value());
  const auto& pod = std::get<model::Pod>(**obj);
  EXPECT_EQ(pod.base.ns, "x");
  EXPECT_EQ(pod.base.name, "a");
  EXPECT_EQ(pod.uid, "u-1");
  EXPECT_EQ(pod.node_name, "n1");
  ASSERT_EQ(pod.base.ips.size(), 2u);
  EXPECT_EQ(pod.base.labels.at("pod"), "a");
  EXPECT_EQ(key_of(res(model::Kind::kPod), page->items[0]).value(), (model::Key{model::Kind::kPod, "x", "a"}));

  auto empty = parse_list(R"({"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":null})");
  ASSERT_TRUE(empty.has_value()) << empty.error().message();
  EXPECT_TRUE(empty->items.empty());
  EXPECT_EQ(empty->cont, "");
}

TEST(Wire, ParseListErrors) {
  for (const char* bad : {"not json", "[]", R"({"kind":"PodList","items":[]})",
                          R"({"kind":"PodList","metadata":{"resourceVersion":"1"}})",
                          R"({"kind":"PodList","metadata":{"resourceVersion":"1"},"items":{}})",
                          R"({"kind":"Status","code":500,"message":"etcd down"})"}) {
    auto r = parse_list(bad);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) { EXPECT_EQ(r.error().err, EBADMSG); }
  }
}

TEST(Wire, ParseWatchEvents) {
  auto add = parse_watch_event(
      R"({"type":"ADDED","object":{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"x","resourceVersion":"12","labels":{"team":"a"}}}})");
  ASSERT_TRUE(add.has_value()) << add.error().message();
  EXPECT_EQ(add->type, EventType::kAdded);
  EXPECT_EQ(resource_version_of(add->object), "12");
  EXPECT_EQ(key_of(res(model::Kind::kNamespace), add->object).value(), (model::Key{model::Kind::kNamespace, "", "x"}));

  auto bm = parse_watch_event(R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"99"}}})");
  ASSERT_TRUE(bm.has_value());
  EXPECT_EQ(bm->type, EventType::kBookmark);
  EXPECT_EQ(resource_version_of(bm->object), "99");

  auto err = parse_watch_event(
      R"json({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (10)","reason":"Expired","code":410}})json");
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->type, EventType::kError);
  auto st = parse_status(err->object);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->code, 410);
  EXPECT_EQ(st->reason, "Expired");
  EXPECT_EQ(st->message, "too old resource version: 5 (10)");

  EXPECT_EQ(parse_watch_event(R"({"type":"MODIFIED","object":{}})")->type, EventType::kModified);
  EXPECT_EQ(parse_watch_event(R"({"type":"DELETED","object":{}})")->type, EventType::kDeleted);
  for (const char* bad : {"{", R"({"object":{}})", R"({"type":"RENAMED","object":{}})", R"({"type":"ADDED"})",
                          R"({"type":"ADDED","object":"x"})"}) {
    auto r = parse_watch_event(bad);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) { EXPECT_EQ(r.error().err, EBADMSG); }
  }
}

TEST(Wire, StatusBody) {
  auto st = parse_status_body(R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->code, 401);
  EXPECT_FALSE(parse_status_body("<html>").has_value());
  EXPECT_FALSE(parse_status_body(R"({"kind":"Pod"})").has_value());
}

TEST(Wire, KeyNeedsAName) {
  auto k = key_of(res(model::Kind::kPod), json{{"metadata", {{"namespace", "x"}}}});
  ASSERT_FALSE(k.has_value());
  EXPECT_EQ(k.error().err, EBADMSG);
}

TEST(Wire, ItemKindFilledAndChecked) {
  // A list item has no kind: it gets the resource's; a wrong apiVersion is refused.
  json np = {{"metadata", {{"name", "deny"}, {"namespace", "x"}}}, {"spec", {{"podSelector", json::object()}}}};
  auto ok = parse_item(res(model::Kind::kNetworkPolicy), np);
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_EQ(model::key_of(**ok), (model::Key{model::Kind::kNetworkPolicy, "x", "deny"}));
  np["apiVersion"] = "extensions/v1beta1";
  np["kind"] = "NetworkPolicy";
  EXPECT_FALSE(parse_item(res(model::Kind::kNetworkPolicy), np).has_value());
}

TEST(Backoff, GrowsWithJitterCapsAndResets) {
  using ms = std::chrono::milliseconds;
  Backoff b(ms(200), ms(30'000), 42);
  int64_t d = 200;
  for (int i = 0; i < 12; ++i) {
    const auto w = b.next().count();
    EXPECT_GE(w, std::max<int64_t>(200, d / 2)) << i;
    EXPECT_LE(w, d) << i;
    d = std::min<int64_t>(d * 2, 30'000);
  }
  EXPECT_EQ(b.attempt(), 12u);
  b.reset();
  const auto first = b.next().count();
  EXPECT_GE(first, 200);
  EXPECT_LE(first, 200);  // [max(min, d/2), d] with d = min
  // Jitter: two seeds give different schedules at the cap.
  Backoff x(ms(200), ms(30'000), 1), y(ms(200), ms(30'000), 2);
  bool differ = false;
  for (int i = 0; i < 20; ++i) differ = differ || x.next() != y.next();
  EXPECT_TRUE(differ);
}

}  // namespace
}  // namespace strand::sources::k8s
