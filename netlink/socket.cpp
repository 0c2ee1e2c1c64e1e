// Socket: all netlink I/O. One request at a time per socket; replies are
// matched on sequence number and port, anything else on the socket (stale
// replies, events) is skipped.
#include "netlink/socket.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "netlink/messages.h"

namespace strand::netlink {

namespace {

// The kernel sizes dump datagrams by the reader's buffer, up to 32 KiB.
constexpr size_t kRecvSize = 32 * 1024;
constexpr int kDumpTries = 5;
// Event sockets absorb bursts (a node's worth of pods going away) before ENOBUFS.
constexpr int kEventRcvBuf = 4 << 20;

Status set_opt(int fd, int level, int opt, int value, std::string_view name, bool optional) {
  if (::setsockopt(fd, level, opt, &value, sizeof(value)) == 0) return {};
  if (optional && errno == ENOPROTOOPT) return {};
  return fail_errno("setsockopt", std::string(name));
}

std::span<const std::byte> message_bytes(const nlmsghdr* nlh) {
  return {reinterpret_cast<const std::byte*>(nlh), nlh->nlmsg_len};
}

// Calls f(const nlmsghdr*) -> bool (false: stop) on each message of a datagram.
// A message overrunning the datagram is EBADMSG.
template <typename F>
Status for_each_message(std::span<const std::byte> datagram, std::string_view op, F&& f) {
  auto* nlh = reinterpret_cast<const nlmsghdr*>(datagram.data());
  int left = static_cast<int>(datagram.size());
  while (mnl_nlmsg_ok(nlh, left)) {
    if (!f(nlh)) return {};
    nlh = mnl_nlmsg_next(nlh, &left);
  }
  if (left > 0) return fail(std::string(op), EBADMSG, "truncated message in reply");
  return {};
}

}  // namespace

Result<Socket> Socket::open(std::span<const unsigned> groups) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return fail_errno("socket", "AF_NETLINK NETLINK_ROUTE");
  if (auto ok = set_opt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, 1, "NETLINK_EXT_ACK", false); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = set_opt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, 1, "NETLINK_CAP_ACK", false); !ok) {
    return std::unexpected(ok.error());
  }
  // Strict checking (4.20+) makes the kernel filter dumps and reject bad
  // headers; without it the ops filter what they get.
  if (auto ok = set_opt(fd.get(), SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1, "NETLINK_GET_STRICT_CHK", true); !ok) {
    return std::unexpected(ok.error());
  }
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return fail_errno("bind", "netlink");
  socklen_t len = sizeof(sa);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    return fail_errno("getsockname", "netlink");
  }
  for (unsigned g : groups) {
    if (::setsockopt(fd.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) != 0) {
      return fail_errno("setsockopt", "NETLINK_ADD_MEMBERSHIP group " + std::to_string(g));
    }
  }
  if (!groups.empty()) {
    // SO_RCVBUFFORCE passes rmem_max when we may; otherwise take what we get.
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &kEventRcvBuf, sizeof(kEventRcvBuf)) != 0) {
      (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &kEventRcvBuf, sizeof(kEventRcvBuf));
    }
  }
  return Socket(std::move(fd), sa.nl_pid);
}

Result<Socket> Socket::open_in(const Netns& ns) {
  auto guard = ns.enter();
  if (!guard) return std::unexpected(guard.error());
  auto s = open();
  if (!s) return std::unexpected(with_context(s.error(), "in netns " + ns.path()));
  return s;
}

