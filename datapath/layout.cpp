// Pins the layout of every struct shared with the BPF programs: a change
// that moves a field or opens a hole breaks the build here instead of
// silently misreading pinned maps and events.
#include <cstddef>
#include <type_traits>

#include "datapath/bpf/include/strand_events.h"
#include "datapath/bpf/include/strand_maps.h"

namespace strand::datapath {
namespace {

// No padding anywhere: every byte belongs to a named field, so zeroed keys
// hash the same in BPF and user space.
template <typename T>
constexpr bool kNoHoles = std::has_unique_object_representations_v<T>;

static_assert(kNoHoles<strand_endpoint> && sizeof(strand_endpoint) == 16);
static_assert(offsetof(strand_endpoint, identity) == 4);
static_assert(offsetof(strand_endpoint, flags) == 8);

static_assert(kNoHoles<strand_lpm_key> && sizeof(strand_lpm_key) == 24);
static_assert(offsetof(strand_lpm_key, family) == 4);
static_assert(offsetof(strand_lpm_key, addr) == 8);

static_assert(kNoHoles<strand_ipcache_value> && sizeof(strand_ipcache_value) == 32);
static_assert(offsetof(strand_ipcache_value, cidr_identity) == 4);
static_assert(offsetof(strand_ipcache_value, node_id) == 8);
static_assert(offsetof(strand_ipcache_value, tunnel_family) == 12);
static_assert(offsetof(strand_ipcache_value, tunnel_ip) == 16);

// The LPM data after prefixlen is 96 bits: ep_id, remote_identity, dir, proto, dport.
static_assert(kNoHoles<strand_policy_key> && sizeof(strand_policy_key) == 16);
static_assert(offsetof(strand_policy_key, ep_id) == 4);
static_assert(offsetof(strand_policy_key, remote_identity) == 8);
static_assert(offsetof(strand_policy_key, dir) == 12);
static_assert(offsetof(strand_policy_key, proto) == 13);
static_assert(offsetof(strand_policy_key, dport) == 14);
static_assert(STRAND_POLICY_PREFIX_FULL == 8 * (sizeof(strand_policy_key) - 4));
static_assert(kNoHoles<strand_policy_value> && sizeof(strand_policy_value) == 8);
static_assert(offsetof(strand_policy_value, rule_id) == 4);

static_assert(kNoHoles<strand_ct_key> && sizeof(strand_ct_key) == 40);
static_assert(offsetof(strand_ct_key, daddr) == 16);
static_assert(offsetof(strand_ct_key, sport) == 32);
static_assert(offsetof(strand_ct_key, dport) == 34);
static_assert(offsetof(strand_ct_key, proto) == 36);
static_assert(offsetof(strand_ct_key, family) == 37);
static_assert(offsetof(strand_ct_key, dir) == 38);

static_assert(kNoHoles<strand_ct_entry> && sizeof(strand_ct_entry) == 88);
static_assert(offsetof(strand_ct_entry, packets) == 16);
static_assert(offsetof(strand_ct_entry, bytes) == 32);
static_assert(offsetof(strand_ct_entry, syn_ns) == 48);
static_assert(offsetof(strand_ct_entry, rtt_ns) == 56);
static_assert(offsetof(strand_ct_entry, rule_id) == 64);
static_assert(offsetof(strand_ct_entry, ep_id) == 68);
static_assert(offsetof(strand_ct_entry, remote_identity) == 72);
static_assert(offsetof(strand_ct_entry, state) == 76);
static_assert(offsetof(strand_ct_entry, tcp_flags) == 77);
static_assert(offsetof(strand_ct_entry, flags) == 79);
static_assert(offsetof(strand_ct_entry, policy_rev) == 80);

static_assert(kNoHoles<strand_ep_stats> && sizeof(strand_ep_stats) == 96 + 2 * 8 * STRAND_DROP_SLOTS);
static_assert(offsetof(strand_ep_stats, non_ip) == 32);
static_assert(offsetof(strand_ep_stats, fragments) == 48);
static_assert(offsetof(strand_ep_stats, events_sent) == 64);
static_assert(offsetof(strand_ep_stats, drops) == 96);

static_assert(kNoHoles<strand_ev_bucket> && sizeof(strand_ev_bucket) == 16);
static_assert(kNoHoles<strand_prefilter_value> && sizeof(strand_prefilter_value) == 16);

static_assert(kNoHoles<strand_node_stats> && sizeof(strand_node_stats) == 320);
static_assert(offsetof(strand_node_stats, unparsed) == 48);
static_assert(offsetof(strand_node_stats, drops) == 64);

static_assert(kNoHoles<strand_tc_config> && sizeof(strand_tc_config) == 48);
static_assert(offsetof(strand_tc_config, ct_syn_ns) == 16);

static_assert(kNoHoles<strand_event_hdr> && sizeof(strand_event_hdr) == 16);
static_assert(offsetof(strand_event_hdr, reason) == 2);
static_assert(offsetof(strand_event_hdr, ep_id) == 4);
static_assert(offsetof(strand_event_hdr, ts_ns) == 8);
static_assert(kNoHoles<strand_drop_event> && sizeof(strand_drop_event) == 112);
static_assert(offsetof(strand_drop_event, remote_identity) == 32);
static_assert(offsetof(strand_drop_event, rule_id) == 40);
static_assert(offsetof(strand_drop_event, pkt) == 48);
static_assert(kNoHoles<strand_flow_event> && sizeof(strand_flow_event) == 144);
static_assert(offsetof(strand_flow_event, ct) == 56);

}  // namespace
}  // namespace strand::datapath
