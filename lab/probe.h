#pragma once
// Probes from inside a pod's netns: connect (TCP) or send (UDP), expect the
// echo of a unique payload back within the timeout.
#include <string>
#include <vector>

#include "common/error.h"
#include "common/fd.h"
#include "common/ip.h"
#include "common/netns.h"
#include "lab/render.h"

namespace strand::lab {

struct ProbeTarget {
  std::string from_ns_path;  // /run/netns/...
  std::string from, to;      // labels for the result
  IpAddr ip;
  int port = 0;
  std::string protocol = "TCP";
  // The source port, 0 for the kernel's choice. A probe that must be a new
  // flow for the datapath (after a policy change) needs a 5-tuple no earlier
  // probe used: a reused one matches that probe's conntrack entry (a UDP
  // "connection" lives 60 s) and passes as a reply would.
  int src_port = 0;
  // Nothing may be lost on the way: UDP sends its datagram once instead of
  // resending it within the timeout, and TCP fails ("1 retransmission") when
  // the kernel had to retransmit anything (a dropped SYN would otherwise pass
  // a second later, within a generous timeout).
  bool strict = false;
};

// One probe on the calling thread (enters and leaves the netns).
[[nodiscard]] ProbeResult probe(const ProbeTarget& t, int timeout_ms);

// All probes, `parallel` at a time, each on a worker thread entering the source
// pod's netns (setns is per thread for network namespaces). Results in order.
[[nodiscard]] std::vector<ProbeResult> probe_all(const std::vector<ProbeTarget>& targets, int timeout_ms, unsigned parallel);

// One TCP connection from inside the source pod's netns that stays open:
// each exchange() sends a message and waits for its echo. The long-lived flow
// of `strand-lab traffic`.
class EchoConnection {
 public:
  [[nodiscard]] static Result<EchoConnection> open(const ProbeTarget& t, int timeout_ms);
  [[nodiscard]] Status exchange(const std::string& msg, int timeout_ms);
  // Segments the kernel retransmitted on it so far (SYN included).
  [[nodiscard]] unsigned retransmits() const;
  // An exchange's error in the words of ProbeResult::detail ("timeout", ...).
  [[nodiscard]] static std::string describe(const Error& e);

 private:
  explicit EchoConnection(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace strand::lab
