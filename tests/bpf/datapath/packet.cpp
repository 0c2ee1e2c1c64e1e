#include "packet.h"

#include <algorithm>
#include <stdexcept>

namespace strand::test {
namespace {

void set16(Bytes& b, std::size_t off, std::uint16_t v) {
  b[off] = static_cast<std::uint8_t>(v >> 8);
  b[off + 1] = static_cast<std::uint8_t>(v);
}

std::uint16_t ipv4_checksum(const Bytes& b, std::size_t off, std::size_t len) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < len; i += 2) {
    sum += static_cast<std::uint32_t>(b[off + i] << 8 | b[off + i + 1]);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

}  // namespace

void PacketBuilder::put16(std::uint16_t v) {
  b_.push_back(static_cast<std::uint8_t>(v >> 8));
  b_.push_back(static_cast<std::uint8_t>(v));
}

void PacketBuilder::put32(std::uint32_t v) {
  put16(static_cast<std::uint16_t>(v >> 16));
  put16(static_cast<std::uint16_t>(v));
}

PacketBuilder& PacketBuilder::eth(std::uint16_t type) {
  const std::uint8_t dst[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  const std::uint8_t src[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
  b_.insert(b_.end(), dst, dst + 6);
  b_.insert(b_.end(), src, src + 6);
  put16(type);
  return *this;
}

PacketBuilder& PacketBuilder::vlan(std::uint16_t vid, std::uint16_t inner_type) {
  put16(vid & 0x0fff);
  put16(inner_type);
  return *this;
}

PacketBuilder& PacketBuilder::ipv4(const Ipv4Header& h) {
  const std::size_t off = b_.size();
  const std::size_t hlen = 20 + h.options.size();
  const std::uint8_t ihl = h.ihl.value_or(static_cast<std::uint8_t>(hlen / 4));
  b_.push_back(static_cast<std::uint8_t>(h.version << 4 | (ihl & 0x0f)));
  b_.push_back(0);  // DSCP/ECN
  put16(h.total_len.value_or(0));
  put16(0x1234);  // id
  put16(h.frag);
  b_.push_back(64);  // TTL
  b_.push_back(h.proto);
  put16(0);  // checksum, filled by build()
  b_.insert(b_.end(), h.src.begin(), h.src.end());
  b_.insert(b_.end(), h.dst.begin(), h.dst.end());
  b_.insert(b_.end(), h.options.begin(), h.options.end());
  fixups_.push_back({Fixup::kIpv4, off, h.total_len.has_value()});
  return *this;
}

PacketBuilder& PacketBuilder::ipv6(const Ipv6Header& h) {
  const std::size_t off = b_.size();
  put32(static_cast<std::uint32_t>(h.version) << 28);
  put16(h.payload_len.value_or(0));
  b_.push_back(h.next);
  b_.push_back(64);  // hop limit
  b_.insert(b_.end(), h.src.begin(), h.src.end());
  b_.insert(b_.end(), h.dst.begin(), h.dst.end());
  fixups_.push_back({Fixup::kIpv6, off, h.payload_len.has_value()});
  return *this;
}

PacketBuilder& PacketBuilder::ext(std::uint8_t next, std::size_t len) {
  if (len < 8 || len % 8 != 0) throw std::invalid_argument("ext: len");
  b_.push_back(next);
  b_.push_back(static_cast<std::uint8_t>(len / 8 - 1));
  b_.resize(b_.size() + len - 2, 0);
  return *this;
}

PacketBuilder& PacketBuilder::ah(std::uint8_t next, std::size_t len) {
  if (len < 8 || len % 4 != 0) throw std::invalid_argument("ah: len");
  b_.push_back(next);
  b_.push_back(static_cast<std::uint8_t>(len / 4 - 2));
  b_.resize(b_.size() + len - 2, 0);
  return *this;
}

PacketBuilder& PacketBuilder::frag6(std::uint8_t next, std::uint16_t offset_units,
                                    bool more) {
  b_.push_back(next);
  b_.push_back(0);
  put16(static_cast<std::uint16_t>(offset_units << 3 | (more ? 1 : 0)));
  put32(0xabcd);
  return *this;
}

PacketBuilder& PacketBuilder::tcp(const TcpHeader& h) {
  put16(h.sport);
  put16(h.dport);
  put32(h.seq);
  put32(h.ack);
  b_.push_back(static_cast<std::uint8_t>(h.doff << 4));
  b_.push_back(h.flags);
  put16(65535);  // window
  put16(0);      // checksum (not checked by the datapath)
  put16(0);      // urgent pointer
  if (h.doff > 5) b_.resize(b_.size() + (h.doff - 5) * 4, 0);
  return *this;
}

PacketBuilder& PacketBuilder::udp(std::uint16_t sport, std::uint16_t dport) {
  const std::size_t off = b_.size();
  put16(sport);
  put16(dport);
  put16(0);  // length, filled by build()
  put16(0);
  fixups_.push_back({Fixup::kUdp, off, false});
  return *this;
}

PacketBuilder& PacketBuilder::sctp(std::uint16_t sport, std::uint16_t dport) {
  put16(sport);
  put16(dport);
  put32(0x01020304);  // verification tag
  put32(0);           // checksum
  return *this;
}

PacketBuilder& PacketBuilder::icmp(std::uint8_t type, std::uint16_t id, std::uint16_t seq) {
  b_.push_back(type);
  b_.push_back(0);
  put16(0);
  put16(id);
  put16(seq);
  return *this;
}

PacketBuilder& PacketBuilder::arp() {
  put16(1);       // Ethernet
  put16(kEthIp);  // IPv4
  b_.push_back(6);
  b_.push_back(4);
  put16(1);  // request
  b_.resize(b_.size() + 20, 0);
  return *this;
}

PacketBuilder& PacketBuilder::payload(std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) b_.push_back(static_cast<std::uint8_t>(0xa0 + i));
  return *this;
}

PacketBuilder& PacketBuilder::shorten(std::size_t n) {
  if (n < b_.size()) b_.resize(n);
  return *this;
}

Bytes PacketBuilder::build() const {
  Bytes b = b_;
  for (const Fixup& f : fixups_) {
    if (f.off >= b.size()) continue;
    const std::size_t rest = b.size() - f.off;
    switch (f.kind) {
      case Fixup::kIpv4:
        if (rest < 20) break;
        if (!f.explicit_len) set16(b, f.off + 2, static_cast<std::uint16_t>(rest));
        set16(b, f.off + 10, 0);
        set16(b, f.off + 10,
              ipv4_checksum(b, f.off, std::min<std::size_t>(rest, (b[f.off] & 0x0f) * 4u)));
        break;
      case Fixup::kIpv6:
        if (rest < 40) break;
        if (!f.explicit_len) set16(b, f.off + 4, static_cast<std::uint16_t>(rest - 40));
        break;
      case Fixup::kUdp:
        if (rest < 6) break;
        set16(b, f.off + 4, static_cast<std::uint16_t>(rest));
        break;
    }
  }
  return b;
}

Bytes cut(const Bytes& pkt, std::size_t n) {
  return Bytes(pkt.begin(), pkt.begin() + static_cast<std::ptrdiff_t>(std::min(n, pkt.size())));
}

}  // namespace strand::test
