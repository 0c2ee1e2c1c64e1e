// Acknowledgements: NLMSG_ERROR / NLMSG_DONE and their extended-ACK attributes.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <string>

#include "netlink/attr.h"
#include "netlink/messages.h"

namespace strand::netlink {

namespace {

constexpr std::string_view kWhat = "ack";

// NLMSGERR_ATTR_* after the fixed part of an ACK.
Status parse_ack_tlvs(std::span<const std::byte> tlvs, Ack& ack) {
  return detail::for_each_attr(tlvs, kWhat, [&](const nlattr& a) -> Status {
    switch (detail::attr_type(a)) {
      case NLMSGERR_ATTR_MSG:
        return detail::store(detail::get_str(a, kWhat), ack.message);
      case NLMSGERR_ATTR_OFFS:
        return detail::store(detail::get_u32(a, kWhat), ack.offset);
      case NLMSGERR_ATTR_MISS_TYPE:
        return detail::store(detail::get_u32(a, kWhat), ack.missing_type);
      default:
        break;
    }
    return {};
  });
}

}  // namespace

Result<Ack> parse_ack(std::span<const std::byte> msg) {
  if (msg.size() < NLMSG_HDRLEN) return detail::bad_message(kWhat, "shorter than nlmsghdr");
  nlmsghdr h;
  std::memcpy(&h, msg.data(), sizeof(h));
  if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > msg.size()) return detail::bad_message(kWhat, "bad nlmsg_len");

  Ack ack;
  size_t tlv_start = 0;
  if (h.nlmsg_type == NLMSG_ERROR) {
    if (h.nlmsg_len < NLMSG_HDRLEN + sizeof(nlmsgerr)) return detail::bad_message(kWhat, "truncated nlmsgerr");
    nlmsgerr e;
    std::memcpy(&e, msg.data() + NLMSG_HDRLEN, sizeof(e));
    ack.error = e.error;
    tlv_start = NLMSG_HDRLEN + sizeof(nlmsgerr);
    // Without NETLINK_CAP_ACK (or for errors) the request's payload is echoed
    // before the TLVs.
    if (!(h.nlmsg_flags & NLM_F_CAPPED)) {
      if (e.msg.nlmsg_len < NLMSG_HDRLEN) return detail::bad_message(kWhat, "bad echoed request length");
      tlv_start += NLMSG_ALIGN(e.msg.nlmsg_len - NLMSG_HDRLEN);
    }
  } else if (h.nlmsg_type == NLMSG_DONE) {
    // A dump's DONE carries an int status (older kernels may omit it).
    if (h.nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
      int err = 0;
      std::memcpy(&err, msg.data() + NLMSG_HDRLEN, sizeof(err));
      ack.error = err;
    }
    tlv_start = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(int));
  } else {
    return detail::bad_message(kWhat, "unexpected " + message_type_name(h.nlmsg_type));
  }
  if (ack.error > 0) return detail::bad_message(kWhat, "positive error " + std::to_string(ack.error));

  if ((h.nlmsg_flags & NLM_F_ACK_TLVS) && tlv_start < h.nlmsg_len) {
    if (auto ok = parse_ack_tlvs(msg.subspan(tlv_start, h.nlmsg_len - tlv_start), ack); !ok) {
      return std::unexpected(ok.error());
    }
  } else if ((h.nlmsg_flags & NLM_F_ACK_TLVS) && tlv_start > h.nlmsg_len) {
    return detail::bad_message(kWhat, "TLVs past the message end");
  }
  return ack;
}

Error ack_error(const Ack& ack, std::string_view op, std::string_view context) {
  std::string text = ack.message;
  if (text.empty() && ack.missing_type) text = "missing attribute " + std::to_string(*ack.missing_type);
  std::string ctx(context);
  if (!text.empty()) ctx = ctx.empty() ? text : ctx + ": " + text;
  return Error{std::string(op), -ack.error, std::move(ctx)};
}

std::string message_type_name(uint16_t type) {
  // clang-format off
  switch (type) {
    case NLMSG_NOOP: return "NLMSG_NOOP";
    case NLMSG_ERROR: return "NLMSG_ERROR";
    case NLMSG_DONE: return "NLMSG_DONE";
    case NLMSG_OVERRUN: return "NLMSG_OVERRUN";
    case RTM_NEWLINK: return "RTM_NEWLINK";
    case RTM_DELLINK: return "RTM_DELLINK";
    case RTM_GETLINK: return "RTM_GETLINK";
    case RTM_SETLINK: return "RTM_SETLINK";
    case RTM_NEWADDR: return "RTM_NEWADDR";
    case RTM_DELADDR: return "RTM_DELADDR";
    case RTM_GETADDR: return "RTM_GETADDR";
    case RTM_NEWROUTE: return "RTM_NEWROUTE";
    case RTM_DELROUTE: return "RTM_DELROUTE";
    case RTM_GETROUTE: return "RTM_GETROUTE";
    case RTM_NEWNEIGH: return "RTM_NEWNEIGH";
    case RTM_DELNEIGH: return "RTM_DELNEIGH";
    case RTM_GETNEIGH: return "RTM_GETNEIGH";
    case RTM_NEWQDISC: return "RTM_NEWQDISC";
    case RTM_DELQDISC: return "RTM_DELQDISC";
    case RTM_NEWTFILTER: return "RTM_NEWTFILTER";
    case RTM_DELTFILTER: return "RTM_DELTFILTER";
    default: return "message " + std::to_string(type);
  }
  // clang-format on
}

}  // namespace strand::netlink
