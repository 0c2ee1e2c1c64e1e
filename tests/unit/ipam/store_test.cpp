#include "cni/ipam/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "ipam_test_util.h"

namespace strand::cni::ipam {
namespace {

using testing::TempDir;

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(Owner, ReadsHostLocalFormats) {
  const Attachment eth0{"abc", "eth0"};
  Owner now = Owner::parse("abc\r\neth0");
  EXPECT_EQ(now, (Owner{"abc", "eth0"}));
  EXPECT_TRUE(now.holds(eth0));
  EXPECT_FALSE(now.holds({"abc", "eth1"}));
  EXPECT_FALSE(now.holds({"abd", "eth0"}));

  EXPECT_EQ(Owner::parse("abc\neth0\n"), (Owner{"abc", "eth0"}));

  // Before ifnames were recorded: the container id alone, any interface.
  Owner old = Owner::parse("abc\n");
  EXPECT_EQ(old, (Owner{"abc", ""}));
  EXPECT_TRUE(old.holds({"abc", "net1"}));

  // An empty file (a writer killed after O_EXCL) belongs to nobody.
  Owner none = Owner::parse("");
  EXPECT_TRUE(none.container_id.empty());
  EXPECT_FALSE(none.holds({"", ""}));
}

TEST(Owner, RecordIsHostLocalsAndIndexNamesRoundTrip) {
  EXPECT_EQ(owner_record({"abc", "eth0"}), "abc\r\neth0");
  EXPECT_EQ(index_name({"ab:c", "eth0"}), "ab:c:eth0");
  EXPECT_EQ(index_attachment("ab:c:eth0"), (Attachment{"ab:c", "eth0"}));
  EXPECT_FALSE(index_attachment(".tmp"));
  EXPECT_FALSE(index_attachment("abc:"));
  EXPECT_FALSE(index_attachment(":eth0"));
}

TEST(Store, OpenWithoutCreateOnMissingDirIsEnoent) {
  TempDir tmp;
  auto s = Store::open(tmp.path(), "missing", false);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().err, ENOENT);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/missing"));
}

// Every writing test runs with each way of making a file: rewriting a spare,
// O_TMPFILE, and the named temporary fallback.
enum class Mode { kSpare, kTmpfile, kNamed };

class StoreWrites : public ::testing::TestWithParam<Mode> {
 protected:
  Store open(const std::string& data_dir) {
    auto s = Store::open(data_dir, "net", true);
    EXPECT_TRUE(s) << s.error().message();
    if (GetParam() == Mode::kSpare) {
      // Spares come from released files (of another Store, listed afresh).
      auto seed = Store::open(data_dir, "net", true);
      const char* seeds[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"};
      for (const char* a : seeds) EXPECT_TRUE(seed->reserve(ip(a), {"seed", "eth0"}));
      for (const char* a : seeds) EXPECT_TRUE(seed->remove(ip(a)));
      EXPECT_EQ(spares(data_dir), 4u);
    } else {
      s->disable_pool();
    }
    if (GetParam() == Mode::kNamed) s->disable_tmpfile();
    return std::move(*s);
  }
  static size_t spares(const std::string& data_dir) {
    std::error_code ec;
    auto it = std::filesystem::directory_iterator(data_dir + "/net/spare", ec);
    return ec ? 0 : static_cast<size_t>(std::distance(it, std::filesystem::directory_iterator{}));
  }
  TempDir tmp_;
};
INSTANTIATE_TEST_SUITE_P(Files, StoreWrites, ::testing::Values(Mode::kSpare, Mode::kTmpfile, Mode::kNamed),
                         [](const auto& info) {
                           switch (info.param) {
                             case Mode::kSpare: return "Spare";
                             case Mode::kTmpfile: return "Tmpfile";
                             case Mode::kNamed: return "NamedTemporary";
                           }
                           return "";
                         });

TEST_P(StoreWrites, ReserveIsExclusiveAndWritesHostLocalsFormat) {
  Store s = open(tmp_.path() + "/deep/er");
  ASSERT_TRUE(s.reserve(ip("10.0.0.2"), {"c1", "eth0"}));
  const std::string dir = tmp_.path() + "/deep/er/net";
  EXPECT_EQ(slurp(dir + "/10.0.0.2"), "c1\r\neth0");

  auto again = s.reserve(ip("10.0.0.2"), {"c2", "eth0"});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().err, EEXIST);
  EXPECT_EQ(slurp(dir + "/10.0.0.2"), "c1\r\neth0");
  // No temporary file survives, successful or not.
  EXPECT_FALSE(std::filesystem::exists(dir + "/.strand-tmp"));

