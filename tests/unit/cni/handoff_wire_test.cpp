#include "cni/handoff_wire.h"

#include <gtest/gtest.h>

namespace strand::cni {
namespace {

TEST(HandoffWire, RequestRoundTrips) {
  HandoffRequest r{{{"CNI_COMMAND", "ADD"}, {"CNI_ARGS", "K8S_POD_NAME=a;X=\"q\""}},
                   "{\"cniVersion\":\"1.0.0\",\n\"name\":\"n\"}",
                   {{4, 4026531840ULL}, {4, 4026531841ULL}}};
  auto back = decode_handoff_request(nlohmann::json::parse(encode_handoff_request(r).dump()));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(back->env, r.env);
  EXPECT_EQ(back->conf, r.conf);
  EXPECT_EQ(back->ns, r.ns);
}

TEST(HandoffWire, BadRequestsNameTheField) {
  auto good = encode_handoff_request({{{"CNI_COMMAND", "DEL"}}, "{}", {{1, 2}, {1, 3}}});
  struct Case {
    const char* field;
    nlohmann::json value;
  } cases[] = {{"op", "add"},     {"env", "x"},         {"env", {{"PATH", "/bin"}}}, {"env", {{"CNI_X", 1}}},
               {"conf", 7},       {"netns", {1}},       {"netns", {1, -2}},          {"mntns", "x"}};
  for (const auto& c : cases) {
    auto j = good;
    j[c.field] = c.value;
    auto r = decode_handoff_request(j);
    ASSERT_FALSE(r.has_value()) << c.field << " " << c.value.dump();
    EXPECT_EQ(r.error().err, EBADMSG);
    EXPECT_NE(r.error().context.find(c.field), std::string::npos) << r.error().context;
  }
}

TEST(HandoffWire, RepliesAndDeclines) {
  auto done = decode_handoff_reply(encode_handoff_reply(Outcome{1, "{\"code\":11}\n"}));
  EXPECT_FALSE(done.declined);
  EXPECT_EQ(done.outcome.exit, 1);
  EXPECT_EQ(done.outcome.out, "{\"code\":11}\n");
  auto no = decode_handoff_reply(encode_handoff_decline("busy"));
  EXPECT_TRUE(no.declined);
  EXPECT_EQ(no.why, "busy");
  // An agent without the op answers with an error: a decline too.
  EXPECT_TRUE(decode_handoff_reply(nlohmann::json{{"ok", false}, {"error", "unknown op \"cni\""}}).declined);
  EXPECT_TRUE(decode_handoff_reply(nlohmann::json{{"ok", true}}).declined);
  EXPECT_TRUE(decode_handoff_reply(nlohmann::json::array()).declined);
}

TEST(HandoffWire, Eligibility) {
  for (const char* c : {"ADD", "DEL", "CHECK", "GC", "STATUS"}) EXPECT_TRUE(handoff_eligible(c, "strand-ipam", false)) << c;
  EXPECT_FALSE(handoff_eligible("VERSION", "strand-ipam", false));
  EXPECT_FALSE(handoff_eligible("ADD", "host-local", false));
  EXPECT_FALSE(handoff_eligible("ADD", "", false));
  EXPECT_FALSE(handoff_eligible("ADD", "strand-ipam", true));
}

}  // namespace
}  // namespace strand::cni
