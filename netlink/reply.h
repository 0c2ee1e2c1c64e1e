#pragma once
// Internal to netlink/: what a received datagram means for the request the
// Socket is waiting on. Pure (bytes in, verdict out) so the matching, ACK and
// dump-interruption rules are unit-tested without a kernel.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "netlink/socket.h"

namespace strand::netlink::detail {

// Scans one datagram for the answer to request `seq` from port `port`; other
// messages (stale replies, notifications) are skipped. The answer is the ACK,
// or, when `reply` is given, the first reply message (copied there) or an
// error ACK. nullopt: not in this datagram, keep reading.
[[nodiscard]] std::optional<Status> match_reply(std::span<const std::byte> datagram, uint32_t port, uint32_t seq,
                                                std::string_view op, std::string_view context, Message* reply);

// Collects the replies to dump `seq` from port `port`, datagram by datagram,
// back to back (NLMSG_ALIGNed) in `out`.
class DumpCollector {
 public:
  DumpCollector(uint32_t port, uint32_t seq, std::string_view op, std::vector<std::byte>& out)
      : port_(port), seq_(seq), op_(op), out_(out) {}

  // Takes one datagram; true once NLMSG_DONE (or an NLMSG_ERROR) ended the
  // dump. A failed dump or a malformed datagram is an error.
  [[nodiscard]] Result<bool> feed(std::span<const std::byte> datagram);
  // Whether the kernel flagged any reply NLM_F_DUMP_INTR: the set changed
  // under the dump and it must be redone.
  [[nodiscard]] bool interrupted() const { return interrupted_; }

 private:
  uint32_t port_;
  uint32_t seq_;
  std::string_view op_;
  std::vector<std::byte>& out_;
  bool interrupted_ = false;
};

// Calls f(const nlmsghdr&) -> bool (false: stop) on each message of a datagram
// or of DumpCollector output. A message overrunning the buffer is EBADMSG.
Status for_each_message(std::span<const std::byte> buf, std::string_view op,
                        const std::function<bool(std::span<const std::byte>)>& f);

}  // namespace strand::netlink::detail
