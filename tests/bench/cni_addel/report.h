#pragma once
// The benchmark's results as a table (for people) and as JSON (for scripts and
// docs/benchmarks.md): per mode, config and operation the latency percentiles,
// and how the reference config compares with each other config.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/bench/cni_addel/stats.h"

namespace strand::bench {

struct Row {
  int concurrency = 1;   // plugin calls in flight at once; 1 is "sequential"
  std::string config;    // "strand", "strand-hostlocal", "ptp", ...
  std::string op;        // "ADD" or "DEL"
  Summary latency;       // per call
  double wall_p50_ms = 0;  // median time of one batch (all pods) of this op
};

[[nodiscard]] std::string mode_name(int concurrency);

// Rows sorted by mode, config, op, then "reference / config" ratios of p50 and
// p90 for every config other than `reference` (when it was run).
[[nodiscard]] std::string format_table(const std::vector<Row>& rows, const std::string& reference);
[[nodiscard]] nlohmann::json to_json(const std::vector<Row>& rows, const std::string& reference);

}  // namespace strand::bench
