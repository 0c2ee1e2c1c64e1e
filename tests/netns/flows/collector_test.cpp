// The collector over ct, ep_stats and events maps created by the test (the
// programs are not needed to check what it does with entries): idle entries
// are deleted and kept as finished flows, ended ones are listed once with
// their latest counters, active ones keep their seq, per-CPU sums are exact.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "agent/flows/collector.h"
#include "common/fd.h"

namespace strand::agent::flows {
namespace {

constexpr uint64_t kSec = 1000000000ULL;

uint64_t mono_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kSec + static_cast<uint64_t>(ts.tv_nsec);
}

strand_ct_key key(uint16_t sport, uint8_t proto) {
  strand_ct_key k{};
  ::inet_pton(AF_INET, "10.1.0.1", &k.saddr[0]);
  ::inet_pton(AF_INET, "10.1.0.2", &k.daddr[0]);
  k.sport = htons(sport);
  k.dport = htons(80);
  k.proto = proto;
  k.family = STRAND_FAMILY_IPV4;
  k.dir = STRAND_DIR_EGRESS;
  return k;
}

class FlowCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create BPF maps";
    ct_.reset(bpf_map_create(BPF_MAP_TYPE_HASH, "t_ct", sizeof(strand_ct_key), sizeof(strand_ct_entry), 64, nullptr));
    st_.reset(bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "t_st", 4, sizeof(strand_ep_stats), 8, nullptr));
    ev_.reset(bpf_map_create(BPF_MAP_TYPE_RINGBUF, "t_ev", 0, 0, 4096, nullptr));
    ASSERT_TRUE(ct_ && st_ && ev_) << std::strerror(errno);
    CollectorMaps m{ct_.get(), st_.get(), ev_.get(), {{"ct", ct_.get()}, {"ep_stats", st_.get()}}, {}};
    m.cfg.ct_syn_ns = 60 * kSec;
    m.cfg.ct_tcp_ns = 3600 * kSec;
    m.cfg.ct_close_ns = 10 * kSec;
    m.cfg.ct_other_ns = 1 * kSec;
    auto c = Collector::create(std::move(m), CollectorOptions{16, 16, std::chrono::milliseconds(1000)});
    ASSERT_TRUE(c) << c.error().message();
    col_ = std::move(*c);
  }
  void put(const strand_ct_key& k, const strand_ct_entry& e) { ASSERT_EQ(bpf_map_update_elem(ct_.get(), &k, &e, BPF_ANY), 0); }
  bool in_ct(const strand_ct_key& k) {
    strand_ct_entry e{};
    return bpf_map_lookup_elem(ct_.get(), &k, &e) == 0;
  }

  UniqueFd ct_, st_, ev_;
  std::unique_ptr<Collector> col_;
};

