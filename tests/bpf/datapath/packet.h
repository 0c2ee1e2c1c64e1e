// Crafted packets for BPF test runs. Headers are appended in wire order;
// each call states the next protocol itself, so a test can build any chain,
// valid or not. Length fields (IPv4 total length, IPv6 payload length, UDP
// length) and the IPv4 header checksum are filled by build() from the bytes
// actually present, unless a header was given an explicit value.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace strand::test {

using Bytes = std::vector<std::uint8_t>;
using Ip4 = std::array<std::uint8_t, 4>;
using Ip6 = std::array<std::uint8_t, 16>;

inline constexpr std::uint16_t kEthIp = 0x0800;
inline constexpr std::uint16_t kEthIpv6 = 0x86dd;
inline constexpr std::uint16_t kEthArp = 0x0806;
inline constexpr std::uint16_t kEthVlan = 0x8100;
inline constexpr std::uint16_t kEthQinQ = 0x88a8;
inline constexpr std::uint16_t kEthMpls = 0x8847;
inline constexpr std::uint16_t kEthPppoe = 0x8864;
inline constexpr std::uint16_t kEthLldp = 0x88cc;

inline constexpr std::uint8_t kProtoIcmp = 1;
inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;
inline constexpr std::uint8_t kProtoGre = 47;
inline constexpr std::uint8_t kProtoEsp = 50;
inline constexpr std::uint8_t kProtoAh = 51;
inline constexpr std::uint8_t kProtoIcmp6 = 58;
inline constexpr std::uint8_t kProtoNone = 59;
inline constexpr std::uint8_t kProtoSctp = 132;
inline constexpr std::uint8_t kExtHop = 0;
inline constexpr std::uint8_t kExtRouting = 43;
inline constexpr std::uint8_t kExtFragment = 44;
inline constexpr std::uint8_t kExtDest = 60;

inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kPsh = 0x08;
inline constexpr std::uint8_t kAck = 0x10;

struct Ipv4Header {
  Ip4 src;
  Ip4 dst;
  std::uint8_t proto = kProtoTcp;
  Bytes options;                 // padded by the caller to a multiple of 4
  std::uint16_t frag = 0;        // flags (0x2000 = MF) | offset in 8-byte units
  std::optional<std::uint8_t> ihl;        // default: (20 + options) / 4
  std::optional<std::uint16_t> total_len; // default: bytes from here to the end
  std::uint8_t version = 4;
};

struct Ipv6Header {
  Ip6 src;
  Ip6 dst;
  std::uint8_t next = kProtoTcp;
  std::optional<std::uint16_t> payload_len;  // default: bytes after the header
  std::uint8_t version = 6;
};

struct TcpHeader {
  std::uint16_t sport;
  std::uint16_t dport;
  std::uint8_t flags;
  std::uint32_t seq = 1000;
  std::uint32_t ack = 0;
  std::uint8_t doff = 5;  // header length in 32-bit words; options are zeroes
};

class PacketBuilder {
 public:
  // Ethernet with fixed MACs; type is the ethertype field.
  PacketBuilder& eth(std::uint16_t type);
  // One 802.1Q/802.1ad tag body (TCI + inner ethertype); the TPID is the
  // ethertype written by the previous eth() or vlan().
  PacketBuilder& vlan(std::uint16_t vid, std::uint16_t inner_type);
  PacketBuilder& ipv4(const Ipv4Header& h);
  PacketBuilder& ipv6(const Ipv6Header& h);
  // Hop-by-hop, routing or destination options header of len bytes
  // (multiple of 8, >= 8), zero filled (Pad1 options, routing type 0).
  PacketBuilder& ext(std::uint8_t next, std::size_t len);
  // Authentication header of len bytes (multiple of 4, >= 8).
  PacketBuilder& ah(std::uint8_t next, std::size_t len);
  PacketBuilder& frag6(std::uint8_t next, std::uint16_t offset_units, bool more);
  PacketBuilder& tcp(const TcpHeader& h);
  PacketBuilder& udp(std::uint16_t sport, std::uint16_t dport);
  PacketBuilder& sctp(std::uint16_t sport, std::uint16_t dport);
  // ICMP or ICMPv6 (same layout): type, code, checksum 0, id, sequence.
  PacketBuilder& icmp(std::uint8_t type, std::uint16_t id, std::uint16_t seq = 1);
  PacketBuilder& arp();
  PacketBuilder& payload(std::size_t n);

  // Drops everything from byte n on before length fields are computed: the
  // headers then describe the shorter packet.
  PacketBuilder& shorten(std::size_t n);

  Bytes build() const;

 private:
  struct Fixup {
    enum Kind { kIpv4, kIpv6, kUdp } kind;
    std::size_t off;
    bool explicit_len;
  };
  void put16(std::uint16_t v);
  void put32(std::uint32_t v);

  Bytes b_;
  std::vector<Fixup> fixups_;
};

// The first n bytes of a built packet: its length fields still describe
// the whole packet.
Bytes cut(const Bytes& pkt, std::size_t n);

}  // namespace strand::test
