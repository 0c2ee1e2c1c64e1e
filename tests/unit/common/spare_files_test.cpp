#include "common/spare_files.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include "common/fs.h"

namespace strand {
namespace {

namespace fs = std::filesystem;

class SpareFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strand-spare-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    spares_ = root_ + "/spare";
  }
  void TearDown() override { fs::remove_all(root_); }
  size_t spare_count() const {
    if (!fs::exists(spares_)) return 0;
    return static_cast<size_t>(std::distance(fs::directory_iterator(spares_), fs::directory_iterator{}));
  }
  static ino_t inode(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_ino;
  }
  std::string root_;
  std::string spares_;
};

TEST_F(SpareFilesTest, FirstWriteCreatesTheFile) {
  const std::string p = root_ + "/a.json";
  ASSERT_TRUE(write_file_recycled(p, "one", spares_));
  EXPECT_EQ(*read_file(p), "one");
  EXPECT_EQ(spare_count(), 0u);
  EXPECT_FALSE(fs::exists(p + ".tmp." + std::to_string(::getpid())));
}

TEST_F(SpareFilesTest, ReplacingKeepsTheOldInodeAsASpareAndTheNextWriteTakesIt) {
  const std::string p = root_ + "/a.json";
  const std::string q = root_ + "/b.json";
  ASSERT_TRUE(write_file_recycled(p, "a much longer first content", spares_));
  const ino_t first = inode(p);
  ASSERT_TRUE(write_file_recycled(p, "short", spares_));
  EXPECT_EQ(*read_file(p), "short");
  EXPECT_NE(inode(p), first);
  ASSERT_EQ(spare_count(), 1u);
  // The spare (the first inode, with longer old bytes) is reused and cut to size.
  ASSERT_TRUE(write_file_recycled(q, "b", spares_));
  EXPECT_EQ(inode(q), first);
  EXPECT_EQ(*read_file(q), "b");
  EXPECT_EQ(spare_count(), 0u);
}

TEST_F(SpareFilesTest, RecycleMovesTheFileToTheSparesAndAMissingFileIsSuccess) {
  const std::string p = root_ + "/a.json";
  ASSERT_TRUE(write_file_recycled(p, "x", spares_));
  const ino_t ino = inode(p);
  ASSERT_TRUE(recycle_file(p, spares_));
  EXPECT_FALSE(fs::exists(p));
  ASSERT_EQ(spare_count(), 1u);
  EXPECT_TRUE(recycle_file(p, spares_));
  EXPECT_TRUE(recycle_file(root_ + "/never", root_ + "/nospares"));
  EXPECT_FALSE(fs::exists(root_ + "/nospares"));
  ASSERT_TRUE(write_file_recycled(root_ + "/c.json", "c", spares_));
  EXPECT_EQ(inode(root_ + "/c.json"), ino);
}

TEST_F(SpareFilesTest, ADirectoryAmongTheSparesIsNotTaken) {
  fs::create_directories(spares_ + "/sub");
  const std::string p = root_ + "/a.json";
  ASSERT_TRUE(write_file_recycled(p, "x", spares_));
  EXPECT_TRUE(fs::is_regular_file(p));
  EXPECT_TRUE(fs::is_directory(spares_ + "/sub"));
}

TEST_F(SpareFilesTest, AnUnwritableDirectoryIsAnErrorNamingThePath) {
  auto st = write_file_recycled(root_ + "/missing/a.json", "x", spares_);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().err, ENOENT);
  EXPECT_NE(st.error().context.find("missing/a.json"), std::string::npos);
}

// Writers in several processes (each its own temp name) share one spare
// directory: no file ever holds another's bytes, and every inode ends up either
// a file or a spare.
TEST_F(SpareFilesTest, ConcurrentWritersNeverShareAnInode) {
  constexpr int kProcs = 6;
  constexpr int kRounds = 60;
  std::vector<pid_t> kids;
  for (int k = 0; k < kProcs; ++k) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int r = 0; r < kRounds; ++r) {
        const std::string p = root_ + "/w" + std::to_string(k) + ".json";
        const std::string want = "writer " + std::to_string(k) + " round " + std::to_string(r);
        if (!write_file_recycled(p, want, spares_)) ::_exit(2);
        auto got = read_file(p);
        if (!got || *got != want) ::_exit(3);
        if (r % 3 == 2 && !recycle_file(p, spares_)) ::_exit(4);
      }
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  std::set<ino_t> inodes;
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(root_)) {
    if (!e.is_regular_file()) continue;
    ++files;
    inodes.insert(inode(e.path().string()));
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
  }
  EXPECT_EQ(inodes.size(), files);
}

}  // namespace
}  // namespace strand
