#include "tests/bench/cni_addel/report.h"

#include <fmt/format.h>

#include <optional>

namespace strand::bench {
namespace {

std::optional<Row> find_row(const std::vector<Row>& rows, int concurrency, const std::string& config,
                            const std::string& op) {
  for (const auto& r : rows) {
    if (r.concurrency == concurrency && r.config == config && r.op == op) return r;
  }
  return std::nullopt;
}

double ratio(double ref, double x) { return x > 0 ? ref / x : 0; }

}  // namespace

std::string mode_name(int concurrency) {
  return concurrency == 1 ? "sequential" : fmt::format("concurrent-{}", concurrency);
}

std::string format_table(const std::vector<Row>& rows, const std::string& reference) {
  std::string out = fmt::format("{:<15} {:<18} {:<4} {:>6} {:>9} {:>9} {:>9} {:>12}\n", "mode", "config", "op", "n",
                                "p50 ms", "p90 ms", "mean ms", "batch p50 ms");
  for (const auto& r : rows) {
    out += fmt::format("{:<15} {:<18} {:<4} {:>6} {:>9.2f} {:>9.2f} {:>9.2f} {:>12.1f}\n", mode_name(r.concurrency),
                       r.config, r.op, r.latency.n, r.latency.p50_ms, r.latency.p90_ms, r.latency.mean_ms,
                       r.wall_p50_ms);
  }
  std::string ratios;
  for (const auto& r : rows) {
    if (r.config == reference) continue;
    auto ref = find_row(rows, r.concurrency, reference, r.op);
    if (!ref) continue;
    ratios += fmt::format("{:<15} {:<18} {:<4} {:>6.2f}x {:>6.2f}x\n", mode_name(r.concurrency), r.config, r.op,
                          ratio(ref->latency.p50_ms, r.latency.p50_ms), ratio(ref->latency.p90_ms, r.latency.p90_ms));
  }
  if (!ratios.empty()) {
    out += fmt::format("\n{} / config (above 1: config is faster than {})\n", reference, reference);
    out += fmt::format("{:<15} {:<18} {:<4} {:>7} {:>7}\n", "mode", "config", "op", "p50", "p90");
    out += ratios;
  }
  return out;
}

nlohmann::json to_json(const std::vector<Row>& rows, const std::string& reference) {
  auto results = nlohmann::json::array();
  auto ratios = nlohmann::json::array();
  for (const auto& r : rows) {
    results.push_back({{"mode", mode_name(r.concurrency)},
                       {"concurrency", r.concurrency},
                       {"config", r.config},
                       {"op", r.op},
                       {"n", r.latency.n},
                       {"p50_ms", r.latency.p50_ms},
                       {"p90_ms", r.latency.p90_ms},
                       {"mean_ms", r.latency.mean_ms},
                       {"min_ms", r.latency.min_ms},
                       {"max_ms", r.latency.max_ms},
                       {"batch_p50_ms", r.wall_p50_ms}});
    if (r.config == reference) continue;
    auto ref = find_row(rows, r.concurrency, reference, r.op);
    if (!ref) continue;
    ratios.push_back({{"mode", mode_name(r.concurrency)},
                      {"config", r.config},
                      {"op", r.op},
                      {"reference", reference},
                      {"p50", ratio(ref->latency.p50_ms, r.latency.p50_ms)},
                      {"p90", ratio(ref->latency.p90_ms, r.latency.p90_ms)}});
  }
  return {{"results", results}, {"ratios", ratios}};
}

}  // namespace strand::bench
