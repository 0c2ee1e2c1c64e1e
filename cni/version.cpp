#include "cni/version.h"

#include <algorithm>
#include <charconv>

namespace strand::cni {

std::optional<std::array<unsigned, 3>> parse_version(std::string_view v) {
  std::array<unsigned, 3> out{};
  for (size_t i = 0; i < out.size(); ++i) {
    size_t end = i + 1 < out.size() ? v.find('.') : v.size();
    if (end == std::string_view::npos || end == 0) return std::nullopt;
    std::string_view part = v.substr(0, end);
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), out[i]);
    if (ec != std::errc() || ptr != part.data() + part.size()) return std::nullopt;
    v.remove_prefix(std::min(end + 1, v.size()));
  }
  return out;
}

bool version_supported(std::string_view v) {
  return std::ranges::find(kSupportedVersions, v) != kSupportedVersions.end();
}

bool version_less(std::string_view a, std::string_view b) {
  auto pa = parse_version(a);
  auto pb = parse_version(b);
  if (!pb) return false;
  if (!pa) return true;
  return *pa < *pb;
}

bool supports_check(std::string_view v) { return parse_version(v) && !version_less(v, "0.4.0"); }

bool supports_gc_status(std::string_view v) { return parse_version(v) && !version_less(v, "1.1.0"); }

std::string supported_versions_text() {
  std::string out;
  for (auto v : kSupportedVersions) {
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

nlohmann::json version_info(std::string_view conf_version) {
  nlohmann::json supported = nlohmann::json::array();
  for (auto v : kSupportedVersions) supported.push_back(std::string(v));
  std::string_view used = version_supported(conf_version) ? conf_version : kLatestVersion;
  return {{"cniVersion", std::string(used)}, {"supportedVersions", std::move(supported)}};
}

}  // namespace strand::cni
