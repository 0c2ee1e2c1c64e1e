#include "agent/policy/selector.h"

#include <gtest/gtest.h>

namespace strand::policy {
namespace {

const Labels kWeb{{"app", "web"}, {"tier", "front"}};

TEST(Selector, EmptyMatchesEverything) {
  EXPECT_TRUE(matches(LabelSelector{}, kWeb));
  EXPECT_TRUE(matches(LabelSelector{}, Labels{}));
}

TEST(Selector, UnsetPeerSelectorMatchesNothing) {
  EXPECT_FALSE(matches(std::optional<LabelSelector>{}, kWeb));
  EXPECT_TRUE(matches(std::optional<LabelSelector>{LabelSelector{}}, kWeb));
}

TEST(Selector, MatchLabelsNeedsEveryPair) {
  EXPECT_TRUE(matches(LabelSelector{{{"app", "web"}}, {}}, kWeb));
  EXPECT_FALSE(matches(LabelSelector{{{"app", "web"}, {"tier", "back"}}, {}}, kWeb));
  EXPECT_FALSE(matches(LabelSelector{{{"env", "prod"}}, {}}, kWeb));
}

TEST(Selector, Operators) {
  auto sel = [](SelectorOp op, std::vector<std::string> values) {
    return LabelSelector{{}, {SelectorRequirement{"tier", op, std::move(values)}}};
  };
  EXPECT_TRUE(matches(sel(SelectorOp::kIn, {"back", "front"}), kWeb));
  EXPECT_FALSE(matches(sel(SelectorOp::kIn, {"back"}), kWeb));
  EXPECT_FALSE(matches(sel(SelectorOp::kIn, {"front"}), Labels{}));
  EXPECT_FALSE(matches(sel(SelectorOp::kNotIn, {"front"}), kWeb));
  EXPECT_TRUE(matches(sel(SelectorOp::kNotIn, {"back"}), kWeb));
  EXPECT_TRUE(matches(sel(SelectorOp::kNotIn, {"front"}), Labels{}));  // absent key is "not in"
  EXPECT_TRUE(matches(sel(SelectorOp::kExists, {}), kWeb));
  EXPECT_FALSE(matches(sel(SelectorOp::kExists, {}), Labels{}));
  EXPECT_FALSE(matches(sel(SelectorOp::kDoesNotExist, {}), kWeb));
  EXPECT_TRUE(matches(sel(SelectorOp::kDoesNotExist, {}), Labels{}));
}

TEST(Selector, LabelsAndExpressionsAnd) {
  LabelSelector s{{{"app", "web"}}, {SelectorRequirement{"tier", SelectorOp::kIn, {"back"}}}};
  EXPECT_FALSE(matches(s, kWeb));
  s.match_expressions[0].values = {"front"};
  EXPECT_TRUE(matches(s, kWeb));
}

}  // namespace
}  // namespace strand::policy
