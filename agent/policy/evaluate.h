#pragma once
// Whether NetworkPolicy v1 lets one endpoint reach another, with the reason.
// Traffic passes only if the source's egress and the destination's ingress
// both allow it. A pod selected by no policy of a direction is unrestricted
// in that direction; the policies selecting it combine as a union.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "agent/policy/types.h"

namespace strand::policy {

struct PodRef {
  std::string ns;
  std::string name;
};

// A pod of the cluster, or an address outside it (or a node).
using Endpoint = std::variant<PodRef, IpAddr>;

struct RuleRef {
  std::string policy;  // "ns/name"
  size_t index = 0;    // into ingress or egress
};

// A policy selecting the pod that cannot be enforced: it isolates, and none
// of its rules allows anything (NetworkPolicy::not_enforced).
struct NotEnforced {
  std::string policy;  // "ns/name"
  std::string reason;  // the field and why

  bool operator==(const NotEnforced&) const = default;
};

// One side of the decision: the source's egress or the destination's ingress.
struct SideVerdict {
  bool allowed = true;
  std::vector<std::string> isolated_by;  // policies of this direction selecting the pod
  std::optional<RuleRef> allowed_by;     // first rule that lets the traffic through
  std::string reason;                    // "not isolated", "allowed by x/p ingress[0]", ...
  std::vector<NotEnforced> not_enforced; // of isolated_by, those not enforced (fail closed)
};

struct Verdict {
  bool allowed = false;
  SideVerdict egress;   // of the source
  SideVerdict ingress;  // of the destination
  std::string reason;   // one line combining both sides
};

// A PodRef naming no pod of `cluster` is denied ("unknown pod x/q"), as is
// one naming a finished pod ("pod x/q has finished (Succeeded)"); one naming
// a hostNetwork pod is judged as its addresses (its node's). An address
// belonging to a pod that owns it (Pod::owns_ips) is judged as that pod.
// ipBlock peers match a pod by any of its addresses. A policy with
// not_enforced set (by the parser, or by the caller for one the compiler
// could not enforce: Compiler::policy_status) isolates what it selects and
// allows nothing, as in the datapath; a side it denies names it. Other
// policies are judged by what they say, enforceable or not.
[[nodiscard]] Verdict evaluate(const Cluster& cluster, const Endpoint& from, const Endpoint& to, uint16_t port,
                               Protocol proto);

}  // namespace strand::policy
