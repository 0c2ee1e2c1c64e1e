#pragma once
// Pure rendering of the agent's JSON bodies (docs/api.md) into table rows and
// the status summary. Fields that are missing or of an unexpected type render
// as "-" rather than failing: an older or newer agent still gives a table.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ctl/table.h"

namespace strand::ctl {

// ordered_json keeps the agent's key order, so -o json prints the body as received.
using json = nlohmann::ordered_json;

// The body's "items" array (empty when absent), in the order received.
[[nodiscard]] std::vector<json> items_of(const json& body);

// Items sorted by ascending "seq" (oldest first), for --follow output.
void sort_by_seq(std::vector<json>& items);

// Highest "seq" among the items, or `floor` when none is higher.
[[nodiscard]] uint64_t max_seq(const std::vector<json>& items, uint64_t floor);

[[nodiscard]] Row endpoint_headers();
[[nodiscard]] Row endpoint_row(const json& item);

[[nodiscard]] Row flow_headers();
[[nodiscard]] Row flow_row(const json& item, int64_t now_ms);

[[nodiscard]] Row drop_headers();
[[nodiscard]] Row drop_row(const json& item, int64_t now_ms);

// "10.244.1.5:8080", "[fd00::5]:8080", or the bare address when the protocol
// has no ports (ICMP) or the port is absent.
[[nodiscard]] std::string format_endpoint(const json& item, const char* addr_key, const char* port_key);

// What `strandctl status` gathered from /healthz, /readyz, /v1/endpoints,
// /v1/flows and /v1/drops.
struct StatusReport {
  std::string agent;         // "127.0.0.1:9464"
  std::string health;        // /healthz body ("ok")
  int ready_status = 0;      // /readyz HTTP status
  json ready;                // /readyz body (object), null when not JSON
  size_t endpoints = 0;
  size_t flows_active = 0;
  size_t flows_ended = 0;
  bool flows_truncated = false;  // the flow list hit the requested limit
  std::optional<uint64_t> events_lost;
};

[[nodiscard]] std::string render_status(const StatusReport& s);
[[nodiscard]] json status_json(const StatusReport& s);

}  // namespace strand::ctl
