#pragma once
// Model: the agent's view of the cluster, fed by the sources (local directory,
// later the Kubernetes API). Objects are keyed by kind + namespace/name; an
// applied object replaces the stored one entirely. Every update that changes
// something bumps the version once and tells the subscribers what changed, so
// later work (identities, ipcache, policy maps) can follow incrementally.
// Thread-safe.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <vector>

#include "agent/model/objects.h"
#include "agent/policy/types.h"

namespace strand::model {

enum class ChangeOp { kAdded, kUpdated, kRemoved };

// "added", "updated", "removed".
[[nodiscard]] std::string_view change_op_name(ChangeOp op);

struct Change {
  Key key;
  ChangeOp op = ChangeOp::kAdded;

  bool operator==(const Change&) const = default;
};

// One batch: removals first, then upserts (a later upsert of a key wins).
// Applied as one step: one version, one notification.
struct Update {
  std::vector<Key> removals;
  std::vector<Object> upserts;
};

struct Counts {
  size_t namespaces = 0;
  size_t pods = 0;
  size_t policies = 0;
  size_t nodes = 0;

  bool operator==(const Counts&) const = default;
};

class Model;

// Unsubscribes when destroyed. Must not outlive its model.
class Subscription {
 public:
  Subscription() = default;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  Subscription(Subscription&& o) noexcept;
  Subscription& operator=(Subscription&& o) noexcept;
  ~Subscription();

 private:
  friend class Model;
  Subscription(Model* m, uint64_t id) : model_(m), id_(id) {}
  Model* model_ = nullptr;
  uint64_t id_ = 0;
};

class Model {
 public:
  // Called after an update that changed something, with the new version and
  // the changes sorted by key, in version order, one call at a time. A
  // subscriber may read the model but must not apply updates to it, nor
  // subscribe or unsubscribe.
  using Subscriber = std::function<void(uint64_t version, std::span<const Change> changes)>;
  using Objects = std::map<Key, Object>;

  Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // Returns the version after the update (unchanged when the update changed
  // nothing: an upsert equal to the stored object, a removal of a missing key).
  uint64_t apply(Update update);
  uint64_t upsert(Object obj);
  uint64_t remove(const Key& key);

  [[nodiscard]] Subscription subscribe(Subscriber fn);

  [[nodiscard]] uint64_t version() const;
  [[nodiscard]] std::optional<Object> get(const Key& key) const;
  [[nodiscard]] Counts counts() const;
  // The labels of pod ns/name, nullopt when the model has no such pod.
  [[nodiscard]] std::optional<policy::Labels> pod_labels(std::string_view ns, std::string_view name) const;
  // Namespaces, pods, policies and node IPs, as the policy model takes them.
  [[nodiscard]] policy::Cluster cluster() const;
  // Runs fn(version, objects) under the read lock; fn must not call back into the model.
  template <typename F>
  auto read(F&& fn) const {
    std::shared_lock lock(mu_);
    return fn(version_, static_cast<const Objects&>(objects_));
  }

 private:
  friend class Subscription;
  void unsubscribe(uint64_t id);

  std::mutex apply_mu_;  // serialises apply + notify, so notifications follow version order
  mutable std::shared_mutex mu_;  // objects_ and version_
  Objects objects_;
  uint64_t version_ = 0;
  std::mutex sub_mu_;
  std::map<uint64_t, Subscriber> subscribers_;
  uint64_t next_sub_ = 1;
};

}  // namespace strand::model
