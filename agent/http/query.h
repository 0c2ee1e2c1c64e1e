#pragma once
// Query parameters of /v1/* (pod, since, after, limit) and the selection
// they make over a list of JSON items. Pure; unit-tested.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace strand::agent::http {

struct Query {
  std::optional<std::string> ns, pod;  // pod=NAMESPACE/NAME
  std::optional<int64_t> since_ms;     // since=UNIX_MS
  std::optional<uint64_t> after;       // after=SEQ
  size_t limit = 1000;                 // limit=N
};

inline constexpr size_t kMaxLimit = 100000;

// The query of a request; an error message (for a 400) on a bad value.
[[nodiscard]] std::expected<Query, std::string> parse_query(const std::multimap<std::string, std::string>& params);

// Items matching the query, newest (highest seq) first, at most limit.
// `time_field` names the item's time for `since` (null: no time filter);
// items without "seq" keep their order and ignore `after`.
[[nodiscard]] nlohmann::json select_items(std::vector<nlohmann::json> items, const Query& q, const char* time_field);

// "HOST:PORT" or "[V6]:PORT" -> host and port (0..65535).
[[nodiscard]] std::expected<std::pair<std::string, int>, std::string> parse_listen(const std::string& addr);

}  // namespace strand::agent::http
