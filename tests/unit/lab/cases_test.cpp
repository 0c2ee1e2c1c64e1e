#include <gtest/gtest.h>

#include "lab/cases.h"

namespace strand::lab {
namespace {

constexpr const char* kGrid = R"(
# comment lines and blank lines are skipped
x/a .X X.
x/b X. ..
y/a .. .X
y/b XX ..
)";

TEST(Grid, ParsesRowsAndCellsIgnoringSpaces) {
  auto g = parse_grid(kGrid);
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_EQ(g->pods, (std::vector<std::string>{"x/a", "x/b", "y/a", "y/b"}));
  EXPECT_EQ(g->cells, (std::vector<std::string>{".XX.", "X...", "...X", "XX.."}));
  EXPECT_EQ(g->reachable("x/a", "y/a"), false);
  EXPECT_EQ(g->reachable("x/a", "y/b"), true);
  EXPECT_EQ(g->reachable("y/a", "x/b"), true);
  EXPECT_EQ(g->reachable("x/a", "z/a"), std::nullopt);
}

TEST(Grid, RendersGroupedByNamespace) {
  auto g = parse_grid(kGrid);
  ASSERT_TRUE(g);
  EXPECT_EQ(grid_text(*g), "x/a .X X.\nx/b X. ..\ny/a .. .X\ny/b XX ..\n");
  auto again = parse_grid(grid_text(*g));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *g);
}

TEST(Grid, RefusesMalformedGrids) {
  struct Bad {
    const char* text;
    const char* why;
  } cases[] = {
      {"", "no rows"},
      {"x/a .X\nx/b X\n", "row x/b has 1 cells for 2 pods"},
      {"x/a .o\nx/b X.\n", "cell 'o' is neither"},
      {"xa .X\nx/b X.\n", "does not start with NS/POD"},
      {"x/a .X\nx/a X.\n", "x/a appears twice"},
      {"x/a XX\nx/b X.\n", "a pod always reaches itself"},
  };
  for (const auto& b : cases) {
    auto g = parse_grid(b.text);
    ASSERT_FALSE(g) << b.text;
    EXPECT_EQ(g.error().err, EINVAL);
    EXPECT_NE(g.error().message().find(b.why), std::string::npos) << g.error().message();
  }
}

TEST(ExpectKey, ParsesAndMatches) {
  auto all = parse_expect_key("*");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->specificity(), 0);
  EXPECT_TRUE(all->matches({6, "UDP", 81}));
  auto k = parse_expect_key("v6 UDP/*");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->family, 6);
  EXPECT_EQ(k->protocol, "UDP");
  EXPECT_EQ(k->port, 0);
  EXPECT_EQ(k->specificity(), 2);
  EXPECT_TRUE(k->matches({6, "UDP", 80}));
  EXPECT_FALSE(k->matches({4, "UDP", 80}));
  EXPECT_FALSE(k->matches({6, "TCP", 80}));
  auto p = parse_expect_key("*/81");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->matches({4, "TCP", 81}));
  EXPECT_FALSE(p->matches({4, "TCP", 80}));
  for (const char* bad : {"TCP", "SCTP/80", "TCP/0", "TCP/65536", "v5 TCP/80", "TCP/http", ""}) {
    EXPECT_FALSE(parse_expect_key(bad)) << bad;
  }
}

Expectation expectation(std::vector<std::pair<std::string, std::string>> keys) {
  Expectation e;
  for (const auto& [k, g] : keys) {
    e.keys.emplace_back(k, *parse_expect_key(k));
    e.grids.push_back(*parse_grid(g));
  }
  return e;
}

TEST(Expectation, MostSpecificKeyWins) {
  auto e = expectation({{"*", "x/a ."}, {"TCP/*", "x/a ."}, {"v4 TCP/80", "x/a ."}});
  EXPECT_EQ(*e.for_combo({4, "TCP", 80}), &e.grids[2]);
  EXPECT_EQ(*e.for_combo({6, "TCP", 80}), &e.grids[1]);
  EXPECT_EQ(*e.for_combo({6, "UDP", 80}), &e.grids[0]);
}

TEST(Expectation, AmbiguousAndMissingKeysAreErrors) {
  auto e = expectation({{"TCP/*", "x/a ."}, {"*/80", "x/a ."}});
  auto amb = e.for_combo({4, "TCP", 80});
  ASSERT_FALSE(amb);
  EXPECT_EQ(amb.error().err, EINVAL);
  EXPECT_NE(amb.error().message().find("v4 TCP/80 matches both 'TCP/*' and '*/80'"), std::string::npos)
      << amb.error().message();
  auto none = e.for_combo({4, "UDP", 81});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().err, ENOENT);
}

constexpr const char* kCases = R"(
case: first
description: two steps
steps:
- name: apply and expect
  apply:
  - kind: NetworkPolicy
    metadata: {name: p, namespace: x}
    spec: {podSelector: {}}
  expect:
    "*": |
      x/a .X
      x/b X.
- name: delete and recreate
  delete: [networkpolicy x/p, pod x/b, namespace z]
  recreate: [x/b]
  expect:
    "TCP/*": |
      x/a ..
      x/b ..
    "UDP/*": |
      x/a ..
      x/b ..
---
case: second
steps:
- name: only
  expect: {"*": "x/a .\n"}
)";

