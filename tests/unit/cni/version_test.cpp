#include "cni/version.h"

#include <gtest/gtest.h>

namespace strand::cni {
namespace {

TEST(Version, Parses) {
  auto v = parse_version("1.10.2");
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)[0], 1u);
  EXPECT_EQ((*v)[1], 10u);
  EXPECT_EQ((*v)[2], 2u);
  for (const char* bad : {"", "1", "1.0", "1.0.0.0", "1..0", "1.0.", ".1.0", "a.b.c", "1.0.x", "-1.0.0", "+1.0.0"}) {
    EXPECT_FALSE(parse_version(bad)) << bad;
  }
}

TEST(Version, SupportedList) {
  for (const char* v : {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}) EXPECT_TRUE(version_supported(v)) << v;
  for (const char* v : {"0.1.0", "0.2.0", "0.5.0", "1.2.0", "2.0.0", "1.0", ""}) EXPECT_FALSE(version_supported(v)) << v;
  EXPECT_EQ(supported_versions_text(), "0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0");
}

TEST(Version, ComparesNumerically) {
  EXPECT_TRUE(version_less("0.4.0", "1.0.0"));
  EXPECT_TRUE(version_less("0.9.0", "0.10.0"));
  EXPECT_FALSE(version_less("0.10.0", "0.9.0"));
  EXPECT_FALSE(version_less("1.0.0", "1.0.0"));
  EXPECT_TRUE(version_less("junk", "0.1.0"));
  EXPECT_FALSE(version_less("0.1.0", "junk"));
}

TEST(Version, VerbGates) {
  EXPECT_FALSE(supports_check("0.3.1"));
  EXPECT_TRUE(supports_check("0.4.0"));
  EXPECT_TRUE(supports_check("1.1.0"));
  EXPECT_FALSE(supports_check("junk"));
  EXPECT_FALSE(supports_gc_status("1.0.0"));
  EXPECT_TRUE(supports_gc_status("1.1.0"));
  EXPECT_FALSE(supports_gc_status(""));
}

TEST(Version, InfoEchoesSupportedConfVersion) {
  EXPECT_EQ(version_info("0.4.0").dump(),
            R"({"cniVersion":"0.4.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]})");
  EXPECT_EQ(version_info("").dump(),
            R"({"cniVersion":"1.1.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]})");
  EXPECT_EQ(version_info("9.9.9")["cniVersion"], "1.1.0");
}

}  // namespace
}  // namespace strand::cni
