#include "lab/generation.h"

#include <charconv>
#include <string>
#include <thread>

#include <fmt/format.h>

namespace strand::lab {

Result<uint64_t> parse_generation_file(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  if (text.empty()) return 0;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return fail("parse .generation", EINVAL, "'" + std::string(text) + "' is not a decimal integer");
  }
  return v;
}

Result<uint64_t> generation_of(const nlohmann::json& body) {
  if (!body.is_object() || !body.contains("generation")) {
    return fail("agent generation", ENOENT, "GET /v1/policies has no top-level \"generation\"");
  }
  const auto& g = body["generation"];
  if (!g.is_number_unsigned() && !(g.is_number_integer() && g.get<int64_t>() >= 0)) {
    return fail("agent generation", EINVAL, "\"generation\" is not a non-negative integer: " + g.dump());
  }
  return g.get<uint64_t>();
}

Status wait_for_generation(const std::vector<std::string>& nodes, uint64_t want, std::chrono::milliseconds timeout,
                           std::chrono::milliseconds poll, const GenerationFetch& fetch, bool required,
                           std::vector<std::string>* not_enforcing) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  std::vector<bool> done(nodes.size(), false);
  std::vector<std::string> last(nodes.size());
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (done[i]) continue;
      auto g = fetch(i);
      if (g && *g >= want) {
        done[i] = true;
        continue;
      }
      last[i] = g ? "generation " + std::to_string(*g) : g.error().message();
      if (!g && g.error().err == ENOENT) {
        if (required) {
          return fail("wait for the datapath", ENOENT,
                      nodes[i] + ": its agent reports no generation in GET /v1/policies (it does not enforce NetworkPolicy)");
        }
        done[i] = true;
        if (not_enforcing != nullptr) not_enforcing->push_back(nodes[i]);
        continue;
      }
      all = false;
    }
    if (all) return {};
    if (Clock::now() >= deadline) {
      std::string late;
      for (size_t i = 0; i < nodes.size(); ++i) {
        if (!done[i]) late += fmt::format("{}{} ({})", late.empty() ? "" : ", ", nodes[i], last[i]);
      }
      return fail("wait for the datapath", ETIMEDOUT,
                  fmt::format("generation {} not reached within {} ms by {}", want, timeout.count(), late));
    }
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace strand::lab
