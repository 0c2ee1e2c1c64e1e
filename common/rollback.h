#pragma once
// Rollback: undo steps registered as a multi-step operation goes; run in
// reverse order on destruction unless the operation commits.
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace strand {

class Rollback {
 public:
  Rollback() = default;
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;
  ~Rollback() { run(); }

  // Registers an undo step; `what` names it for logs.
  void add(std::string what, std::function<void()> undo) { steps_.emplace_back(std::move(what), std::move(undo)); }
  // The operation succeeded: nothing is undone.
  void commit() { steps_.clear(); }
  // Undoes everything registered so far, newest first.
  void run() {
    while (!steps_.empty()) {
      auto step = std::move(steps_.back());
      steps_.pop_back();
      step.second();
    }
  }

 private:
  std::vector<std::pair<std::string, std::function<void()>>> steps_;
};

}  // namespace strand
