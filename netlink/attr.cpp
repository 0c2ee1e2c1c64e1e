#include "netlink/attr.h"

#include <sys/socket.h>

#include <algorithm>
#include <string>

#include "netlink/messages.h"

namespace strand::netlink::detail {

namespace {
// Every request we build fits here unless the caller passes long strings.
constexpr size_t kInitialSize = 256;
}  // namespace

Builder::Builder(uint16_t type, uint16_t flags) : buf_(kInitialSize) {
  nlmsghdr* h = nlh();
  h->nlmsg_len = NLMSG_HDRLEN;
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
}

void Builder::reserve(size_t more) {
  size_t need = nlh()->nlmsg_len + more;
  if (need <= buf_.size()) return;
  buf_.resize(std::max(need, buf_.size() * 2));  // new bytes are zeroed
}

void* Builder::put_extra_header(size_t size) {
  std::byte* p = buf_.data() + nlh()->nlmsg_len;
  std::memset(p, 0, NLMSG_ALIGN(size));
  nlh()->nlmsg_len += NLMSG_ALIGN(size);
  return p;
}

std::byte* Builder::put_attr(uint16_t type, size_t len) {
  const size_t attr_len = NLA_HDRLEN + len;
  reserve(NLA_ALIGN(attr_len));
  std::byte* p = buf_.data() + nlh()->nlmsg_len;
  auto* a = reinterpret_cast<nlattr*>(p);
  a->nla_type = type;
  a->nla_len = static_cast<uint16_t>(attr_len);
  std::memset(p + attr_len, 0, NLA_ALIGN(attr_len) - attr_len);  // padding
  nlh()->nlmsg_len += NLA_ALIGN(attr_len);
  return p + NLA_HDRLEN;
}

void Builder::put(uint16_t type, const void* data, size_t len) {
  std::byte* payload = put_attr(type, len);
  if (len > 0) std::memcpy(payload, data, len);
}

void Builder::put_str(uint16_t type, std::string_view s) {
  std::byte* payload = put_attr(type, s.size() + 1);
  std::memcpy(payload, s.data(), s.size());
  payload[s.size()] = std::byte{0};
}

size_t Builder::nest_start(uint16_t type) {
  reserve(NLA_HDRLEN);
  size_t off = nlh()->nlmsg_len;
  auto* a = reinterpret_cast<nlattr*>(buf_.data() + off);
  a->nla_type = static_cast<uint16_t>(NLA_F_NESTED | type);
  a->nla_len = NLA_HDRLEN;
  nlh()->nlmsg_len += NLA_HDRLEN;
  return off;
}

void Builder::nest_end(size_t nest) {
  auto* a = reinterpret_cast<nlattr*>(buf_.data() + nest);
  a->nla_len = static_cast<uint16_t>(nlh()->nlmsg_len - nest);
}

Message Builder::finish() && {
  buf_.resize(nlh()->nlmsg_len);
  return std::move(buf_);
}

std::unexpected<Error> bad_message(std::string_view what, std::string_view detail) {
  return fail("parse " + std::string(what), EBADMSG, std::string(detail));
}

Status check_header(std::span<const std::byte> msg, size_t hdr_size, std::initializer_list<uint16_t> types,
                    std::string_view what) {
  if (msg.size() < NLMSG_HDRLEN) return bad_message(what, "shorter than nlmsghdr");
  nlmsghdr h;
  std::memcpy(&h, msg.data(), sizeof(h));
  if (h.nlmsg_len < NLMSG_HDRLEN + hdr_size || h.nlmsg_len > msg.size()) {
    return bad_message(what,
                       "nlmsg_len " + std::to_string(h.nlmsg_len) + " of " + std::to_string(msg.size()) + " bytes");
  }
  if (std::ranges::find(types, h.nlmsg_type) == types.end()) {
    return bad_message(what, "unexpected " + message_type_name(h.nlmsg_type));
  }
  return {};
}

Status validate(const nlattr& a, AttrKind kind, std::string_view what) {
  const size_t len = payload_len(a);
  bool ok = true;
  switch (kind) {
    case AttrKind::kU8: ok = len == 1; break;
    case AttrKind::kU16: ok = len == 2; break;
    case AttrKind::kU32: ok = len == 4; break;
    case AttrKind::kString: ok = len > 0; break;
    case AttrKind::kNulString: ok = len > 0 && static_cast<char>(payload_ptr(a)[len - 1]) == '\0'; break;
    case AttrKind::kNested: ok = len == 0 || len >= NLA_HDRLEN; break;
  }
  if (!ok) {
    return bad_message(what, "attribute " + std::to_string(attr_type(a)) + " has invalid length " + std::to_string(len));
  }
  return {};
}

Status validate_len(const nlattr& a, size_t len, std::string_view what) {
  if (payload_len(a) != len) {
    return bad_message(what, "attribute " + std::to_string(attr_type(a)) + " has length " +
                                 std::to_string(payload_len(a)) + ", want " + std::to_string(len));
  }
  return {};
}

namespace {
template <typename T>
T read_as(const nlattr& a) {
  T v;
  std::memcpy(&v, payload_ptr(a), sizeof(v));
  return v;
}
}  // namespace

Result<uint8_t> get_u8(const nlattr& a, std::string_view what) {
  if (auto ok = validate(a, AttrKind::kU8, what); !ok) return std::unexpected(ok.error());
  return read_as<uint8_t>(a);
}

Result<uint16_t> get_u16(const nlattr& a, std::string_view what) {
  if (auto ok = validate(a, AttrKind::kU16, what); !ok) return std::unexpected(ok.error());
  return read_as<uint16_t>(a);
}

Result<uint32_t> get_u32(const nlattr& a, std::string_view what) {
  if (auto ok = validate(a, AttrKind::kU32, what); !ok) return std::unexpected(ok.error());
  return read_as<uint32_t>(a);
}

Result<std::string_view> get_str(const nlattr& a, std::string_view what) {
  if (auto ok = validate(a, AttrKind::kString, what); !ok) return std::unexpected(ok.error());
  auto* s = reinterpret_cast<const char*>(payload_ptr(a));
  return std::string_view(s, ::strnlen(s, payload_len(a)));
}

Result<IpAddr> get_ip(const nlattr& a, int family, std::string_view what) {
  IpAddr ip;
  ip.family = family;
  if (auto ok = validate_len(a, ip.size(), what); !ok) return std::unexpected(ok.error());
  std::memcpy(ip.bytes.data(), payload_ptr(a), ip.size());
  return ip;
}

}  // namespace strand::netlink::detail
