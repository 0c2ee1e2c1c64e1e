// The loaded objects against the shared header: every map the agent will
// pin has the name, type, key/value size and capacity the header promises,
// so user space reading it with the header's structs reads what BPF wrote.
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "harness.h"

namespace strand::test {
namespace {

struct MapSpec {
  const char* name;
  bpf_map_type type;
  std::uint32_t key_size;
  std::uint32_t value_size;
  std::uint32_t max_entries;
};

void expect_maps(bpf_object* obj, std::initializer_list<MapSpec> specs) {
  for (const MapSpec& m : specs) {
    SCOPED_TRACE(m.name);
    const bpf_map* map = bpf_object__find_map_by_name(obj, m.name);
    ASSERT_NE(map, nullptr);
    EXPECT_LE(std::string(m.name).size(), 15u) << "kernel object names hold 15 characters";
    EXPECT_EQ(bpf_map__type(map), m.type);
    EXPECT_EQ(bpf_map__key_size(map), m.key_size);
    EXPECT_EQ(bpf_map__value_size(map), m.value_size);
    EXPECT_EQ(bpf_map__max_entries(map), m.max_entries);
  }
}

TEST(Maps, TcObjectMatchesSharedHeader) {
  if (!is_root()) GTEST_SKIP() << "needs root to load BPF programs";
  TcDatapath dp;
  expect_maps(dp.object(),
              {
                  {STRAND_MAP_ENDPOINTS, BPF_MAP_TYPE_HASH, 4, sizeof(strand_endpoint),
                   STRAND_ENDPOINTS_MAX},
                  {STRAND_MAP_IPCACHE, BPF_MAP_TYPE_LPM_TRIE, sizeof(strand_lpm_key),
                   sizeof(strand_ipcache_value), STRAND_IPCACHE_MAX},
                  {STRAND_MAP_POLICY, BPF_MAP_TYPE_LPM_TRIE, sizeof(strand_policy_key),
                   sizeof(strand_policy_value), STRAND_POLICY_MAX},
                  {STRAND_MAP_POLICY_HITS, BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, STRAND_RULES_MAX},
                  {STRAND_MAP_CT, BPF_MAP_TYPE_LRU_HASH, sizeof(strand_ct_key),
                   sizeof(strand_ct_entry), STRAND_CT_MAX},
                  {STRAND_MAP_EP_STATS, BPF_MAP_TYPE_PERCPU_HASH, 4, sizeof(strand_ep_stats),
                   STRAND_EP_STATS_MAX},
                  {STRAND_MAP_EV_LIMIT, BPF_MAP_TYPE_HASH, 4, sizeof(strand_ev_bucket),
                   STRAND_EP_STATS_MAX},
                  {STRAND_MAP_EVENTS, BPF_MAP_TYPE_RINGBUF, 0, 0, STRAND_EVENTS_BYTES},
              });
}

TEST(Maps, XdpObjectMatchesSharedHeader) {
  if (!is_root()) GTEST_SKIP() << "needs root to load BPF programs";
  XdpDatapath dp;
  expect_maps(dp.object(),
              {
                  {STRAND_MAP_PREFILTER, BPF_MAP_TYPE_LPM_TRIE, sizeof(strand_lpm_key),
                   sizeof(strand_prefilter_value), STRAND_PREFILTER_MAX},
                  {STRAND_MAP_NODE_STATS, BPF_MAP_TYPE_PERCPU_ARRAY, 4,
                   sizeof(strand_node_stats), 1},
              });
}

}  // namespace
}  // namespace strand::test