Result<uint32_t> Socket::send(Message& msg, uint16_t flags, std::string_view op) {
  if (msg.size() < NLMSG_HDRLEN) return fail(std::string(op), EINVAL, "message shorter than nlmsghdr");
  auto* nlh = reinterpret_cast<nlmsghdr*>(msg.data());
  if (nlh->nlmsg_len != msg.size()) return fail(std::string(op), EINVAL, "nlmsg_len does not match the message");
  if (++seq_ == 0) ++seq_;  // 0 is what notifications carry
  nlh->nlmsg_flags |= flags;
  nlh->nlmsg_seq = seq_;
  nlh->nlmsg_pid = port_;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = ::sendto(fd_.get(), msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno(std::string(op), "sendto");
  return seq_;
}

Result<std::span<const std::byte>> Socket::recv_datagram(bool wait, std::string_view op) {
  const int flags = wait ? 0 : MSG_DONTWAIT;
  for (;;) {
    // Peek at the size first so that no datagram is ever cut short.
    ssize_t n = ::recv(fd_.get(), nullptr, 0, MSG_PEEK | MSG_TRUNC | flags);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (!wait && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::span<const std::byte>{};
      return fail_errno(std::string(op), "recvmsg");
    }
    size_t need = std::max(static_cast<size_t>(n), kRecvSize);
    if (rx_.size() < need) rx_.resize(need);
    n = ::recv(fd_.get(), rx_.data(), rx_.size(), flags);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (!wait && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::span<const std::byte>{};
      return fail_errno(std::string(op), "recvmsg");
    }
    return std::span<const std::byte>(rx_.data(), static_cast<size_t>(n));
  }
}

Status Socket::await_reply(uint32_t seq, std::string_view op, std::string_view context, Message* reply) {
  for (;;) {
    auto datagram = recv_datagram(true, op);
    if (!datagram) return std::unexpected(datagram.error());
    std::optional<Status> result;
    auto walked = for_each_message(*datagram, op, [&](const nlmsghdr* nlh) {
      if (nlh->nlmsg_pid != port_ || nlh->nlmsg_seq != seq) return true;  // stale reply or event
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        auto ack = parse_ack(message_bytes(nlh));
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
      if (reply == nullptr || nlh->nlmsg_type == NLMSG_NOOP) return true;
      auto bytes = message_bytes(nlh);
      reply->assign(bytes.begin(), bytes.end());
      result = Status{};
      return false;
    });
    if (!walked) return walked;
    if (result) return *result;
  }
}

Status Socket::request(Message msg, std::string_view op, std::string_view context) {
  auto seq = send(msg, NLM_F_REQUEST | NLM_F_ACK, op);
  if (!seq) return std::unexpected(seq.error());
  return await_reply(*seq, op, context, nullptr);
}

Result<Message> Socket::get(Message msg, std::string_view op, std::string_view context) {
  auto seq = send(msg, NLM_F_REQUEST, op);
  if (!seq) return std::unexpected(seq.error());
  Message reply;
  if (auto ok = await_reply(*seq, op, context, &reply); !ok) return std::unexpected(ok.error());
  return reply;
}

Status Socket::dump_each(Message msg, std::string_view op, const MessageFn& each) {
  for (int attempt = 0; attempt < kDumpTries; ++attempt) {
    auto seq = send(msg, NLM_F_REQUEST | NLM_F_DUMP, op);
    if (!seq) return std::unexpected(seq.error());
    dump_.clear();
    bool interrupted = false;
    std::optional<Status> end;  // set by NLMSG_DONE or NLMSG_ERROR
    while (!end) {
      auto datagram = recv_datagram(true, op);
      if (!datagram) return std::unexpected(datagram.error());
      auto walked = for_each_message(*datagram, op, [&](const nlmsghdr* nlh) {
        if (nlh->nlmsg_pid != port_ || nlh->nlmsg_seq != *seq) return true;
        // The kernel flags every message after the set changed under the
        // dump, DONE included.
        if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
        switch (nlh->nlmsg_type) {
          case NLMSG_DONE:
          case NLMSG_ERROR: {
            auto ack = parse_ack(message_bytes(nlh));
            if (!ack) {
              end = std::unexpected(ack.error());
            } else if (ack->error != 0) {
              end = std::unexpected(ack_error(*ack, op, "dump"));
            } else {
              end = Status{};
            }
            return false;
          }
          case NLMSG_NOOP:
          case NLMSG_OVERRUN:
            return true;
          default: {
            // Messages are NLMSG_ALIGNed within a datagram; keep them so.
            size_t at = dump_.size();
            dump_.resize(at + NLMSG_ALIGN(nlh->nlmsg_len));
            std::memcpy(dump_.data() + at, nlh, nlh->nlmsg_len);
            return true;
          }
        }
      });
      if (!walked) return walked;
    }
    if (!*end) return *end;
    if (interrupted) continue;
    Status result;
    auto walked = for_each_message(dump_, op, [&](const nlmsghdr* nlh) {
      result = each(message_bytes(nlh));
      return result.has_value();
    });
    if (!walked) return walked;
    return result;
  }
  return fail(std::string(op), EAGAIN, "dump interrupted " + std::to_string(kDumpTries) + " times");
}

Result<std::vector<Message>> Socket::dump(Message msg, std::string_view op) {
  std::vector<Message> out;
  auto ok = dump_each(std::move(msg), op, [&](std::span<const std::byte> m) -> Status {
    out.emplace_back(m.begin(), m.end());
    return {};
  });
  if (!ok) return std::unexpected(ok.error());
  return out;
}

Result<std::vector<Message>> Socket::receive() {
  std::vector<Message> out;
  for (;;) {
    auto datagram = recv_datagram(false, "netlink events");
    if (!datagram) {
      Error e = datagram.error();
      if (e.err == ENOBUFS) e.context += ": events were dropped, resync";
      return std::unexpected(std::move(e));
    }
    if (datagram->empty()) return out;  // nothing more queued
    auto walked = for_each_message(*datagram, "netlink events", [&](const nlmsghdr* nlh) {
      if (nlh->nlmsg_type != NLMSG_NOOP) {
        auto bytes = message_bytes(nlh);
        out.emplace_back(bytes.begin(), bytes.end());
      }
      return true;
    });
    if (!walked) return std::unexpected(walked.error());
  }
}

}  // namespace strand::netlink
