// Loads the real Strand skeletons for test runs: open, adjust rodata, load,
// never attach, never pin. Every kernel object goes away with the object.
#pragma once

#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "datapath/bpf/include/strand_events.h"
#include "datapath/bpf/include/strand_maps.h"
#include "packet.h"

struct bpf_object;
struct strand_tc;
struct strand_xdp;

namespace strand::test {

// test_run's skb is on the loopback device of the caller's netns.
inline constexpr std::uint32_t kTestIfindex = 1;

bool is_root();

// An LPM key for addr/bits (IPv4 when addr has 4 bytes).
strand_lpm_key lpm_key(const std::vector<std::uint8_t>& addr, std::uint32_t bits);

// A ct key as the datapath builds it; addresses of 4 or 16 bytes.
strand_ct_key ct_key(const std::vector<std::uint8_t>& saddr,
                     const std::vector<std::uint8_t>& daddr, std::uint16_t sport,
                     std::uint16_t dport, std::uint8_t proto, std::uint8_t dir);

// A policy map entry in readable form (host byte order). proto 0 is
// "every protocol" (prefix STRAND_POLICY_PREFIX_ANY_PROTO, port ignored);
// otherwise port_bits leading bits of port must match (0: every port of the
// protocol, 16: exactly port).
struct PolicyEntry {
  std::uint32_t ep_id;
  std::uint32_t remote_identity;
  std::uint8_t dir;
  std::uint8_t proto;
  std::uint16_t port;
  std::uint8_t port_bits;
  std::uint32_t rule_id;
};

// The LPM key of an entry, as the contract in strand_maps.h lays it out.
strand_policy_key policy_key(const PolicyEntry& e);

enum class Hook { kFromPod, kToPod };

inline std::uint8_t dir_of(Hook h) {
  return h == Hook::kFromPod ? STRAND_DIR_EGRESS : STRAND_DIR_INGRESS;
}

struct RunResult {
  std::uint32_t retval;
  Bytes out;
};

// Events drained from the ringbuf, split by type; anything else fails.
struct Events {
  std::vector<strand_drop_event> drops;
  std::vector<strand_flow_event> flows;
};

class TcDatapath {
 public:
  // Opens strand_tc, lets tweak edit the rodata settings, loads it.
  // Throws std::runtime_error naming the failed step.
  explicit TcDatapath(const std::function<void(strand_tc_config&)>& tweak = {});
  ~TcDatapath();
  TcDatapath(const TcDatapath&) = delete;
  TcDatapath& operator=(const TcDatapath&) = delete;

  RunResult run(Hook hook, const Bytes& pkt);
  // Runs pkt `repeat` times in one BPF_PROG_TEST_RUN; the kernel's average
  // run time in ns (the program's verdict must be `want`, or it throws).
  std::uint32_t run_timed(Hook hook, const Bytes& pkt, std::uint32_t repeat, std::uint32_t want);

  void set_endpoint(std::uint32_t ifindex, const strand_endpoint& ep);
  void add_ipcache(const strand_lpm_key& key, std::uint32_t identity,
                   std::uint32_t cidr_identity = 0);
  void add_policy(const PolicyEntry& e);
  // Deletes the entry add_policy(e) wrote; throws when it is not there.
  void remove_policy(const PolicyEntry& e);
  // policy_hits[rule_id] summed over CPUs.
  std::uint64_t policy_hits(std::uint32_t rule_id);

  // Summed over CPUs; nullopt when the endpoint has no entry.
  std::optional<strand_ep_stats> ep_stats(std::uint32_t ep_id);
  std::vector<std::pair<strand_ct_key, strand_ct_entry>> ct_entries();
  std::optional<strand_ct_entry> ct_lookup(const strand_ct_key& key);
  Events drain_events();
  bpf_object* object();

 private:
  strand_tc* skel_ = nullptr;
};

class XdpDatapath {
 public:
  XdpDatapath();
  ~XdpDatapath();
  XdpDatapath(const XdpDatapath&) = delete;
  XdpDatapath& operator=(const XdpDatapath&) = delete;

  RunResult run(const Bytes& pkt);
  void deny(const strand_lpm_key& key);
  strand_node_stats node_stats();
  std::optional<strand_prefilter_value> prefilter_hits(const strand_lpm_key& key);
  bpf_object* object();

 private:
  strand_xdp* skel_ = nullptr;
};

}  // namespace strand::test
