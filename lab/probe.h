#pragma once
// Probes from inside a pod's netns: connect (TCP) or send (UDP), expect the
// echo of a unique payload back within the timeout.
#include <string>
#include <vector>

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
};

// One probe on the calling thread (enters and leaves the netns).
[[nodiscard]] ProbeResult probe(const ProbeTarget& t, int timeout_ms);

// All probes, `parallel` at a time, each on a worker thread entering the source
// pod's netns (setns is per thread for network namespaces). Results in order.
[[nodiscard]] std::vector<ProbeResult> probe_all(const std::vector<ProbeTarget>& targets, int timeout_ms, unsigned parallel);

}  // namespace strand::lab