  EXPECT_EQ(*s.exists(ip("10.0.0.2")), true);
  EXPECT_EQ(*s.exists(ip("10.0.0.3")), false);
  EXPECT_EQ(**s.owner(ip("10.0.0.2")), (Owner{"c1", "eth0"}));
  EXPECT_FALSE(*s.owner(ip("10.0.0.3")));
}

TEST_P(StoreWrites, IndexIsReplacedWhole) {
  Store s = open(tmp_.path());
  const Attachment a{"c1", "eth0"};
  EXPECT_FALSE(*s.read_index(a));
  const std::vector<IpAddr> ips{ip("10.0.0.2"), ip("fd00::2")};
  ASSERT_TRUE(s.write_index(a, ips));
  EXPECT_EQ(**s.read_index(a), ips);
  EXPECT_EQ(slurp(tmp_.path() + "/net/by-attachment/c1:eth0"), "10.0.0.2\nfd00::2\n");
  ASSERT_TRUE(s.write_index(a, std::vector<IpAddr>{ip("10.0.0.3")}));
  EXPECT_EQ(**s.read_index(a), std::vector<IpAddr>{ip("10.0.0.3")});
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/net/by-attachment/.strand-tmp"));
}

TEST_P(StoreWrites, ReleasedFilesAreSparesAndSparesBecomeFiles) {
  Store s = open(tmp_.path());
  const size_t before = spares(tmp_.path());
  ASSERT_TRUE(s.reserve(ip("10.0.0.2"), {"c1", "eth0"}));
  ASSERT_TRUE(s.write_index({"c1", "eth0"}, std::vector<IpAddr>{ip("10.0.0.2")}));
  if (GetParam() == Mode::kSpare) {
    EXPECT_EQ(spares(tmp_.path()), before - 2);
  }
  struct stat st;
  ASSERT_EQ(::stat((tmp_.path() + "/net/10.0.0.2").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);  // never a second link to a live file

  ASSERT_TRUE(s.remove(ip("10.0.0.2")));
  ASSERT_TRUE(s.remove_index({"c1", "eth0"}));
  ASSERT_TRUE(s.remove(ip("10.0.0.2")));  // absent is fine
  EXPECT_FALSE(*s.exists(ip("10.0.0.2")));
  EXPECT_FALSE(*s.read_index({"c1", "eth0"}));
  EXPECT_EQ(spares(tmp_.path()), GetParam() == Mode::kSpare ? before : 0u);

  // A spare left with any content (a writer killed mid-rewrite) makes a
  // correct file: shorter content leaves no tail.
  ASSERT_TRUE(s.reserve(ip("10.0.0.3"), {"a-much-longer-container-id", "eth0"}));
  ASSERT_TRUE(s.remove(ip("10.0.0.3")));
  ASSERT_TRUE(s.reserve(ip("10.0.0.4"), {"c4", "eth0"}));
  EXPECT_EQ(slurp(tmp_.path() + "/net/10.0.0.4"), "c4\r\neth0");
}

TEST_P(StoreWrites, TakenAddressKeepsItsFileAndTheSpare) {
  Store s = open(tmp_.path());
  ASSERT_TRUE(s.reserve(ip("10.0.0.2"), {"c1", "eth0"}));
  const size_t before = spares(tmp_.path());
  auto again = s.reserve(ip("10.0.0.2"), {"c2", "eth0"});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().err, EEXIST);
  EXPECT_EQ(slurp(tmp_.path() + "/net/10.0.0.2"), "c1\r\neth0");
  EXPECT_EQ(spares(tmp_.path()), before);
}

TEST(Store, TidyFreesSparesAndTemporaries) {
  TempDir tmp;
  auto s = Store::open(tmp.path(), "net", true);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->reserve(ip("10.0.0.2"), {"c1", "eth0"}));
  ASSERT_TRUE(s->remove(ip("10.0.0.2")));
  std::ofstream(tmp.path() + "/net/.strand-tmp");
  ASSERT_TRUE(s->tidy());
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path() + "/net/spare"));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/net/.strand-tmp"));
  // And spares are made again afterwards.
  ASSERT_TRUE(s->reserve(ip("10.0.0.2"), {"c1", "eth0"}));
  ASSERT_TRUE(s->remove(ip("10.0.0.2")));
  EXPECT_FALSE(std::filesystem::is_empty(tmp.path() + "/net/spare"));
}

TEST(Store, NamedFallbackNeverWritesThroughAStaleTemporaryLink) {
  // A writer killed between link and unlink leaves the temporary name as a
  // second link of a live address file; the next write must not change it.
  TempDir tmp;
  auto s = Store::open(tmp.path(), "net", true);
  ASSERT_TRUE(s);
  s->disable_pool();
  s->disable_tmpfile();
  ASSERT_TRUE(s->reserve(ip("10.0.0.2"), {"c1", "eth0"}));
  const std::string dir = tmp.path() + "/net";
  std::filesystem::create_hard_link(dir + "/10.0.0.2", dir + "/.strand-tmp");
  ASSERT_TRUE(s->reserve(ip("10.0.0.3"), {"c2", "eth0"}));
  EXPECT_EQ(slurp(dir + "/10.0.0.2"), "c1\r\neth0");
  EXPECT_EQ(slurp(dir + "/10.0.0.3"), "c2\r\neth0");
  EXPECT_FALSE(std::filesystem::exists(dir + "/.strand-tmp"));
}

