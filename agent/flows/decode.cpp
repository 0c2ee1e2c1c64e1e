#include "agent/flows/decode.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>

#include <cstring>

#include <fmt/format.h>

#include "datapath/drop_reasons.h"

namespace strand::agent::flows {
namespace {

int64_t clock_ns(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

nlohmann::json pod_fields(nlohmann::json j, uint32_t ep_id, const PodIndex& pods) {
  auto it = pods.find(ep_id);
  if (it == pods.end()) {
    j["namespace"] = nullptr;
    j["pod"] = nullptr;
  } else {
    j["namespace"] = it->second.ns;
    j["pod"] = it->second.name;
  }
  return j;
}

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

std::string addr_string(int af, const uint8_t* p) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(af, p, buf, sizeof(buf));
  return buf;
}

bool has_ports(uint8_t proto) { return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP; }

constexpr uint16_t kEthIpv4 = 0x0800, kEthIpv6 = 0x86dd, kEthVlan = 0x8100, kEthQinQ = 0x88a8;

}  // namespace

TimeBase TimeBase::now() { return TimeBase{clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC)}; }

std::string rfc3339_ns(int64_t unix_ns) {
  int64_t sec = unix_ns / 1000000000, ns = unix_ns % 1000000000;
  if (ns < 0) {
    ns += 1000000000;
    --sec;
  }
  const time_t t = static_cast<time_t>(sec);
  tm utc{};
  ::gmtime_r(&t, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, ns);
}

Result<Event> decode_event(std::span<const std::byte> data) {
  if (data.size() < sizeof(strand_event_hdr)) {
    return fail("decode_event", EINVAL, fmt::format("{} bytes, shorter than the header", data.size()));
  }
  strand_event_hdr hdr{};
  std::memcpy(&hdr, data.data(), sizeof(hdr));
  switch (hdr.type) {
    case STRAND_EV_DROP: {
      if (data.size() < sizeof(strand_drop_event)) {
        return fail("decode_event", EINVAL, fmt::format("drop event of {} bytes", data.size()));
      }
      strand_drop_event ev{};
      std::memcpy(&ev, data.data(), sizeof(ev));
      if (ev.cap_len > STRAND_DROP_CAPTURE) ev.cap_len = STRAND_DROP_CAPTURE;
      return ev;
    }
    case STRAND_EV_FLOW_END: {
      if (data.size() < sizeof(strand_flow_event)) {
        return fail("decode_event", EINVAL, fmt::format("flow event of {} bytes", data.size()));
      }
      strand_flow_event ev{};
      std::memcpy(&ev, data.data(), sizeof(ev));
      return ev;
    }
    default:
      return fail("decode_event", EINVAL, fmt::format("unknown event type {}", hdr.type));
  }
}

FlowId flow_id(const strand_ct_key& key, const strand_ct_entry& ct) {
  FlowId id;
  std::memcpy(id.key.data(), &key, sizeof(key));
  id.first_seen_ns = ct.first_seen_ns;
  return id;
}

PacketSummary summarize_packet(std::span<const uint8_t> f) {
  PacketSummary s;
  size_t off = 12;
  if (f.size() < off + 2) return s;
  uint16_t type = be16(&f[off]);
  off += 2;
  for (int tags = 0; tags < 2 && (type == kEthVlan || type == kEthQinQ); ++tags) {
    if (f.size() < off + 4) return s;
    type = be16(&f[off + 2]);
    off += 4;
  }
  uint8_t proto = 0;
  if (type == kEthIpv4) {
    if (f.size() < off + 20 || (f[off] >> 4) != 4) return s;
    const size_t ihl = static_cast<size_t>(f[off] & 0x0f) * 4;
    s.family = 4;
    proto = f[off + 9];
    s.proto = proto;
    s.src = addr_string(AF_INET, &f[off + 12]);
    s.dst = addr_string(AF_INET, &f[off + 16]);
    const bool later_fragment = (be16(&f[off + 6]) & 0x1fff) != 0;
    if (ihl < 20 || later_fragment) return s;
    off += ihl;
  } else if (type == kEthIpv6) {
    if (f.size() < off + 40 || (f[off] >> 4) != 6) return s;
    s.family = 6;
    proto = f[off + 6];
    s.src = addr_string(AF_INET6, &f[off + 8]);
    s.dst = addr_string(AF_INET6, &f[off + 24]);
    off += 40;
    // Hop-by-hop, routing, destination options, fragment: skip to the upper layer.
    for (int i = 0; i < 8; ++i) {
      if (proto == 0 || proto == 43 || proto == 60) {
        if (f.size() < off + 2) {
          s.proto = proto;
          return s;
        }
        proto = f[off];
        off += (static_cast<size_t>(f[off + 1]) + 1) * 8;
      } else if (proto == 44) {
        if (f.size() < off + 8) {
          s.proto = proto;
          return s;
        }
        const bool later_fragment = (be16(&f[off + 2]) & 0xfff8) != 0;
        proto = f[off];
        off += 8;
        if (later_fragment) {
          s.proto = proto;
          return s;
        }
      } else {
        break;
      }
    }
    s.proto = proto;
  } else {
    return s;
  }
  if (has_ports(proto) && f.size() >= off + 4) {
    s.sport = be16(&f[off]);
    s.dport = be16(&f[off + 2]);
  }
  return s;
}

