// The loader's additions for the collector: .rodata settings applied between
// open and load, the loaded settings read back, map fds by name.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "agent/datapath/loader.h"

namespace strand::agent {
namespace {

class LoaderSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to load BPF programs";
    dir_ = "/sys/fs/bpf/stflow" + std::to_string(::getpid()) + "/maps";
    std::filesystem::remove_all(std::filesystem::path(dir_).parent_path());
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(dir_).parent_path(), ec);
  }
  std::string dir_;
};

TEST_F(LoaderSettingsTest, EventSettingsReachRodata) {
  TcSettings s;
  s.events = STRAND_EVENTS_DROP;
  s.ev_rate = 5;
  s.ev_burst = 7;
  auto dp = Datapath::load(dir_, s);
  ASSERT_TRUE(dp) << dp.error().message();
  const strand_tc_config c = dp->tc_config();
  EXPECT_EQ(c.events, STRAND_EVENTS_DROP);
  EXPECT_EQ(c.ev_rate, 5u);
  EXPECT_EQ(c.ev_burst, 7u);
  // Unset: the values compiled into strand_tc.bpf.c.
  EXPECT_EQ(c.ct_syn_ns, 60ULL * 1000000000ULL);
  EXPECT_EQ(c.ct_tcp_ns, 6ULL * 3600 * 1000000000ULL);
  EXPECT_EQ(c.ct_close_ns, 10ULL * 1000000000ULL);
  EXPECT_EQ(c.ct_other_ns, 60ULL * 1000000000ULL);
  EXPECT_EQ(dp->map_fd(STRAND_MAP_CT), dp->ct_fd());
  EXPECT_EQ(dp->map_fd(STRAND_MAP_EP_STATS), dp->ep_stats_fd());
  EXPECT_EQ(dp->map_fd(STRAND_MAP_EVENTS), dp->events_fd());
  EXPECT_GE(dp->map_fd(STRAND_MAP_IPCACHE), 0);
  EXPECT_EQ(dp->map_fd("nope"), -1);
}

TEST_F(LoaderSettingsTest, DefaultsWithoutSettings) {
  auto dp = Datapath::load(dir_);
  ASSERT_TRUE(dp) << dp.error().message();
  const strand_tc_config c = dp->tc_config();
  EXPECT_EQ(c.events, STRAND_EVENTS_DROP | STRAND_EVENTS_FLOW);
  EXPECT_EQ(c.ev_rate, 100u);
  EXPECT_EQ(c.ev_burst, 200u);
}

}  // namespace
}  // namespace strand::agent
