#pragma once
// What the HTTP API says about enforcement, from the model and the Enforcer:
//  - policies_json: GET /v1/policies (model::policies_json plus, per policy,
//    whether it is enforced, this node's endpoints it selects, and per rule
//    its id and hit count; top level the generation and versions).
//  - rule_json: what a rule id of a flow or drop stands for ("policy",
//    "direction", "index"), or for reserved ids the reason, and for
//    STRAND_RULE_ISOLATED the policies isolating the endpoint.
//  - why_json: GET /v1/why, evaluate() on the model (agent/policy/evaluate.h)
//    plus the rule ids the datapath uses for the deciding rules; a policy
//    that is not enforced (parse, limit) denies what it isolates, naming it.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/enforce/enforcer.h"
#include "agent/model/model.h"
#include "agent/policy/evaluate.h"

namespace strand::enforce {

[[nodiscard]] nlohmann::json policies_json(const model::Model& model, const Enforcer& enf);
// The top-level fields of policies_json only: {"generation","modelVersion","appliedVersion"}.
[[nodiscard]] nlohmann::json policies_summary_json(const model::Model& model, const Enforcer& enf);

// For flows and drops: rule id -> {"ruleId", "verdict", "policy", "direction", "index", "isolatedBy"}.
[[nodiscard]] nlohmann::json rule_json(const Enforcer& enf, uint32_t rule_id, uint32_t ep_id, uint8_t dir);

// A "why" question: from and to are "ns/pod" or an IP address.
struct WhyQuery {
  std::string from;
  std::string to;
  uint16_t port = 0;
  policy::Protocol proto = policy::Protocol::kTcp;
};
// "80", "80/TCP", "53/udp", "sctp/9": parse errors name the input.
[[nodiscard]] Result<std::pair<uint16_t, policy::Protocol>> parse_port_proto(std::string_view text);
[[nodiscard]] Result<policy::Endpoint> parse_endpoint(std::string_view text);
// The answer; enf may be null (no enforcement on this agent).
[[nodiscard]] Result<nlohmann::json> why_json(const model::Model& model, const Enforcer* enf, const WhyQuery& q);
// The same from a cluster (node_ips: this node's addresses) and, when
// enforcing, the compiler behind the datapath: its rule ids, and the
// policies it could not enforce, judged as failing closed like the datapath.
[[nodiscard]] Result<nlohmann::json> why_answer(policy::Cluster cluster, const policy::Compiler* c, const WhyQuery& q);

}  // namespace strand::enforce
