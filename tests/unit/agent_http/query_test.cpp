// Query parameters of /v1/* and the selection they make.
#include <gtest/gtest.h>

#include "agent/http/query.h"

namespace strand::agent::http {
namespace {

using Params = std::multimap<std::string, std::string>;

TEST(ParseQuery, Defaults) {
  auto q = parse_query({});
  ASSERT_TRUE(q);
  EXPECT_FALSE(q->ns);
  EXPECT_FALSE(q->since_ms);
  EXPECT_FALSE(q->after);
  EXPECT_EQ(q->limit, 1000u);
}

TEST(ParseQuery, AllParameters) {
  auto q = parse_query(Params{{"pod", "default/web-1"}, {"since", "1795460645000"}, {"after", "17"}, {"limit", "5"},
                              {"unknown", "x"}});
  ASSERT_TRUE(q);
  EXPECT_EQ(q->ns, "default");
  EXPECT_EQ(q->pod, "web-1");
  EXPECT_EQ(q->since_ms, 1795460645000);
  EXPECT_EQ(q->after, 17u);
  EXPECT_EQ(q->limit, 5u);
}

TEST(ParseQuery, BadValuesSayWhich) {
  struct Case {
    Params p;
    std::string error;
  };
  const Case cases[] = {
      {{{"pod", "web-1"}}, "pod: want NAMESPACE/NAME, got \"web-1\""},
      {{{"pod", "/web-1"}}, "pod: want NAMESPACE/NAME, got \"/web-1\""},
      {{{"pod", "default/"}}, "pod: want NAMESPACE/NAME, got \"default/\""},
      {{{"pod", "a/b/c"}}, "pod: want NAMESPACE/NAME, got \"a/b/c\""},
      {{{"since", "yesterday"}}, "since: want unix milliseconds, got \"yesterday\""},
      {{{"since", "-5"}}, "since: want unix milliseconds, got \"-5\""},
      {{{"after", "1x"}}, "after: want a sequence number, got \"1x\""},
      {{{"after", ""}}, "after: want a sequence number, got \"\""},
      {{{"limit", "100001"}}, "limit: want 0..100000, got \"100001\""},
      {{{"limit", "-1"}}, "limit: want 0..100000, got \"-1\""},
  };
  for (const auto& c : cases) {
    auto q = parse_query(c.p);
    ASSERT_FALSE(q) << c.error;
    EXPECT_EQ(q.error(), c.error);
  }
}

std::vector<nlohmann::json> sample() {
  return {
      {{"seq", 1}, {"namespace", "default"}, {"pod", "a"}, {"timeMs", 100}},
      {{"seq", 2}, {"namespace", "default"}, {"pod", "b"}, {"timeMs", 200}},
      {{"seq", 4}, {"namespace", "kube"}, {"pod", "a"}, {"timeMs", 300}},
      {{"seq", 3}, {"namespace", "default"}, {"pod", "a"}, {"timeMs", 400}},
      {{"seq", 5}, {"namespace", nullptr}, {"pod", nullptr}, {"timeMs", 500}},
  };
}

std::vector<uint64_t> seqs(const nlohmann::json& items) {
  std::vector<uint64_t> out;
  for (const auto& i : items) out.push_back(i["seq"]);
  return out;
}

TEST(SelectItems, NewestFirstAndLimit) {
  Query q;
  EXPECT_EQ(seqs(select_items(sample(), q, "timeMs")), (std::vector<uint64_t>{5, 4, 3, 2, 1}));
  q.limit = 2;
  EXPECT_EQ(seqs(select_items(sample(), q, "timeMs")), (std::vector<uint64_t>{5, 4}));
  q.limit = 0;
  EXPECT_TRUE(select_items(sample(), q, "timeMs").empty());
}

TEST(SelectItems, PodSinceAfter) {
  Query q;
  q.ns = "default";
  q.pod = "a";
  EXPECT_EQ(seqs(select_items(sample(), q, "timeMs")), (std::vector<uint64_t>{3, 1}));
  q = Query{};
  q.since_ms = 300;
  EXPECT_EQ(seqs(select_items(sample(), q, "timeMs")), (std::vector<uint64_t>{5, 4, 3}));
  q.after = 3;
  EXPECT_EQ(seqs(select_items(sample(), q, "timeMs")), (std::vector<uint64_t>{5, 4}));
  // No time field (endpoints): since does not filter.
  q = Query{};
  q.since_ms = 1000;
  EXPECT_EQ(select_items(sample(), q, nullptr).size(), 5u);
}

TEST(ParseListen, HostPort) {
  EXPECT_EQ(parse_listen("127.0.0.1:9464"), (std::pair<std::string, int>{"127.0.0.1", 9464}));
  EXPECT_EQ(parse_listen("[::1]:80"), (std::pair<std::string, int>{"::1", 80}));
  EXPECT_EQ(parse_listen("0.0.0.0:0"), (std::pair<std::string, int>{"0.0.0.0", 0}));
  for (const char* bad : {"9464", ":9464", "host:", "host:x", "host:65536", "::1:80", "[::1]80", "[::1]:"}) {
    EXPECT_FALSE(parse_listen(bad)) << bad;
  }
}

}  // namespace
}  // namespace strand::agent::http
