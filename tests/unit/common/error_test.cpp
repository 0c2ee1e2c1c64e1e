#include "common/error.h"

#include <gtest/gtest.h>

namespace strand {
namespace {

TEST(Error, MessageNamesOpContextAndErrno) {
  Error e{"RTM_NEWLINK", EEXIST, "veth st4a1"};
  EXPECT_EQ(e.message(), "RTM_NEWLINK veth st4a1: File exists (EEXIST)");
}

TEST(Error, MessageWithoutErrno) {
  Error e{"parse conf", 0, "field ipam.type missing"};
  EXPECT_EQ(e.message(), "parse conf field ipam.type missing");
}

TEST(Error, WithContextPrefixes) {
  Error e = with_context(Error{"RTM_NEWADDR", EINVAL, "eth0"}, "in netns /run/netns/p");
  EXPECT_EQ(e.context, "in netns /run/netns/p: eth0");
}

TEST(Error, FailCarriesErrno) {
  errno = ENOENT;
  Result<int> r = fail_errno("open", "/nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err, ENOENT);
  EXPECT_EQ(r.error().op, "open");
}

TEST(Error, ErrnoNameUnknown) { EXPECT_EQ(errno_name(99999), "E99999"); }

}  // namespace
}  // namespace strand
