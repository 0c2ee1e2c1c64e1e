#pragma once
// Internal to netlink/ (and lab/nl_extra): the two halves every message file
// shares. Builder writes one request into a buffer that grows as needed; the
// walk and validation helpers read attributes only after checking their length.
// Attribute layout and alignment are the kernel's uapi macros (NLMSG_*, NLA_*);
// no shared library is needed, so the CNI plugin links statically (see
// cni/CMakeLists.txt: process start-up is most of an ADD on a VM).
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string_view>

#include "common/error.h"
#include "common/ip.h"
#include "netlink/socket.h"

namespace strand::netlink::detail {

class Builder {
 public:
  Builder(uint16_t type, uint16_t flags);

  // Appends a zeroed fixed header (ifinfomsg, rtmsg, ... or VETH_INFO_PEER's
  // own ifinfomsg inside a nest) and returns it; valid until the next append.
  template <typename T>
  T& append() {
    reserve(NLMSG_ALIGN(sizeof(T)));
    return *static_cast<T*>(put_extra_header(sizeof(T)));
  }
  void put(uint16_t type, const void* data, size_t len);
  void put_u8(uint16_t type, uint8_t v) { put(type, &v, sizeof(v)); }
  void put_u16(uint16_t type, uint16_t v) { put(type, &v, sizeof(v)); }
  void put_u32(uint16_t type, uint32_t v) { put(type, &v, sizeof(v)); }
  void put_str(uint16_t type, std::string_view s);  // NUL-terminated
  void put_ip(uint16_t type, const IpAddr& ip) { put(type, ip.bytes.data(), ip.size()); }
  // Nests are referred to by offset: a pointer would not survive growth.
  [[nodiscard]] size_t nest_start(uint16_t type);
  void nest_end(size_t nest);

  [[nodiscard]] Message finish() &&;

 private:
  nlmsghdr* nlh() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  void* put_extra_header(size_t size);  // zeroed, aligned; room reserved
  // Appends an attribute header for a payload of `len` bytes (padding zeroed)
  // and returns where the payload goes.
  std::byte* put_attr(uint16_t type, size_t len);
  void reserve(size_t more);  // room for `more` bytes after the current end
  Message buf_;
};

// A received message whose fixed family header T has been checked and copied.
template <typename T>
struct Parsed {
  const nlmsghdr* nlh = nullptr;
  T hdr{};
  std::span<const std::byte> attrs;  // everything after the family header
};

// Checks nlmsghdr and the family header lengths and that the type is one of
// `types`; EBADMSG otherwise.
Status check_header(std::span<const std::byte> msg, size_t hdr_size, std::initializer_list<uint16_t> types,
                    std::string_view what);

template <typename T>
Result<Parsed<T>> open_message(std::span<const std::byte> msg, std::initializer_list<uint16_t> types,
                               std::string_view what) {
  if (auto ok = check_header(msg, sizeof(T), types, what); !ok) return std::unexpected(ok.error());
  Parsed<T> p;
  p.nlh = reinterpret_cast<const nlmsghdr*>(msg.data());
  std::memcpy(&p.hdr, msg.data() + NLMSG_HDRLEN, sizeof(T));
  size_t start = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(T));
  size_t end = p.nlh->nlmsg_len;
  p.attrs = start < end ? msg.subspan(start, end - start) : std::span<const std::byte>{};
  return p;
}

// EBADMSG for `what` (a message kind) with a detail.
[[nodiscard]] std::unexpected<Error> bad_message(std::string_view what, std::string_view detail);

// The attribute's type without the nested/byte-order flags.
[[nodiscard]] inline uint16_t attr_type(const nlattr& a) { return a.nla_type & NLA_TYPE_MASK; }
[[nodiscard]] inline size_t payload_len(const nlattr& a) {
  return a.nla_len >= NLA_HDRLEN ? a.nla_len - NLA_HDRLEN : 0;
}
[[nodiscard]] inline const std::byte* payload_ptr(const nlattr& a) {
  return reinterpret_cast<const std::byte*>(&a) + NLA_HDRLEN;
}

// Whether an attribute header and its declared length fit in `left` bytes.
[[nodiscard]] inline bool attr_fits(const nlattr* a, int left) {
  return left >= static_cast<int>(sizeof(nlattr)) && a->nla_len >= sizeof(nlattr) &&
         static_cast<int>(a->nla_len) <= left;
}

// Calls f(const nlattr&) -> Status for every attribute in `area`; stops at the
// first error. An attribute running past the area, or bytes left over that
// cannot hold one, is EBADMSG.
template <typename F>
Status for_each_attr(std::span<const std::byte> area, std::string_view what, F&& f) {
  auto* attr = reinterpret_cast<const nlattr*>(area.data());
  int left = static_cast<int>(area.size());
  while (left > 0 && attr_fits(attr, left)) {
    if (auto st = f(*attr); !st) return st;
    left -= static_cast<int>(NLA_ALIGN(attr->nla_len));
    attr = reinterpret_cast<const nlattr*>(reinterpret_cast<const std::byte*>(attr) + NLA_ALIGN(attr->nla_len));
  }
  // The last attribute's padding may be missing (left < 0); anything else is a
  // truncated or corrupt attribute.
  if (left > 0) return bad_message(what, "truncated attribute");
  return {};
}

// What an attribute's payload must look like.
enum class AttrKind {
  kU8,         // exactly 1 byte
  kU16,        // exactly 2
  kU32,        // exactly 4
  kString,     // at least 1 byte
  kNulString,  // at least 1 byte, the last one NUL
  kNested,     // empty, or at least one attribute header
};
// Checks an attribute as `kind`; EBADMSG naming the attribute otherwise.
[[nodiscard]] Status validate(const nlattr& a, AttrKind kind, std::string_view what);
// Checks a binary attribute of exactly `len` bytes.
[[nodiscard]] Status validate_len(const nlattr& a, size_t len, std::string_view what);

// Attribute readers that validate first.
[[nodiscard]] Result<uint8_t> get_u8(const nlattr& a, std::string_view what);
[[nodiscard]] Result<uint16_t> get_u16(const nlattr& a, std::string_view what);
[[nodiscard]] Result<uint32_t> get_u32(const nlattr& a, std::string_view what);
// A string attribute up to its first NUL (kernel strings are NUL-terminated).
[[nodiscard]] Result<std::string_view> get_str(const nlattr& a, std::string_view what);
// An address whose length must match `family`.
[[nodiscard]] Result<IpAddr> get_ip(const nlattr& a, int family, std::string_view what);

// Stores a read attribute value into a field (int, uint32_t, std::optional,
// ...), or passes its error on: `case IFLA_MTU: return store(get_u32(a, w), link.mtu);`
template <typename V, typename T>
[[nodiscard]] Status store(Result<V> v, T& out) {
  if (!v) return std::unexpected(std::move(v.error()));
  out = static_cast<T>(*v);
  return {};
}

[[nodiscard]] inline std::span<const std::byte> payload(const nlattr& a) {
  return {payload_ptr(a), payload_len(a)};
}

}  // namespace strand::netlink::detail
