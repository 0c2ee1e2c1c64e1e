#pragma once
// Waiting for the datapath after the lab changes manifests (lab/generation.h
// is the handshake): bump <manifests>/.generation, then poll every node's
// agent (GET /v1/policies inside the node's netns) until it reports at least
// that generation. No fixed sleeps: the wait ends as soon as all agents are there.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "lab/state.h"

namespace strand::lab {

// Writes generation+1 to <manifests_dir>/.generation atomically and returns it.
[[nodiscard]] Result<uint64_t> bump_generation(const std::string& manifests_dir);

// The generation the agent at `http` (host:port) inside the netns at
// `netns_path` reports.
[[nodiscard]] Result<uint64_t> agent_generation(const std::string& netns_path, const std::string& http);

// Waits until every node of `s` reports >= `want`; on timeout the error names
// each late node with the generation it reported (or why it did not answer).
// An agent reporting no generation (not enforcing NetworkPolicy) fails the
// wait when `required`; otherwise it is not waited for and named in `not_enforcing`.
[[nodiscard]] Status wait_generation(const LabState& s, const std::string& http, uint64_t want,
                                     std::chrono::milliseconds timeout, bool required,
                                     std::vector<std::string>* not_enforcing);

// bump_generation + wait_generation.
[[nodiscard]] Status sync_agents(const LabState& s, const std::string& manifests_dir, const std::string& http,
                                 bool required, std::vector<std::string>* not_enforcing,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace strand::lab
