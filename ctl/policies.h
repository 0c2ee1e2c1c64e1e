#pragma once
// NetworkPolicy views of the agent's JSON (docs/api.md): the `strandctl
// policies` table from /v1/policies, and the POLICY cell of flows and drops
// from their "policy" verdict object. Pure functions; missing or odd fields
// render as "-".
#include <optional>
#include <string>

#include "ctl/render.h"

namespace strand::ctl {

// The /v1/policies body with only the items of namespace ns (all when none);
// the other top-level fields are kept as received.
[[nodiscard]] json filter_policies(const json& body, const std::optional<std::string>& ns);

[[nodiscard]] Row policy_headers();
[[nodiscard]] Row policy_row(const json& item);

// The table, then one line per policy the agent does not enforce (with its
// reason), then isolation denies, model version and generation.
[[nodiscard]] std::string render_policies(const json& body);

// The POLICY cell for a flow's or drop's "policy" object:
//   allowed       "x/allow-web ingress[0]" ("rule 17 (policy gone)" when the
//                 policy was deleted since)
//   isolated      "isolated by x/deny-all" (at most two names, then "+N more"),
//                 prefixed "audit: " when audit (the packet was passed)
//   host/related  "host", "related"
//   not-isolated  "-", and "-" for null
[[nodiscard]] std::string policy_cell(const json& policy, bool audit);

}  // namespace strand::ctl
