#pragma once
// The policy map as rules contribute to it: several rules may produce the
// same key; the entry names the lowest rule id among them, and removing one
// contributor leaves the entry to the next. Records each key's value before
// the current update so the difference can be handed out as upserts and
// deletes.
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "agent/policy/compile.h"

namespace strand::policy {

class PolicyTable {
 public:
  // `entries` is the map the table keeps up to date (DatapathState::policy).
  explicit PolicyTable(std::map<PolicyKey, uint32_t>& entries) : entries_(entries) {}

  void add(const PolicyKey& k, uint32_t rule_id);
  // rule_id must have been added for k.
  void remove(const PolicyKey& k, uint32_t rule_id);

  // The map holds `pinned` (what an earlier agent left) though no rule
  // contributes to it: the next take_changes() deletes what no rule added
  // since and upserts what differs. Only before the first add().
  void assume(const std::map<PolicyKey, uint32_t>& pinned);

  // The changes since the last take_changes() (or construction), sorted by
  // key; keys whose value ended where it started are left out.
  void take_changes(std::vector<std::pair<PolicyKey, uint32_t>>& upserts, std::vector<PolicyKey>& deletes);

 private:
  void touch(const PolicyKey& k);

  std::map<PolicyKey, uint32_t>& entries_;
  std::map<PolicyKey, std::vector<uint32_t>> owners_;           // key -> rule ids, sorted
  std::map<PolicyKey, std::optional<uint32_t>> before_;         // value before this update
};

}  // namespace strand::policy
