#pragma once
// Pure decoding of what the datapath leaves in its maps and ringbuf: ringbuf
// records to structs, ct entries and drop events to the API's JSON, the
// packet bytes a drop event captured to a 5-tuple. No I/O; unit-tested.
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "common/error.h"
// clang-format off
#include "datapath/bpf/include/strand_events.h"
#include "datapath/bpf/include/strand_maps.h"
// clang-format on

namespace strand::agent::flows {

// The pod behind an endpoint id.
struct PodRef {
  std::string ns;
  std::string name;
  bool operator==(const PodRef&) const = default;
};
using PodIndex = std::map<uint32_t, PodRef>;  // ep_id -> pod

// bpf_ktime_get_ns() is CLOCK_MONOTONIC; wall time = mono + offset.
struct TimeBase {
  int64_t mono_to_unix_ns = 0;
  [[nodiscard]] int64_t unix_ns(uint64_t mono_ns) const { return static_cast<int64_t>(mono_ns) + mono_to_unix_ns; }
  // The offset now (CLOCK_REALTIME - CLOCK_MONOTONIC).
  [[nodiscard]] static TimeBase now();
};

// "2026-11-23T19:04:05.123456789Z"
[[nodiscard]] std::string rfc3339_ns(int64_t unix_ns);

// One ringbuf record, checked for type and size. A drop event is kept whole:
// policy drops (reasons policy-denied, policy-audit) carry the peer's
// remote_identity and cidr_identity and the rule_id (STRAND_RULE_ISOLATED)
// in it, 0 for other drops.
using Event = std::variant<strand_drop_event, strand_flow_event>;
[[nodiscard]] Result<Event> decode_event(std::span<const std::byte> data);

// The identity of one flow: its ct key and when it was opened. A tuple reused
// by a later connection is another flow.
struct FlowId {
  std::array<std::byte, sizeof(strand_ct_key)> key{};
  uint64_t first_seen_ns = 0;
  auto operator<=>(const FlowId&) const = default;
};
[[nodiscard]] FlowId flow_id(const strand_ct_key& key, const strand_ct_entry& ct);

// A flow as the collector keeps it.
enum class FlowEnd : uint16_t {
  kActive = 0,
  kFin = STRAND_FLOW_END_FIN,
  kRst = STRAND_FLOW_END_RST,
  kExpired = STRAND_FLOW_END_EXPIRED,
  kPolicy = STRAND_FLOW_END_POLICY,  // cut: judged again after a policy change, denied
};
struct Flow {
  uint64_t seq = 0;
  strand_ct_key key{};
  strand_ct_entry ct{};
  FlowEnd end = FlowEnd::kActive;
};

struct DropRecord {
  uint64_t seq = 0;
  strand_drop_event ev{};
};

// What the first bytes of a packet say (Ethernet, up to two VLAN tags, IPv4
// or IPv6 with extension headers, then ports). Fields stay empty where the
// bytes end or do not parse.
struct PacketSummary {
  int family = 0;  // 4, 6 or 0 (not IP / unreadable)
  std::optional<uint8_t> proto;
  std::string src, dst;
  std::optional<uint16_t> sport, dport;
};
[[nodiscard]] PacketSummary summarize_packet(std::span<const uint8_t> frame);

[[nodiscard]] std::string protocol_name(uint8_t proto);    // "TCP", "UDP", "ICMP", "ICMPv6", "SCTP", else the number
[[nodiscard]] std::string ct_state_name(uint8_t state);    // "syn-sent", "established", ...
[[nodiscard]] std::string tcp_flags_string(uint8_t flags); // "SYN|ACK|PSH"; "" for none
[[nodiscard]] std::string direction_name(uint8_t dir);     // "egress" | "ingress"
[[nodiscard]] std::string flow_end_name(FlowEnd end);      // null-able in JSON: "fin", "rst", "expired", "policy"
// An address of a ct key ("10.0.0.1", "fd00::1").
[[nodiscard]] std::string ct_addr(const __be32 (&addr)[4], uint8_t family);

// Idle timeout of an entry, as the tc program computes it.
[[nodiscard]] uint64_t ct_timeout_ns(const strand_ct_entry& ct, uint8_t proto, const strand_tc_config& cfg);
// True when the entry is idle past its timeout at `now_ns` (monotonic).
[[nodiscard]] bool ct_expired(const strand_ct_entry& ct, uint8_t proto, const strand_tc_config& cfg, uint64_t now_ns);

// The /v1/flows item. tx/rx from the pod's side: for a flow the pod opened
// (egress) tx is the opening side, for one a peer opened rx is. "verdict" is
// "audit" for a flow policy would have denied (rule id STRAND_RULE_ISOLATED:
// audit mode passed it), else "allowed".
[[nodiscard]] nlohmann::json flow_json(const Flow& f, const PodIndex& pods, const TimeBase& tb);
// The /v1/drops item.
[[nodiscard]] nlohmann::json drop_json(const DropRecord& d, const PodIndex& pods, const TimeBase& tb);

}  // namespace strand::agent::flows