TEST(Cases, ParsesStepsInOrder) {
  auto cs = parse_cases(kCases, "t.yaml");
  ASSERT_TRUE(cs) << cs.error().message();
  ASSERT_EQ(cs->size(), 2u);
  const Case& c = (*cs)[0];
  EXPECT_EQ(c.name, "first");
  EXPECT_EQ(c.description, "two steps");
  EXPECT_EQ(c.source, "t.yaml document 1");
  ASSERT_EQ(c.steps.size(), 2u);
  ASSERT_EQ(c.steps[0].apply.size(), 1u);
  EXPECT_EQ(c.steps[0].apply[0]["metadata"]["name"], "p");
  ASSERT_EQ(c.steps[1].deletes.size(), 3u);
  EXPECT_EQ(c.steps[1].deletes[0].kind, "networkpolicy");
  EXPECT_EQ(c.steps[1].deletes[0].key, "x/p");
  EXPECT_EQ(c.steps[1].deletes[2].kind, "namespace");
  EXPECT_EQ(c.steps[1].recreate, std::vector<std::string>{"x/b"});
  EXPECT_EQ(c.steps[1].expect.keys.size(), 2u);
  EXPECT_EQ((*cs)[1].name, "second");
  EXPECT_EQ((*cs)[1].source, "t.yaml document 2");
}

TEST(Cases, RefusesMalformedCases) {
  struct Bad {
    const char* text;
    const char* why;
  } cases[] = {
      {"steps: []\n", "a case needs 'case: NAME'"},
      {"case: c\nsteps: []\n", "at least one step"},
      {"case: c\nsteps:\n- {name: s}\n", "expect: a mapping"},
      {"case: c\nsteps:\n- {expect: {'*': 'x/a .'}}\n", "a step needs a name"},
      {"case: c\nsteps:\n- {name: s, wait: 1, expect: {'*': 'x/a .'}}\n", "unknown key 'wait'"},
      {"case: c\nsteps:\n- {name: s, delete: [pod], expect: {'*': 'x/a .'}}\n", "delete 'pod'"},
      {"case: c\nsteps:\n- {name: s, delete: [namespace x/y], expect: {'*': 'x/a .'}}\n", "NAME for namespaces"},
      {"case: c\nsteps:\n- {name: s, expect: {'TCP': 'x/a .'}}\n", "is not [v4 |v6 ]"},
      {"case: c\nsteps:\n- {name: s, expect: {'*': 'x/a .', 'TCP/*': 'x/b .'}}\n", "lists other pods"},
      {"case: c\nsteps:\n- {name: s, apply: [{metadata: {}}], expect: {'*': 'x/a .'}}\n", "an entry without kind"},
      {"case: c\nsteps:\n- {name: s, expect: {'*': 'x/a .'}}\n---\ncase: c\nsteps:\n- {name: s, expect: {'*': 'x/a .'}}\n",
       "already defined"},
  };
  for (const auto& b : cases) {
    auto cs = parse_cases(b.text, "bad.yaml");
    ASSERT_FALSE(cs) << b.text;
    EXPECT_NE(cs.error().message().find(b.why), std::string::npos) << cs.error().message();
  }
}

TEST(Templates, ExpandsPodAddressesInEveryString) {
  auto obj = nlohmann::json::parse(R"({"spec":{"ingress":[{"from":[{"ipBlock":{
      "cidr":"{{x/a.ipv4}}/32","except":["{{ y/b.ipv6 }}/128","10.0.0.0/8"]}}]}],"n":3}})");
  auto lookup = [](const std::string& pod, int fam) -> Result<std::string> {
    if (pod == "x/a" && fam == 4) return std::string("10.244.1.2");
    if (pod == "y/b" && fam == 6) return std::string("fd00::5");
    return fail("lookup", ENOENT, pod);
  };
  auto out = expand_templates(obj, lookup);
  ASSERT_TRUE(out) << out.error().message();
  const auto& b = (*out)["spec"]["ingress"][0]["from"][0]["ipBlock"];
  EXPECT_EQ(b["cidr"], "10.244.1.2/32");
  EXPECT_EQ(b["except"][0], "fd00::5/128");
  EXPECT_EQ(b["except"][1], "10.0.0.0/8");
  EXPECT_EQ((*out)["spec"]["n"], 3);
  auto missing = expand_templates(nlohmann::json("{{z/c.ipv4}}"), lookup);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().err, ENOENT);
  for (const char* bad : {"{{x/a}}", "{{x/a.ipv5}}", "{{a.ipv4}}", "{{x/a.ipv4"}) {
    auto e = expand_templates(nlohmann::json(bad), lookup);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().err, EINVAL) << bad;
  }
}

TEST(Diff, ListsOnlyDifferingCellsUpToTheLimit) {
  std::vector<CellResult> cells = {
      {{4, "TCP", 80}, "x/a", "y/b", true, true, ""},
      {{4, "TCP", 80}, "x/a", "y/c", true, false, "timeout"},
      {{6, "UDP", 81}, "node1", "x/a", false, true, ""},
      {{6, "UDP", 81}, "x/b", "x/a", false, true, ""},
  };
  EXPECT_EQ(render_diff(cells),
            "  v4 TCP/80 x/a -> y/c: expected reachable, got blocked (timeout)\n"
            "  v6 UDP/81 node1 -> x/a: expected blocked, got reachable\n"
            "  v6 UDP/81 x/b -> x/a: expected blocked, got reachable\n");
  EXPECT_EQ(render_diff(cells, 1),
            "  v4 TCP/80 x/a -> y/c: expected reachable, got blocked (timeout)\n"
            "  ... and 2 more\n");
  EXPECT_EQ(render_diff({cells[0]}), "");
}

}  // namespace
}  // namespace strand::lab
