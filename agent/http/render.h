#pragma once
// Bodies of the HTTP API that are not flows or drops: /v1/endpoints items and
// the Prometheus text of /metrics. Pure; unit-tested.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/flows/collector.h"
#include "agent/flows/decode.h"
#include "common/endpoint_record.h"

namespace strand::agent::http {

// One /v1/endpoints item. `entry`: the endpoints map entry of its host veth
// (absent: not attached); `stats`: its ep_stats summed over CPUs.
[[nodiscard]] nlohmann::json endpoint_json(const EndpointRecord& rec, const std::optional<strand_endpoint>& entry,
                                           const strand_ep_stats* stats);

// NetworkPolicies by enforcement state (Enforcer stats; zero when the agent
// does not enforce).
struct PolicyCounts {
  uint64_t enforced = 0;
  uint64_t not_enforced = 0;
};

struct MetricsInput {
  struct Endpoint {
    flows::PodRef pod;
    strand_ep_stats stats{};
  };
  std::vector<Endpoint> endpoints;  // in the order to print
  flows::CollectorStats collector;
  std::map<std::string, uint64_t> repairs;  // kind -> count
  std::map<std::string, uint64_t> handoffs;  // result -> count (agent/cni_handoff.h)
  PolicyCounts policies;
};

// Prometheus text format 0.0.4.
[[nodiscard]] std::string render_metrics(const MetricsInput& in);

// A label value escaped for the text format (\\, \", \n).
[[nodiscard]] std::string escape_label(const std::string& v);

}  // namespace strand::agent::http
