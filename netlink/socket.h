#pragma once
// Socket: an rtnetlink socket, the only place netlink I/O happens.
// SOCK_CLOEXEC, extended ACK and strict dump checking on, sequence and port
// checked on every reply. A socket stays bound to the netns it was opened in.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/fd.h"
#include "common/netns.h"

namespace strand::netlink {

using Message = std::vector<std::byte>;  // one nlmsghdr and its payload

class Socket {
 public:
  // Opens NETLINK_ROUTE in the calling thread's netns, subscribed to `groups`
  // (RTNLGRP_* numbers, via NETLINK_ADD_MEMBERSHIP) when non-empty.
  [[nodiscard]] static Result<Socket> open(std::span<const unsigned> groups = {});
  // Opens the socket inside `ns` (enters it on this thread for the socket()
  // call only); later I/O on it acts on `ns`, and it hears the notifications
  // of `groups` raised in `ns` (events reach only sockets of their netns).
  [[nodiscard]] static Result<Socket> open_in(const Netns& ns, std::span<const unsigned> groups = {});

  // Sends a change request (NLM_F_REQUEST|NLM_F_ACK are set, seq/pid filled in)
  // and waits for its ACK. A NLMSG_ERROR becomes Error{op, -error, context +
  // ": " + ext-ack message when the kernel gave one}.
  [[nodiscard]] Status request(Message msg, std::string_view op, std::string_view context = {});
  // Sends a dump request (NLM_F_DUMP set) and returns every reply message up to
  // NLMSG_DONE; restarts when the kernel flags NLM_F_DUMP_INTR (bounded tries,
  // then EAGAIN).
  [[nodiscard]] Result<std::vector<Message>> dump(Message msg, std::string_view op);
  // Receives whatever is queued (for event sockets); ENOBUFS is returned as an
  // error so the caller can resync.
  [[nodiscard]] Result<std::vector<Message>> receive();

  // Sends a get request (NLM_F_REQUEST, no ACK: the reply is the answer) and
  // returns the kernel's one reply message; a NLMSG_ERROR becomes an Error as
  // in request().
  [[nodiscard]] Result<Message> get(Message msg, std::string_view op, std::string_view context = {});
  // dump() without a copy per message: calls `each` on every reply message once
  // the dump has completed uninterrupted, stopping at its first error. The
  // spans live until `each` returns; `each` must not use this socket.
  using MessageFn = std::function<Status(std::span<const std::byte>)>;
  [[nodiscard]] Status dump_each(Message msg, std::string_view op, const MessageFn& each);

  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] uint32_t port() const { return port_; }

 private:
  Socket(UniqueFd fd, uint32_t port) : fd_(std::move(fd)), port_(port) {}
  // Fills seq/pid/flags and sends; returns the sequence number used.
  [[nodiscard]] Result<uint32_t> send(Message& msg, uint16_t flags, std::string_view op);
  // Reads one datagram into rx_ (growing it to fit); an empty span when `wait`
  // is false and nothing is queued.
  [[nodiscard]] Result<std::span<const std::byte>> recv_datagram(bool wait, std::string_view op);
  // Waits for the reply to `seq`: the ACK, or with `reply` the first non-ACK
  // message (copied there).
  [[nodiscard]] Status await_reply(uint32_t seq, std::string_view op, std::string_view context, Message* reply);

  UniqueFd fd_;
  uint32_t port_ = 0;
  uint32_t seq_ = 0;
  // The last datagram received. Not value-initialised: zeroing a 32 KiB buffer
  // cost the plugin 8 page faults per socket, and only what recv wrote is read.
  std::unique_ptr<std::byte[]> rx_;
  size_t rx_size_ = 0;
  std::vector<std::byte> dump_;  // a dump's reply messages, back to back
};

}  // namespace strand::netlink
