// The shim's JSON scanner (cni/shim/json_lite.h), checked against nlohmann's
// parser on the same documents.
#include "cni/shim/json_lite.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace {

struct Buf {
  jl_buf b{nullptr, 0, 0};
  ~Buf() { jl_free(&b); }
  [[nodiscard]] std::string str() const { return b.data ? std::string(b.data, b.len) : std::string(); }
};

// 1 found (raw text), 0 absent, -1 malformed, as jl_member says.
std::pair<int, std::string> member(const std::string& doc, const char* key) {
  const char* v = nullptr;
  size_t n = 0;
  int r = jl_member(doc.data(), doc.size(), key, &v, &n);
  return {r, r == 1 ? std::string(v, n) : std::string()};
}

std::optional<std::string> string_value(const std::string& tok) {
  Buf out;
  if (jl_string_value(tok.data(), tok.size(), &out.b) != 0) return std::nullopt;
  return out.str();
}

std::string quoted(const std::string& s) {
  Buf out;
  EXPECT_EQ(jl_append_string(&out.b, s.data(), s.size()), 0);
  return out.str();
}

TEST(JsonLite, FindsTopLevelMembersOnly) {
  const std::string doc = R"( { "ipam" : {"type":"strand-ipam","agentSocket":"/nested"},
    "list": [1, {"agentSocket": "x"}, "]}"], "agentSocket" : "/run/a.sock", "n": -12, "t": true } )";
  EXPECT_EQ(member(doc, "agentSocket"), std::make_pair(1, std::string(R"("/run/a.sock")")));
  EXPECT_EQ(member(doc, "ipam").second, R"({"type":"strand-ipam","agentSocket":"/nested"})");
  EXPECT_EQ(member(doc, "n").second, "-12");
  EXPECT_EQ(member(doc, "t").second, "true");
  EXPECT_EQ(member(doc, "missing").first, 0);
  EXPECT_EQ(member("{}", "x").first, 0);
}

TEST(JsonLite, KeysAreComparedDecoded) {
  EXPECT_EQ(member(R"({"agent\u0053ocket":"/s"})", "agentSocket").second, R"("/s")");
}

TEST(JsonLite, MalformedDocumentsAreNoAnswer) {
  for (const char* doc : {"", "[]", "\"x\"", "{", R"({"a")", R"({"a":})", R"({"a":1,})", R"({"a":"unterminated})",
                          R"({"a":{"b":[1,2}})", "{\"a\":\"raw\ncontrol\"}", R"({"a":1 "b":2})"}) {
    EXPECT_EQ(member(doc, "zzz").first, -1) << doc;
  }
  // Deeper than the scanner walks.
  EXPECT_EQ(member("{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}", "zzz").first, -1);
}

TEST(JsonLite, StringsDecodeAsNlohmannDoes) {
  for (const char* tok : {R"("")", R"("plain")", R"("a\"b\\c\/d")", R"("\b\f\n\r\t")", R"("\u00e9\u4e2d")",
                          R"("\ud83d\ude00 smile")", "\"raw \xc3\xa9 utf-8\""}) {
    auto mine = string_value(tok);
    ASSERT_TRUE(mine.has_value()) << tok;
    EXPECT_EQ(*mine, nlohmann::json::parse(tok).get<std::string>()) << tok;
  }
  for (const char* tok : {R"("\x")", R"("\u12")", R"("\ud83d")", R"("\ude00")", R"("\ud83d\u0041")", R"("a)", "x",
                          R"("tail\")", "\"ctl\x01\""}) {
    EXPECT_FALSE(string_value(tok).has_value()) << tok;
  }
}

TEST(JsonLite, WrittenStringsParseBack) {
  for (const std::string& s : {std::string(""), std::string("a\"b\\c"), std::string("line\nfeed\ttab\x01\x1f"),
                              std::string("caf\xc3\xa9"), std::string(R"({"cniVersion":"1.0.0"})")}) {
    const std::string q = quoted(s);
    EXPECT_EQ(nlohmann::json::parse(q).get<std::string>(), s) << q;
    EXPECT_EQ(string_value(q), s);
  }
}

TEST(JsonLite, Integers) {
  auto val = [](const std::string& t) -> std::optional<long long> {
    long long v = 0;
    if (jl_int_value(t.data(), t.size(), &v) != 0) return std::nullopt;
    return v;
  };
  EXPECT_EQ(val("0"), 0);
  EXPECT_EQ(val("2000"), 2000);
  EXPECT_EQ(val("-7"), -7);
  EXPECT_EQ(val("999999999999999999"), 999999999999999999LL);
  for (const char* t : {"", "-", "1.5", "1e3", "12a", "\"1\"", "1000000000000000000"}) EXPECT_FALSE(val(t)) << t;
}

}  // namespace
