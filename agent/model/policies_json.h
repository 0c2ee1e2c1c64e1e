#pragma once
// The body of GET /v1/policies (docs/api.md) from the model: each policy with
// its policyTypes (explicit or implied), the pods it selects (all pods of the
// model, not only this node's) and its rules per direction.
//
// Enforcement does not exist yet, so every policy reads "enforced": false with
// the reason, and rules carry no "hits" (there is nothing to count yet).
#include <nlohmann/json.hpp>

#include "agent/model/model.h"

namespace strand::model {

inline constexpr std::string_view kNotEnforcedReason = "NetworkPolicy enforcement not implemented yet";

[[nodiscard]] nlohmann::json policies_json(const Model& model);

}  // namespace strand::model
