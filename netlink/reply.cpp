#include "netlink/reply.h"

#include <linux/netlink.h>

#include <cstring>

#include "netlink/messages.h"

namespace strand::netlink::detail {

namespace {

const nlmsghdr& hdr(std::span<const std::byte> m) { return *reinterpret_cast<const nlmsghdr*>(m.data()); }

}  // namespace

Status for_each_message(std::span<const std::byte> buf, std::string_view op,
                        const std::function<bool(std::span<const std::byte>)>& f) {
  auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
  int left = static_cast<int>(buf.size());
  while (left > 0 && NLMSG_OK(nlh, left)) {
    if (!f({reinterpret_cast<const std::byte*>(nlh), nlh->nlmsg_len})) return {};
    left -= static_cast<int>(NLMSG_ALIGN(nlh->nlmsg_len));
    nlh = reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const std::byte*>(nlh) + NLMSG_ALIGN(nlh->nlmsg_len));
  }
  if (left > 0) return fail(std::string(op), EBADMSG, "truncated message in reply");
  return {};
}

std::optional<Status> match_reply(std::span<const std::byte> datagram, uint32_t port, uint32_t seq, std::string_view op,
                                  std::string_view context, Message* reply) {
  std::optional<Status> result;
  auto walked = for_each_message(datagram, op, [&](std::span<const std::byte> m) {
    const nlmsghdr& h = hdr(m);
    if (h.nlmsg_pid != port || h.nlmsg_seq != seq) return true;  // stale reply or notification
    if (h.nlmsg_type == NLMSG_ERROR) {
      auto ack = parse_ack(m);
      if (!ack) {
        result = std::unexpected(ack.error());
      } else if (ack->error != 0) {
        result = std::unexpected(ack_error(*ack, op, context));
      } else if (reply != nullptr) {
        result = fail(std::string(op), ENODATA, std::string(context) + ": acknowledged without a reply");
      } else {
        result = Status{};
      }
      return false;
    }
    // Without `reply` anything before the ACK (an NLM_F_ECHO copy) is skipped.
    if (reply == nullptr || h.nlmsg_type == NLMSG_NOOP) return true;
    reply->assign(m.begin(), m.end());
    result = Status{};
    return false;
  });
  if (!walked) return walked;
  return result;
}

Result<bool> DumpCollector::feed(std::span<const std::byte> datagram) {
  std::optional<Status> end;  // set by NLMSG_DONE or NLMSG_ERROR
  auto walked = for_each_message(datagram, op_, [&](std::span<const std::byte> m) {
    const nlmsghdr& h = hdr(m);
    if (h.nlmsg_pid != port_ || h.nlmsg_seq != seq_) return true;
    // The kernel flags each reply built after the set changed, DONE included.
    if (h.nlmsg_flags & NLM_F_DUMP_INTR) interrupted_ = true;
    switch (h.nlmsg_type) {
      case NLMSG_DONE:
      case NLMSG_ERROR: {
        auto ack = parse_ack(m);
        if (!ack) {
          end = std::unexpected(ack.error());
        } else if (ack->error != 0) {
          end = std::unexpected(ack_error(*ack, op_, "dump"));
        } else {
          end = Status{};
        }
        return false;
      }
      case NLMSG_NOOP:
      case NLMSG_OVERRUN:
        return true;
      default: {
        size_t at = out_.size();
        out_.resize(at + NLMSG_ALIGN(h.nlmsg_len));
        std::memcpy(out_.data() + at, m.data(), h.nlmsg_len);
        return true;
      }
    }
  });
  if (!walked) return std::unexpected(walked.error());
  if (!end) return false;
  if (!*end) return std::unexpected(end->error());
  return true;
}

}  // namespace strand::netlink::detail
