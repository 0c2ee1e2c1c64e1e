#include "cni/error_json.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace strand::cni {
namespace {

TEST(ErrorJson, Shape) {
  CniError e{11, "agent not ready", "agent call /run/strand/agent.sock: Connection refused (ECONNREFUSED)"};
  EXPECT_EQ(encode_error(e, "1.0.0").dump(),
            R"({"cniVersion":"1.0.0","code":11,"details":"agent call /run/strand/agent.sock: Connection refused )"
            R"j((ECONNREFUSED)","msg":"agent not ready"})j");
  EXPECT_EQ(encode_error(CniError{7, "field \"name\" is required", ""}, "0.4.0").dump(),
            R"({"cniVersion":"0.4.0","code":7,"msg":"field \"name\" is required"})");
  // Before the conf is parsed there is no version to echo: the latest one.
  EXPECT_EQ(encode_error(CniError{4, "CNI_COMMAND is not set", ""}, "").dump(),
            R"({"cniVersion":"1.1.0","code":4,"msg":"CNI_COMMAND is not set"})");
}

struct MapCase {
  const char* op;
  int err;
  int code;
};

TEST(ErrorJson, CodeByWhatToDoNext) {
  const MapCase cases[] = {
      {"agent call", ETIMEDOUT, 11},     {"agent call", ECONNRESET, 11}, {"connect", ENOENT, 11},
      {"connect", ECONNREFUSED, 11},     {"agent call", EPIPE, 11},      {"RTM_NEWLINK", EBUSY, 11},
      {"RTM_NEWROUTE", ENOBUFS, 11},     {"RTM_GETLINK", EINTR, 11},     {"RTM_NEWADDR", EAGAIN, 11},
      {"ipam.allocate", ENOSPC, 11},     {"RTM_NEWLINK", ENOMEM, 11},    {"write state", EIO, 5},
      {"RTM_NEWLINK", EEXIST, 100},      {"RTM_NEWADDR", EINVAL, 100},   {"RTM_NEWNEIGH", ENODEV, 100},
      {"open netns", ENOENT, 999},       {"write", EPIPE, 999},          {"read", ECONNRESET, 999},
      {"parse endpoint", 0, 999},        {"setns", EPERM, 999},
  };
  for (const auto& c : cases) {
    Error e{c.op, c.err, "veth st1a2b in /run/netns/p"};
    CniError out = to_cni_error(e, "create veth");
    EXPECT_EQ(out.code, c.code) << c.op << " " << errno_name(c.err);
    EXPECT_EQ(out.msg, "create veth");
    EXPECT_EQ(out.details, e.message());
  }
}

}  // namespace
}  // namespace strand::cni
