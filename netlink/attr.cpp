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
  nlmsghdr* h = mnl_nlmsg_put_header(buf_.data());
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
}

void Builder::reserve(size_t more) {
  size_t need = nlh()->nlmsg_len + more;
  if (need <= buf_.size()) return;
  buf_.resize(std::max(need, buf_.size() * 2));  // new bytes are zeroed
}

void Builder::put(uint16_t type, const void* data, size_t len) {
  reserve(MNL_ALIGN(MNL_ATTR_HDRLEN + len));
  mnl_attr_put(nlh(), type, len, data);
}

void Builder::put_str(uint16_t type, std::string_view s) {
  reserve(MNL_ALIGN(MNL_ATTR_HDRLEN + s.size() + 1));
  auto* a = reinterpret_cast<nlattr*>(buf_.data() + nlh()->nlmsg_len);
  a->nla_type = type;
  a->nla_len = static_cast<uint16_t>(MNL_ATTR_HDRLEN + s.size() + 1);
  auto* payload = static_cast<char*>(mnl_attr_get_payload(a));
  std::memcpy(payload, s.data(), s.size());
  payload[s.size()] = '\0';
  nlh()->nlmsg_len += MNL_ALIGN(a->nla_len);
}

size_t Builder::nest_start(uint16_t type) {
  reserve(MNL_ATTR_HDRLEN);
  size_t off = nlh()->nlmsg_len;
  mnl_attr_nest_start(nlh(), type);
  return off;
}

void Builder::nest_end(size_t nest) {
  auto* a = reinterpret_cast<nlattr*>(buf_.data() + nest);
  mnl_attr_nest_end(nlh(), a);
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

Status validate(const nlattr& a, mnl_attr_data_type type, std::string_view what) {
  if (mnl_attr_validate(&a, type) < 0) {
    return bad_message(what, "attribute " + std::to_string(mnl_attr_get_type(&a)) + " has invalid length " +
                                 std::to_string(mnl_attr_get_payload_len(&a)));
  }
  return {};
}

Status validate_len(const nlattr& a, size_t len, std::string_view what) {
  if (mnl_attr_validate2(&a, MNL_TYPE_BINARY, len) < 0 || mnl_attr_get_payload_len(&a) != len) {
    return bad_message(what, "attribute " + std::to_string(mnl_attr_get_type(&a)) + " has length " +
                                 std::to_string(mnl_attr_get_payload_len(&a)) + ", want " + std::to_string(len));
  }
  return {};
}

Result<uint8_t> get_u8(const nlattr& a, std::string_view what) {
  if (auto ok = validate(a, MNL_TYPE_U8, what); !ok) return std::unexpected(ok.error());
  return mnl_attr_get_u8(&a);
}

Result<uint16_t> get_u16(const nlattr& a, std::string_view what) {
  if (auto ok = validate(a, MNL_TYPE_U16, what); !ok) return std::unexpected(ok.error());
  return mnl_attr_get_u16(&a);
}

Result<uint32_t> get_u32(const nlattr& a, std::string_view what) {
  if (auto ok = validate(a, MNL_TYPE_U32, what); !ok) return std::unexpected(ok.error());
  return mnl_attr_get_u32(&a);
}

Result<std::string_view> get_str(const nlattr& a, std::string_view what) {
  if (auto ok = validate(a, MNL_TYPE_STRING, what); !ok) return std::unexpected(ok.error());
  auto* s = static_cast<const char*>(mnl_attr_get_payload(&a));
  return std::string_view(s, ::strnlen(s, mnl_attr_get_payload_len(&a)));
}

Result<IpAddr> get_ip(const nlattr& a, int family, std::string_view what) {
  IpAddr ip;
  ip.family = family;
  if (auto ok = validate_len(a, ip.size(), what); !ok) return std::unexpected(ok.error());
  std::memcpy(ip.bytes.data(), mnl_attr_get_payload(&a), ip.size());
  return ip;
}

}  // namespace strand::netlink::detail
