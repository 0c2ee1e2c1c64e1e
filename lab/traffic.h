#pragma once
// `strand-lab traffic`: new flows from one pod at a steady rate (each a new
// TCP connection or a UDP datagram from a source port of its own, so the
// datapath judges every one by the policy of that moment), optionally with one
// long-lived TCP connection exchanging a message per interval, until stopped
// or a maximum duration. Counts every failure; nothing is retried.
#include <atomic>
#include <optional>
#include <vector>

#include "lab/probe.h"
#include "lab/render.h"

namespace strand::lab {

struct TrafficPlan {
  std::vector<ProbeTarget> loops;          // one steady stream of new flows per target
  std::optional<ProbeTarget> connection;   // the long-lived TCP connection
  int interval_ms = 15;                    // between the starts of two flows of a loop
  int timeout_ms = 3000;                   // per attempt (and per exchange on the connection)
  int duration_ms = 120000;                // the longest it runs without being stopped
};

// Runs the plan until `stop` is set or the duration ends; attempts under way
// then finish (each within its timeout). Probes are strict (lab/probe.h).
[[nodiscard]] TrafficReport run_traffic(const TrafficPlan& plan, const std::atomic<bool>& stop);

}  // namespace strand::lab
