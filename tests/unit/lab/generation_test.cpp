#include <gtest/gtest.h>

#include "lab/generation.h"

namespace strand::lab {
namespace {

TEST(Generation, FileContent) {
  EXPECT_EQ(*parse_generation_file(""), 0u);
  EXPECT_EQ(*parse_generation_file("12\n"), 12u);
  EXPECT_EQ(*parse_generation_file("18446744073709551615"), 18446744073709551615ull);
  for (const char* bad : {"x", "-1", "1 2", "12a\n", "18446744073709551616"}) {
    auto g = parse_generation_file(bad);
    ASSERT_FALSE(g) << bad;
    EXPECT_EQ(g.error().err, EINVAL) << bad;
  }
}

TEST(Generation, FromPoliciesBody) {
  EXPECT_EQ(*generation_of(nlohmann::json::parse(R"({"generation": 7, "items": []})")), 7u);
  EXPECT_EQ(*generation_of(nlohmann::json::parse(R"({"items": [], "generation": 0})")), 0u);
  auto missing = generation_of(nlohmann::json::parse(R"({"items": []})"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().err, ENOENT);
  for (const char* bad : {R"({"generation": -1})", R"({"generation": "3"})", R"({"generation": 1.5})", "[]"}) {
    auto g = generation_of(nlohmann::json::parse(bad));
    ASSERT_FALSE(g) << bad;
    EXPECT_EQ(g.error().err, std::string(bad) == "[]" ? ENOENT : EINVAL) << bad;
  }
}

}  // namespace
}  // namespace strand::lab

namespace strand::lab {
namespace {

using std::chrono::milliseconds;

TEST(Generation, WaitEndsWhenEveryNodeIsThere) {
  std::vector<uint64_t> gen = {3, 5};
  int calls = 0;
  auto st = wait_for_generation({"n1", "n2"}, 5, milliseconds(1000), milliseconds(1), [&](size_t i) -> Result<uint64_t> {
    ++calls;
    if (calls > 2) gen[0] = 5;  // n1 catches up after the first round
    return gen[i];
  });
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(calls, 3);  // n1, n2 (done), n1 again; n2 is not asked twice
}

TEST(Generation, TimeoutNamesLateNodesAndWhatTheySaid) {
  auto st = wait_for_generation({"n1", "n2", "n3"}, 9, milliseconds(20), milliseconds(1), [](size_t i) -> Result<uint64_t> {
    if (i == 1) return uint64_t{9};
    if (i == 2) return fail("GET /v1/policies", ECONNREFUSED, "127.0.0.1:9464: Connection");
    return uint64_t{8};
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().err, ETIMEDOUT);
  const std::string m = st.error().message();
  EXPECT_NE(m.find("generation 9 not reached within 20 ms by n1 (generation 8), n3 ("), std::string::npos) << m;
  EXPECT_EQ(m.find("n2"), std::string::npos) << m;
}

TEST(Generation, AnAgentWithoutGenerationFailsAtOnce) {
  int calls = 0;
  auto st = wait_for_generation({"n1"}, 1, milliseconds(10000), milliseconds(1), [&](size_t) -> Result<uint64_t> {
    ++calls;
    return generation_of(nlohmann::json::parse(R"({"items":[]})"));
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().err, ENOENT);
  EXPECT_EQ(calls, 1);
  EXPECT_NE(st.error().message().find("n1: its agent reports no generation"), std::string::npos) << st.error().message();
}

}  // namespace
}  // namespace strand::lab

namespace strand::lab {
namespace {

TEST(Generation, AgentsWithoutGenerationAreSkippedWhenNotRequired) {
  std::vector<std::string> skipped;
  int calls = 0;
  auto st = wait_for_generation(
      {"n1", "n2"}, 4, std::chrono::milliseconds(1000), std::chrono::milliseconds(1),
      [&](size_t i) -> Result<uint64_t> {
        ++calls;
        if (i == 0) return generation_of(nlohmann::json::parse(R"({"items":[]})"));
        return uint64_t{calls >= 4 ? 4u : 3u};
      },
      false, &skipped);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(skipped, std::vector<std::string>{"n1"});
  EXPECT_EQ(calls, 4);  // n1 once; n2 until it reports 4
}

}  // namespace
}  // namespace strand::lab
