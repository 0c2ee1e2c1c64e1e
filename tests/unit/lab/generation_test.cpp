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
