#include "agent/policy/policy_table.h"

#include <algorithm>

namespace strand::policy {

void PolicyTable::touch(const PolicyKey& k) {
  if (before_.contains(k)) return;
  auto it = entries_.find(k);
  before_.emplace(k, it == entries_.end() ? std::nullopt : std::optional<uint32_t>(it->second));
}

void PolicyTable::add(const PolicyKey& k, uint32_t rule_id) {
  touch(k);
  auto& v = owners_[k];
  v.insert(std::ranges::lower_bound(v, rule_id), rule_id);
  entries_[k] = v.front();
}

void PolicyTable::remove(const PolicyKey& k, uint32_t rule_id) {
  touch(k);
  auto it = owners_.find(k);
  auto& v = it->second;
  v.erase(std::ranges::lower_bound(v, rule_id));
  if (v.empty()) {
    owners_.erase(it);
    entries_.erase(k);
  } else {
    entries_[k] = v.front();
  }
}

void PolicyTable::assume(const std::map<PolicyKey, uint32_t>& pinned) {
  for (const auto& [k, rule] : pinned) before_[k] = rule;
}

void PolicyTable::take_changes(std::vector<std::pair<PolicyKey, uint32_t>>& upserts,
                               std::vector<PolicyKey>& deletes) {
  for (const auto& [k, old] : before_) {
    auto it = entries_.find(k);
    if (it == entries_.end()) {
      if (old) deletes.push_back(k);
    } else if (!old || *old != it->second) {
      upserts.emplace_back(k, it->second);
    }
  }
  before_.clear();
}

}  // namespace strand::policy
