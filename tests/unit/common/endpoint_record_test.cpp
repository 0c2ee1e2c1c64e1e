#include "common/endpoint_record.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/fs.h"

namespace strand {
namespace {

class EndpointStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strand-ep-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

EndpointRecord sample() {
  EndpointRecord r;
  r.container_id = "abc123";
  r.ifname = "eth0";
  r.netns = "/run/netns/p1";
  r.network = "k8s";
  r.host_ifname = "st0123456789ab";
  r.host_ifindex = 7;
  r.pod_ifindex = 2;
  r.host_mac = "aa:bb:cc:dd:ee:01";
  r.pod_mac = "aa:bb:cc:dd:ee:02";
  r.mtu = 1450;
  r.ips = {*IpPrefix::parse("10.244.1.5/32"), *IpPrefix::parse("fd00::5/128")};
  r.pod_namespace = "default";
  r.pod_name = "web";
  r.pod_uid = "u-1";
  r.state = "ready";
  r.created_ms = 1234;
  return r;
}

TEST(EndpointRecord, RoundTrip) {
  auto r = sample();
  auto back = decode_endpoint_record(encode_endpoint_record(r));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, r);
}

TEST(EndpointRecord, DecodeErrors) {
  EXPECT_EQ(decode_endpoint_record("{").error().err, EBADMSG);
  EXPECT_EQ(decode_endpoint_record("[]").error().err, EBADMSG);
  EXPECT_EQ(decode_endpoint_record(R"({"ifname":"eth0"})").error().err, EBADMSG);
  EXPECT_EQ(decode_endpoint_record(R"({"containerID":"a","ifname":"eth0","ips":["x"]})").error().err, EBADMSG);
}

TEST_F(EndpointStoreTest, WriteReadListRemove) {
  EndpointStore store(root_ + "/a/b");
  auto none = store.read("abc123", "eth0");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(store.write(sample()));
  auto got = store.read("abc123", "eth0");
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ(**got, sample());
  std::ofstream(root_ + "/a/b/junk_eth0.json") << "{not json";
  std::vector<std::string> bad;
  auto all = store.list(&bad);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0], "junk_eth0.json");
  ASSERT_TRUE(store.remove("abc123", "eth0"));
  ASSERT_TRUE(store.remove("abc123", "eth0"));  // idempotent
  EXPECT_FALSE(std::filesystem::exists(store.path_of("abc123", "eth0")));
}

TEST_F(EndpointStoreTest, ListOfMissingDirIsEmpty) {
  EndpointStore store(root_ + "/nope");
  auto all = store.list();
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
}

TEST_F(EndpointStoreTest, MakeDirsRejectsFile) {
  std::ofstream(root_ + "/f") << "x";
  auto st = make_dirs(root_ + "/f");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().err, ENOTDIR);
}

TEST_F(EndpointStoreTest, DeadWritersTemporariesAreRemovedLiveOnesKept) {
  // A pid that no longer runs: a child that has exited and been reaped.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  const std::string dead = root_ + "/c1_eth0.json.tmp." + std::to_string(child);
  const std::string live = root_ + "/c2_eth0.json.tmp." + std::to_string(::getpid());
  const std::string other = root_ + "/notes.tmp.x1";
  std::ofstream(dead) << "{";
  std::ofstream(live) << "{";
  std::ofstream(other) << "x";
  const std::string dead_other = root_ + "/c4_eth0.json.tmp." + std::to_string(child);
  std::ofstream(dead_other) << "{";
  ASSERT_TRUE(write_file_atomic(root_ + "/c3_eth0.json", "{}"));
  // Removing a record takes its own dead temporaries only.
  EndpointStore store(root_);
  ASSERT_TRUE(store.remove("c1", "eth0"));
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_TRUE(std::filesystem::exists(dead_other));
  // GC's sweep takes every dead one.
  ASSERT_TRUE(remove_dead_temporaries(root_));
  EXPECT_FALSE(std::filesystem::exists(dead_other));
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(other));
  EXPECT_TRUE(std::filesystem::exists(root_ + "/c3_eth0.json"));
  EXPECT_TRUE(remove_dead_temporaries(root_ + "/missing"));
}

}  // namespace
}  // namespace strand