TEST_F(FlowCollectorTest, ExpiresIdleEntriesAndListsEndedOnce) {
  const uint64_t now = mono_ns();
  strand_ct_entry udp{};
  udp.first_seen_ns = now - 5 * kSec;
  udp.last_seen_ns = now - 2 * kSec;  // idle 2 s, timeout 1 s
  udp.state = STRAND_CT_ESTABLISHED;
  udp.packets[0] = 3;
  udp.bytes[0] = 300;
  strand_ct_entry tcp{};
  tcp.first_seen_ns = now - kSec;
  tcp.last_seen_ns = now;
  tcp.state = STRAND_CT_ESTABLISHED;
  tcp.rtt_ns = 40000;
  strand_ct_entry fin = tcp;
  fin.state = STRAND_CT_TIME_WAIT;
  fin.flags = STRAND_CT_F_ENDED;
  fin.packets[0] = 5;
  fin.rtt_ns = 0;
  put(key(1, IPPROTO_UDP), udp);
  put(key(2, IPPROTO_TCP), tcp);
  put(key(3, IPPROTO_TCP), fin);

  auto flows = col_->flows();
  ASSERT_EQ(flows.size(), 3u);
  // Active first: the established TCP flow.
  EXPECT_EQ(flows[0].end, FlowEnd::kActive);
  EXPECT_EQ(ntohs(flows[0].key.sport), 2);
  // Then the finished ones, in the order recorded.
  std::map<uint16_t, Flow> ended;
  for (size_t i = 1; i < flows.size(); ++i) ended[ntohs(flows[i].key.sport)] = flows[i];
  ASSERT_TRUE(ended.contains(1) && ended.contains(3));
  EXPECT_EQ(ended[1].end, FlowEnd::kExpired);
  EXPECT_EQ(ended[1].ct.bytes[0], 300u);
  EXPECT_EQ(ended[3].end, FlowEnd::kFin);
  EXPECT_FALSE(in_ct(key(1, IPPROTO_UDP))) << "an idle entry is deleted";
  EXPECT_TRUE(in_ct(key(3, IPPROTO_TCP))) << "an ended entry stays until its close timeout";

  const uint64_t active_seq = flows[0].seq, fin_seq = ended[3].seq;
  // The last ACK after both FINs: the ended flow shows it, under the same seq.
  fin.packets[0] = 6;
  fin.last_seen_ns = mono_ns();
  put(key(3, IPPROTO_TCP), fin);
  flows = col_->flows();
  ASSERT_EQ(flows.size(), 3u);
  EXPECT_EQ(flows[0].seq, active_seq) << "an active flow keeps its seq";
  size_t fin_items = 0;
  for (const auto& f : flows) {
    if (ntohs(f.key.sport) != 3) continue;
    ++fin_items;
    EXPECT_EQ(f.seq, fin_seq);
    EXPECT_EQ(f.ct.packets[0], 6u);
  }
  EXPECT_EQ(fin_items, 1u);

  auto s = col_->stats();
  EXPECT_EQ(s.flows_active, 1u);
  EXPECT_EQ(s.ct_expired, 1u);
  EXPECT_EQ(s.map_entries["ct"], 2u);
  EXPECT_EQ(s.map_entries["ep_stats"], 0u);
  EXPECT_EQ(s.handshake.count, 1u) << "one observation per flow, however often it is scanned";
  EXPECT_DOUBLE_EQ(s.handshake.sum, 0.00004);
}

TEST_F(FlowCollectorTest, SumsPerCpuStats) {
  const int ncpu = libbpf_num_possible_cpus();
  ASSERT_GT(ncpu, 0);
  std::vector<strand_ep_stats> v(static_cast<size_t>(ncpu));
  for (int i = 0; i < ncpu; ++i) {
    v[i].packets[STRAND_DIR_EGRESS] = 1;
    v[i].bytes[STRAND_DIR_INGRESS] = 100;
    v[i].drops[STRAND_DIR_EGRESS][STRAND_DROP_CT_INVALID] = 2;
    v[i].drops[STRAND_DIR_INGRESS][STRAND_DROP_CT_INVALID] = 5;
    v[i].events_lost = 1;
    v[i].events_limited = 3;
  }
  uint32_t ep = 7;
  ASSERT_EQ(bpf_map_update_elem(st_.get(), &ep, v.data(), BPF_ANY), 0);
  auto sums = col_->ep_stats();
  ASSERT_EQ(sums.size(), 1u);
  const auto& s = sums.at(7);
  const uint64_t n = static_cast<uint64_t>(ncpu);
  EXPECT_EQ(s.packets[STRAND_DIR_EGRESS], n);
  EXPECT_EQ(s.bytes[STRAND_DIR_INGRESS], 100 * n);
  EXPECT_EQ(s.drops[STRAND_DIR_EGRESS][STRAND_DROP_CT_INVALID], 2 * n);
  EXPECT_EQ(s.drops[STRAND_DIR_INGRESS][STRAND_DROP_CT_INVALID], 5 * n);
  EXPECT_EQ(col_->stats().events_lost, 4 * n);
}

}  // namespace
}  // namespace strand::agent::flows