TEST(Store, ReleaseOnlyWhatTheAttachmentHolds) {
  TempDir tmp;
  auto s = Store::open(tmp.path(), "net", true);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->reserve(ip("10.0.0.2"), {"c1", "eth0"}));
  EXPECT_EQ(*s->release(ip("10.0.0.2"), {"c1", "eth1"}), false);
  EXPECT_EQ(*s->release(ip("10.0.0.2"), {"c2", "eth0"}), false);
  EXPECT_EQ(*s->release(ip("10.0.0.9"), {"c1", "eth0"}), false);
  EXPECT_EQ(*s->release(ip("10.0.0.2"), {"c1", "eth0"}), true);
  EXPECT_EQ(*s->exists(ip("10.0.0.2")), false);
}

TEST(Store, IndexListingAndRemoval) {
  TempDir tmp;
  auto s = Store::open(tmp.path(), "net", true);
  ASSERT_TRUE(s);
  const std::vector<IpAddr> ips{ip("10.0.0.2")};
  ASSERT_TRUE(s->write_index({"c1", "eth0"}, ips));
  ASSERT_TRUE(s->write_index({"c2", "net1"}, ips));
  std::ofstream(tmp.path() + "/net/by-attachment/.strand-tmp");  // a crash's leftover
  auto listed = s->indexed();
  ASSERT_TRUE(listed);
  std::sort(listed->begin(), listed->end());
  EXPECT_EQ(*listed, (std::vector<Attachment>{{"c1", "eth0"}, {"c2", "net1"}}));
  ASSERT_TRUE(s->remove_index({"c1", "eth0"}));
  ASSERT_TRUE(s->remove_index({"c1", "eth0"}));  // absent is fine
  EXPECT_FALSE(*s->read_index({"c1", "eth0"}));
  ASSERT_TRUE(s->tidy());
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/net/by-attachment/.strand-tmp"));
}

TEST(Store, TornIndexLinesAreSkipped) {
  TempDir tmp;
  auto s = Store::open(tmp.path(), "net", true);
  ASSERT_TRUE(s);
  std::filesystem::create_directory(tmp.path() + "/net/by-attachment");
  std::ofstream(tmp.path() + "/net/by-attachment/c1:eth0") << "10.0.0.2\n10.0.";
  EXPECT_EQ(**s->read_index({"c1", "eth0"}), std::vector<IpAddr>{ip("10.0.0.2")});
}

TEST(Store, ReservationsListsAddressFilesOnly) {
  TempDir tmp;
  auto s = Store::open(tmp.path(), "net", true);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->reserve(ip("10.0.0.2"), {"c1", "eth0"}));
  ASSERT_TRUE(s->reserve(ip("fd00::2"), {"c1", "eth0"}));
  ASSERT_TRUE(s->set_last_reserved(0, ip("10.0.0.2")));
  ASSERT_TRUE(s->write_index({"c1", "eth0"}, std::vector<IpAddr>{ip("10.0.0.2")}));
  { auto l = s->lock(); ASSERT_TRUE(l); }
  std::ofstream(tmp.path() + "/net/10.0.0.7");  // empty: crash-left
  auto all = s->reservations();
  ASSERT_TRUE(all);
  std::map<std::string, Owner> got;
  for (const auto& r : *all) got[r.ip.str()] = r.owner;
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got["10.0.0.2"], (Owner{"c1", "eth0"}));
  EXPECT_EQ(got["fd00::2"], (Owner{"c1", "eth0"}));
  EXPECT_EQ(got["10.0.0.7"], (Owner{}));
}

TEST(Store, LastReservedIsAHint) {
  TempDir tmp;
  auto s = Store::open(tmp.path(), "net", true);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->last_reserved(0));
  ASSERT_TRUE(s->set_last_reserved(1, ip("fd00::9")));
  EXPECT_EQ(slurp(tmp.path() + "/net/last_reserved_ip.1"), "fd00::9");
  EXPECT_EQ(s->last_reserved(1), ip("fd00::9"));
  // Rewritten in place: a shorter address leaves no tail of the longer one.
  ASSERT_TRUE(s->set_last_reserved(1, ip("10.0.0.100")));
  ASSERT_TRUE(s->set_last_reserved(1, ip("10.0.0.5")));
  EXPECT_EQ(slurp(tmp.path() + "/net/last_reserved_ip.1"), "10.0.0.5");
  std::ofstream(tmp.path() + "/net/last_reserved_ip.0") << "10.0.";
  EXPECT_FALSE(s->last_reserved(0));
}

}  // namespace
}  // namespace strand::cni::ipam
