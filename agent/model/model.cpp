#include "agent/model/model.h"

#include <utility>

namespace strand::model {

std::string_view change_op_name(ChangeOp op) {
  switch (op) {
    case ChangeOp::kAdded: return "added";
    case ChangeOp::kUpdated: return "updated";
    case ChangeOp::kRemoved: return "removed";
  }
  return "?";
}

Subscription::Subscription(Subscription&& o) noexcept
    : model_(std::exchange(o.model_, nullptr)), id_(std::exchange(o.id_, 0)) {}

Subscription& Subscription::operator=(Subscription&& o) noexcept {
  if (this != &o) {
    if (model_ != nullptr) model_->unsubscribe(id_);
    model_ = std::exchange(o.model_, nullptr);
    id_ = std::exchange(o.id_, 0);
  }
  return *this;
}

Subscription::~Subscription() {
  if (model_ != nullptr) model_->unsubscribe(id_);
}

uint64_t Model::apply(Update update) {
  std::lock_guard apply_lock(apply_mu_);
  std::vector<Change> changes;
  uint64_t version = 0;
  {
    std::unique_lock lock(mu_);
    // The state of each touched key before the update, to report the net change.
    std::map<Key, std::optional<Object>> before;
    auto remember = [&](const Key& k) {
      if (before.contains(k)) return;
      auto it = objects_.find(k);
      before.emplace(k, it == objects_.end() ? std::nullopt : std::optional<Object>(it->second));
    };
    for (const auto& k : update.removals) {
      remember(k);
      objects_.erase(k);
    }
    for (auto& obj : update.upserts) {
      Key k = key_of(obj);
      remember(k);
      objects_.insert_or_assign(std::move(k), std::move(obj));
    }
    for (const auto& [k, old] : before) {  // std::map: sorted by key
      auto it = objects_.find(k);
      if (!old && it != objects_.end()) {
        changes.push_back({k, ChangeOp::kAdded});
      } else if (old && it == objects_.end()) {
        changes.push_back({k, ChangeOp::kRemoved});
      } else if (old && it != objects_.end() && !(*old == it->second)) {
        changes.push_back({k, ChangeOp::kUpdated});
      }
    }
    if (!changes.empty()) ++version_;
    version = version_;
  }
  if (changes.empty()) return version;
  // Under sub_mu_: once a Subscription is destroyed, its function is never called again.
  std::lock_guard lock(sub_mu_);
  for (const auto& [id, fn] : subscribers_) fn(version, changes);
  return version;
}

uint64_t Model::upsert(Object obj) {
  Update u;
  u.upserts.push_back(std::move(obj));
  return apply(std::move(u));
}

uint64_t Model::remove(const Key& key) { return apply(Update{{key}, {}}); }

Subscription Model::subscribe(Subscriber fn) {
  std::lock_guard lock(sub_mu_);
  uint64_t id = next_sub_++;
  subscribers_.emplace(id, std::move(fn));
  return Subscription(this, id);
}

void Model::unsubscribe(uint64_t id) {
  std::lock_guard lock(sub_mu_);
  subscribers_.erase(id);
}

uint64_t Model::version() const {
  std::shared_lock lock(mu_);
  return version_;
}

std::optional<Object> Model::get(const Key& key) const {
  std::shared_lock lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

Counts Model::counts() const {
  std::shared_lock lock(mu_);
  Counts c;
  for (const auto& [k, obj] : objects_) {
    switch (k.kind) {
      case Kind::kNamespace: ++c.namespaces; break;
      case Kind::kPod: ++c.pods; break;
      case Kind::kNetworkPolicy: ++c.policies; break;
      case Kind::kNode: ++c.nodes; break;
    }
  }
  return c;
}

std::optional<policy::Labels> Model::pod_labels(std::string_view ns, std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = objects_.find(Key{Kind::kPod, std::string(ns), std::string(name)});
  if (it == objects_.end()) return std::nullopt;
  return std::get<Pod>(it->second).base.labels;
}

policy::Cluster Model::cluster() const {
  std::shared_lock lock(mu_);
  policy::Cluster c;
  for (const auto& [k, obj] : objects_) {
    if (const auto* ns = std::get_if<Namespace>(&obj)) {
      c.namespaces.push_back(ns->base);
    } else if (const auto* pod = std::get_if<Pod>(&obj)) {
      c.pods.push_back(pod->base);
    } else if (const auto* np = std::get_if<policy::NetworkPolicy>(&obj)) {
      c.policies.push_back(*np);
    } else if (const auto* node = std::get_if<Node>(&obj)) {
      for (const auto& ip : node->ips()) c.node_ips.push_back(ip);
    }
  }
  return c;
}

}  // namespace strand::model
