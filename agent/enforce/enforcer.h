#pragma once
// Enforcer: keeps the datapath's policy, ipcache and endpoint entries equal to
// what the policy compiler makes of the model and this node's endpoints.
// A thread recompiles after every model change (incrementally) and writes
// the difference in the order that never drops traffic both the old and the
// new state allow; Endpoints calls admit() before a new endpoint's entry is
// written, so the CNI handshake returns only once the pod's policy is in
// place. Generations (LocalDirSource::on_generation) are published once the
// model version they stand for is in the datapath. The first sync, and the
// one after a write failed, read the maps back and write the difference
// from what they hold (Compiler::resume): an earlier agent's entries keep
// enforcing until the new ones replace them, write by write.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/endpoint_policy.h"
#include "agent/enforce/map_writer.h"
#include "agent/model/model.h"
#include "agent/policy/compile.h"

namespace strand::enforce {

// Namespace annotation that puts its pods in audit mode.
inline constexpr std::string_view kAuditAnnotation = "strand.io/policy-audit";

struct EnforcerOptions {
  bool audit = false;  // every endpoint in audit mode (--policy-audit)
  // How long admit() waits for a new endpoint's pod to reach the model
  // before it enforces the pod as unknown (fail closed).
  std::chrono::milliseconds pod_wait{1500};
  // A failed write is retried after this long.
  std::chrono::milliseconds retry{1000};
  // How often the node's own addresses (identity HOST) are checked for changes.
  std::chrono::milliseconds host_poll{1000};
};

struct EnforcerStats {
  uint64_t syncs = 0;
  uint64_t errors = 0;
  uint64_t last_sync_us = 0;
  uint64_t written = 0;
  uint64_t deleted = 0;
  uint64_t pruned = 0;
  uint64_t applied_version = 0;  // model version in the datapath
  uint64_t generation = 0;       // last published generation
  uint64_t policies_enforced = 0;      // policies of the last compile, by status
  uint64_t policies_not_enforced = 0;  // (their pods fail closed)
};

class Enforcer : public agent::EndpointPolicy {
 public:
  Enforcer(model::Model& model, MapFds fds, EnforcerOptions opts = {});
  ~Enforcer() override;
  Enforcer(const Enforcer&) = delete;
  Enforcer& operator=(const Enforcer&) = delete;

  // The first full sync (unless restoring endpoints did it), then the thread
  // that follows the model. Call after the endpoints were restored, so
  // nothing of theirs is taken away.
  [[nodiscard]] Status start();
  void stop();

  // EndpointPolicy
  void restoring(const std::vector<std::pair<EndpointRecord, uint32_t>>& eps) override;
  [[nodiscard]] Result<strand_endpoint> admit(const EndpointRecord& rec, uint32_t ep_id) override;
  void forget(uint32_t ep_id) override;
  [[nodiscard]] strand_endpoint entry(uint32_t ep_id) const override;

  // From the local-directory source.
  void note_generation(uint64_t generation, uint64_t model_version);

  [[nodiscard]] EnforcerStats stats() const;
  [[nodiscard]] int hits_fd() const { return fds_.hits; }

  // Runs fn(compiler, endpoints by ep_id) under the lock; fn must not call back.
  template <typename F>
  auto read(F&& fn) const {
    std::lock_guard lock(mu_);
    return fn(compiler_, static_cast<const std::map<uint32_t, policy::LocalEndpoint>&>(endpoints_));
  }

 private:
  // Compiles the current model and endpoints and writes the difference
  // (from what the maps hold when resume_ says the compiler does not know).
  Status sync_locked();
  // Counts the compiler's policy statuses and logs each policy that became
  // not enforced (or changed reason) and each that is enforced again.
  void note_statuses_locked();
  void run();
  void publish_locked();

  model::Model& model_;
  MapFds fds_;
  EnforcerOptions opts_;
  model::Subscription sub_;

  mutable std::mutex mu_;  // everything below
  policy::Compiler compiler_;
  std::map<uint32_t, policy::LocalEndpoint> endpoints_;
  std::vector<std::pair<uint64_t, uint64_t>> pending_gens_;  // (generation, model version)
  EnforcerStats stats_;
  std::map<std::string, std::string> not_enforced_;  // policy -> reason, as last logged
  uint32_t rev_;  // strand_endpoint.policy_rev of the current state
  // The maps hold what the compiler does not know (an earlier agent's
  // entries, a delta written in part): the next sync resumes from them.
  bool resume_ = true;

  std::mutex sig_mu_;  // dirty_, stop_ (never held while taking mu_)
  bool dirty_ = true;
  bool stop_ = false;
  std::condition_variable cv_;  // a model change or stop
  std::thread thread_;
};

}  // namespace strand::enforce
