// Socket: all netlink I/O. One request at a time per socket; replies are
// matched on sequence number and port, anything else on the socket (stale
// replies, events) is skipped.
#include "netlink/socket.h"

#include <linux/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "netlink/messages.h"
#include "netlink/reply.h"

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

}  // namespace

Result<Socket> Socket::open(std::span<const unsigned> groups) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return fail_errno("socket", "AF_NETLINK NETLINK_ROUTE");
  // Each option is best effort on kernels that predate it: ext-ack (4.12) only
  // adds text, parse_ack reads uncapped ACKs too (CAP_ACK, 4.2), and without
  // strict checking (4.20) the ops filter dumps themselves.
  if (auto ok = set_opt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, 1, "NETLINK_EXT_ACK", true); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = set_opt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, 1, "NETLINK_CAP_ACK", true); !ok) {
    return std::unexpected(ok.error());
  }
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

Result<Socket> Socket::open_in(const Netns& ns, std::span<const unsigned> groups) {
  auto guard = ns.enter();
  if (!guard) return std::unexpected(guard.error());
  auto s = open(groups);
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
    if (rx_size_ < need) {
      rx_ = std::make_unique_for_overwrite<std::byte[]>(need);
      rx_size_ = need;
    }
    n = ::recv(fd_.get(), rx_.get(), rx_size_, flags);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (!wait && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::span<const std::byte>{};
      return fail_errno(std::string(op), "recvmsg");
    }
    return std::span<const std::byte>(rx_.get(), static_cast<size_t>(n));
  }
}

Status Socket::await_reply(uint32_t seq, std::string_view op, std::string_view context, Message* reply) {
  for (;;) {
    auto datagram = recv_datagram(true, op);
    if (!datagram) return std::unexpected(datagram.error());
    if (auto done = detail::match_reply(*datagram, port_, seq, op, context, reply)) return *done;
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
    detail::DumpCollector collector(port_, *seq, op, dump_);
    for (bool done = false; !done;) {
      auto datagram = recv_datagram(true, op);
      if (!datagram) return std::unexpected(datagram.error());
      auto fed = collector.feed(*datagram);
      if (!fed) return std::unexpected(fed.error());
      done = *fed;
    }
    if (collector.interrupted()) continue;
    Status result;
    auto walked = detail::for_each_message(dump_, op, [&](std::span<const std::byte> m) {
      result = each(m);
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
    auto walked = detail::for_each_message(*datagram, "netlink events", [&](std::span<const std::byte> m) {
      if (reinterpret_cast<const nlmsghdr*>(m.data())->nlmsg_type != NLMSG_NOOP) out.emplace_back(m.begin(), m.end());
      return true;
    });
    if (!walked) return std::unexpected(walked.error());
  }
}

}  // namespace strand::netlink
