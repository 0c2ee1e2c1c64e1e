#pragma once
// The datapath generation handshake between strand-lab and the agents'
// local-directory source: after changing manifests the lab writes a larger
// decimal integer N to <manifests>/.generation (temp file and rename), and an
// agent whose GET /v1/policies answers "generation" >= N has applied every
// manifest written before it to its datapath. Pure parsing here; the waiting
// is lab/sync.h.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace strand::lab {

// The .generation file's content ("12\n"); a missing file is generation 0
// (the caller passes ""), anything else than digits and a newline is EINVAL.
[[nodiscard]] Result<uint64_t> parse_generation_file(std::string_view text);

// The top-level "generation" of a GET /v1/policies body; ENOENT when the
// agent does not report one (an agent older than the handshake).
[[nodiscard]] Result<uint64_t> generation_of(const nlohmann::json& policies_body);

// Polls `fetch(i)` for every node i (named `nodes[i]`) until each has
// reported >= `want`, a node at a time, `poll` apart; fails at `timeout` with
// ETIMEDOUT naming each late node and what it last said. A node reporting no
// generation at all (ENOENT: an agent that does not enforce NetworkPolicy
// never will) fails the wait at once when `required`, and otherwise is not
// waited for: its name is added to `not_enforcing` when given.
using GenerationFetch = std::function<Result<uint64_t>(size_t node)>;
[[nodiscard]] Status wait_for_generation(const std::vector<std::string>& nodes, uint64_t want,
                                         std::chrono::milliseconds timeout, std::chrono::milliseconds poll,
                                         const GenerationFetch& fetch, bool required = true,
                                         std::vector<std::string>* not_enforcing = nullptr);

}  // namespace strand::lab
