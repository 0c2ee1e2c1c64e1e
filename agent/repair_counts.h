#pragma once
// Events counted per kind, thread-safe. RepairCounts: repairs made by the
// agent ("host-route", "pod-neighbour", "endpoint-gone", "reattach", ...),
// written by the netlink watcher, read by /metrics (strand_repairs_total{kind}).
// HandoffCounts: verbs a plugin offered the agent, by what became of them
// (agent/cni_handoff.h), read by /metrics (strand_cni_handoffs_total{result}).
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace strand::agent {

class KindCounts {
 public:
  void add(const std::string& kind, uint64_t n = 1) {
    std::lock_guard lock(mu_);
    counts_[kind] += n;
  }
  [[nodiscard]] std::map<std::string, uint64_t> snapshot() const {
    std::lock_guard lock(mu_);
    return counts_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> counts_;
};

using RepairCounts = KindCounts;
using HandoffCounts = KindCounts;

}  // namespace strand::agent
