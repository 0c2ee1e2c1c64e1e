#include "agent/http/query.h"

#include <algorithm>
#include <charconv>

namespace strand::agent::http {
namespace {

template <typename T>
std::optional<T> parse_number(const std::string& s) {
  T v{};
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::expected<Query, std::string> parse_query(const std::multimap<std::string, std::string>& params) {
  Query q;
  for (const auto& [k, v] : params) {
    if (k == "pod") {
      const auto slash = v.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == v.size() || v.find('/', slash + 1) != std::string::npos) {
        return std::unexpected("pod: want NAMESPACE/NAME, got \"" + v + "\"");
      }
      q.ns = v.substr(0, slash);
      q.pod = v.substr(slash + 1);
    } else if (k == "since") {
      auto n = parse_number<int64_t>(v);
      if (!n || *n < 0) return std::unexpected("since: want unix milliseconds, got \"" + v + "\"");
      q.since_ms = *n;
    } else if (k == "after") {
      auto n = parse_number<uint64_t>(v);
      if (!n) return std::unexpected("after: want a sequence number, got \"" + v + "\"");
      q.after = *n;
    } else if (k == "limit") {
      auto n = parse_number<uint64_t>(v);
      if (!n || *n > kMaxLimit) {
        return std::unexpected("limit: want 0.." + std::to_string(kMaxLimit) + ", got \"" + v + "\"");
      }
      q.limit = static_cast<size_t>(*n);
    }
    // Other parameters are ignored (forward compatible clients).
  }
  return q;
}

nlohmann::json select_items(std::vector<nlohmann::json> items, const Query& q, const char* time_field) {
  std::erase_if(items, [&](const nlohmann::json& it) {
    if (q.ns && (!it.contains("namespace") || it["namespace"] != *q.ns || it["pod"] != *q.pod)) return true;
    if (q.since_ms && time_field && it.contains(time_field) && it[time_field].get<int64_t>() < *q.since_ms) return true;
    if (q.after && it.contains("seq") && it["seq"].get<uint64_t>() <= *q.after) return true;
    return false;
  });
  std::stable_sort(items.begin(), items.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.value("seq", uint64_t{0}) > b.value("seq", uint64_t{0});
  });
  if (items.size() > q.limit) items.resize(q.limit);
  return nlohmann::json(std::move(items));
}

std::expected<std::pair<std::string, int>, std::string> parse_listen(const std::string& addr) {
  std::string host, port;
  if (!addr.empty() && addr.front() == '[') {
    const auto close = addr.find(']');
    if (close == std::string::npos || close + 1 >= addr.size() || addr[close + 1] != ':') {
      return std::unexpected("want [ADDR]:PORT, got \"" + addr + "\"");
    }
    host = addr.substr(1, close - 1);
    port = addr.substr(close + 2);
  } else {
    const auto colon = addr.rfind(':');
    if (colon == std::string::npos || addr.find(':') != colon) return std::unexpected("want HOST:PORT, got \"" + addr + "\"");
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  }
  auto p = parse_number<int>(port);
  if (host.empty() || !p || *p < 0 || *p > 65535) return std::unexpected("want HOST:PORT, got \"" + addr + "\"");
  return std::pair{host, *p};
}

}  // namespace strand::agent::http
