#include "lab/generation.h"

#include <charconv>
#include <string>

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

}  // namespace strand::lab