std::string protocol_name(uint8_t proto) {
  switch (proto) {
    case IPPROTO_TCP: return "TCP";
    case IPPROTO_UDP: return "UDP";
    case IPPROTO_ICMP: return "ICMP";
    case IPPROTO_ICMPV6: return "ICMPv6";
    case IPPROTO_SCTP: return "SCTP";
    default: return std::to_string(proto);
  }
}

std::string ct_state_name(uint8_t state) {
  switch (state) {
    case STRAND_CT_NONE: return "none";
    case STRAND_CT_NEW: return "new";
    case STRAND_CT_SYN_SENT: return "syn-sent";
    case STRAND_CT_SYN_RECV: return "syn-recv";
    case STRAND_CT_ESTABLISHED: return "established";
    case STRAND_CT_FIN_WAIT: return "fin-wait";
    case STRAND_CT_TIME_WAIT: return "time-wait";
    case STRAND_CT_CLOSED: return "closed";
    default: return "unknown";
  }
}

std::string tcp_flags_string(uint8_t flags) {
  static constexpr std::pair<uint8_t, const char*> kOrder[] = {
      {STRAND_TCP_SYN, "SYN"}, {STRAND_TCP_ACK, "ACK"}, {STRAND_TCP_PSH, "PSH"}, {STRAND_TCP_FIN, "FIN"},
      {STRAND_TCP_RST, "RST"}, {STRAND_TCP_URG, "URG"}, {STRAND_TCP_ECE, "ECE"}, {STRAND_TCP_CWR, "CWR"}};
  std::string out;
  for (const auto& [bit, name] : kOrder) {
    if (!(flags & bit)) continue;
    if (!out.empty()) out += '|';
    out += name;
  }
  return out;
}

std::string direction_name(uint8_t dir) { return dir == STRAND_DIR_INGRESS ? "ingress" : "egress"; }

std::string flow_end_name(FlowEnd end) {
  switch (end) {
    case FlowEnd::kFin: return "fin";
    case FlowEnd::kRst: return "rst";
    case FlowEnd::kExpired: return "expired";
    case FlowEnd::kPolicy: return "policy";
    default: return "";
  }
}

std::string ct_addr(const __be32 (&addr)[4], uint8_t family) {
  return addr_string(family == STRAND_FAMILY_IPV6 ? AF_INET6 : AF_INET, reinterpret_cast<const uint8_t*>(addr));
}

uint64_t ct_timeout_ns(const strand_ct_entry& ct, uint8_t proto, const strand_tc_config& cfg) {
  if (proto != IPPROTO_TCP) return cfg.ct_other_ns;
  switch (ct.state) {
    case STRAND_CT_NONE:
    case STRAND_CT_SYN_SENT:
    case STRAND_CT_SYN_RECV: return cfg.ct_syn_ns;
    case STRAND_CT_TIME_WAIT:
    case STRAND_CT_CLOSED: return cfg.ct_close_ns;
    default: return cfg.ct_tcp_ns;
  }
}

bool ct_expired(const strand_ct_entry& ct, uint8_t proto, const strand_tc_config& cfg, uint64_t now_ns) {
  // A packet may have updated last_seen after `now` was read: not idle.
  if (ct.last_seen_ns >= now_ns) return false;
  return now_ns - ct.last_seen_ns > ct_timeout_ns(ct, proto, cfg);
}

