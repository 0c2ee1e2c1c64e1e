#pragma once
// Label selector matching (metav1.LabelSelector semantics).
#include "agent/policy/types.h"

namespace strand::policy {

// The empty selector matches every label set; all terms must hold.
[[nodiscard]] bool matches(const LabelSelector& sel, const Labels& labels);

// A peer's selector: nullopt ("not set") matches nothing on its own.
[[nodiscard]] inline bool matches(const std::optional<LabelSelector>& sel, const Labels& labels) {
  return sel.has_value() && matches(*sel, labels);
}

}  // namespace strand::policy
