#include "agent/policy/selector.h"

#include <algorithm>

namespace strand::policy {

namespace {

bool holds(const SelectorRequirement& req, const Labels& labels) {
  auto it = labels.find(req.key);
  bool present = it != labels.end();
  bool listed = present && std::ranges::find(req.values, it->second) != req.values.end();
  switch (req.op) {
    case SelectorOp::kIn: return listed;
    case SelectorOp::kNotIn: return !listed;  // an absent key is "not in"
    case SelectorOp::kExists: return present;
    case SelectorOp::kDoesNotExist: return !present;
  }
  return false;
}

}  // namespace

bool matches(const LabelSelector& sel, const Labels& labels) {
  for (const auto& [key, value] : sel.match_labels) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return std::ranges::all_of(sel.match_expressions, [&](const auto& r) { return holds(r, labels); });
}

}  // namespace strand::policy