nlohmann::json flow_json(const Flow& f, const PodIndex& pods, const TimeBase& tb) {
  const auto& k = f.key;
  const auto& c = f.ct;
  const bool pod_opened = k.dir == STRAND_DIR_EGRESS;
  const int tx = pod_opened ? STRAND_CT_ORIG : STRAND_CT_REPLY;
  const int rx = tx ^ 1;
  const bool ports = has_ports(k.proto);
  nlohmann::json j = {{"seq", f.seq}};
  j = pod_fields(std::move(j), c.ep_id, pods);
  j["direction"] = direction_name(k.dir);
  j["family"] = k.family;
  j["protocol"] = protocol_name(k.proto);
  j["src"] = ct_addr(k.saddr, k.family);
  j["srcPort"] = ports ? nlohmann::json(ntohs(k.sport)) : nlohmann::json(nullptr);
  j["dst"] = ct_addr(k.daddr, k.family);
  j["dstPort"] = ports ? nlohmann::json(ntohs(k.dport)) : nlohmann::json(nullptr);
  j["state"] = ct_state_name(c.state);
  j["active"] = f.end == FlowEnd::kActive;
  j["end"] = f.end == FlowEnd::kActive ? nlohmann::json(nullptr) : nlohmann::json(flow_end_name(f.end));
  j["tx"] = {{"packets", c.packets[tx]}, {"bytes", c.bytes[tx]}};
  j["rx"] = {{"packets", c.packets[rx]}, {"bytes", c.bytes[rx]}};
  if (k.proto == IPPROTO_TCP) {
    j["tcpFlags"] = {{"tx", tcp_flags_string(c.tcp_flags[tx])}, {"rx", tcp_flags_string(c.tcp_flags[rx])}};
  } else {
    j["tcpFlags"] = nullptr;
  }
  if (c.rtt_ns != 0) {
    j["handshakeRttUs"] = (c.rtt_ns + 999) / 1000;  // rounded up: a measured RTT never reads 0
    j["handshakeRttNs"] = c.rtt_ns;
  } else {
    j["handshakeRttUs"] = nullptr;
    j["handshakeRttNs"] = nullptr;
  }
  const int64_t first = tb.unix_ns(c.first_seen_ns), last = tb.unix_ns(c.last_seen_ns);
  j["firstSeen"] = rfc3339_ns(first);
  j["firstSeenMs"] = first / 1000000;
  j["lastSeen"] = rfc3339_ns(last);
  j["lastSeenMs"] = last / 1000000;
  j["remoteIdentity"] = c.remote_identity;
  // A connection isolation denied exists only because audit mode passed it.
  j["verdict"] = c.rule_id == STRAND_RULE_ISOLATED ? "audit" : "allowed";
  j["policy"] = nullptr;
  j["rule"] = nullptr;
  return j;
}

nlohmann::json drop_json(const DropRecord& d, const PodIndex& pods, const TimeBase& tb) {
  const auto& ev = d.ev;
  const int64_t t = tb.unix_ns(ev.hdr.ts_ns);
  nlohmann::json j = {{"seq", d.seq}, {"time", rfc3339_ns(t)}, {"timeMs", t / 1000000}};
  j = pod_fields(std::move(j), ev.hdr.ep_id, pods);
  j["direction"] = direction_name(ev.hdr.dir);
  j["reason"] = std::string(datapath::drop_reason_name(ev.hdr.reason));
  const auto s = summarize_packet(std::span<const uint8_t>(ev.pkt, std::min<uint32_t>(ev.cap_len, STRAND_DROP_CAPTURE)));
  j["family"] = s.family ? nlohmann::json(s.family) : nlohmann::json(nullptr);
  j["protocol"] = s.proto ? nlohmann::json(protocol_name(*s.proto)) : nlohmann::json(nullptr);
  j["src"] = s.family ? nlohmann::json(s.src) : nlohmann::json(nullptr);
  j["srcPort"] = s.sport ? nlohmann::json(*s.sport) : nlohmann::json(nullptr);
  j["dst"] = s.family ? nlohmann::json(s.dst) : nlohmann::json(nullptr);
  j["dstPort"] = s.dport ? nlohmann::json(*s.dport) : nlohmann::json(nullptr);
  j["length"] = ev.pkt_len;
  j["ifindex"] = ev.ifindex;
  j["policy"] = nullptr;
  j["rule"] = nullptr;
  return j;
}

}  // namespace strand::agent::flows
