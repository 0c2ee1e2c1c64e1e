#pragma once
// strandctl why: checking its arguments and explaining the agent's answer
// (GET /v1/why, docs/api.md) in a few lines. Pure functions, no I/O.
#include <expected>
#include <optional>
#include <string>

#include "ctl/render.h"

namespace strand::ctl {

// --from/--to: "NAMESPACE/POD" or an IPv4/IPv6 address. Empty when valid,
// else the usage error ("want NAMESPACE/POD or an IP address, got \"x\"").
[[nodiscard]] std::string check_why_endpoint(const std::string& v);

// --port: "P" or "P/PROTO", P in 1..65535, PROTO TCP, UDP or SCTP in any case.
// The normalized "P/PROTO" (TCP when none was given), or the usage error.
[[nodiscard]] std::expected<std::string, std::string> normalize_port(const std::string& v);

// The body's verdict: "allowed" when it is a boolean, else nullopt.
[[nodiscard]] std::optional<bool> why_allowed(const json& body);

// The explanation: the verdict line first (ALLOWED / DENIED), then one line
// per side (the source's egress, the destination's ingress) saying which
// policies isolate it and which rule allows, or that isolation denies.
[[nodiscard]] std::string render_why(const json& body);

}  // namespace strand::ctl
