#pragma once
// Repairs made by the agent, counted per kind ("host-route", "pod-neighbour",
// "endpoint-gone", "reattach", ...). Written by the netlink watcher, read by
// /metrics (strand_repairs_total{kind}). Thread-safe.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace strand::agent {

class RepairCounts {
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

}  // namespace strand::agent
